package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pith-project/pith/ohttp"
)

// A request sealed to a key the gateway does not have, whole or chunked,
// is answered as RFC 9458 section 5.3 asks: 400 with an RFC 9457 problem
// whose type is the ohttp-key one, which clients (ours and others) tell
// from every other 400; a malformed message stays a plain 400.
func TestGatewayUnknownKeyProblem(t *testing.T) {
	s := newTestServer(t, Limits{})
	h := s.Handler(false)
	cfgs := keyConfigs(t, s.keys.config())
	inner := innerBHTTP(t, "/api/version", "")
	one, _, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], inner, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	chunked, _ := sealChunked(t, s, inner)
	// Key ids the gateway has are its configurations' first bytes; any
	// other is unknown.
	stale := func(msg []byte) []byte {
		b := append([]byte(nil), msg...)
		b[0] = cfgs[0].KeyID + cfgs[1].KeyID + 1
		for b[0] == cfgs[0].KeyID || b[0] == cfgs[1].KeyID {
			b[0]++
		}
		return b
	}
	for _, tc := range []struct {
		name, ctype string
		body        []byte
		problem     bool
	}{
		{"one message", ohttp.MediaTypeRequest, stale(one), true},
		{"chunked", ohttp.MediaTypeChunkedReq, stale(chunked), true},
		{"malformed", ohttp.MediaTypeRequest, []byte{cfgs[1].KeyID, 0, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			mt, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
			var p struct {
				Type  string `json:"type"`
				Title string `json:"title"`
			}
			jerr := json.Unmarshal(rec.Body.Bytes(), &p)
			if !tc.problem {
				if mt == "application/problem+json" || p.Type != "" {
					t.Fatalf("a malformed message answered as the key problem: %q %q", mt, rec.Body.Bytes())
				}
				return
			}
			if mt != "application/problem+json" {
				t.Fatalf("Content-Type %q, want application/problem+json", rec.Header().Get("Content-Type"))
			}
			if jerr != nil || p.Type != "https://iana.org/assignments/http-problem-types#ohttp-key" || p.Title == "" {
				t.Fatalf("problem %q (%+v, %v), want the ohttp-key type and a title", rec.Body.Bytes(), p, jerr)
			}
		})
	}
}
