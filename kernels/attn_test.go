package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The softmax's vector max and sum (attnKernels.max, .sum) equal Go's max
// exactly (NaN if any score is NaN, wherever it is) and a float64 sum in
// order to within the rounding of eight running sums.
func TestAttnMaxSum(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 31))
	for path, fk := range floats {
		a := fk.attn
		if a == nil {
			continue
		}
		if _, err := paths[path](); err != nil {
			continue
		}
		for _, n := range []int{8, 16, 24, 64, 200, 1000} {
			x := randRow(r, n)
			for i := range x {
				x[i] *= 40
			}
			x[r.IntN(n)] = float32(math.Inf(-1))
			want := float32(math.Inf(-1))
			var sum, mag float64
			for _, v := range x {
				want = max(want, v)
				if !math.IsInf(float64(v), 0) {
					sum += float64(v)
					mag += math.Abs(float64(v))
				}
			}
			if got := a.max(n, &x[0]); got != want {
				t.Errorf("%s: max of %d = %v, want %v", path, n, got, want)
			}
			y := make([]float32, n)
			for i, v := range x {
				if !math.IsInf(float64(v), 0) {
					y[i] = v
				}
			}
			if got := a.sum(n, &y[0]); !(math.Abs(got-sum) <= 0x1p-50*mag) {
				t.Errorf("%s: sum of %d = %v, want %v", path, n, got, sum)
			}
			for _, at := range []int{0, n / 2, n - 1} {
				x[at] = float32(math.NaN())
				if got := a.max(n, &x[0]); got == got {
					t.Errorf("%s: max of %d with a NaN at %d = %v", path, n, at, got)
				}
				x[at] = 1
			}
		}
	}
}
