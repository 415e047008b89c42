package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pith-project/pith/arena"
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
	s.api = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.withArena(r.Context(), func(_ context.Context, a *arena.Arena) error {
			copy(a.Bytes(4096)[1000:], canary)
			panic(string(canary))
		})
	})
	h := s.Handler(false)
	cfgs, err := ohttp.ParseKeyConfigs(s.keys.config())
	if err != nil {
		t.Fatal(err)
	}
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
			if rec.Code != tc.status || bytes.Contains(rec.Body.Bytes(), canary) {
				t.Fatalf("status %d (want %d), answer %q", rec.Code, tc.status, rec.Body.Bytes())
			}
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
		})
	}
}
