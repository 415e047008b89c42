package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// MatMul equals row-by-row DotRow, for awkward row counts, with the output
// poisoned so an unwritten element fails, at 1 and 2 threads.
func TestMatMulEqualsDotRow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	defer SetPath(Path())
	SetPath("portable") // exact comparison; fast paths are compared in TestFastPathsEqualPortable
	for _, threads := range []int{1, 2} {
		SetThreads(threads)
		for _, typ := range []Type{F32, F16, Q8_0, Q4_0} {
			for _, rows := range []int{1, 2, 7, 33} {
				cols, n := 64, 3
				rb, _ := typ.RowBytes(cols)
				w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rb*rows)}
				for i := range rows {
					QuantizeRow(typ, w.Data[i*rb:(i+1)*rb], randRow(r, cols))
				}
				if err := w.Check(); err != nil {
					t.Fatal(err)
				}
				x := randRow(r, cols*n)
				y := make([]float32, rows*n)
				for i := range y {
					y[i] = float32(math.NaN())
				}
				work := make([]byte, MatMulWork(w, n))
				MatMul(y, w, x, n, work)
				xb, _ := typ.VecDotType().RowBytes(cols)
				for i := range n {
					xq := make([]byte, xb)
					QuantizeRow(typ.VecDotType(), xq, x[i*cols:(i+1)*cols])
					for j := range rows {
						want, _ := DotRow(typ, w.Data[j*rb:], xq, cols)
						if y[i*rows+j] != want {
							t.Fatalf("%v rows=%d threads=%d: y[%d][%d] = %v, want %v", typ, rows, threads, i, j, y[i*rows+j], want)
						}
					}
				}
			}
		}
	}
	SetThreads(2)
}

func TestRoPERotatesPairs(t *testing.T) {
	freqs := []float32{1, 0.5}
	for _, neox := range []bool{false, true} {
		x := []float32{1, 2, 3, 4}
		RoPE(x, 1, NewRope(4, 4, nil, neox), 3) // base 4 over 4 dimensions: frequencies 1 and 0.5
		a, b := [2]int{0, 1}, [2]int{2, 3}
		if neox {
			a, b = [2]int{0, 2}, [2]int{1, 3}
		}
		orig := []float32{1, 2, 3, 4}
		for k, pair := range [][2]int{a, b} {
			th := 3 * float64(freqs[k])
			x0, x1 := float64(orig[pair[0]]), float64(orig[pair[1]])
			w0, w1 := x0*math.Cos(th)-x1*math.Sin(th), x0*math.Sin(th)+x1*math.Cos(th)
			if math.Abs(float64(x[pair[0]])-w0) > 1e-5 || math.Abs(float64(x[pair[1]])-w1) > 1e-5 {
				t.Errorf("neox=%v pair %v: got %v %v, want %v %v", neox, pair, x[pair[0]], x[pair[1]], w0, w1)
			}
		}
	}
}

// RoPE turns pair i by the angle ggml's rope cache gives it: the position
// times base^(-2/d) multiplied in float32 i times, divided by the pair's
// frequency factor, not the exactly rounded pos·base^(-2i/d). At position
// 30000 the two differ by far more than an ulp, which is why it matters.
func TestRoPEAnglesAsGGML(t *testing.T) {
	const d, pos, base = 64, 30000, 500000.0
	factors := make([]float32, d/2)
	for i := range factors {
		factors[i] = 1 + float32(i%4)
	}
	r := NewRope(d, base, factors, true)
	x := make([]float32, 2*d) // two heads
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	orig := slices.Clone(x)
	RoPE(x, 2, r, pos)
	scale := float32(math.Pow(base, -2.0/d))
	theta := float32(pos)
	exact := 0.0
	for i := range d / 2 {
		th := theta / factors[i]
		theta *= scale
		exact = math.Max(exact, math.Abs(float64(th)-float64(pos)*math.Pow(base, -2*float64(i)/d)/float64(factors[i])))
		s, c := float32(math.Sin(float64(th))), float32(math.Cos(float64(th)))
		for h := range 2 {
			a, b := h*d+i, h*d+i+d/2
			if w0, w1 := orig[a]*c-orig[b]*s, orig[a]*s+orig[b]*c; x[a] != w0 || x[b] != w1 {
				t.Fatalf("head %d pair %d: got %v %v, want %v %v", h, i, x[a], x[b], w0, w1)
			}
		}
	}
	if exact < 1e-4 {
		t.Errorf("ggml's angles are within %g of the exact ones: the test no longer tells them apart", exact)
	}
}

func TestSoftmaxAndAttention(t *testing.T) {
	x := []float32{1, 2, 3}
	Softmax(x)
	if s := x[0] + x[1] + x[2]; math.Abs(float64(s)-1) > 1e-6 || !(x[2] > x[1] && x[1] > x[0]) {
		t.Errorf("softmax %v", x)
	}
	// One KV head shared by two query heads; a query aligned with key 1
	// attends mostly to value 1.
	d := 2
	k := []uint16{F32ToF16(10), 0, 0, F32ToF16(10)}
	v := []uint16{F32ToF16(1), F32ToF16(2), F32ToF16(3), F32ToF16(4)}
	q := []float32{0, 1, 1, 0}
	out := make([]float32, 4)
	Attention(out, q, k, v, 2, 2, 1, d, 1, make([]float32, AttentionScratch(2, 2)))
	if math.Abs(float64(out[0])-3) > 1e-3 || math.Abs(float64(out[2])-1) > 1e-3 {
		t.Errorf("attention %v, want about [3 4 1 2]", out)
	}
}

// A RopeScale that scales nothing (factor 1, no ramp, magnitude 1) turns
// every pair exactly as no scale does: the scaled path differs from the
// plain one only by its scaling.
func TestRoPEIdentityScale(t *testing.T) {
	const d, base, pos = 64, 1e6, 1234
	factors := make([]float32, d/2)
	for i := range factors {
		factors[i] = 1 + float32(i%5)
	}
	for _, neox := range []bool{false, true} {
		for _, f := range [][]float32{nil, factors} {
			plain := NewRope(d, base, f, neox)
			scaled := plain
			scaled.Scale = &RopeScale{FreqScale: 1, MScale: 1, Corr: [2]float32{3, 20}}
			orig := make([]float32, 3*d)
			for i := range orig {
				orig[i] = float32(i%17) - 8.5
			}
			x, y, z := slices.Clone(orig), slices.Clone(orig), slices.Clone(orig)
			RoPE(x, 3, plain, pos)
			RoPE(y, 3, scaled, pos)
			if !slices.Equal(x, y) {
				t.Errorf("neox %v, factors %v: identity scale rotates differently", neox, f != nil)
			}
			// And a real scale does change the rotation.
			scaled.Scale = &RopeScale{FreqScale: 0.25, ExtFactor: 1, MScale: 1.1, Corr: [2]float32{3, 20}}
			RoPE(z, 3, scaled, pos)
			if slices.Equal(x, z) {
				t.Errorf("neox %v: a YaRN scale changed nothing", neox)
			}
		}
	}
}
