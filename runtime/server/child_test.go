package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/memscan"
)

// scanClean fails the test unless none of needles is left in the child
// within 5 s: the collection that erases them may end after the answer.
func scanClean(t *testing.T, c *memscan.Child, needles []memscan.Needle, after string) {
	t.Helper()
	res, err := memscan.Retry(5*time.Second, func() (*memscan.Result, error) {
		return memscan.Scan(c.Cmd.Process.Pid, needles, memscan.Options{})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total() != 0 {
		for _, l := range res.Describe() {
			t.Log(l)
		}
		t.Fatalf("after %s, what the needles are made of is still in the server's memory: %s", after, res)
	}
}

const serveChildEnv = "PITH_SERVER_SERVE_CHILD"

// TestServeChild is the process under scan in TestStalledReaderScan: a
// server on a loopback port with small send buffers and a WriteTimeout
// of 4 s, which says its address and serves until its input ends.
// Run directly it does nothing.
func TestServeChild(t *testing.T) {
	if os.Getenv(serveChildEnv) != "1" {
		return
	}
	lim := DefaultLimits()
	lim.MaxContext, lim.DefaultContext, lim.MaxPromptTokens, lim.MaxPredict = 2048, 2048, 400, 2000
	lim.WriteTimeout = 4 * time.Second
	dev, err := attest.NewDevProvider(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Model: testModel(t), ModelName: "tiny:latest", Attest: dev, Limits: lim, AllowUnlockedArena: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	fmt.Println("ADDR", ln.Addr())
	s.Serve(ctx, smallBuffers{ln}, false, time.Second)
	os.Exit(0)
}
