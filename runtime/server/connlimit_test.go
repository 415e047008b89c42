package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
)

// serveLoopback serves s on a loopback port until the test ends, and
// returns the address.
func serveLoopback(t *testing.T, s *Server, plaintext bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, plaintext, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// openFDs counts this process's descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// More idle connections than MaxConns take only MaxConns descriptors on
// the server's side; the rest wait in the backlog, the header timeout
// frees the slots of the idle ones, and a request behind them is served.
// Meanwhile the process can still open files (the model, attestation).
func TestConnectionLimit(t *testing.T) {
	const maxConns, idle = 4, 12
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPredict = 512, 512, 64
	lim.Queue, lim.Concurrent = 2, 1
	lim.MaxConns = maxConns
	lim.HeaderTimeout = 400 * time.Millisecond
	addr := serveLoopback(t, newTestServer(t, lim), false)

	before := openFDs(t)
	conns := make([]net.Conn, idle)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	time.Sleep(100 * time.Millisecond) // let the server accept what it will
	// idle client ends, plus at most maxConns server ends.
	if got := openFDs(t) - before; got > idle+maxConns {
		t.Fatalf("%d idle connections took %d descriptors, want at most %d: the server accepted more than %d", idle, got, idle+maxConns, maxConns)
	}
	if f, err := os.Open("/proc/self/status"); err != nil {
		t.Fatalf("opening a file beside a full server: %v", err)
	} else {
		f.Close()
	}

	// Behind all of them, a request is served once header timeouts have
	// closed the idle connections ahead of it, in well under a second
	// per batch of maxConns.
	start := time.Now()
	resp := rawRequest(t, addr, "GET /.well-known/ohttp-gateway HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	t.Logf("served after %s behind %d idle connections", time.Since(start).Round(time.Millisecond), idle)
	// The idle ones were closed by the server (header timeout), not left open.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection %d: read %v, want EOF (closed by the server)", i, err)
		}
	}
}

func TestConnectionLimitOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Limits)
	}{
		{"fewer connections than the queue", func(l *Limits) { l.MaxConns = l.Queue - 1 }},
		{"negative connections", func(l *Limits) { l.MaxConns = -1 }},
		{"negative header timeout", func(l *Limits) { l.HeaderTimeout = -time.Second }},
		{"negative idle timeout", func(l *Limits) { l.IdleTimeout = -time.Second }},
		{"negative write timeout", func(l *Limits) { l.WriteTimeout = -time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			tc.set(&lim)
			dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(Config{Model: testModel(t), Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), "server: limits:") {
				t.Fatalf("refused for another reason: %v", err)
			}
		})
	}
}

// MaxConns 0 is the default's 256, or the queue when that is larger: a
// server whose queue exceeds 256 (pith bench serve -c 200 asks for 400)
// must not be refused for a limit nobody set.
func TestConnectionLimitDefault(t *testing.T) {
	for _, tc := range []struct{ queue, want int }{{16, 256}, {400, 400}} {
		lim := DefaultLimits()
		lim.Queue, lim.MaxConns = tc.queue, 0
		dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Model: testModel(t), Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("queue %d, MaxConns 0: %v", tc.queue, err)
		}
		got := s.cfg.Limits.MaxConns
		s.Close()
		if got != tc.want {
			t.Errorf("queue %d, MaxConns 0: the server holds %d connections, want %d", tc.queue, got, tc.want)
		}
	}
}
