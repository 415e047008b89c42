package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
	"github.com/pith-project/pith/ohttp"
)

var (
	tinyOnce  sync.Once
	tinyModel *model.Model
	tinyErr   error
)

// testModel is a tiny synthetic qwen2 with the built-in test vocabulary and
// Qwen2.5's chat template: it produces meaningless text, fast.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pith-server-test")
		if err != nil {
			tinyErr = err
			return
		}
		path := filepath.Join(dir, "tiny.gguf")
		var buf bytes.Buffer
		if tinyErr = synth.Generate(&buf, synth.Options{Shape: "tiny-qwen2", Type: "q8_0", Builtin: true, Seed: 7}); tinyErr != nil {
			return
		}
		if tinyErr = os.WriteFile(path, buf.Bytes(), 0o600); tinyErr != nil {
			return
		}
		f, err := gguf.ReadFile(path, "")
		if err != nil {
			tinyErr = err
			return
		}
		tinyModel, tinyErr = model.Load(f)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyModel
}

func newTestServer(t testing.TB, lim Limits) *Server {
	t.Helper()
	if lim == (Limits{}) {
		lim = DefaultLimits()
		lim.MaxContext = 512
		lim.DefaultContext = 512
		lim.MaxPromptTokens = 400
		lim.MaxPredict = 64
	}
	dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Model: testModel(t), ModelName: "tiny:latest", ModelDigest: "sha256:00", Version: "test",
		Limits: lim, AllowUnlockedArena: true, Attest: dev, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The real Ollama Go client, unchanged, talks to the plaintext API.
func TestPlaintextWithOllamaClient(t *testing.T) {
	s := newTestServer(t, Limits{})
	c := ollamaClient(t, s)
	ctx := context.Background()

	ver, err := c.Version(ctx)
	if err != nil || ver != "test" {
		t.Fatalf("version: %q, %v", ver, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list.Models) != 1 || list.Models[0].Name != "tiny:latest" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	show, err := c.Show(ctx, &api.ShowRequest{Model: "tiny"})
	// The config names neither: the server derives both from the model.
	if err != nil || show.Details.Family != "qwen2" || show.Details.ParameterSize == "" || show.Details.QuantizationLevel == "" {
		t.Fatalf("show: %+v, %v", show, err)
	}

	for _, streaming := range []bool{true, false} {
		var text strings.Builder
		var final api.GenerateResponse
		parts := 0
		err := c.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "hello there", Stream: &streaming,
			Options: map[string]any{"num_predict": 12, "temperature": 0, "seed": 1}},
			func(r api.GenerateResponse) error {
				parts++
				text.WriteString(r.Response)
				if r.Done {
					final = r
				}
				return nil
			})
		if err != nil {
			t.Fatalf("generate (stream %v): %v", streaming, err)
		}
		if !final.Done || final.EvalCount == 0 || final.PromptEvalCount == 0 || final.DoneReason == "" {
			t.Fatalf("generate (stream %v): final %+v", streaming, final)
		}
		if !streaming && parts != 1 {
			t.Errorf("non-streaming generate gave %d parts", parts)
		}
		if streaming && parts < 2 {
			t.Errorf("streaming generate gave %d parts", parts)
		}
	}

	var reply strings.Builder
	err = c.Chat(ctx, &api.ChatRequest{Model: "tiny", Messages: []api.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}},
		Options: map[string]any{"num_predict": 8}}, func(r api.ChatResponse) error {
		reply.WriteString(r.Message.Content)
		if r.Done && r.Message.Role != "assistant" {
			t.Errorf("chat role %q", r.Message.Role)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}

	// Errors reach the client as Ollama's error JSON with the right status.
	for _, tc := range []struct {
		req  *api.GenerateRequest
		code int
		msg  string
	}{
		{&api.GenerateRequest{Model: "other", Prompt: "x"}, 404, "not found"},
		{&api.GenerateRequest{Prompt: "x"}, 400, "model is required"},
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"num_predict": 100000}}, 400, "num_predict"},
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Options: map[string]any{"num_ctx": 100000}}, 400, "num_ctx"},
		{&api.GenerateRequest{Model: "tiny", Prompt: strings.Repeat("word ", 600)}, 400, "limit"},
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Images: []api.ImageData{{1}}}, 400, "images"},
		// Ollama's refusals of raw mode, word for word.
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Raw: true, Context: []int{1, 2}}, 400, "raw mode does not support template, system, or context"},
		{&api.GenerateRequest{Model: "tiny", Raw: true, Context: []int{1, 2}}, 400, "raw mode does not support template, system, or context"},
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Raw: true, System: "be brief"}, 400, "raw mode does not support template, system, or context"},
		{&api.GenerateRequest{Model: "tiny", Prompt: "x", Raw: true, Template: "{{ .Prompt }}"}, 400, "raw mode does not support template, system, or context"},
	} {
		err := c.Generate(ctx, tc.req, func(api.GenerateResponse) error { return nil })
		var se api.StatusError
		if !errorAs(err, &se) || se.StatusCode != tc.code || !strings.Contains(se.ErrorMessage, tc.msg) {
			t.Errorf("%+v: got %v, want %d %q", *tc.req, err, tc.code, tc.msg)
		}
	}
}

// ollamaClient is the real Ollama client on s's plaintext API.
func ollamaClient(t *testing.T, s *Server) *api.Client {
	hs := httptest.NewServer(s.PlaintextHandler())
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL)
	return api.NewClient(u, hs.Client())
}

func errorAs(err error, se *api.StatusError) bool {
	if e, ok := err.(api.StatusError); ok {
		*se = e
		return true
	}
	return false
}

func TestSummarize(t *testing.T) {
	// The tiny model's vocabulary takes about 530 tokens for the
	// instructions alone.
	base := DefaultLimits()
	base.MaxContext, base.DefaultContext, base.MaxPromptTokens, base.MaxPredict = 4096, 512, 4000, 64
	s := newTestServer(t, base)
	body, _ := json.Marshal(SummarizeRequest{Messages: []model.Message{{From: "Ann", Text: "Lunch at noon?"}, {From: "Bo", Text: "Yes, the usual place."}}, MaxWords: 10})
	rec := httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/summarize", bytes.NewReader(body)))
	if rec.Code != 200 {
		t.Fatalf("summarize: %d %s", rec.Code, rec.Body)
	}
	var resp SummarizeResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.EvalCount == 0 {
		t.Fatalf("summarize: %s, %v", rec.Body, err)
	}
	for _, bad := range []string{`{"messages":[]}`, `{"messages":[{"from":"a","text":"b"}],"max_words":100000}`, `not json`} {
		rec := httptest.NewRecorder()
		s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/summarize", strings.NewReader(bad)))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	// A summary's prompt is held to the server's limits like any other.
	long, _ := json.Marshal(SummarizeRequest{Messages: []model.Message{{From: "Ann", Text: strings.Repeat("lunch at noon? ", 200)}}, MaxWords: 10})
	rec = httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/summarize", bytes.NewReader(long)))
	if rec.Code != 200 {
		t.Fatalf("summarize a long conversation: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		name string
		lim  func(*Limits)
		want string
	}{
		{"prompt tokens", func(l *Limits) { l.MaxPromptTokens = 1000 }, "above this server's limit of 1000"},
		{"context", func(l *Limits) { l.MaxContext = 1000 }, "does not fit this server's context of 1000"},
	} {
		lim := s.cfg.Limits
		tc.lim(&lim)
		small := newTestServer(t, lim)
		rec := httptest.NewRecorder()
		small.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/v1/summarize", bytes.NewReader(long)))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want 400 %q", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

// A request above the queue limit is refused with 503 and Retry-After,
// before anything is read.
func TestOverload(t *testing.T) {
	lim := DefaultLimits()
	lim.Queue, lim.Concurrent = 1, 1
	lim.MaxContext, lim.DefaultContext = 256, 256
	s := newTestServer(t, lim)
	release, ok := s.admit()
	if !ok {
		t.Fatal("first admission refused")
	}
	rec := httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/version", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the queue: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	release()
	rec = httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/version", nil))
	if rec.Code != 200 {
		t.Fatalf("after release: %d", rec.Code)
	}
}

// A client that goes away cancels its generation.
func TestCancel(t *testing.T) {
	s := newTestServer(t, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := s.generate(ctx, "hello", nil, model.Options{Temperature: 0, TopP: 1, RepeatPenalty: 1, NumPredict: 60, NumCtx: 256, Seed: 1}, false, func([]byte) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	}, func(model.Result, json.RawMessage) error { return nil })
	if err == nil || n > 4 {
		t.Fatalf("after cancel: %d pieces, err %v", n, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "bad": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) != %v", addr, want)
		}
	}
}

func FuzzParseSummarizeRequest(f *testing.F) {
	for _, s := range []string{`{"messages":[{"from":"a","text":"b"}],"max_words":10}`, `{"messages":[]}`, `{}`, `[`, `{"messages":[{"from":"` + strings.Repeat("x", 200) + `","text":"y"}]}`, `{"max_words":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSummarizeRequest(b)
		if err != nil {
			if statusOf(err) != http.StatusBadRequest {
				t.Fatalf("a malformed request is not a 400: %v", err)
			}
			return
		}
		if _, err := model.SummaryPrompt(r.Messages, r.MaxWords); err != nil {
			t.Fatalf("accepted a request the prompt refuses: %v", err)
		}
	})
}

// The gateway's outer errors say nothing about the request: 415 for a
// wrong media type, 400 for a malformed or undecryptable message or an
// unknown key (keyproblem_test.go checks that answer's body), 413 for a
// body above the limit.
func TestGatewayErrors(t *testing.T) {
	s := newTestServer(t, Limits{})
	h := s.Handler(false)
	cfgs, err := ohttp.ParseKeyConfigs(s.keys.config())
	if err != nil || len(cfgs) != 2 || cfgs[0].KEM != ohttp.KEMMLKEM768X25519 || cfgs[1].KEM != ohttp.KEMX25519 {
		t.Fatalf("key configurations %+v, %v", cfgs, err)
	}
	good, _, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], []byte("not bhttp"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	unknown := append([]byte{good[0] + 100}, good[1:]...)
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name, ctype string
		body        []byte
		want        int
	}{
		{"wrong type", "application/json", good, 415},
		{"garbage", ohttp.MediaTypeRequest, []byte("hello"), 400},
		{"flipped tag", ohttp.MediaTypeRequest, flipped, 400},
		{"unknown key", ohttp.MediaTypeRequest, unknown, 400},
		{"too large", ohttp.MediaTypeRequest, make([]byte, 2<<20), 413},
		{"chunked garbage", ohttp.MediaTypeChunkedReq, []byte{1, 2, 3}, 400},
		{"malformed type", "message/ohttp-req; =", good, 415},
		// Media types are case-insensitive and may carry parameters:
		// such a request is opened (and its BHTTP refused inside the seal).
		{"type in capitals", "Message/OHTTP-Req", good, 200},
		{"type with a parameter", ohttp.MediaTypeRequest + "; x=y", good, 200},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, rec.Code, tc.want)
		}
		if strings.Contains(rec.Body.String(), "not bhttp") {
			t.Errorf("%s: the outer answer quotes the request", tc.name)
		}
	}
	// A valid seal around an invalid BHTTP message is answered inside the seal.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(good))
	req.Header.Set("Content-Type", ohttp.MediaTypeRequest)
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ohttp.MediaTypeResponse {
		t.Errorf("sealed bad request: outer %d %q, want 200 with a sealed answer", rec.Code, rec.Header().Get("Content-Type"))
	}
	// The attestation needs a 32-byte nonce.
	for _, q := range []string{"", "?nonce=abc", "?nonce=" + strings.Repeat("0", 62)} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/attestation"+q, nil))
		if rec.Code != 400 {
			t.Errorf("attestation%s: %d", q, rec.Code)
		}
	}
}

// After a rotation the previous keys still open requests for the grace
// period, then the gateway no longer knows them.
func TestKeyRotation(t *testing.T) {
	s := newTestServer(t, Limits{})
	old, _ := ohttp.ParseKeyConfigs(s.keys.config())
	now := time.Now()
	if err := s.keys.rotate(now, s.keys.grace); err != nil {
		t.Fatal(err)
	}
	fresh, _ := ohttp.ParseKeyConfigs(s.keys.config())
	if fresh[0].KeyID == old[0].KeyID || bytes.Equal(fresh[0].PublicKey, old[0].PublicKey) {
		t.Fatal("rotation kept the key")
	}
	open := func(cfg ohttp.KeyConfig) error {
		msg, _, err := ohttp.EncapsulateRequest(cfg, cfg.Suites[0], []byte("x"), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.keys.gateway().DecapsulateRequest(msg)
		return err
	}
	for _, c := range append(old, fresh...) {
		if err := open(c); err != nil {
			t.Errorf("key %d during the grace period: %v", c.KeyID, err)
		}
	}
	s.keys.expire(now.Add(2 * time.Hour))
	for _, c := range old {
		if err := open(c); !errors.Is(err, ohttp.ErrUnknownKey) {
			t.Errorf("old key %d after the grace period: %v", c.KeyID, err)
		}
	}
	for _, c := range fresh {
		if err := open(c); err != nil {
			t.Errorf("current key %d after the grace period: %v", c.KeyID, err)
		}
	}
}

func TestPlaintextRefusedOffLoopback(t *testing.T) {
	s := newTestServer(t, Limits{})
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip(err)
	}
	defer ln.Close()
	if err := s.Serve(context.Background(), ln, true, time.Second); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("plaintext on %s: %v", ln.Addr(), err)
	}
}

// A request that runs past the time limit is stopped with an error saying so.
func TestRequestTimeout(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 512, 512, 64
	lim.RequestTimeout = 50 * time.Millisecond
	s := newTestServer(t, lim)
	err := s.generate(context.Background(), "hello", nil, model.Options{Temperature: 0, TopP: 1, RepeatPenalty: 1, NumPredict: 64, NumCtx: 512, Seed: 1}, false,
		func([]byte) error { time.Sleep(20 * time.Millisecond); return nil }, func(model.Result, json.RawMessage) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "longer than the server's limit") || statusOf(err) != http.StatusGatewayTimeout {
		t.Fatalf("past the time limit: %v (status %d)", err, statusOf(err))
	}
}

// A client that sends its headers and then stalls its body gets 408
// within BodyTimeout and gives its admission back, on the gateway and the
// plaintext API alike: Queue such clients no longer turn everyone else
// away. A request that runs past BodyTimeout is not cut short.
func TestStalledBodyTimesOut(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 512, 512, 64
	lim.Queue, lim.Concurrent = 2, 1
	lim.BodyTimeout = 300 * time.Millisecond
	s := newTestServer(t, lim)
	addr := serveLoopback(t, s, true)
	for _, req := range []string{
		"POST /v1/ohttp HTTP/1.1\r\nHost: x\r\nContent-Type: message/ohttp-req\r\nContent-Length: 1000\r\n\r\nab",
		"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mo",
	} {
		if resp := rawRequest(t, addr, req); resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("%.20q: status %d, want 408", req, resp.StatusCode)
		}
	}
	if n := s.admitted.Load(); n != 0 {
		t.Fatalf("%d requests still admitted after their bodies timed out", n)
	}
	// A sealed request may then take longer than BodyTimeout: here it
	// waits that long for the one arena.
	held := make(chan struct{})
	go s.arenas.Do(context.Background(), func(*arena.Arena) error {
		close(held)
		time.Sleep(3 * lim.BodyTimeout)
		return nil
	})
	<-held
	cfgs := keyConfigs(t, s.keys.config())
	inner, err := (&bhttp.Request{Method: "POST", Scheme: "https", Authority: "pith", Path: "/api/generate",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"model":"tiny","prompt":"hello","stream":false,"options":{"num_predict":4}}`)}).MarshalKnownLength()
	if err != nil {
		t.Fatal(err)
	}
	msg, cc, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], inner, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/v1/ohttp", ohttp.MediaTypeRequest, bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	plain, err := cc.DecapsulateResponse(sealed)
	if err != nil {
		t.Fatalf("outer %d: %v", resp.StatusCode, err)
	}
	res, err := bhttp.ParseResponse(plain)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 {
		t.Fatalf("a sealed generation longer than BodyTimeout: %d %s", res.Status, res.Body)
	}
}

// isCurrent runs on every sealed request: it tells the current keys from
// the previous ones kept for their grace period, across rotations, and
// allocates nothing.
func TestKeyIsCurrent(t *testing.T) {
	s := newTestServer(t, Limits{})
	ids := func() []uint8 {
		cfgs := keyConfigs(t, s.keys.config())
		var ids []uint8
		for _, c := range cfgs {
			ids = append(ids, c.KeyID)
		}
		return ids
	}
	old := ids()
	for _, keep := range []bool{true, false} {
		if err := s.RotateKeys(keep); err != nil {
			t.Fatal(err)
		}
		cur := ids()
		for _, id := range cur {
			if !s.keys.isCurrent(id) {
				t.Errorf("keep %v: current key %d is not current", keep, id)
			}
		}
		for _, id := range append(old, 250) {
			if s.keys.isCurrent(id) {
				t.Errorf("keep %v: key %d is current, the current ones are %v", keep, id, cur)
			}
		}
		old = cur
	}
	if n := testing.AllocsPerRun(100, func() { s.keys.isCurrent(old[1]) }); n != 0 {
		t.Errorf("isCurrent allocates %.0f times a call", n)
	}
}
