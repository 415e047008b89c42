package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

// A panic inside a sealed request, while it holds an arena with content
// in it, is answered 500 without detail, on the one-message and the
// chunked gateway alike; the request's admission is given back, and the
// arena the next request gets holds nothing of it (Bytes relies on the
// wipe for its zeros).
func TestPanicInRequestWipes(t *testing.T) {
	s := newTestServer(t, Limits{})
	canary := []byte("panic-canary-" + strings.Repeat("p", 40))
	panickingAPI(s, canary, nil)
	h := s.Handler(false)
	cfgs := keyConfigs(t, s.keys.config())
	inner := innerBHTTP(t, "/api/generate", "{}")
	one, _, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], inner, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	chunked, _ := sealChunked(t, s, inner)
	for _, tc := range []struct {
		name, ctype string
		body        []byte
		status      int
	}{
		{"one message", ohttp.MediaTypeRequest, one, http.StatusInternalServerError},
		// The chunked answer's head went out before the handler ran.
		{"chunked", ohttp.MediaTypeChunkedReq, chunked, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			h.ServeHTTP(rec, req)
			// Only an answer not yet begun gets the 500's text; after the
			// chunked answer's head it would follow as plaintext.
			said := bytes.Contains(rec.Body.Bytes(), []byte("internal error"))
			if rec.Code != tc.status || bytes.Contains(rec.Body.Bytes(), canary) || said != (tc.status == http.StatusInternalServerError) {
				t.Fatalf("status %d (want %d), answer %q", rec.Code, tc.status, rec.Body.Bytes())
			}
			checkAfterPanic(t, s, canary)
		})
	}
}

// panickingAPI makes s's API handler write canary into its arena, call
// before (if any) with its ResponseWriter, and panic with the canary.
func panickingAPI(s *Server, canary []byte, before func(w http.ResponseWriter)) {
	s.api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.withArena(r.Context(), func(_ context.Context, a *arena.Arena) error {
			copy(a.Bytes(4096)[1000:], canary)
			if before != nil {
				before(w)
			}
			panic(string(canary))
		})
	})
}

// checkAfterPanic checks that a request that panicked gave its admission
// back, and that the arena the next request gets holds nothing of canary.
func checkAfterPanic(t *testing.T, s *Server, canary []byte) {
	t.Helper()
	if n := s.admitted.Load(); n != 0 {
		t.Fatalf("%d requests still admitted after the panic", n)
	}
	err := s.arenas.Do(context.Background(), func(a *arena.Arena) error {
		if bytes.Contains(a.Bytes(4096), canary[:16]) {
			t.Error("the next request's arena holds what the panicking one wrote")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A panic after a chunked answer has sent sealed chunks adds nothing to
// them: the answer ends without its authenticated final chunk, which the
// client reports as a truncation. Plaintext after the chunks would be
// read as one more chunk, and what the client then reports depends on
// its bytes: a failed decryption or a malformed message (which point at
// tampering), or a truncation by luck ("internal error\n" reads as a
// chunk of 10606 bytes, so the client's own check cannot tell the
// difference; the bytes on the wire can).
func TestPanicMidStreamTruncates(t *testing.T) {
	s := newTestServer(t, Limits{})
	canary := []byte("mid-stream-canary-" + strings.Repeat("m", 40))
	panickingAPI(s, canary, func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, "{\"response\":\"first\"}\n")
		if err := flush(w); err != nil {
			t.Errorf("flushing the first piece: %v", err)
		}
	})
	msg, cc := sealChunked(t, s, innerBHTTP(t, "/api/generate", "{}"))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(msg))
	req.Header.Set("Content-Type", ohttp.MediaTypeChunkedReq)
	s.Handler(false).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte("internal error")) || bytes.Contains(rec.Body.Bytes(), canary) {
		t.Fatalf("status %d, answer %q: want 200 and sealed chunks alone", rec.Code, rec.Body.Bytes())
	}
	dec := bhttp.NewResponseDecoder(ohttp.NewChunkedResponseReader(cc, rec.Body), nil)
	head, err := dec.ReadHeader()
	if err != nil || head.Status != http.StatusOK {
		t.Fatalf("head %+v, %v: the piece sent before the panic does not open", head, err)
	}
	body, err := io.ReadAll(dec)
	if !errors.Is(err, ohttp.ErrTruncated) {
		t.Fatalf("after %q: %v, want ErrTruncated", body, err)
	}
	// The line comes padded (padJSON): spaces before its newline.
	if line, ok := strings.CutSuffix(string(body), "\n"); !ok || strings.TrimRight(line, " ") != "{\"response\":\"first\"}" {
		t.Fatalf("opened %q before the cut", body)
	}
	checkAfterPanic(t, s, canary)
}

// A panic in the plaintext API is recovered as on the gateway: net/http
// never sees it, so neither the panic's value (the canary here) nor its
// stack is logged; the server's log says only that a handler panicked.
// Before anything was sent the answer is a bare 500; after, the
// connection is cut, so the client sees a broken answer, not a shorter
// whole one. Either way the arena is wiped and the admission given back.
func TestPlaintextPanic(t *testing.T) {
	for _, tc := range []struct {
		name    string
		started bool
	}{{"before the answer", false}, {"mid-stream", true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer(t, Limits{})
			// Read after hs.Close, which waits for the server's
			// goroutines that write them.
			var srvLog, netLog bytes.Buffer
			s.log = slog.New(slog.NewTextHandler(&srvLog, nil))
			canary := []byte("plaintext-panic-canary-" + strings.Repeat("q", 40))
			var before func(http.ResponseWriter)
			if tc.started {
				before = func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", "application/x-ndjson")
					io.WriteString(w, "{\"response\":\"first\"}\n")
					if err := flush(w); err != nil {
						t.Errorf("flushing the first piece: %v", err)
					}
				}
			}
			panickingAPI(s, canary, before)
			hs := httptest.NewUnstartedServer(s.Handler(true))
			hs.Config.ErrorLog = log.New(&netLog, "", 0)
			hs.Start()
			defer hs.Close()
			resp, err := http.Post(hs.URL+"/api/generate", "application/json", strings.NewReader("{}"))
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			switch {
			case tc.started && (err == nil || string(body) != "{\"response\":\"first\"}\n"):
				t.Errorf("answer %q, %v: want the first line, then a broken connection", body, err)
			case !tc.started && (err != nil || resp.StatusCode != http.StatusInternalServerError || string(body) != "internal error\n"):
				t.Errorf("answer %q, %v: want a bare 500", body, err)
			}
			if bytes.Contains(body, canary) {
				t.Errorf("the answer holds the panic's value: %q", body)
			}
			hs.Close()
			if l := netLog.String(); l != "" {
				t.Errorf("net/http logged: %.300q", l)
			}
			if l := srvLog.String(); !strings.Contains(l, "request handler panicked") || strings.Contains(l, string(canary[:16])) {
				t.Errorf("server log %q: want the panic noted, without its value", l)
			}
			checkAfterPanic(t, s, canary)
		})
	}
}
