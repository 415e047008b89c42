package hugemem

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMakeAdvisesHugePages checks with the kernel's own accounting that a
// Make'd slice is advised to take huge pages, whole, and ordinary memory
// is not (so the check can fail). Whether the kernel then finds free 2
// MiB pages depends on the machine's memory, so that part is only logged.
func TestMakeAdvisesHugePages(t *testing.T) {
	if !Enabled() {
		t.Skip("this kernel gives no transparent huge pages on request")
	}
	const n = 64 << 20
	b := Make(n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	st, err := Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Advised != n {
		t.Errorf("%d MiB of a %d MiB slice advised for huge pages, want all", st.Advised>>20, n>>20)
	}
	t.Logf("%d of %d MiB on huge pages", st.Huge>>20, n>>20)
	// A fresh mapping, not Go heap memory: the advice stays with the
	// address range, which the heap may hand out again once b is freed.
	plain, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(plain)
	for i := 0; i < len(plain); i += 4096 {
		plain[i] = 1
	}
	if p, err := Stat(plain); err != nil || p.Advised != 0 {
		t.Errorf("ordinary memory: %d MiB advised (%v), want none", p.Advised>>20, err)
	}
	runtime.KeepAlive(b)
}
