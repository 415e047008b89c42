package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/client"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
	"github.com/pith-project/pith/runtime/server"
)

var (
	once    sync.Once
	enclave *httptest.Server
	srv     *server.Server
	setupE  error
)

// startEnclave runs the real server in this process with the development
// stand-in on a tiny synthetic model, behind an httptest server.
func startEnclave() (*httptest.Server, *server.Server, error) {
	once.Do(func() {
		var buf bytes.Buffer
		if setupE = synth.Generate(&buf, synth.Options{Shape: "tiny-qwen2", Type: "q8_0", Builtin: true, Seed: 5}); setupE != nil {
			return
		}
		f, err := gguf.Parse(buf.Bytes())
		if err != nil {
			setupE = err
			return
		}
		m, err := model.Load(f)
		if err != nil {
			setupE = err
			return
		}
		quiet := slog.New(slog.DiscardHandler)
		dev, err := attest.NewDevProvider(quiet)
		if err != nil {
			setupE = err
			return
		}
		lim := server.DefaultLimits()
		lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 1024, 1024, 32
		srv, setupE = server.New(server.Config{Model: m, ModelName: "tiny", Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: quiet})
		if setupE != nil {
			return
		}
		enclave = httptest.NewServer(srv.Handler(false))
	})
	return enclave, srv, setupE
}

// devManifest expects the stand-in's measurement of this test binary.
func devManifest(t testing.TB) *attest.Manifest {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	meas, err := attest.DevMeasurement(exe)
	if err != nil {
		t.Fatal(err)
	}
	return &attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: meas}}
}

func devPolicy() attest.Policy {
	p := attest.DefaultPolicy()
	p.AllowDev = true
	return p
}

func TestClient(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, unchunked := range []bool{false, true} {
		c, err := client.New(ctx, client.Options{URL: hs.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: unchunked})
		if err != nil {
			t.Fatal(err)
		}
		if r := c.Attestation(); r == nil || r.Platform != attest.Dev {
			t.Fatalf("attestation result %+v", r)
		}
		s, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}, {From: "Bo", Text: "hello"}}, 5)
		if err != nil || s.EvalCount == 0 {
			t.Fatalf("summarize (unchunked %v): %+v, %v", unchunked, s, err)
		}
		oc := api.NewClient(client.BaseURL, c.HTTPClient())
		parts := 0
		err = oc.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"num_predict": 6}},
			func(api.GenerateResponse) error { parts++; return nil })
		if err != nil || parts < 2 {
			t.Fatalf("streamed generate (unchunked %v): %d parts, %v", unchunked, parts, err)
		}
	}
}

// The client refuses an enclave that does not match what it trusts.
func TestClientRefuses(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wrong := devManifest(t)
	wrong.Dev.Measurement = strings.Repeat("ab", 48)
	for _, tc := range []struct {
		name string
		opts client.Options
		want string
	}{
		{"dev without --allow-dev", client.Options{URL: hs.URL, Manifest: devManifest(t), Policy: attest.DefaultPolicy()}, "dev"},
		{"wrong measurement", client.Options{URL: hs.URL, Manifest: wrong, Policy: devPolicy()}, "measurement"},
		{"no manifest", client.Options{URL: hs.URL, Policy: devPolicy()}, "manifest"},
	} {
		_, err := client.New(ctx, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

// Through a relay, which sees only ciphertext; and after the enclave
// rotates its keys, the client verifies again and goes on.
func TestClientRelayAndRotation(t *testing.T) {
	hs, s, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	var seen bytes.Buffer
	var mu sync.Mutex
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen.Write(body)
		mu.Unlock()
		req, _ := http.NewRequest("POST", hs.URL+"/v1/ohttp", bytes.NewReader(body))
		req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer relay.Close()
	ctx := context.Background()
	c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: true})
	if err != nil {
		t.Fatal(err)
	}
	secret := "meet at the old mill at nine"
	if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: secret}}, 5); err != nil {
		t.Fatal(err)
	}
	if seen.Len() == 0 || bytes.Contains(seen.Bytes(), []byte(secret)) {
		t.Fatalf("relay saw %d bytes, plaintext among them: %v", seen.Len(), bytes.Contains(seen.Bytes(), []byte(secret)))
	}
	if err := s.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "again"}}, 5); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// Example: verify an enclave against a manifest, then ask for a summary,
// sealed. (The stand-in used here proves nothing; a real manifest from
// `pith image build` expects SEV-SNP or TDX measurements.)
func Example() {
	hs, _, err := startEnclave()
	if err != nil {
		fmt.Println(err)
		return
	}
	exe, _ := os.Executable()
	meas, _ := attest.DevMeasurement(exe)
	manifest := &attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: meas}}
	policy := attest.DefaultPolicy()
	policy.AllowDev = true // only for the development stand-in

	c, err := client.New(context.Background(), client.Options{URL: hs.URL, Manifest: manifest, Policy: policy})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("verified:", c.Attestation().Platform)
	s, err := c.Summarize(context.Background(), []client.Message{{From: "Ann", Text: "Lunch at noon?"}, {From: "Bo", Text: "Yes."}}, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("summary received:", s.Summary != "")
	// Output:
	// verified: dev
	// summary received: true
}
