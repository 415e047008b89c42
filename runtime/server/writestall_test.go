package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

// smallBuffers makes every accepted connection's send buffer small, so
// that a client that stops reading blocks the server's writes after a
// few KiB rather than after the megabytes loopback buffers take.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		err = c.(*net.TCPConn).SetWriteBuffer(4096)
	}
	return c, err
}

// dialSmall connects with a small receive buffer, set before the
// handshake so that the window it advertises stays small.
func dialSmall(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A client that sends a request and then stops reading its streamed
// answer must not hold the request, its arena and the plaintext in it
// for as long as the request may run: once a write has waited
// WriteTimeout for the client, the connection is dropped, the generation
// stops and its arena is wiped and free for the next request. On the
// gateway (a chunked OHTTP answer) and the plaintext API alike.
func TestStalledReaderTimesOut(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPromptTokens, lim.MaxPredict = 2048, 2048, 400, 2000
	lim.Queue, lim.Concurrent = 2, 1
	lim.WriteTimeout = 300 * time.Millisecond
	s := newTestServer(t, lim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, smallBuffers{ln}, true, time.Second) }()
	t.Cleanup(func() { cancel(); <-served })
	addr := ln.Addr().String()

	long := `{"model":"tiny","raw":true,"prompt":"hello there","options":{"num_predict":2000,"temperature":1,"seed":3}}`
	sealed, cc := sealChunked(t, s, innerBHTTP(t, "/api/generate", long))
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
		cc                *ohttp.ClientContext // opens a sealed answer
	}{
		{"sealed chunked", "/v1/ohttp", ohttp.MediaTypeChunkedReq, sealed, cc},
		{"plaintext", "/api/generate", "application/json", []byte(long), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stalled := dialSmall(t, addr)
			if _, err := fmt.Fprintf(stalled, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
				tc.path, tc.ctype, len(tc.body), tc.body); err != nil {
				t.Fatal(err)
			}
			// The stalled client holds the only arena until its writes block.
			deadline := time.Now().Add(5 * time.Second)
			for s.arenas.InUse() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if s.arenas.InUse() == 0 {
				t.Fatal("the stalled client's generation never started")
			}

			// Another client's request is answered once the stalled one is dropped.
			start := time.Now()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			short := `{"model":"tiny","raw":true,"prompt":"hi","stream":false,"options":{"num_predict":2}}`
			if _, err := fmt.Fprintf(c, "POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(short), short); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("a request behind a client that stopped reading: %v", err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"done":true`) {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			t.Logf("answered after %s behind a client that stopped reading", time.Since(start).Round(time.Millisecond))

			// The server dropped the stalled connection: what the client
			// finally reads ends, short of the generation's end.
			stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, err := io.ReadAll(stalled)
			if err != nil {
				t.Fatalf("the stalled connection was not closed by the server: %v", err)
			}
			text := string(rest)
			if tc.cc != nil {
				// Sealed, the answer's text shows only once opened; cut
				// short, it does not open to its end.
				if text, err = openStalled(rest, tc.cc); err == nil {
					t.Fatalf("the stalled client's sealed answer opened whole: %q", text)
				}
			}
			if strings.Contains(text, `"done":true`) {
				t.Fatal("the stalled client's generation ran to its end")
			}
		})
	}
}

// openStalled opens what a stalled client read of a chunked sealed
// answer, raw HTTP as it came off the connection: the answer's text as far
// as it opens, and why it ends there.
func openStalled(raw []byte, cc *ohttp.ClientContext) (string, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return "", err
	}
	dec := bhttp.NewResponseDecoder(ohttp.NewChunkedResponseReader(cc, resp.Body), nil)
	if _, err := dec.ReadHeader(); err != nil {
		return "", err
	}
	b, err := io.ReadAll(dec)
	return string(b), err
}
