package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// qkQuantizers are the Q8_K quantisers of quantk_amd64.s this CPU runs.
func qkQuantizers() map[string]func(nb int, src *float32, dst *byte) bool {
	quants := map[string]func(nb int, src *float32, dst *byte) bool{}
	if cpu.X86.HasAVX2 {
		quants["avx2"] = quantQ8_KD
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI {
		quants["avx512"] = quantQ8_KZ
	}
	return quants
}

// qkRows are rows of 1 to 9 Q8_K blocks that reach the corners of ggml's
// quantiser: every magnitude (amax subnormal, below 127/FLT_MAX where
// iscale is infinite, near FLT_MAX), blocks of different magnitudes in
// one row, ties in amax between values of opposite signs in either order
// and anywhere in the block, values that iscale takes exactly to a half,
// subnormal values, signed zeros and blocks of zeros.
func qkRows(r *rand.Rand) [][]float32 {
	var rows [][]float32
	block := func(x []float32, b int) []float32 { return x[b*QKK : (b+1)*QKK] }
	for _, scale := range []float64{0, 1e-45, 1e-43, 1e-40, 1e-38, 2e-37, 3.7e-37, 1e-36, 1e-30, 1e-6, 1, 3, 1e4, 1e30, 1e37} {
		for range 8 {
			x := randRow(r, QKK*(1+r.IntN(9)))
			for i := range x {
				x[i] = float32(float64(x[i]) * scale)
			}
			rows = append(rows, x)
		}
	}
	for range 200 {
		nb := 1 + r.IntN(9)
		x := randRow(r, nb*QKK)
		for b := range nb {
			y := block(x, b)
			s := math.Pow(10, float64(r.IntN(83)-45))
			for i := range y {
				y[i] = float32(float64(y[i]) * s)
			}
			switch r.IntN(8) {
			case 0: // a tie between a positive and a negative value
				i, j := r.IntN(QKK), r.IntN(QKK)
				if i == j {
					j = (i + 1 + r.IntN(QKK-1)) % QKK
				}
				m := float32(4 * s)
				if s < 1e-37 {
					m = float32(math.SmallestNonzeroFloat32 * float64(1+r.IntN(4)))
				}
				y[i], y[j] = m, -m
				if r.IntN(3) == 0 { // a third value of the same magnitude
					y[(j+1+r.IntN(QKK-1))%QKK] = []float32{m, -m}[r.IntN(2)]
				}
			case 1: // zeros of both signs
				for i := range y {
					y[i] = float32(math.Copysign(0, float64(r.IntN(2)*2-1)))
				}
				if r.IntN(2) == 0 {
					clear(y)
				}
			case 2: // halves: vmax ±127, so iscale is ∓1
				for i := range y {
					y[i] = float32(r.IntN(253)-126) + 0.5
				}
				y[r.IntN(QKK)] = []float32{127, -127}[r.IntN(2)]
			case 3: // subnormal values among normal ones
				for range 10 {
					y[r.IntN(QKK)] = float32(float64(r.IntN(200)-100) * math.SmallestNonzeroFloat32)
				}
			case 4: // near the largest float
				y[r.IntN(QKK)] = []float32{math.MaxFloat32, -math.MaxFloat32}[r.IntN(2)]
			case 5: // one value alone
				clear(y)
				y[r.IntN(QKK)] = float32(r.NormFloat64() * s)
			}
		}
		rows = append(rows, x)
	}
	return rows
}

// The Q8_K quantisers equal ggml's reference (the portable quantizeQ8_K)
// byte for byte on finite rows, write nothing past the row, and report
// rows with a NaN or an infinity in any block as non-finite, which
// checkedQuantizer then quantises as the portable code does.
func TestQuantQ8_KEqualsPortable(t *testing.T) {
	quants := qkQuantizers()
	if len(quants) == 0 {
		t.Skip("this CPU runs none of the Q8_K quantisers")
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 13))
	rows := qkRows(r)
	for name, quant := range quants {
		for k, x := range rows {
			nb := len(x) / QKK
			n := nb * q8KBytes
			want := make([]byte, n)
			quantizeQ8_K(want, x)
			got := make([]byte, n+1)
			for i := range got {
				got[i] = 0xa5
			}
			if !quant(nb, &x[0], &got[0]) {
				t.Fatalf("%s row %d: finite values reported non-finite", name, k)
			}
			if got[n] != 0xa5 {
				t.Fatalf("%s row %d: wrote past the row", name, k)
			}
			for i := range want {
				if got[i] != want[i] {
					b := i / q8KBytes
					t.Fatalf("%s row %d (%d blocks, block %d's first value %g): byte %d of the block = %#x, portable %#x",
						name, k, nb, b, x[b*QKK], i%q8KBytes, got[i], want[i])
				}
			}
		}
		// The value goes into every block in turn, not one drawn at random,
		// so the second step (block 8 of nine) always meets one after the
		// first has written its blocks; its block is otherwise random, all
		// zeros (amax 0) or holds a tie of opposite signs (the tie scan).
		nan := math.Float32frombits(0xffc00000)
		for _, bad := range []float32{float32(math.NaN()), nan, float32(math.Inf(1)), float32(math.Inf(-1))} {
			for nb := 1; nb <= 9; nb++ {
				for b := range nb {
					x := randRow(r, nb*QKK)
					switch b % 3 {
					case 1:
						clear(x[b*QKK : (b+1)*QKK])
					case 2:
						x[b*QKK], x[b*QKK+1] = 8, -8
					}
					x[b*QKK+r.IntN(QKK)] = bad
					if quant(nb, &x[0], &make([]byte, nb*q8KBytes)[0]) {
						t.Errorf("%s: %v in block %d of %d reported finite", name, bad, b, nb)
					}
					want := make([]byte, nb*q8KBytes)
					quantizeQ8_K(want, x)
					got := make([]byte, nb*q8KBytes)
					checkedQuantizer(Q8_K, quant)(got, x)
					if string(got) != string(want) {
						t.Errorf("%s: checkedQuantizer of a row with %v in block %d of %d differs from the portable quantiser", name, bad, b, nb)
					}
				}
			}
		}
	}
}

// BenchmarkQuantQ8_K converts a 4096-wide token to Q8_K with each Q8_K
// quantiser this CPU runs and the portable one.
func BenchmarkQuantQ8_K(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 9))
	const cols = 4096
	x := randRow(r, cols)
	dst := make([]byte, cols/QKK*q8KBytes)
	for name, quant := range qkQuantizers() {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				quant(cols/QKK, &x[0], &dst[0])
			}
		})
	}
	b.Run("portable", func(b *testing.B) {
		for b.Loop() {
			quantizeQ8_K(dst, x)
		}
	})
}
