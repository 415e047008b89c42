package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipeListener hands net/http one end of a net.Pipe, whose writes block
// until the other end reads: a client that is slow to read, without
// depending on socket buffer sizes.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

// TestSlowFinalFlushKeepsNextRequest: when the client takes an answer's
// last bytes slower than BodyTimeout (within WriteTimeout, which allows
// it), the next request on the connection is served with a live context,
// after a request without a body and after one whose body the handler
// read. writeDeadlines once left a BodyTimeout read deadline after every
// handler, which also bounds net/http's read of a kept-alive connection
// during the final flush: it fired there, and net/http cancelled the
// connection's context, and so every later request's on it, while it
// went on serving them.
func TestSlowFinalFlushKeepsNextRequest(t *testing.T) {
	for _, tc := range []struct{ name, req string }{
		{"no body", "GET / HTTP/1.1\r\nHost: pith\r\n\r\n"},
		{"a body read", "POST / HTTP/1.1\r\nHost: pith\r\nContent-Length: 8\r\n\r\n{\"a\":1} "},
		{"a chunked body read", "POST / HTTP/1.1\r\nHost: pith\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"a\":1} \r\n0\r\n\r\n"},
		// The JSON decoder stops after the value; the body's end comes
		// later, read by net/http after the handler.
		{"a chunked body ended late", "POST / HTTP/1.1\r\nHost: pith\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"a\":1} \r\n|0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if errs := twoRequests(t, tc.req); len(errs) != 2 || errs[0] != nil || errs[1] != nil {
				t.Fatalf("the requests' contexts on arrival, and their bodies' reads: %v, want none", errs)
			}
		})
	}
}

// twoRequests sends req twice on one connection through writeDeadlines
// (BodyTimeout 100 ms, WriteTimeout 10 s), 50 ms between its parts (split
// at |), reading the first answer only after 400 ms, and returns each
// request's context error on arrival, or the error reading its body.
func twoRequests(t *testing.T, req string) []error {
	s := &Server{cfg: Config{Limits: Limits{BodyTimeout: 100 * time.Millisecond, WriteTimeout: 10 * time.Second}}}
	var mu sync.Mutex
	var errs []error
	h := s.writeDeadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := r.Context().Err()
		if err == nil && r.ContentLength != 0 {
			var v any
			err = s.readBody(w, r, 100, func(b io.Reader) error { return json.NewDecoder(b).Decode(&v) })
		}
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		io.WriteString(w, "answer\n")
	}))
	ln := &pipeListener{conns: make(chan net.Conn, 1), done: make(chan struct{})}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	client, server := net.Pipe()
	ln.conns <- server
	defer client.Close()
	client.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(client)
	for i := range 2 {
		for j, part := range strings.Split(req, "|") {
			if j > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := io.WriteString(client, part); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			// The handler has returned; net/http's flush of its answer
			// waits for this read.
			time.Sleep(400 * time.Millisecond)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	return errs
}
