package kernels

import (
	"math"
	"testing"
)

// roundF16's short path equals the exact conversion on float32 bit
// patterns across every exponent, every boundary and a stride through the
// rest. With step 1 (all 2^32 patterns, 30 s) they agreed when it was written.
func TestRoundF16Exhaustive(t *testing.T) {
	const step = 9973
	check := func(b uint32) {
		v := math.Float32frombits(b)
		got, want := roundF16(v), F16ToF32(F32ToF16(v))
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("roundF16(%g = %#08x) = %g (%#08x), exact conversion %g (%#08x)", v, b, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for b := uint64(0); b <= math.MaxUint32; b += step {
		check(uint32(b))
	}
	// Every exponent with the mantissas around F16's rounding boundary.
	for e := uint32(0); e < 256; e++ {
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7fffff} {
			for _, s := range []uint32{0, 1 << 31} {
				check(s | e<<23 | m)
			}
		}
	}
}

// F32ToF16Row equals F32ToF16 bit for bit on every path, NaN payloads
// included, on roundF16Cases.
func TestF32ToF16RowBitExact(t *testing.T) {
	src := roundF16Cases()
	forPathsAndTails(t, len(src), func(path string, n int) {
		got := make([]uint16, n+1)
		got[n] = 0xdead
		F32ToF16Row(got[:n], src[:n])
		for i, v := range src[:n] {
			if want := F32ToF16(v); got[i] != want {
				t.Fatalf("%s: F32ToF16Row of %g (%#08x) = %#04x, F32ToF16 %#04x", path, v, math.Float32bits(v), got[i], want)
			}
		}
		if got[n] != 0xdead {
			t.Fatalf("%s: F32ToF16Row of %d values wrote past them", path, n)
		}
	})
}

// RoundF16Row and RoundBF16Row equal F16ToF32(F32ToF16(v)) and
// BF16ToF32(F32ToBF16(v)) bit for bit on every path, on roundF16Cases, in
// place and into another slice: RoundF16Row any NaN for a NaN,
// RoundBF16Row F32ToBF16's NaN bits.
func TestRoundRowsBitExact(t *testing.T) {
	src := roundF16Cases()
	for _, c := range []struct {
		name  string
		row   func(dst, src []float32)
		exact func(float32) float32
		nan   bool // NaN bits must match too
	}{
		{"RoundF16Row", RoundF16Row, func(v float32) float32 { return F16ToF32(F32ToF16(v)) }, false},
		{"RoundBF16Row", RoundBF16Row, func(v float32) float32 { return BF16ToF32(F32ToBF16(v)) }, true},
	} {
		forPathsAndTails(t, len(src), func(path string, n int) {
			got := make([]float32, n+1)
			got[n] = 7
			if n%2 == 0 {
				c.row(got[:n], src[:n])
			} else {
				copy(got, src[:n])
				c.row(got[:n], got[:n])
			}
			for i, v := range src[:n] {
				want := c.exact(v)
				if math.Float32bits(got[i]) != math.Float32bits(want) && (c.nan || !(got[i] != got[i] && want != want)) {
					t.Fatalf("%s: %s of %g (%#08x) = %g (%#08x), want %g (%#08x)", path, c.name, v, math.Float32bits(v), got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
				}
			}
			if got[n] != 7 {
				t.Fatalf("%s: %s of %d values wrote past them", path, c.name, n)
			}
		})
	}
}

// forPathsAndTails calls check on every path for the lengths n down to
// n-16: whatever n is, the vector loops (eight and sixteen lanes) meet
// tails of every length.
func forPathsAndTails(t *testing.T, n int, check func(path string, n int)) {
	defer SetPath(Path())
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for tail := range 17 {
			check(path, n-tail)
		}
	}
}

// roundF16Cases are a stride through all float32 bit patterns and, for
// every exponent (255's are Inf and NaNs), the mantissas around F16's
// rounding boundary.
func roundF16Cases() []float32 {
	var src []float32
	for b := uint64(0); b <= math.MaxUint32; b += 9973 {
		src = append(src, math.Float32frombits(uint32(b)))
	}
	for e := uint32(0); e < 256; e++ {
		for _, m := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x3000, 0x400000, 0x401000, 0x7fe000, 0x7fefff, 0x7ff000, 0x7fffff} {
			for _, s := range []uint32{0, 1 << 31} {
				src = append(src, math.Float32frombits(s|e<<23|m))
			}
		}
	}
	return src
}
