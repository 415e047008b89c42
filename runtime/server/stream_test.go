package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/ohttp"
)

var errBrokenConn = errors.New("connection reset by peer (test)")

// brokenConn is a client connection that breaks after limit bytes. Like
// net/http's ResponseWriter it buffers writes (2 KiB) and meets the broken
// connection only when it flushes or its buffer fills, and it reports a
// failed flush through FlushError alone.
type brokenConn struct {
	header http.Header
	limit  int
	sent   bytes.Buffer // what reached the client
	buf    []byte
	broken bool
}

func (c *brokenConn) Header() http.Header {
	if c.header == nil {
		c.header = http.Header{}
	}
	return c.header
}

func (c *brokenConn) WriteHeader(int) {}

func (c *brokenConn) Write(p []byte) (int, error) {
	if len(c.buf)+len(p) > 2048 {
		if err := c.FlushError(); err != nil {
			return 0, err
		}
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *brokenConn) FlushError() error {
	if c.broken || c.sent.Len()+len(c.buf) > c.limit {
		c.broken = true
		return errBrokenConn
	}
	c.sent.Write(c.buf)
	c.buf = c.buf[:0]
	return nil
}

func (c *brokenConn) Flush() { _ = c.FlushError() }

// sealChunked seals inner (a BHTTP request) as a chunked OHTTP request to
// the server's current keys.
func sealChunked(t *testing.T, s *Server, inner []byte) ([]byte, *ohttp.ClientContext) {
	t.Helper()
	return sealChunkedTo(t, keyConfigs(t, s.keys.config()), inner)
}

// keyConfigs parses a gateway's key configurations (application/ohttp-keys).
func keyConfigs(t *testing.T, raw []byte) []ohttp.KeyConfig {
	t.Helper()
	cfgs, err := ohttp.ParseKeyConfigs(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfgs
}

// sealChunkedTo seals inner as a chunked OHTTP request to the first of cfgs.
func sealChunkedTo(t *testing.T, cfgs []ohttp.KeyConfig, inner []byte) ([]byte, *ohttp.ClientContext) {
	t.Helper()
	var msg bytes.Buffer
	cw, cc, err := ohttp.NewChunkedRequestWriter(cfgs[0], cfgs[0].Suites[0], &msg, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.Write(inner); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	return msg.Bytes(), cc
}

func innerBHTTP(t *testing.T, path, body string) []byte {
	t.Helper()
	b, err := (&bhttp.Request{Method: "POST", Scheme: "https", Authority: "pith", Path: path,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}).MarshalKnownLength()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A streamed generation whose client can no longer take its pieces stops
// at the piece that failed, with the write's error, on the plaintext API
// and inside a chunked OHTTP answer alike, rather than running on until
// the request's context ends.
func TestStreamStopsOnWriteError(t *testing.T) {
	s := newTestServer(t, Limits{})
	opts := model.Options{Temperature: 0, TopP: 1, RepeatPenalty: 1, NumPredict: 60, NumCtx: 256, Seed: 1}
	for _, tc := range []struct {
		name   string
		writer func(c *brokenConn) http.ResponseWriter
	}{
		{"plaintext", func(c *brokenConn) http.ResponseWriter { return c }},
		{"sealed chunked", func(c *brokenConn) http.ResponseWriter {
			msg, _ := sealChunked(t, s, []byte("x"))
			_, rc, err := s.keys.gateway().NewChunkedRequestReader(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			sw, err := newStreamResponse(c, rc)
			if err != nil {
				t.Fatal(err)
			}
			return sw
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(limit int) (pieces, after int, err error) {
				c := &brokenConn{limit: limit}
				st := &stream{w: tc.writer(c), enabled: true}
				r := httptest.NewRequest("POST", "/api/generate", nil)
				err = s.respond(r, st, "hello", nil, true, opts, func(p string) any {
					pieces++
					if c.broken {
						after++
					}
					return GenerateResponse{Model: "tiny", Response: p}
				}, func(res model.Result, text string, ctxIDs json.RawMessage) any {
					return doneGenerate("tiny", res, text, ctxIDs)
				})
				return pieces, after, err
			}
			// The generation is long enough to show whether it stops.
			all, _, err := run(1 << 30)
			if err != nil || all < 20 {
				t.Fatalf("unbroken: %d pieces, %v; the test needs at least 20", all, err)
			}
			pieces, after, err := run(300)
			if !errors.Is(err, errBrokenConn) {
				t.Errorf("generation ended with %v, want the write's error", err)
			}
			if after > 0 || pieces >= all {
				t.Errorf("%d of %d pieces made, %d of them after the connection broke, want none", pieces, all, after)
			}
		})
	}
}

// The same break through the handlers: the request ends, gives back its
// admission and its arena, and the next request is served; the sealed
// answer ends without its authenticated final chunk, so the client knows
// it was cut short.
func TestBrokenStreamEndsCleanly(t *testing.T) {
	s := newTestServer(t, Limits{})
	body := `{"model":"tiny","prompt":"hello","options":{"num_predict":60,"temperature":0,"seed":1}}`
	t.Run("plaintext", func(t *testing.T) {
		c := &brokenConn{limit: 300}
		s.PlaintextHandler().ServeHTTP(c, httptest.NewRequest("POST", "/api/generate", strings.NewReader(body)))
		if !c.broken || c.sent.Len() == 0 {
			t.Fatalf("the connection took %d bytes and broke: %v", c.sent.Len(), c.broken)
		}
	})
	t.Run("sealed chunked", func(t *testing.T) {
		msg, cc := sealChunked(t, s, innerBHTTP(t, "/api/generate", body))
		c := &brokenConn{limit: 600}
		req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(msg))
		req.Header.Set("Content-Type", ohttp.MediaTypeChunkedReq)
		s.Handler(false).ServeHTTP(c, req)
		if !c.broken {
			t.Fatal("the connection did not break")
		}
		_, err := io.ReadAll(ohttp.NewChunkedResponseReader(cc, bytes.NewReader(c.sent.Bytes())))
		if !errors.Is(err, ohttp.ErrTruncated) {
			t.Fatalf("the client reads what was sent with %v, want truncation", err)
		}
	})
	if n, a := s.admitted.Load(), s.arenas.InUse(); n != 0 || a != 0 {
		t.Fatalf("after the broken streams: %d requests admitted, %d arenas in use", n, a)
	}
	rec := httptest.NewRecorder()
	s.PlaintextHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/api/generate",
		strings.NewReader(`{"model":"tiny","prompt":"hello","stream":false,"options":{"num_predict":4}}`)))
	if rec.Code != 200 {
		t.Fatalf("the next request: %d %s", rec.Code, rec.Body)
	}
}
