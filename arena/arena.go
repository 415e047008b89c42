// Package arena is the request arena: memory for every per-request buffer
// (decrypted text, token ids, activations, KV cache, output) that the
// garbage collector never sees, the kernel never swaps or dumps, and that
// is zeroed when the request ends.
//
// The memory comes from an anonymous private mmap, marked MADV_DONTDUMP and
// locked (mlock2 with MLOCK_ONFAULT, so a page is locked from its first
// touch and an idle arena costs no resident memory). A bump allocator hands
// out 64-byte-aligned, zeroed slices. Wipe zeroes every byte handed out
// and returns the part above Options.Retain to the kernel with
// MADV_DONTNEED, which gives back zero pages; Do runs a request and wipes
// on every path out of it, panics included.
//
// Slices from an arena must not outlive the request: after Wipe they alias
// the next request's buffers, and after Close they point at unmapped
// memory. Only plain data (bytes, numbers) belongs in an arena: the
// garbage collector does not scan it, so a Go pointer stored there does
// not keep its target alive.
package arena

import (
	"errors"
	"fmt"
	"log/slog"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrExhausted reports an allocation that does not fit in what is left of
// the arena. Bytes and the typed helpers panic with it (so hot paths take
// buffers without error plumbing, and Do turns the panic back into this
// error after wiping); TryBytes returns it.
var ErrExhausted = errors.New("arena: request needs more memory than the arena holds")

// ErrClosed is the panic value of an allocation from a closed arena, and
// the error of a closed Pool.
var ErrClosed = errors.New("arena: closed")

// Align is the alignment of every allocation: one cache line, and a whole
// AVX-512 vector.
const Align = 64

// DefaultRetain is how much of an arena stays resident across wipes when
// Options.Retain is zero: small requests reuse warm pages, large ones give
// the rest back.
const DefaultRetain = 1 << 20

// Arena is one request's memory. It is not safe for concurrent use: one
// request, one arena (a Pool hands them out).
type Arena struct {
	mem    []byte
	off    int // next free byte
	high   int // end of the highest byte handed out since the last wipe
	retain int // bytes kept resident across wipes (page multiple)
	locked bool
	page   int

	pool *Pool // owner, if from a Pool
	out  bool  // handed out by its pool
	in   bool  // inside Do
}

// ErrNested is Do's answer when called inside Do on the same arena: the
// inner wipe would pull the outer request's buffers from under it.
var ErrNested = errors.New("arena: Do inside Do on the same arena")

// Options choose how an arena is made.
type Options struct {
	// AllowUnlocked lets New continue when the memory cannot be locked
	// (a development host without CAP_IPC_LOCK and a small RLIMIT_MEMLOCK
	// that it may not raise). Locked then reports false, and the caller
	// should say so: unlocked pages may be swapped to disk.
	AllowUnlocked bool
	// Retain is how many bytes at the start of the arena stay resident
	// across wipes (rounded up to whole pages). Zero means DefaultRetain;
	// a negative value releases everything on every wipe.
	Retain int
}

// New maps an arena of size bytes (rounded up to whole pages).
func New(size int, opts Options) (*Arena, error) {
	if size <= 0 {
		return nil, fmt.Errorf("arena: size %d must be positive", size)
	}
	page := unix.Getpagesize()
	if size > int(^uint(0)>>1)-page {
		return nil, fmt.Errorf("arena: size %d too large", size)
	}
	size = roundUp(size, page)
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("arena: mmap %d bytes: %w", size, err)
	}
	// Never in a core dump, even if something later makes the process
	// dumpable again.
	if err := unix.Madvise(mem, unix.MADV_DONTDUMP); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("arena: madvise(MADV_DONTDUMP) %d bytes: %w", size, err)
	}
	// Not inherited across fork: a child must never see a request.
	if err := unix.Madvise(mem, unix.MADV_DONTFORK); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("arena: madvise(MADV_DONTFORK) %d bytes: %w", size, err)
	}
	a := &Arena{mem: mem, page: page}
	switch {
	case opts.Retain < 0:
		a.retain = 0
	case opts.Retain == 0:
		a.retain = min(DefaultRetain, size)
	default:
		a.retain = min(roundUp(opts.Retain, page), size)
	}
	if err := lock(mem); err != nil {
		if !opts.AllowUnlocked {
			unix.Munmap(mem)
			return nil, err
		}
		slog.Warn("arena: running UNLOCKED (development only): request memory may be swapped to disk", "bytes", size, "err", err)
	} else {
		a.locked = true
	}
	return a, nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// Locked reports whether the arena's pages are locked in memory.
func (a *Arena) Locked() bool { return a.locked }

// Size is the arena's capacity in bytes.
func (a *Arena) Size() int { return len(a.mem) }

// Used is how many bytes are handed out now, alignment padding included.
func (a *Arena) Used() int { return a.off }

// Available is how many bytes a Bytes call could still get.
func (a *Arena) Available() int {
	start := roundUp(a.off, Align)
	return max(0, len(a.mem)-start)
}

// TryBytes returns n zeroed bytes, 64-byte aligned, or ErrExhausted when
// they do not fit (the arena is unchanged then). The slice's capacity is
// its length, so an append can never run into the next allocation.
func (a *Arena) TryBytes(n int) ([]byte, error) {
	if a.mem == nil {
		return nil, ErrClosed
	}
	if n < 0 {
		return nil, fmt.Errorf("arena: negative size %d", n)
	}
	start := roundUp(a.off, Align)
	if start > len(a.mem) || n > len(a.mem)-start {
		return nil, fmt.Errorf("%w (%d bytes asked, %d of %d free)", ErrExhausted, n, max(0, len(a.mem)-start), len(a.mem))
	}
	a.off = start + n
	a.high = max(a.high, a.off)
	b := a.mem[start : start+n : start+n]
	if !wipeEnabled {
		// Without wiping the previous request's bytes are still here;
		// the zeroed-memory contract holds regardless.
		clear(b)
	}
	return b, nil
}

// Bytes returns n zeroed bytes, 64-byte aligned. It panics with an error
// wrapping ErrExhausted when they do not fit; Do recovers that panic.
func (a *Arena) Bytes(n int) []byte {
	b, err := a.TryBytes(n)
	if err != nil {
		panic(err)
	}
	return b
}

// Float32s returns n zeroed float32s (64-byte aligned).
func (a *Arena) Float32s(n int) []float32 {
	b := a.Bytes(mulSize(n, 4))
	if n == 0 {
		return []float32{}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// Int32s returns n zeroed int32s (64-byte aligned).
func (a *Arena) Int32s(n int) []int32 {
	b := a.Bytes(mulSize(n, 4))
	if n == 0 {
		return []int32{}
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), n)
}

// Uint16s returns n zeroed uint16s (64-byte aligned).
func (a *Arena) Uint16s(n int) []uint16 {
	b := a.Bytes(mulSize(n, 2))
	if n == 0 {
		return []uint16{}
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
}

// mulSize is n*elem; a negative count stays negative (TryBytes refuses
// it), and a product that overflows becomes the largest int, which no
// arena holds (exhaustion, not a wrapped-around small size).
func mulSize(n, elem int) int {
	const maxInt = int(^uint(0) >> 1)
	switch {
	case n < 0:
		return -1
	case n > maxInt/elem:
		return maxInt
	}
	return n * elem
}

// Wipe zeroes every byte handed out since the last wipe, returns the part
// above the retained prefix to the kernel, and makes the whole arena
// available again. Slices handed out before must not be used after it.
// Reset is the same call.
func (a *Arena) Wipe() {
	if a.mem == nil {
		return
	}
	if wipeEnabled {
		a.wipe()
	}
	a.off, a.high = 0, 0
}

// Reset is Wipe.
func (a *Arena) Reset() { a.Wipe() }

func (a *Arena) wipe() {
	// Clear first, always, also where the pages are about to be dropped:
	// MADV_DONTNEED frees the physical page, and without init_on_free=1
	// its old contents would linger in guest memory until reused.
	clear(a.mem[:a.high])
	if a.high <= a.retain {
		return
	}
	end := roundUp(a.high, a.page)
	release(a.mem[a.retain:end], a.locked)
}

// Close wipes the arena and returns its memory to the kernel. Using any
// slice from it afterwards faults.
func (a *Arena) Close() error {
	if a.mem == nil {
		return nil
	}
	// Only [0, high) can hold anything: every earlier wipe cleared what
	// was used before it, and the rest was never touched.
	a.Wipe()
	if a.locked {
		unix.Munlock(a.mem)
	}
	err := unix.Munmap(a.mem)
	a.mem = nil
	if err != nil {
		return fmt.Errorf("arena: munmap: %w", err)
	}
	return nil
}

// Do runs one request's work in the arena and wipes it afterwards on every
// path: success, error, exhaustion (returned as an error wrapping
// ErrExhausted) and panic (wiped, then re-raised, so a server's own
// recovery still sees it).
func (a *Arena) Do(fn func(a *Arena) error) (err error) {
	if a.in {
		return ErrNested
	}
	a.in = true
	defer func() {
		r := recover()
		a.in = false
		a.Wipe()
		if r == nil {
			return
		}
		if e, ok := r.(error); ok && errors.Is(e, ErrExhausted) {
			err = e
			return
		}
		panic(r)
	}()
	return fn(a)
}
