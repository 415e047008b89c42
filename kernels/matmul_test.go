package kernels

import (
	"math"
	"math/rand/v2"
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
		RoPE(x, 1, freqs, 3, neox)
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
