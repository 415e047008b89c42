package main

import (
	"log/slog"
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

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/relay"
	"github.com/pith-project/pith/runtime/server"
)

// pith summarize with --relay and --attestation-url reaches the enclave
// only through them (pith relay's handler): the enclave's own address
// (--url) is asked nothing, it sees none of the client's fields, and the
// summary comes back. pith proxy takes the same flags.
func TestSummarizeAttestationURL(t *testing.T) {
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
	defer s.Close()
	// The enclave notes the User-Agent of every request it gets.
	var agents sync.Map
	inner := s.Handler(false)
	enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents.Store(r.UserAgent(), true)
		inner.ServeHTTP(w, r)
	}))
	defer enclave.Close()
	target, _ := url.Parse(enclave.URL)
	rh, err := relay.New(relay.Options{Gateway: target, Logger: quiet})
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
	// Without it, the enclave is verified directly, and summarize says so.
	code, _, errs = runPith(t, "summarize", "--url", directURL, "--relay", relayURL,
		"--manifest", man, "--allow-dev", "--max-words", "5", conv)
	if code != 0 || !strings.Contains(errs, "saw this machine's address") || direct.Load() != 1 {
		t.Errorf("--relay alone: exit %d, %d direct requests (want 1), no warning:\n%s", code, direct.Load(), errs)
	}
	for _, cmd := range []string{"summarize", "proxy"} {
		if code, help, _ := runPith(t, cmd, "--help"); code != 0 || !strings.Contains(help, "-attestation-url URL") {
			t.Errorf("pith %s --help: exit %d, no --attestation-url:\n%s", cmd, code, help)
		}
	}
}
