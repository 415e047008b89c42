package arena

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unsafe"
)

func newArena(t testing.TB, size int) *Arena {
	t.Helper()
	a, err := New(size, Options{AllowUnlocked: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// What a request wrote is gone after the wipe, on every path out of Do.
func TestDoWipesOnEveryPath(t *testing.T) {
	a := newArena(t, 4<<20)
	canary := []byte("CANARY-0123456789abcdef-CANARY")
	write := func(a *Arena) {
		b := a.Bytes(3 << 20) // large enough to take the DONTNEED path too
		copy(b[len(b)-len(canary):], canary)
		copy(a.Bytes(len(canary)), canary)
	}
	paths := []struct {
		name string
		fn   func(a *Arena) error
		want error
	}{
		{"success", func(a *Arena) error { write(a); return nil }, nil},
		{"error", func(a *Arena) error { write(a); return errors.New("boom") }, nil},
		{"exhausted", func(a *Arena) error { write(a); a.Bytes(8 << 20); return nil }, ErrExhausted},
	}
	for _, p := range paths {
		err := a.Do(p.fn)
		if p.want != nil && !errors.Is(err, p.want) {
			t.Errorf("%s: error %v, want %v", p.name, err, p.want)
		}
		if bytes.Contains(a.mem, canary) || a.Used() != 0 {
			t.Errorf("%s: canary survives the wipe (used %d)", p.name, a.Used())
		}
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("panic was swallowed")
			}
		}()
		a.Do(func(a *Arena) error { write(a); panic("handler bug") })
	}()
	if bytes.Contains(a.mem, canary) {
		t.Error("panic: canary survives the wipe")
	}
}

// Allocations never overlap, are aligned and zeroed, whatever the sizes.
func TestAllocationsDisjointAlignedZeroed(t *testing.T) {
	a := newArena(t, 1<<20)
	r := rand.New(rand.NewPCG(5, 6))
	type span struct{ lo, hi uintptr }
	for round := range 3 {
		var spans []span
		for {
			n := r.IntN(5000)
			if a.Used()+n+align > a.Size() {
				break
			}
			b := a.Bytes(n)
			if n == 0 {
				continue
			}
			lo := uintptr(unsafe.Pointer(&b[0]))
			if lo%align != 0 {
				t.Fatalf("round %d: unaligned %#x", round, lo)
			}
			for _, c := range b {
				if c != 0 {
					t.Fatalf("round %d: allocation not zeroed", round)
				}
			}
			for i := range b {
				b[i] = 0xAA
			}
			for _, s := range spans {
				if lo < s.hi && s.lo < lo+uintptr(n) {
					t.Fatalf("round %d: overlap", round)
				}
			}
			spans = append(spans, span{lo, lo + uintptr(n)})
		}
		a.Wipe()
	}
}

func TestTypedAllocatorsDoNotAllocate(t *testing.T) {
	a := newArena(t, 1<<20)
	n := testing.AllocsPerRun(100, func() {
		a.Float32s(64)
		a.Int32s(64)
		a.Uint16s(64)
		a.Bytes(64)
		a.Wipe()
	})
	if n != 0 {
		t.Errorf("%v heap allocations per run", n)
	}
}

func BenchmarkWipe(b *testing.B) {
	a := newArena(b, 64<<20)
	b.SetBytes(32 << 20)
	for b.Loop() {
		a.Bytes(32 << 20)[0] = 1
		a.Wipe()
	}
}
