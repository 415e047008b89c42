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
	"sync/atomic"
	"testing"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/runtime/server"
)

// pith summarize with --relay and --attestation-url reaches the enclave
// only through them: the enclave's own address (--url) is asked nothing,
// and the summary comes back. pith proxy takes the same flags.
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
	enclave := httptest.NewServer(s.Handler(false))
	defer enclave.Close()
	target, _ := url.Parse(enclave.URL)
	// Each way in forwards one kind of request to the enclave and counts
	// what it is asked.
	way := func(n *atomic.Int32, method, path string) string {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			if method != "" && (r.Method != method || r.URL.Path != path) {
				http.Error(w, "only "+method+" "+path, http.StatusForbidden)
				return
			}
			httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		return hs.URL
	}
	var direct, relayed, forwarded atomic.Int32
	directURL := way(&direct, "", "")
	relayURL := way(&relayed, http.MethodPost, "/v1/ohttp") + "/v1/ohttp"
	forwarderURL := way(&forwarded, http.MethodGet, "/v1/attestation")

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
	for _, cmd := range []string{"summarize", "proxy"} {
		if code, help, _ := runPith(t, cmd, "--help"); code != 0 || !strings.Contains(help, "-attestation-url URL") {
			t.Errorf("pith %s --help: exit %d, no --attestation-url:\n%s", cmd, code, help)
		}
	}
}
