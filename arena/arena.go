// Package arena is the request arena: memory for every per-request buffer
// (decrypted text, token ids, activations, KV cache, output) that the
// garbage collector never sees, the kernel never swaps or dumps, and that
// is zeroed when the request ends.
//
// The memory comes from an anonymous private mmap, locked with mlock and
// marked MADV_DONTDUMP. A bump allocator hands out 64-byte-aligned,
// zeroed slices; Wipe zeroes everything handed out and returns large
// regions to the kernel with MADV_DONTNEED, which gives back zero pages.
package arena

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrExhausted is the panic value of an allocation that does not fit; Do
// turns it into an error. Allocation panics rather than returning an error
// so that hot paths take buffers without error plumbing, and Do guarantees
// the wipe either way.
var ErrExhausted = errors.New("arena: request needs more memory than the arena holds")

const align = 64

// releaseAbove is the amount of used memory above which Wipe also hands
// pages back to the kernel; below it, clearing is cheaper than faulting
// the pages in again.
const releaseAbove = 1 << 20

// Arena is one request's memory. It is not safe for concurrent use: one
// request, one arena.
type Arena struct {
	mem    []byte
	off    int // next free byte
	high   int // highest byte handed out since the last wipe
	locked bool
}

// Options choose how an arena is made.
type Options struct {
	// AllowUnlocked lets New continue when mlock fails (a development host
	// with a small RLIMIT_MEMLOCK); the arena then says so in Locked.
	AllowUnlocked bool
}

// New maps an arena of size bytes (rounded up to whole pages).
func New(size int, opts Options) (*Arena, error) {
	if size <= 0 {
		return nil, fmt.Errorf("arena: size %d must be positive", size)
	}
	page := unix.Getpagesize()
	size = (size + page - 1) / page * page
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("arena: mmap %d bytes: %w", size, err)
	}
	if err := unix.Madvise(mem, unix.MADV_DONTDUMP); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("arena: madvise(DONTDUMP): %w", err)
	}
	a := &Arena{mem: mem}
	if err := unix.Mlock(mem); err != nil {
		if !opts.AllowUnlocked {
			unix.Munmap(mem)
			return nil, fmt.Errorf("arena: mlock %d bytes: %w (raise RLIMIT_MEMLOCK, or allow an unlocked arena for development)", size, err)
		}
	} else {
		a.locked = true
	}
	return a, nil
}

// Locked reports whether the arena's pages are locked in memory.
func (a *Arena) Locked() bool { return a.locked }

// Size is the arena's capacity in bytes; Used is what is handed out now.
func (a *Arena) Size() int { return len(a.mem) }
func (a *Arena) Used() int { return a.off }

// Bytes returns n zeroed bytes, 64-byte aligned. It panics with
// ErrExhausted when they do not fit.
func (a *Arena) Bytes(n int) []byte {
	if n < 0 {
		panic(fmt.Errorf("arena: negative size %d", n))
	}
	start := (a.off + align - 1) &^ (align - 1)
	if start > len(a.mem) || n > len(a.mem)-start {
		panic(ErrExhausted)
	}
	a.off = start + n
	a.high = max(a.high, a.off)
	return a.mem[start : start+n : start+n]
}

// Float32s returns n zeroed float32s.
func (a *Arena) Float32s(n int) []float32 {
	b := a.Bytes(4 * n)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// Int32s returns n zeroed int32s.
func (a *Arena) Int32s(n int) []int32 {
	b := a.Bytes(4 * n)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
}

// Uint16s returns n zeroed uint16s.
func (a *Arena) Uint16s(n int) []uint16 {
	b := a.Bytes(2 * n)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
}

// Wipe zeroes every byte handed out since the last wipe and makes the
// whole arena available again. Slices handed out before must not be used
// after it.
func (a *Arena) Wipe() {
	used := a.mem[:a.high]
	if a.high > releaseAbove {
		// MADV_DONTNEED on private anonymous memory drops the pages; the
		// next touch faults in zero pages. Locked pages cannot be dropped,
		// so they are cleared by hand as well.
		clear(used)
		page := unix.Getpagesize()
		end := a.high / page * page
		if !a.locked && end > 0 {
			unix.Madvise(a.mem[:end], unix.MADV_DONTNEED)
		}
	} else {
		clear(used)
	}
	a.off, a.high = 0, 0
}

// Close wipes the arena and returns its memory to the kernel.
func (a *Arena) Close() error {
	if a.mem == nil {
		return nil
	}
	a.Wipe()
	if a.locked {
		unix.Munlock(a.mem)
	}
	err := unix.Munmap(a.mem)
	a.mem = nil
	return err
}

// Do runs one request's work in the arena and wipes it afterwards on every
// path: success, error, exhaustion (returned as ErrExhausted) and panic
// (wiped, then re-raised).
func (a *Arena) Do(fn func(a *Arena) error) (err error) {
	defer func() {
		r := recover()
		a.Wipe()
		if r == nil {
			return
		}
		if e, ok := r.(error); ok && errors.Is(e, ErrExhausted) {
			err = ErrExhausted
			return
		}
		panic(r)
	}()
	return fn(a)
}
