package harden

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pith-project/pith/internal/memscan"
	"golang.org/x/sys/unix"
)

const (
	childEnv  = "PITH_HARDEN_CHILD"  // "harden" or "plain"
	readerEnv = "PITH_HARDEN_READER" // "PID:ADDR"
	nobody    = 65534
)

// TestEntry is the re-executed child's entry point; run directly it does
// nothing.
func TestEntry(t *testing.T) {
	switch {
	case os.Getenv(childEnv) != "":
		holder(os.Getenv(childEnv) == "harden")
	case os.Getenv(readerEnv) != "":
		reader(os.Getenv(readerEnv))
	}
}

// holder reads a canary from stdin into mmap'd memory, hardens itself if
// asked, reports its state and the canary's address, and waits for stdin
// to close.
func holder(harden bool) {
	m, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err == nil {
		_, err = io.ReadFull(os.Stdin, m[:32])
	}
	if err == nil && harden {
		err = Apply()
	}
	st, err2 := Current()
	if err != nil || err2 != nil {
		fmt.Println("ERR", err, err2)
		os.Exit(1)
	}
	fmt.Printf("READY %x %v\n", addrOf(m), st.Hardened())
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(m)
	os.Exit(0)
}

// reader tries to read the holder's memory as whatever user it runs as.
func reader(arg string) {
	pid, addr, _ := strings.Cut(arg, ":")
	a, _ := strconv.ParseUint(addr, 16, 64)
	f, err := os.Open("/proc/" + pid + "/mem")
	if err == nil {
		_, err = f.ReadAt(make([]byte, 32), int64(a))
	}
	if err != nil {
		fmt.Println("DENIED", err)
	} else {
		fmt.Println("READ")
	}
	os.Exit(0)
}

// execAs runs the test binary with env as uid (0 for root). The binary is
// copied where another user may execute it.
func execAs(t *testing.T, bin string, uid int, env ...string) *exec.Cmd {
	cmd := exec.Command(bin, "-test.run=^TestEntry$")
	cmd.Env = append(os.Environ(), env...)
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	cmd.Stderr = os.Stderr
	return cmd
}

func publicBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run processes as another user")
	}
	dir, err := os.MkdirTemp("", "harden-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	src, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "harden.test")
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

type holderProc struct {
	pid      int
	addr     uint64
	hardened bool
}

func startHolder(t *testing.T, bin string, harden bool, canary []byte) holderProc {
	t.Helper()
	mode := "plain"
	if harden {
		mode = "harden"
	}
	cmd := execAs(t, bin, nobody, childEnv+"="+mode)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	in.Write(canary)
	line, err := bufio.NewReader(out).ReadString('\n')
	var h holderProc
	var hardened string
	if _, serr := fmt.Sscanf(line, "READY %x %s", &h.addr, &hardened); err != nil || serr != nil {
		t.Fatalf("holder said %q (%v, %v)", line, err, serr)
	}
	h.pid, h.hardened = cmd.Process.Pid, hardened == "true"
	return h
}

// A hardened process reports itself hardened, its /proc files belong to
// root, its core limit is zero, another process of its own user cannot
// read its memory (while it can read an unhardened one: the control), and
// root can still scan it, which the memory-scan proof relies on.
func TestApplyAgainstOtherProcesses(t *testing.T) {
	bin := publicBinary(t)
	raw := make([]byte, 16)
	rand.Read(raw)
	canary := []byte(hex.EncodeToString(raw))
	needles := memscan.Encodings("canary", canary)

	for _, harden := range []bool{false, true} {
		h := startHolder(t, bin, harden, canary)
		if h.hardened != harden {
			t.Fatalf("harden=%v: the child reports hardened=%v", harden, h.hardened)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/mem", h.pid), &st); err != nil {
			t.Fatal(err)
		}
		wantOwner := uint32(nobody)
		if harden {
			wantOwner = 0
		}
		if st.Uid != wantOwner {
			t.Errorf("harden=%v: /proc/PID/mem owned by %d, want %d", harden, st.Uid, wantOwner)
		}
		limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", h.pid))
		coreZero := strings.Contains(string(limits), "Max core file size        0                    0")
		if coreZero != harden {
			t.Errorf("harden=%v: core limit zero is %v:\n%s", harden, coreZero, limits)
		}

		out, err := execAs(t, bin, nobody, fmt.Sprintf("%s=%d:%x", readerEnv, h.pid, h.addr)).Output()
		if err != nil {
			t.Fatalf("reader: %v", err)
		}
		got := strings.TrimSpace(string(out))
		if harden != strings.HasPrefix(got, "DENIED") {
			t.Errorf("harden=%v: same-user reader says %q", harden, got)
		}

		res, err := memscan.Scan(h.pid, needles, memscan.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts[0] < 1 {
			t.Errorf("harden=%v: root's scan misses the canary: %s", harden, res)
		}
		t.Logf("harden=%v: same-user reader: %s; root scan: %s", harden, got, res)
	}
}

// Apply in this process (tests run as an ordinary process, so this is
// safe): the kernel reports the state back, and Apply is idempotent.
func TestApplyInProcess(t *testing.T) {
	if err := Apply(); err != nil {
		t.Fatal(err)
	}
	if err := Apply(); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	st, err := Current()
	if err != nil || !st.Hardened() {
		t.Fatalf("status %+v, %v", st, err)
	}
}
