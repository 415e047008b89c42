package memscan

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Child is the running test binary started again as a process to scan: a
// test may not scan its own process, where its needles are.
type Child struct {
	Cmd *exec.Cmd
	In  io.WriteCloser // the child's standard input
	out *bufio.Reader
}

// StartChild runs the test named test in a child process with env
// ("NAME=value" entries that tell it what to do) added to the environment.
// At the end of the test the child's input closes, which tells it to
// exit with status 0. A child that exits otherwise fails the test (its
// own t.Fatal exits with 1), and so does one still running 10 s later,
// which is killed: the scans proved nothing if the child went wrong.
func StartChild(t testing.TB, test string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
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
	t.Cleanup(func() {
		in.Close()
		var killed atomic.Bool
		kill := time.AfterFunc(childGrace, func() {
			killed.Store(true)
			cmd.Process.Kill()
		})
		defer kill.Stop()
		err := cmd.Wait()
		switch {
		case killed.Load():
			t.Errorf("child %s: still running %s after its input closed; killed", test, childGrace)
		case err != nil:
			t.Errorf("child %s: %v", test, err)
		}
	})
	return &Child{Cmd: cmd, In: in, out: bufio.NewReader(out)}
}

// childGrace is how long a child may take to exit once its input closes.
var childGrace = 10 * time.Second

// Line is the child's next line of output, trimmed; the test fails if
// none comes.
func (c *Child) Line(t testing.TB) string {
	t.Helper()
	l, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child: %q, %v", l, err)
	}
	return strings.TrimSpace(l)
}

// Scan searches the child's memory for needles (Scan); an error fails the
// test.
func (c *Child) Scan(t testing.TB, needles []Needle, opts Options) *Result {
	t.Helper()
	res, err := Scan(c.Cmd.Process.Pid, needles, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
