package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
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
			// From five blocks on, the pairs' maxima come from the loop's
			// scales two pairs ahead, not from the first two pairs'.
			for _, nb := range []int{1, 2, 3, 4, 5, 6, 7, 9} {
				x := randRow(r, nb*QK)
				x[r.IntN(len(x))] = bad
				if quant(nb, &x[0], &make([]byte, nb*34)[0]) {
					t.Errorf("%s: %v in %d blocks reported finite", name, bad, nb)
				}
			}
		}
	}
}

// FuzzDecodeKernels feeds the decode kernels weights of any bytes on rows
// of 1 to 19 blocks (1 to 3 super-blocks), the input repeated to fill
// them, and wants what the portable MatVec gives, to rounding, or both
// not finite. FuzzMatMulPaths' rows are of two blocks (one super-block),
// so its decode calls never reach the Q8_0 kernels' quads, the avx2 Q4_0
// kernel's eight-block step or the K-quant kernels' next super-block;
// these take every tail after them.
func FuzzDecodeKernels(f *testing.F) {
	f.Add(uint8(0), uint8(8), []byte{0xff, 0x7b, 0x80}, int64(1))
	f.Add(uint8(1), uint8(16), []byte{0x00, 0x3c, 0x88, 0x0f}, int64(2))
	f.Add(uint8(3), uint8(2), bytes.Repeat([]byte{0x00, 0x7c, 0x01}, 50), int64(3))
	// Q4_0 and Q5_0 weights all zero (levels 8 and 16) on six blocks (a
	// quad and a pair): the avx2 kernels' lanes once cancelled a block's
	// correction in float.
	f.Add(uint8(1), uint8(5), []byte{0x88}, int64(33))
	f.Add(uint8(2), uint8(5), append([]byte{0x88, 0x88, 0xff, 0xff, 0xff, 0xff}, make([]byte, 16)...), int64(0))
	// Q4_K (3) interleaved, a whole block of d = dmin = 1 and every scale
	// and min 63, which takes every bit of the packing.
	f.Add(uint8(3), uint8(0), append(append([]byte{0x00, 0x3c, 0x00, 0x3c}, bytes.Repeat([]byte{0xff}, 12)...), bytes.Repeat([]byte{0x5a}, 128)...), int64(4))
	types := []Type{Q8_0, Q4_0, Q5_0, Q4_K, Q6_K, Q5_K, Q4_1, Q5_1}
	f.Fuzz(func(t *testing.T, which, width uint8, data []byte, seed int64) {
		if len(data) == 0 {
			return
		}
		typ := types[int(which)%len(types)]
		nb := 1 + int(width)%19
		if typ.BlockSize() == QKK {
			nb = 1 + int(width)%3
		}
		cols := nb * typ.BlockSize()
		rb := mustRowBytes(t, typ, cols)
		rows := 1 + int(uint64(seed)%5)
		_, interleaved := interleavers[typ]
		if interleaved && seed&1 == 0 {
			rows = 8 * (1 + int(uint64(seed)/2%2)) // whole groups, interleaved below
		}
		w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: bytes.Repeat(data, rows*rb/len(data)+1)[:rows*rb]}
		x := randRow(rand.New(rand.NewPCG(uint64(seed), 9)), cols)
		defer SetPath(Path())
		SetPath("portable")
		want := make([]float32, rows)
		MatVec(want, w, x, make([]byte, MatMulWork(w, 1)))
		mag := fuzzMagnitudes(t, w, x, 1)
		if rows%8 == 0 && interleaved {
			var err error
			if w, err = interleave(Matrix{Type: typ, Rows: rows, Cols: cols, Data: slices.Clone(w.Data)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, path := range Paths() {
			SetPath(path)
			got := make([]float32, rows)
			MatVec(got, w, x, make([]byte, MatMulWork(w, 1)))
			for i := range got {
				if math.IsInf(mag[i], 0) || math.IsNaN(mag[i]) || mag[i] > 1e30 {
					continue // overflow or NaN: only the absence of a crash counts
				}
				bound := float64(max(256, cols+16)) * 0x1p-24 * mag[i]
				if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= bound+1e-30) {
					t.Fatalf("%s %v %v %d blocks: y[%d] = %v, portable %v (bound %g)", path, typ, w.Layout, nb, i, got[i], want[i], bound)
				}
			}
		}
	})
}
