package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// MatVecGroup gives, bit for bit, what MatVec gives on each matrix of the
// group, on every path and at one and two threads, for groups of one to
// MaxGroup matrices of awkward row counts (which split the shared row
// range across matrix boundaries), for a mixed group (which falls back),
// with poisoned outputs and guard elements that must stay untouched; and
// it allocates nothing.
func TestMatVecGroupEqualsMatVec(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	forPathsThreads(t, func(path string, threads int) {
		for _, c := range []struct {
			types []Type
			rows  []int
			cols  int
		}{
			{[]Type{Q4_0}, []int{33}, 96},
			{[]Type{Q4_0, Q4_0, Q4_0}, []int{896 / 8, 17, 17}, 896},
			{[]Type{Q8_0, Q8_0}, []int{1, 300}, 224},
			{[]Type{Q5_0, Q5_0}, []int{40, 7}, 896},
			{[]Type{Q4_K, Q4_K, Q4_K, Q4_K}, []int{3, 64, 5, 129}, 512},
			{[]Type{Q6_K, Q6_K}, []int{31, 2}, 256},
			{[]Type{Q5_K, Q5_K}, []int{16, 16}, 768},
			{[]Type{Q4_1, Q4_1}, []int{9, 100}, 64},
			{[]Type{Q4_K, Q6_K, Q4_K}, []int{10, 20, 30}, 256}, // mixed: falls back
			{[]Type{F16, F16}, []int{5, 6}, 64},                // no decode kernel
		} {
			name := fmt.Sprintf("%s/%dthreads/%v/%v", path, threads, c.types, c.rows)
			var ws []Matrix
			var ys, want [][]float32
			work := 0
			for i, typ := range c.types {
				w := randomMatrix(t, r, typ, c.rows[i], c.cols)
				ws = append(ws, w)
				work = max(work, MatMulWork(w, 1))
				ys = append(ys, guardedOutput(w.Rows))
				want = append(want, make([]float32, w.Rows))
			}
			x := randRow(r, c.cols)
			buf := make([]byte, work)
			for i, w := range ws {
				MatVec(want[i], w, x, buf)
			}
			MatVecGroup(ys, ws, x, buf)
			for i := range ws {
				checkGuarded(t, fmt.Sprintf("%s: matrix %d: group against MatVec", name, i), ys[i], want[i])
			}
			if a := testing.AllocsPerRun(10, func() { MatVecGroup(ys, ws, x, buf) }); a != 0 {
				t.Errorf("%s: %v allocations per call", name, a)
			}
		}
	})
}

// Decode converts each token into the half of the work buffer the
// previous product did not use (decodeInput). Consecutive products on one
// buffer of exactly MatMulWork bytes, at an odd address, each with a new
// token, must give what each token gives on a fresh buffer: a kernel that
// read the other half would see the previous token (or zeros).
func TestDecodeAlternatesWorkHalves(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(2)
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			typ        Type
			rows, cols int
		}{{Q4_0, 72, 896}, {Q8_0, 40, 4864}, {Q4_K, 64, 512}, {Q6_K, 33, 256}, {Q5_0, 17, 96}, {Q4_1, 24, 64}} {
			w := randomMatrix(t, r, c.typ, c.rows, c.cols)
			const calls = 5
			var xs, wants [calls][]float32
			for i := range calls {
				xs[i], wants[i] = randRow(r, c.cols), make([]float32, c.rows)
				MatVec(wants[i], w, xs[i], make([]byte, MatMulWork(w, 1)))
			}
			shared := make([]byte, MatMulWork(w, 1)+1)[1:]
			for i := range calls {
				got := make([]float32, c.rows)
				for k := range got {
					got[k] = float32(math.NaN())
				}
				MatVec(got, w, xs[i], shared)
				for k := range got {
					if math.Float32bits(got[k]) != math.Float32bits(wants[i][k]) {
						t.Fatalf("%s %v call %d row %d: %v on the shared buffer, %v on a fresh one", path, c.typ, i, k, got[k], wants[i][k])
					}
				}
			}
		}
	}
}

// MatMulGroup gives, bit for bit, what MatMul gives on each matrix of the
// group, for batches below and above the row-lane kernels' threshold, on
// every path and at one and two threads: for groups of one type (one
// conversion), mixed groups (a conversion per run of one type), layouts
// mixed within a run, and with poisoned outputs and guards.
func TestMatMulGroupEqualsMatMul(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 12))
	forPathsThreads(t, func(path string, threads int) {
		for _, c := range []struct {
			types []Type
			rows  []int
			cols  int
		}{
			{[]Type{Q4_0, Q4_0, Q4_0}, []int{64, 16, 16}, 256},
			{[]Type{Q8_0, Q8_0}, []int{48, 32}, 224},
			{[]Type{Q4_K, Q4_K}, []int{32, 48}, 512},
			{[]Type{Q6_K, Q6_K, Q6_K}, []int{16, 8, 24}, 256},
			{[]Type{Q4_1, Q4_1}, []int{24, 40}, 64},
			{[]Type{Q4_K, Q6_K, Q4_K}, []int{16, 32, 8}, 256}, // three runs
			{[]Type{Q5_0, Q5_0, Q8_0}, []int{40, 16, 24}, 96},
		} {
			for _, n := range []int{2, 5, 16, 37} {
				name := fmt.Sprintf("%s/%dthreads/%v/%d tokens", path, threads, c.types, n)
				var ws []Matrix
				var ys, want [][]float32
				work := 0
				for i, typ := range c.types {
					w := randomMatrix(t, r, typ, c.rows[i], c.cols)
					if i == 1 && w.Rows%8 == 0 {
						// Another layout within the run, where the type has one.
						if il, err := interleave(w); err == nil {
							w = il
						}
					}
					ws = append(ws, w)
					work = max(work, MatMulWork(w, n))
					ys = append(ys, guardedOutput(n*w.Rows))
					want = append(want, make([]float32, n*w.Rows))
				}
				x := randRow(r, n*c.cols)
				buf := make([]byte, work)
				for i, w := range ws {
					MatMul(want[i], w, x, n, buf)
				}
				MatMulGroup(ys, ws, x, n, buf)
				for i := range ws {
					checkGuarded(t, fmt.Sprintf("%s: matrix %d: group against MatMul", name, i), ys[i], want[i])
				}
			}
		}
	})
}

// guardedOutput is an output of n elements poisoned with NaN (an element
// left unwritten fails checkGuarded) with two guard elements of 7 beyond
// its length (so does a write past its end).
func guardedOutput(n int) []float32 {
	y := make([]float32, n+2)
	for k := range y {
		y[k] = float32(math.NaN())
	}
	y[n], y[n+1] = 7, 7
	return y[:n]
}

// checkGuarded fails unless got (from guardedOutput) equals want bit for
// bit and its guards are intact.
func checkGuarded(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for k, v := range got {
		if math.Float32bits(v) != math.Float32bits(want[k]) {
			t.Fatalf("%s: element %d is %v, want %v", what, k, v, want[k])
		}
	}
	if g := got[:len(got)+2]; g[len(g)-2] != 7 || g[len(g)-1] != 7 {
		t.Fatalf("%s: wrote past its output", what)
	}
}

// randomMatrix is a rows×cols matrix of typ quantised from random rows.
func randomMatrix(t *testing.T, r *rand.Rand, typ Type, rows, cols int) Matrix {
	rb := mustRowBytes(t, typ, cols)
	w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rows*rb)}
	for i := range rows {
		QuantizeRow(typ, w.Data[i*rb:(i+1)*rb], randRow(r, cols))
	}
	return w
}
