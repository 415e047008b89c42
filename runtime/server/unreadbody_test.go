package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// rawRequest sends req, as written, on a new connection to addr that
// stays open until the test ends, and reads the answer's head within 10 s.
func rawRequest(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%.24q: %v", req, err)
	}
	resp.Body.Close()
	return resp
}

// A request whose handler answers without reading its body (the health
// check, a wrong content type, the queue's refusal) leaves net/http to
// read the rest of the body, up to 256 KiB, before it sends the answer,
// with no deadline of its own. A client that declares a body and never
// sends it must get its answer and lose its connection, one of MaxConns,
// within BodyTimeout: MaxConns such clients would otherwise shut everyone
// else out for good.
func TestUnreadBodyTimesOut(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 512, 512, 64
	lim.Queue, lim.Concurrent, lim.MaxConns = 2, 1, 2
	lim.BodyTimeout = 300 * time.Millisecond
	addr := serveLoopback(t, newTestServer(t, lim), false)
	for _, req := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
		"POST /v1/ohttp HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
	} {
		rawRequest(t, addr, req)
	}
	// Both connections are taken by clients that never send their
	// bodies; a request behind them is answered.
	start := time.Now()
	if resp := rawRequest(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	t.Logf("answered after %s", time.Since(start).Round(time.Millisecond))
}
