package arena

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unsafe"
)

func newArena(t testing.TB, size int, opts Options) *Arena {
	t.Helper()
	opts.AllowUnlocked = true
	a, err := New(size, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// Allocations never overlap, are aligned, zeroed and capped at their
// length, whatever the mix of sizes and types, across wipes.
func TestAllocationsDisjointAlignedZeroed(t *testing.T) {
	a := newArena(t, 1<<20, Options{})
	r := rand.New(rand.NewPCG(5, 6))
	type span struct{ lo, hi uintptr }
	for round := range 4 {
		var spans []span
		for {
			n := r.IntN(5000)
			var b []byte
			switch r.IntN(4) {
			case 0:
				b = try(a.TryBytes(n))
			case 1:
				b = asBytes(tryT(a, func() []float32 { return a.Float32s(n) }), 4)
				n *= 4
			case 2:
				b = asBytes(tryT(a, func() []int32 { return a.Int32s(n) }), 4)
				n *= 4
			case 3:
				b = asBytes(tryT(a, func() []uint16 { return a.Uint16s(n) }), 2)
				n *= 2
			}
			if b == nil {
				break // exhausted
			}
			if len(b) != n || cap(b) != n {
				t.Fatalf("round %d: len %d cap %d, want %d", round, len(b), cap(b), n)
			}
			if n == 0 {
				continue
			}
			lo := uintptr(unsafe.Pointer(&b[0]))
			if lo%Align != 0 {
				t.Fatalf("round %d: unaligned %#x", round, lo)
			}
			if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Fatalf("round %d: allocation not zeroed at %d", round, i)
			}
			for i := range b {
				b[i] = 0xAA
			}
			for _, s := range spans {
				if lo < s.hi && s.lo < lo+uintptr(n) {
					t.Fatalf("round %d: [%#x,%#x) overlaps [%#x,%#x)", round, lo, lo+uintptr(n), s.lo, s.hi)
				}
			}
			spans = append(spans, span{lo, lo + uintptr(n)})
		}
		if len(spans) < 50 {
			t.Fatalf("round %d: only %d allocations fit", round, len(spans))
		}
		a.Wipe()
	}
}

func try(b []byte, err error) []byte {
	if err != nil {
		return nil
	}
	return b
}

// tryT calls a typed helper and turns its exhaustion panic into nil.
func tryT[T any](a *Arena, f func() []T) (s []T) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); !ok || !errors.Is(e, ErrExhausted) {
				panic(r)
			}
			s = nil
		}
	}()
	s = f()
	if s == nil {
		panic("typed helper returned nil")
	}
	return s
}

func asBytes[T any](s []T, size int) []byte {
	if s == nil {
		return nil
	}
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size)
}

// An allocation that does not fit is refused without changing the arena,
// and sizes that overflow are refused rather than wrapped around.
func TestExhaustionAndBadSizes(t *testing.T) {
	a := newArena(t, 64<<10, Options{})
	a.Bytes(100)
	used := a.Used()
	if _, err := a.TryBytes(a.Size()); !errors.Is(err, ErrExhausted) {
		t.Fatalf("TryBytes(Size) after 100 bytes: %v, want ErrExhausted", err)
	}
	if a.Used() != used {
		t.Fatalf("failed allocation moved the arena from %d to %d", used, a.Used())
	}
	if _, err := a.TryBytes(-1); err == nil {
		t.Fatal("negative size accepted")
	}
	if tryT(a, func() []float32 { return a.Float32s(int(^uint(0) >> 2)) }) != nil {
		t.Error("an overflowing float32 count was not refused as exhaustion")
	}
	if tryT(a, func() []byte { return a.Bytes(a.Available() + 1) }) != nil {
		t.Error("one byte too many was not refused")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a negative count did not panic")
			}
		}()
		a.Uint16s(-3)
	}()
	if a.Used() != used {
		t.Fatalf("refused allocations moved the arena from %d to %d", used, a.Used())
	}
	if b, err := a.TryBytes(a.Available()); err != nil || len(b) == 0 {
		t.Fatalf("the exact remainder is refused: %v", err)
	}
}

func TestClosedArenaRefuses(t *testing.T) {
	a, err := New(4096, Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Bytes(10)[0] = 1
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TryBytes(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryBytes after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestTypedAllocatorsDoNotAllocate(t *testing.T) {
	a := newArena(t, 1<<20, Options{})
	n := testing.AllocsPerRun(100, func() {
		a.Float32s(64)
		a.Int32s(64)
		a.Uint16s(64)
		a.Bytes(64)
		a.TryBytes(64)
		a.Wipe()
	})
	if n != 0 {
		t.Errorf("%v heap allocations per run", n)
	}
}

// Heap satisfies the same interface and hands out zeroed buffers.
func TestHeapAllocator(t *testing.T) {
	var al Allocator = Heap{}
	if len(al.Bytes(3)) != 3 || len(al.Float32s(5)) != 5 || len(al.Int32s(7)) != 7 || len(al.Uint16s(9)) != 9 {
		t.Fatal("wrong lengths")
	}
}

func BenchmarkAlloc(b *testing.B) {
	a := newArena(b, 1<<20, Options{})
	for b.Loop() {
		a.Float32s(896)
		a.Int32s(64)
		if a.Used() > 1<<19 {
			a.Wipe()
		}
	}
}

// Clearing within the retained prefix: the memclr speed.
func BenchmarkWipeRetained(b *testing.B) {
	a := newArena(b, 64<<20, Options{Retain: 64 << 20})
	b.SetBytes(32 << 20)
	a.Bytes(32 << 20)
	for b.Loop() {
		a.Wipe()
		a.Bytes(32 << 20)
	}
}

// Clearing and releasing: what a large request's wipe costs, including
// faulting the pages back in on the next request.
func BenchmarkWipeReleased(b *testing.B) {
	a := newArena(b, 64<<20, Options{Retain: -1})
	b.SetBytes(32 << 20)
	for b.Loop() {
		m := a.Bytes(32 << 20)
		for i := 0; i < len(m); i += 4096 {
			m[i] = 1
		}
		a.Wipe()
	}
}
