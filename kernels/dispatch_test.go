package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSetPathErrors(t *testing.T) {
	defer SetPath(Path())
	if err := SetPath("avx9000"); err == nil {
		t.Error("unknown path accepted")
	}
	if err := SetPath("portable"); err != nil || Path() != "portable" {
		t.Errorf("portable: %v", err)
	}
}

func mustRowBytes(t *testing.T, typ Type, n int) int {
	rb, err := typ.RowBytes(n)
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

// Every fast path equals the portable reference on fresh random rows of
// awkward lengths, to float rounding: the integer block sums are exact and
// only the order and fusing of the scaled float additions differ.
func TestFastPathsEqualPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(uint64(rand.Int64()), 9))
	compared := 0
	for _, name := range Paths() {
		dots, err := paths[name]()
		if err != nil {
			t.Fatal(err)
		}
		for typ, fast := range dots {
			for _, n := range []int{32, 64, 96, 224, 896, 4864, 4864 + 32} {
				w := make([]byte, mustRowBytes(t, typ, n))
				QuantizeRow(typ, w, randRow(r, n))
				xt := typ.VecDotType()
				x := make([]byte, mustRowBytes(t, xt, n))
				QuantizeRow(xt, x, randRow(r, n))
				want := portable[typ].vecDot(n, w, x)
				got := fast(n, w, x)
				var scale float64 // sum of |block terms|, the size of the rounding
				for b := 0; b < n/QK; b++ {
					scale += math.Abs(float64(f16(w[b*typ.BlockBytes():]) * f16(x[b*34:]) * 32 * 127 * 127))
				}
				if d := math.Abs(float64(got - want)); d > 1e-6*scale {
					t.Errorf("%s %v n=%d: %v, portable %v (diff %g, bound %g)", name, typ, n, got, want, d, 1e-6*scale)
				}
				compared++
			}
		}
	}
	t.Logf("%d comparisons over paths %v", compared, Paths())
}
