package pid1

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// Tests that need a namespace or a process of their own re-execute the
// test binary: the parent runs the named test in a child made with the
// given clone flags, and the child, seeing childEnv, does the work.
const childEnv = "PITH_PID1_CHILD"

// inChild reports whether this process is the child for test name.
func inChild(name string) bool { return os.Getenv(childEnv) == name }

// runChild runs test name in a child process with cloneflags (and a
// private mount namespace if CLONE_NEWNS is among them). It skips the test
// when the namespaces cannot be made (not root, or a sandbox forbids
// them).
func runChild(t *testing.T, name string, cloneflags uintptr) (out string, ps *os.ProcessState, err error) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create namespaces")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: cloneflags &^ syscall.CLONE_NEWNS, Unshareflags: cloneflags & syscall.CLONE_NEWNS}
	b, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Skipf("cannot start a child with namespaces %#x here: %v", cloneflags, err)
	}
	return string(b), cmd.ProcessState, err
}

// childOK runs the child and fails the test unless it printed CHILD-OK.
func childOK(t *testing.T, name string, cloneflags uintptr) string {
	t.Helper()
	out, _, err := runChild(t, name, cloneflags)
	if err != nil || !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return out
}

// childDone ends a child test: CHILD-OK on success, the error otherwise.
func childDone(err error) {
	if err != nil {
		fmt.Println("CHILD-FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("CHILD-OK")
	os.Exit(0)
}

// inNetNS runs child in a child process in a fresh network namespace
// (the test's work there), and fails the test unless child succeeds.
func inNetNS(t *testing.T, child func() error) {
	t.Helper()
	if !inChild(t.Name()) {
		childOK(t, t.Name(), syscall.CLONE_NEWNET)
		return
	}
	childDone(child())
}
