package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/memscan"
)

// childProc is this test binary run again as a process to scan: the
// scanner may not scan its own process, where the needles are.
type childProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startChild runs the test named test in a child process with env (a
// "NAME=value" that tells it to act) added to the environment; it ends
// when its input closes, at the end of the test.
func startChild(t *testing.T, test, env string) *childProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return &childProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
}

// line is the child's next line of output, trimmed.
func (c *childProc) line(t *testing.T) string {
	t.Helper()
	l, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child: %q, %v", l, err)
	}
	return strings.TrimSpace(l)
}

func (c *childProc) scan(t *testing.T, needles []memscan.Needle, opts memscan.Options) *memscan.Result {
	t.Helper()
	res, err := memscan.Scan(c.cmd.Process.Pid, needles, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// scanClean fails the test unless none of needles is left in the child
// within 5 s: the collection that erases them may end after the answer.
func (c *childProc) scanClean(t *testing.T, needles []memscan.Needle, after string) {
	t.Helper()
	res, err := memscan.Retry(5*time.Second, func() (*memscan.Result, error) {
		return memscan.Scan(c.cmd.Process.Pid, needles, memscan.Options{})
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
