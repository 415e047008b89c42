package hugemem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignOffset is how many bytes into b the first huge page boundary is.
func alignOffset(b []byte) int {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return int(-p & (Size - 1))
}

// Advise asks the kernel to back the whole huge pages inside b with huge
// pages (madvise MADV_HUGEPAGE). Pages already touched keep their size
// until the kernel's background collapse gets to them, so advise before
// writing. It fails where the kernel has no transparent huge pages.
func Advise(b []byte) error {
	off := alignOffset(b)
	n := (len(b) - off) &^ (Size - 1)
	if off >= len(b) || n <= 0 {
		return nil
	}
	if err := unix.Madvise(b[off:off+n], unix.MADV_HUGEPAGE); err != nil {
		return fmt.Errorf("hugemem: madvise(MADV_HUGEPAGE) of %d MiB: %w", n>>20, err)
	}
	return nil
}

// Backing is how the kernel backs a slice now, from /proc/self/smaps: the
// bytes of it in mappings advised to take huge pages (VmFlags hg), and
// the bytes on huge pages (AnonHugePages of the mappings it overlaps, at
// most the overlap). The second may be lower where the kernel found no
// free 2 MiB of physical memory.
type Backing struct{ Advised, Huge int64 }

// Stat returns b's Backing, for logs and tests.
func Stat(b []byte) (Backing, error) {
	var r Backing
	if len(b) == 0 {
		return r, nil
	}
	lo := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	hi := lo + uint64(len(b))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return r, fmt.Errorf("hugemem: %w", err)
	}
	defer f.Close()
	var overlap int64 // of the current mapping with b
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if a, z, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			start, err1 := strconv.ParseUint(a, 16, 64)
			end, err2 := strconv.ParseUint(z, 16, 64)
			if err1 == nil && err2 == nil {
				overlap = max(0, int64(min(end, hi))-int64(max(start, lo)))
				continue
			}
		}
		if overlap == 0 {
			continue
		}
		switch fields[0] {
		case "AnonHugePages:":
			if len(fields) < 2 {
				return r, fmt.Errorf("hugemem: smaps line %q", line)
			}
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("hugemem: smaps line %q: %w", line, err)
			}
			r.Huge += min(kb<<10, overlap)
		case "VmFlags:":
			for _, fl := range fields[1:] {
				if fl == "hg" {
					r.Advised += overlap
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return r, fmt.Errorf("hugemem: reading smaps: %w", err)
	}
	return r, nil
}

// Enabled reports whether the kernel gives huge pages to memory that asks
// for them: /sys/kernel/mm/transparent_hugepage/enabled is "always" or
// "madvise".
func Enabled() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "[always]") || strings.Contains(s, "[madvise]")
}
