//go:build !pithnowipe

package arena

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

var canary = []byte("CANARY-0123456789abcdef-CANARY")

func writeCanaries(a *Arena) {
	b := a.Bytes(3 << 20) // past the retained prefix: the release path too
	copy(b[len(b)-len(canary):], canary)
	copy(b[1000:], canary)
	copy(a.Bytes(len(canary)), canary)
}

// What a request wrote is gone after Do, on every path out of it, and the
// next request's allocations see zeros.
func TestDoWipesOnEveryPath(t *testing.T) {
	a := newArena(t, 8<<20, Options{})
	boom := errors.New("boom")
	paths := []struct {
		name string
		fn   func(a *Arena) error
		want error
	}{
		{"success", func(a *Arena) error { writeCanaries(a); return nil }, nil},
		{"error", func(a *Arena) error { writeCanaries(a); return boom }, boom},
		{"exhausted", func(a *Arena) error { writeCanaries(a); a.Bytes(16 << 20); return nil }, ErrExhausted},
	}
	for _, p := range paths {
		err := a.Do(p.fn)
		if !errors.Is(err, p.want) || (p.want == nil) != (err == nil) {
			t.Errorf("%s: error %v, want %v", p.name, err, p.want)
		}
		checkClean(t, a, p.name)
	}
	type bug struct{ msg string }
	func() {
		defer func() {
			r := recover()
			if b, ok := r.(bug); !ok || b.msg != "handler bug" {
				t.Errorf("panic value %v was not re-raised unchanged", r)
			}
		}()
		a.Do(func(a *Arena) error { writeCanaries(a); panic(bug{"handler bug"}) })
	}()
	checkClean(t, a, "panic")

	err := a.Do(func(a *Arena) error {
		writeCanaries(a)
		return a.Do(func(*Arena) error { return nil })
	})
	if !errors.Is(err, ErrNested) {
		t.Errorf("nested Do: %v, want ErrNested", err)
	}
	checkClean(t, a, "nested")
}

// checkClean reads the whole mapping (not only through the allocator) and
// then allocates all of it again: no canary, all zeros.
func checkClean(t *testing.T, a *Arena, name string) {
	t.Helper()
	if a.Used() != 0 {
		t.Errorf("%s: %d bytes still in use", name, a.Used())
	}
	if bytes.Contains(a.mem, canary) {
		t.Errorf("%s: canary survives the wipe", name)
	}
	all := a.Bytes(a.Available())
	if i := bytes.IndexFunc(all, func(r rune) bool { return r != 0 }); i >= 0 {
		t.Errorf("%s: byte %d is not zero after the wipe", name, i)
	}
	a.Wipe()
}

// Wipe gives back the pages above the retained prefix (MADV_DONTNEED) and
// keeps the prefix resident, locked arena or not.
func TestWipeReleasesPagesAboveRetain(t *testing.T) {
	const retain = 256 << 10
	a := newArena(t, 16<<20, Options{Retain: retain})
	b := a.Bytes(12 << 20)
	for i := range b {
		b[i] = byte(i) | 1
	}
	if got := resident(t, a); got < 12<<20 {
		t.Fatalf("only %d bytes resident after writing 12 MiB", got)
	}
	a.Wipe()
	got := resident(t, a)
	if got != retain {
		t.Fatalf("%d bytes resident after the wipe, want the retained %d", got, retain)
	}
	if a.Locked() {
		// The released range is locked again (on fault) afterwards.
		if flags := vmFlags(t, a); !strings.Contains(flags, " lo") {
			t.Fatalf("arena not locked after a release: VmFlags%s", flags)
		}
	}
	if bytes.ContainsAny(a.mem, "\x01\x03\x05") {
		t.Fatal("data left after the release")
	}
}

func resident(t *testing.T, a *Arena) int {
	t.Helper()
	vec := make([]byte, len(a.mem)/a.page)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&a.mem[0])), uintptr(len(a.mem)), uintptr(unsafe.Pointer(&vec[0])))
	if e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n * a.page
}

// The kernel agrees with the arena about its mapping: never dumped, not
// inherited by a fork, and (as root or with enough RLIMIT_MEMLOCK) locked
// on fault.
func TestMappingFlags(t *testing.T) {
	a := newArena(t, 1<<20, Options{})
	flags := vmFlags(t, a)
	for _, f := range []string{" dd", " dc"} {
		if !strings.Contains(flags, f) {
			t.Errorf("VmFlags%s lacks%s", flags, f)
		}
	}
	if !a.Locked() {
		t.Skipf("arena could not be locked here (no CAP_IPC_LOCK, RLIMIT_MEMLOCK too small); VmFlags%s", flags)
	}
	for _, f := range []string{" lo", " lf"} { // VM_LOCKED, VM_LOCKONFAULT
		if !strings.Contains(flags, f) {
			t.Errorf("VmFlags%s lacks%s", flags, f)
		}
	}
}

func vmFlags(t *testing.T, a *Arena) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&a.mem[0])))
	s := bufio.NewScanner(f)
	in := false
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, start) {
			in = true
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimPrefix(line, "VmFlags:") + " "
		}
	}
	t.Fatalf("mapping %s not in smaps", start)
	return ""
}
