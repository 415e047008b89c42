package kernels

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// A prompt's products leave none of its activations in the package's own
// scratch (the request's memory is the caller's, wiped with its arena):
// on every path and layout, the buffers the threads keep between products
// hold the same bytes after a product with other activations and the same
// weights. One thread, so that each product's tiles take the same buffer.
func TestProductsLeaveNoActivations(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(rand.Uint64(), 31))
	const rows, n = 32, 2*vGroup + 3
	// after runs a product of w with fresh activations on cleared scratch
	// and returns what the scratch holds then.
	after := func(w Matrix) [][]byte {
		for _, s := range []*scratchSet{&vScratch, &dScratch} {
			for _, b := range s.bufs {
				clear(b)
			}
		}
		cols := w.Cols
		MatMul(make([]float32, rows*n), w, randRow(r, cols*n), n, make([]byte, MatMulWork(w, n)))
		var kept [][]byte
		for _, s := range []*scratchSet{&vScratch, &dScratch} {
			for _, b := range s.bufs {
				kept = append(kept, slices.Clone(b))
			}
		}
		return kept
	}
	checked := 0
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, typ := range []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q4_K, Q5_K, Q6_K} {
			cols := 2 * typ.BlockSize()
			m := randMatrix(r, typ, rows, cols, mustRowBytes(t, typ, cols))
			layouts := []Matrix{m}
			if il, err := interleave(Matrix{Type: typ, Rows: rows, Cols: cols, Data: slices.Clone(m.Data)}); err == nil && il.Layout == Interleaved8 {
				layouts = append(layouts, il)
			}
			for _, w := range layouts {
				a, b := after(w), after(w)
				for i := range a {
					if !bytes.Equal(a[i], b[i]) {
						j := 0
						for a[i][j] == b[i][j] {
							j++
						}
						t.Fatalf("%s %v %v: scratch buffer %d differs at byte %d after products with other activations", path, typ, w.Layout, i, j)
					}
				}
				checked++
			}
		}
	}
	t.Logf("%d products checked", checked)
}
