package pid1

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// zombie starts a process that exits at once and is never waited for.
// It returns once the child can be reaped: /proc shows a multi-threaded
// child as a zombie ("Z") as soon as its main thread exits, but wait4
// cannot collect it until its other threads have, so the test waits with
// waitid(WNOWAIT), which blocks until then and reaps nothing.
func zombie(t *testing.T) int {
	t.Helper()
	pid, err := syscall.ForkExec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("waitid(%d): %v", pid, err)
		}
		break
	}
	if s := processState(pid); s != "Z" {
		t.Fatalf("child %d exited but is in state %q, not a zombie", pid, s)
	}
	return pid
}

// processState is the state letter in /proc/PID/stat, "" when gone.
func processState(pid int) string {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(string(b), ") ")
	if !ok || after == "" {
		return ""
	}
	return after[:1]
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestReapOnce(t *testing.T) {
	a, b := zombie(t), zombie(t)
	if n := ReapOnce(); n < 2 {
		t.Fatalf("reaped %d, want at least 2", n)
	}
	for _, pid := range []int{a, b} {
		if s := processState(pid); s != "" {
			t.Fatalf("process %d still there in state %q", pid, s)
		}
		if _, err := syscall.Wait4(pid, nil, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
			t.Fatalf("wait4(%d): %v, want ECHILD", pid, err)
		}
	}
	if n := ReapOnce(); n != 0 {
		t.Fatalf("reaped %d with no children", n)
	}
}

// Reap, running, collects a child as soon as it exits (on its SIGCHLD).
func TestReapLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Reap(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	pid, err := syscall.ForkExec(os.Args[0], []string{os.Args[0], "-test.run=^$"}, &syscall.ProcAttr{Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for processState(pid) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("child %d not reaped (state %q)", pid, processState(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
