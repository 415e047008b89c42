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
