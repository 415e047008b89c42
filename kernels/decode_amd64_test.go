package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// The paths' Q8_0 activation quantisers (decode and prefill) equal the
// portable one byte for byte, on rows of odd and even block counts at every magnitude (with
// scales whose d underflows, is subnormal, or whose 1/d overflows), ties
// at every half, signed zeros and subnormal values, and report rows with
// a NaN or an infinity in any block as non-finite.
func TestDecodeQuantQ8_0EqualsPortable(t *testing.T) {
	quants := map[string]func(nb int, src *float32, dst *byte) bool{}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL {
		quants["avx512"] = quantQ8_0Z
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		quants["avx2"] = quantQ8_0D
	}
	if len(quants) == 0 {
		t.Skip("this CPU runs none of the decode quantisers")
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 12))
	var rows [][]float32
	for _, scale := range []float64{0, 1e-45, 1e-43, 1e-40, 1e-38, 2e-37, 1e-36, 1e-30, 1e-6, 1, 3, 1e4, 1e30, 1e37} {
		for range 12 {
			x := randRow(r, QK*(1+r.IntN(9)))
			for i := range x {
				x[i] = float32(float64(x[i]) * scale)
			}
			rows = append(rows, x)
		}
	}
	tie := make([]float32, 3*QK)
	for i := range tie {
		tie[i] = float32(r.IntN(254)-127) + 0.5
		if i%5 == 0 {
			tie[i] = -tie[i]
		}
	}
	tie[0], tie[QK], tie[2*QK] = 127, -127, 127
	tie[1], tie[2], tie[3], tie[4] = 0.49999997, -0.49999997, 0.5, float32(math.Copysign(0, -1))
	rows = append(rows, tie)
	sub := make([]float32, 2*QK)
	sub[0], sub[1], sub[QK+3] = math.SmallestNonzeroFloat32, -3*math.SmallestNonzeroFloat32, 1e-39
	rows = append(rows, sub)
	for name, quant := range quants {
		for k, x := range rows {
			nb := len(x) / QK
			want := make([]byte, nb*34)
			quantizeQ8_0(want, x)
			got := make([]byte, nb*34+1)
			got[nb*34] = 0xa5
			if !quant(nb, &x[0], &got[0]) {
				t.Fatalf("%s row %d: finite values reported non-finite", name, k)
			}
			if got[nb*34] != 0xa5 {
				t.Fatalf("%s row %d: wrote past the row", name, k)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s row %d (%d blocks, first value %g): byte %d = %#x, portable %#x", name, k, nb, x[0], i, got[i], want[i])
				}
			}
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, nb := range []int{1, 2, 3, 4} {
				x := randRow(r, nb*QK)
				x[r.IntN(len(x))] = bad
				if quant(nb, &x[0], &make([]byte, nb*34)[0]) {
					t.Errorf("%s: %v in %d blocks reported finite", name, bad, nb)
				}
			}
		}
	}
}
