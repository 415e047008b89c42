package arena

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const lockChildEnv = "PITH_ARENA_LOCK_CHILD"

// A process without CAP_IPC_LOCK and CAP_SYS_RESOURCE and a small soft
// RLIMIT_MEMLOCK: New raises the soft limit up to the hard one, fails with
// an error naming the limit beyond it, and runs unlocked only when allowed
// to, saying so.
// The test re-executes itself so the capability drop stays in a child.
func TestLockRaisesMemlockLimit(t *testing.T) {
	if os.Getenv(lockChildEnv) == "1" {
		if err := lockChild(); err != nil {
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		fmt.Println("LOCK-CHILD-OK")
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop capabilities selectively")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockRaisesMemlockLimit$")
	cmd.Env = append(os.Environ(), lockChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "LOCK-CHILD-OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func lockChild() error {
	runtime.LockOSThread() // capabilities are per thread
	// Lowering limits needs no privilege; raising the hard one would.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	hard := min(lim.Max, 64<<20)
	if hard < 1<<20 {
		return fmt.Errorf("hard RLIMIT_MEMLOCK %d too small for the test", hard)
	}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: 64 << 10, Max: hard}); err != nil {
		return fmt.Errorf("setrlimit: %w", err)
	}
	small := int(hard / 2)
	if err := dropCaps(unix.CAP_IPC_LOCK, unix.CAP_SYS_RESOURCE); err != nil {
		return err
	}
	a, err := New(small, Options{})
	if err != nil {
		return fmt.Errorf("New should raise the soft limit: %w", err)
	}
	if !a.Locked() {
		return fmt.Errorf("arena not locked after raising the limit")
	}
	unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim)
	if lim.Cur < uint64(small) {
		return fmt.Errorf("RLIMIT_MEMLOCK %d after New", lim.Cur)
	}
	_, err = New(int(hard), Options{})
	if err == nil || !strings.Contains(err.Error(), "RLIMIT_MEMLOCK") {
		return fmt.Errorf("without CAP_SYS_RESOURCE: error %v, want one naming RLIMIT_MEMLOCK", err)
	}
	b, err := New(int(hard), Options{AllowUnlocked: true})
	if err != nil {
		return fmt.Errorf("AllowUnlocked: %w", err)
	}
	if b.Locked() {
		return fmt.Errorf("an arena beyond the limit claims to be locked")
	}
	return nil
}

func dropCaps(caps ...int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for _, c := range caps {
		data[c/32].Effective &^= 1 << (c % 32)
		data[c/32].Permitted &^= 1 << (c % 32)
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
