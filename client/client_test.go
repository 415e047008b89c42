package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/bhttp"
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

// Through a relay, which sees only ciphertext. After the enclave rotates
// its keys (keeping the old ones for the grace period) the client verifies
// it again through the relay, never directly: the enclave sees the
// client's address only at New. And once the old key is gone, the client
// says so (ErrKeyExpired) rather than verify directly beside a request.
// Without a relay it verifies again directly and goes on.
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
	// direct is the enclave as the client reaches it without the relay;
	// it counts what it is asked.
	var directs atomic.Int32
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		directs.Add(1)
		httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL)).ServeHTTP(w, r)
	}))
	defer direct.Close()
	ctx := context.Background()
	summarize := func(c *client.Client, text string) error {
		_, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: text}}, 5)
		return err
	}
	for _, unchunked := range []bool{true, false} {
		directs.Store(0)
		c, err := client.New(ctx, client.Options{URL: direct.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: unchunked})
		if err != nil {
			t.Fatal(err)
		}
		secret := "meet at the old mill at nine"
		if err := summarize(c, secret); err != nil {
			t.Fatal(err)
		}
		if seen.Len() == 0 || bytes.Contains(seen.Bytes(), []byte(secret)) {
			t.Fatalf("relay saw %d bytes, plaintext among them: %v", seen.Len(), bytes.Contains(seen.Bytes(), []byte(secret)))
		}
		before := c.Attestation().KeyConfig
		if err := s.RotateKeys(true); err != nil {
			t.Fatal(err)
		}
		// Sealed to the previous key, which still opens; the answer says
		// it was rotated, and the next request verifies first.
		for i := range 2 {
			if err := summarize(c, "again"); err != nil {
				t.Fatalf("unchunked %v, request %d after rotation: %v", unchunked, i, err)
			}
		}
		if bytes.Equal(c.Attestation().KeyConfig, before) {
			t.Fatalf("unchunked %v: the client still pins the rotated-out key", unchunked)
		}
		if n := directs.Load(); n != 1 {
			t.Fatalf("unchunked %v: after the rotation the client asked the enclave directly %d times, want once (New)", unchunked, n)
		}
		// Both old keys gone at once: the pinned one has expired.
		for range 2 {
			if err := s.RotateKeys(false); err != nil {
				t.Fatal(err)
			}
		}
		if err := summarize(c, "late"); !errors.Is(err, client.ErrKeyExpired) {
			t.Fatalf("unchunked %v: with an expired key: %v, want ErrKeyExpired", unchunked, err)
		}
		if n := directs.Load(); n != 1 {
			t.Fatalf("unchunked %v: the client asked the enclave directly %d times, want once (New)", unchunked, n)
		}
	}
	// A client that refreshes now and then follows the rotations without
	// a request to find them.
	directs.Store(0)
	c, err := client.New(ctx, client.Options{URL: direct.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		before := c.Attestation().KeyConfig
		if err := s.RotateKeys(true); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(c.Attestation().KeyConfig, before) {
			t.Fatal("Refresh kept the rotated-out key")
		}
	}
	if err := summarize(c, "refreshed"); err != nil || directs.Load() != 1 {
		t.Fatalf("after refreshes: %v, %d direct requests (want 1, New's)", err, directs.Load())
	}
	// Without a relay there is no address to hide: verify again and go on.
	c, err = client.New(ctx, client.Options{URL: direct.URL, Manifest: devManifest(t), Policy: devPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RotateKeys(false); err != nil {
		t.Fatal(err)
	}
	if err := summarize(c, "no relay"); err != nil {
		t.Fatalf("no relay, after rotation: %v", err)
	}
}

// With AttestationURL at a forwarder beside the relay, the enclave never
// sees the client's address: not at New, not after rotations. The
// forwarder is not trusted: a document it replays fails the nonce.
func TestClientAttestationURL(t *testing.T) {
	hs, s, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	// Every way to the enclave is an httptest server whose handler sees
	// the client's requests; each counts them.
	var directs, relayed, forwarded atomic.Int32
	proxyTo := func(n *atomic.Int32, method, path string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			if r.Method != method || r.URL.Path != path {
				http.Error(w, "only "+method+" "+path, http.StatusForbidden)
				return
			}
			rp := httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL))
			r.URL.Path = path
			rp.ServeHTTP(w, r)
		}))
	}
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		directs.Add(1)
		httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL)).ServeHTTP(w, r)
	}))
	defer direct.Close()
	relay := proxyTo(&relayed, http.MethodPost, "/v1/ohttp")
	defer relay.Close()
	forwarder := proxyTo(&forwarded, http.MethodGet, "/v1/attestation")
	defer forwarder.Close()

	ctx := context.Background()
	opts := client.Options{URL: direct.URL, RelayURL: relay.URL + "/v1/ohttp", AttestationURL: forwarder.URL + "/",
		Manifest: devManifest(t), Policy: devPolicy()}
	c, err := client.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5); err != nil {
		t.Fatal(err)
	}
	before := c.Attestation().KeyConfig
	if err := s.RotateKeys(true); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the first finds the rotation, the second refreshes through the relay
		if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "again"}}, 5); err != nil {
			t.Fatalf("request %d after rotation: %v", i, err)
		}
	}
	if bytes.Equal(c.Attestation().KeyConfig, before) {
		t.Fatal("the client still pins the rotated-out key")
	}
	if n, f, r := directs.Load(), forwarded.Load(), relayed.Load(); n != 0 || f != 1 || r < 4 {
		t.Fatalf("the enclave saw the client directly %d times (want 0); forwarder %d (want 1, New's), relay %d (want 4 or more)", n, f, r)
	}
	// Both old keys gone at once: the pinned one has expired, and the
	// client verifies again through the forwarder, not ErrKeyExpired.
	before = c.Attestation().KeyConfig
	for range 2 {
		if err := s.RotateKeys(false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "late"}}, 5); err != nil {
		t.Fatalf("with an expired key and a forwarder: %v", err)
	}
	if bytes.Equal(c.Attestation().KeyConfig, before) {
		t.Fatal("after the key expired the client still pins it")
	}
	if n, f := directs.Load(), forwarded.Load(); n != 0 || f != 2 {
		t.Fatalf("after the key expired: the enclave saw the client directly %d times (want 0); forwarder %d (want 2)", n, f)
	}

	// A forwarder that answers every fetch with the first document it
	// got is refused: that document binds another nonce.
	var first []byte
	var fmu sync.Mutex
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmu.Lock()
		defer fmu.Unlock()
		if first == nil {
			resp, err := http.Get(hs.URL + r.URL.RequestURI())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			first, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		w.Write(first)
	}))
	defer replay.Close()
	opts.AttestationURL = replay.URL
	if _, err := client.New(ctx, opts); err != nil {
		t.Fatalf("first document through the replaying forwarder: %v", err)
	}
	if _, err := client.New(ctx, opts); err == nil || !strings.Contains(err.Error(), "report_data") {
		t.Fatalf("replayed document: %v, want a report_data failure", err)
	}
	if n := directs.Load(); n != 0 {
		t.Fatalf("the enclave saw the client directly %d times, want 0", n)
	}
}

// A relay or forwarder that answers with a redirect to the enclave itself
// is not followed: the enclave would see the client's address.
func TestClientRefusesRedirects(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	var directs atomic.Int32
	direct := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		directs.Add(1)
		httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL)).ServeHTTP(w, r)
	}))
	defer direct.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, direct.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	forwarder := httptest.NewServer(httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL)))
	defer forwarder.Close()
	ctx := context.Background()
	base := client.Options{URL: direct.URL, Manifest: devManifest(t), Policy: devPolicy()}

	opts := base
	opts.RelayURL, opts.AttestationURL = forwarder.URL+"/v1/ohttp", redirect.URL
	if _, err := client.New(ctx, opts); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("a forwarder's redirect: %v, want it refused", err)
	}
	opts.RelayURL, opts.AttestationURL = redirect.URL+"/v1/ohttp", forwarder.URL
	c, err := client.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5); err == nil || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("a relay's redirect: %v, want it refused", err)
	}
	if n := directs.Load(); n != 0 {
		t.Errorf("the enclave saw the client directly %d times, want 0", n)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
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

// A relay (or whatever sits in its place) that answers 200 with something
// other than the Oblivious HTTP response asked for is named as such, not
// reported as a failed decryption or a truncation, which would point at
// tampering.
func TestClientRefusesWrongResponseType(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		unchunked bool
		ctype     string
		body      []byte
	}{
		{"captive portal, chunked", false, "text/html; charset=utf-8", []byte("<html><body>Sign in to the Wi-Fi</body></html>")},
		{"captive portal, whole", true, "text/html", []byte("<html><body>Sign in to the Wi-Fi</body></html>")},
		{"no type, chunked", false, "", make([]byte, 64)},
		{"chunked request answered whole", false, "message/ohttp-res", make([]byte, 64)},
		{"whole request answered chunked", true, "message/ohttp-chunked-res", make([]byte, 64)},
	} {
		relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header()["Content-Type"] = []string{tc.ctype}
			w.Write(tc.body)
		}))
		c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: tc.unchunked})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5)
		relay.Close()
		if err == nil || !strings.Contains(err.Error(), "Content-Type") {
			t.Errorf("%s: %v, want an error naming the Content-Type", tc.name, err)
		}
	}
}

// A chunked request says it is one to the relay (Incremental, as the
// chunked draft's section 3 asks), so that the relay and whatever is
// behind it pass the answer on as it streams; a whole one does not.
func TestClientChunkedIsIncremental(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL))
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Incremental"))
		mu.Unlock()
		r.URL.Path = "/v1/ohttp"
		proxy.ServeHTTP(w, r)
	}))
	defer relay.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		unchunked bool
		want      string
	}{{false, "?1"}, {true, ""}} {
		mu.Lock()
		got = nil
		mu.Unlock()
		c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: tc.unchunked})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("unchunked %v: the relay saw Incremental %q, want %q once", tc.unchunked, got, tc.want)
		}
		mu.Unlock()
	}
}

// A whole answer longer than any the client can open is refused as too
// long, not cut at the limit and then reported as a failed decryption.
func TestClientRefusesOversizeWholeAnswer(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "message/ohttp-res")
		io.CopyN(w, zeros{}, bhttp.DefaultMaxTotal+64+1)
	}))
	defer relay.Close()
	ctx := context.Background()
	c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5)
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("%v, want the answer refused as too long", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A relay sees requests, and whole answers, of one length for messages
// whose lengths differ within a padding bucket (bhttp.Pad).
func TestClientPadsRequests(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reqLens, respLens []int64
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, hs.URL))
	proxy.ModifyResponse = func(r *http.Response) error {
		mu.Lock()
		respLens = append(respLens, r.ContentLength)
		mu.Unlock()
		return nil
	}
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqLens = append(reqLens, r.ContentLength)
		mu.Unlock()
		r.URL.Path = "/v1/ohttp"
		proxy.ServeHTTP(w, r)
	}))
	defer relay.Close()
	ctx := context.Background()
	for _, unchunked := range []bool{false, true} {
		mu.Lock()
		reqLens, respLens = nil, nil
		mu.Unlock()
		c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy(), Unchunked: unchunked})
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"hi", "are we still on for dinner tomorrow at eight?"} {
			if _, err := c.Summarize(ctx, []client.Message{{From: "Ann", Text: text}}, 5); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		if len(reqLens) != 2 || reqLens[0] != reqLens[1] {
			t.Errorf("unchunked %v: the relay saw requests of %v bytes, want two of one length", unchunked, reqLens)
		}
		if unchunked && (len(respLens) != 2 || respLens[0] != respLens[1]) {
			t.Errorf("the relay saw whole answers of %v bytes, want two of one length", respLens)
		}
		mu.Unlock()
	}
}

// Only RFC 9458 section 5.3's answer (400, an application/problem+json
// body, the ohttp-key type) says the enclave no longer has the pinned
// key; with a relay and no AttestationURL the client then answers
// ErrKeyExpired. Any other refusal, a 400 that names the type without
// being that problem among them, is the gateway error it is.
func TestClientKeyProblem(t *testing.T) {
	hs, _, err := startEnclave()
	if err != nil {
		t.Fatal(err)
	}
	const problem = `{"type":"https://iana.org/assignments/http-problem-types#ohttp-key","title":"key identifier unknown"}`
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		status  int
		ctype   string
		body    string
		expired bool
	}{
		{"the key problem", 400, "application/problem+json", problem, true},
		{"with a parameter, in capitals", 400, "Application/Problem+JSON; charset=utf-8", problem, true},
		{"another problem", 400, "application/problem+json", `{"type":"https://example.com/other"}`, false},
		{"not problem+json", 400, "application/json", problem, false},
		{"plain 400", 400, "text/plain; charset=utf-8", "unknown key\n", false},
		{"not JSON", 400, "application/problem+json", "ohttp-key", false},
		{"too long to read", 400, "application/problem+json", problem[:len(problem)-1] + `,"pad":"` + strings.Repeat("x", 8<<10) + `"}`, false},
		{"not a 400", 401, "application/problem+json", problem, false},
		{"the old 422", 422, "text/plain; charset=utf-8", "unknown key\n", false},
	} {
		relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		}))
		c, err := client.New(ctx, client.Options{URL: hs.URL, RelayURL: relay.URL, Manifest: devManifest(t), Policy: devPolicy()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Summarize(ctx, []client.Message{{From: "Ann", Text: "hi"}}, 5)
		relay.Close()
		if got := errors.Is(err, client.ErrKeyExpired); got != tc.expired {
			t.Errorf("%s: %v, want ErrKeyExpired %v", tc.name, err, tc.expired)
		}
		if !tc.expired && (err == nil || !strings.Contains(err.Error(), "gateway")) {
			t.Errorf("%s: %v, want a gateway error", tc.name, err)
		}
	}
}
