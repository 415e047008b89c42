package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/relay"
	"github.com/pith-project/pith/runtime/server"
)

// pith summarize with --relay and --attestation-url reaches the enclave
// only through them (pith relay's handler): the enclave's own address
// (--url) is asked nothing, it sees none of the client's fields, and the
// summary comes back. pith proxy takes the same flags.
func TestSummarizeAttestationURL(t *testing.T) {
	s := tinyEnclave(t)
	// The enclave notes the User-Agent of every request it gets.
	var agents sync.Map
	inner := s.Handler(false)
	enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents.Store(r.UserAgent(), true)
		inner.ServeHTTP(w, r)
	}))
	defer enclave.Close()
	target, _ := url.Parse(enclave.URL)
	rh, err := relay.New(relay.Options{Gateway: target, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Each way in counts what it is asked: --url a plain proxy, which
	// must see nothing, --relay and --attestation-url pith's relay.
	way := func(n *atomic.Int32, h http.Handler) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		return hs.URL
	}
	var direct, relayed, forwarded atomic.Int32
	directURL := way(&direct, httputil.NewSingleHostReverseProxy(target))
	relayURL := way(&relayed, rh) + "/v1/ohttp"
	forwarderURL := way(&forwarded, rh)

	man, conv := devManifestAndChat(t)
	code, out, errs := runPith(t, "summarize", "--url", directURL, "--relay", relayURL, "--attestation-url", forwarderURL,
		"--manifest", man, "--allow-dev", "--max-words", "5", conv)
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("exit %d, summary %q\n%s", code, out, errs)
	}
	if d, f, r := direct.Load(), forwarded.Load(), relayed.Load(); d != 0 || f != 1 || r != 1 {
		t.Errorf("requests: %d to --url (want 0), %d to --attestation-url (want 1), %d to --relay (want 1)", d, f, r)
	}
	if strings.Contains(errs, "saw this machine's address") {
		t.Errorf("with --attestation-url, summarize warned that the enclave saw the address:\n%s", errs)
	}
	agents.Range(func(k, _ any) bool {
		if k != "pith-relay" {
			t.Errorf("the enclave saw the User-Agent %q, not the relay's", k)
		}
		return true
	})
	// Without it, or with the enclave's own URL as it, the enclave is
	// verified directly, and summarize says so.
	for i, extra := range [][]string{nil, {"--attestation-url", directURL + "/"}} {
		args := append(append([]string{"summarize", "--url", directURL, "--relay", relayURL,
			"--manifest", man, "--allow-dev", "--max-words", "5"}, extra...), conv)
		code, _, errs = runPith(t, args...)
		if code != 0 || !strings.Contains(errs, "saw this machine's address") || direct.Load() != int32(i+1) {
			t.Errorf("--relay with %q: exit %d, %d direct requests (want %d), no warning:\n%s", extra, code, direct.Load(), i+1, errs)
		}
	}
	for _, cmd := range []string{"summarize", "proxy"} {
		if code, help, _ := runPith(t, cmd, "--help"); code != 0 || !strings.Contains(help, "-attestation-url URL") {
			t.Errorf("pith %s --help: exit %d, no --attestation-url:\n%s", cmd, code, help)
		}
	}
}

// serveUntil serves TLS with a certificate and key from files (pith
// relay's --tls-cert, --tls-key) and returns nil once its context ends.
func TestServeUntilTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "over "+r.Proto) })}
	go func() { done <- serveUntil(ctx, hs, ln, certFile, keyFile) }()
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.TLS == nil || !strings.HasPrefix(string(b), "over HTTP/") {
		t.Errorf("answer %q, TLS %v", b, resp.TLS != nil)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveUntil after its context ended: %v", err)
	}
}

// A host or relay that stalls does not hang pith summarize: verifying
// gives up after --verify-timeout and the summary after --timeout, each
// error naming the flag to change.
func TestSummarizeTimeouts(t *testing.T) {
	s := tinyEnclave(t)
	inner := s.Handler(false)
	released := make(chan struct{})
	// stall answers nothing on the paths it names, until the test ends.
	stall := func(path string) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, path) {
				select {
				case <-released:
				case <-r.Context().Done():
				}
				return
			}
			inner.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		return hs.URL
	}
	defer close(released)
	man, conv := devManifestAndChat(t)
	for _, c := range []struct {
		name, stalls string
		flags        []string
		want         string
	}{
		{"attestation", "/v1/attestation", []string{"--verify-timeout", "1s"}, "longer than --verify-timeout 1s"},
		{"sealed request", "/v1/ohttp", []string{"--timeout", "1s"}, "no summary within --timeout 1s"},
	} {
		done := make(chan struct{})
		var code int
		var errs string
		go func() {
			defer close(done)
			args := append([]string{"summarize", "--url", stall(c.stalls), "--manifest", man, "--allow-dev"}, c.flags...)
			code, _, errs = runPith(t, append(args, conv)...)
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s stalls: pith summarize %v still waiting after 60 s", c.name, c.flags)
		}
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%s stalls: exit %d, want an error with %q:\n%s", c.name, code, c.want, errs)
		}
	}
	if code, _, errs := runPith(t, "summarize", "--url", "http://127.0.0.1:1", "--manifest", man, "--verify-timeout", "0s", conv); code != 2 || !strings.Contains(errs, "--verify-timeout must be positive") {
		t.Errorf("--verify-timeout 0s: exit %d:\n%s", code, errs)
	}
}

// tinyEnclave is pith's server on the tiny test model with the
// development attestation, closed when the test ends.
func tinyEnclave(t *testing.T) *server.Server {
	t.Helper()
	m, err := openModel(tinyBenchModel(t), "")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	dev, err := attest.NewDevProvider(quiet)
	if err != nil {
		t.Fatal(err)
	}
	lim := server.DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 1024, 1024, 8
	s, err := server.New(server.Config{Model: m, ModelName: "tiny", Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// devManifestAndChat writes a manifest that expects this test binary
// under the development attestation, and a two-line conversation.
func devManifestAndChat(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	meas, err := attest.DevMeasurement("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	man := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(man, []byte(`{"format":"`+attest.ManifestFormat+`","dev":{"measurement":"`+meas+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	conv := filepath.Join(dir, "chat.txt")
	if err := os.WriteFile(conv, []byte("Ann: lunch at noon?\nBo: yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return man, conv
}
