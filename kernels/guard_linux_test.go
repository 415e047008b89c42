package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// guarded returns a copy of b between two inaccessible pages, either
// starting right after the first (start) or ending right before the second,
// so that a kernel's load before or past the weights faults instead of
// reading a neighbour's bytes (prefetches do not fault). free unmaps it.
func guarded(t *testing.T, b []byte, start bool) (g []byte, free func()) {
	t.Helper()
	page := unix.Getpagesize()
	n := (len(b) + page - 1) / page * page
	m, err := unix.Mmap(-1, 0, n+2*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Mprotect(m[:page], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mprotect(m[page+n:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	at := page + n - len(b)
	if start {
		at = page
	}
	g = m[at : at+len(b) : at+len(b)]
	copy(g, b)
	return g, func() {
		if err := unix.Munmap(m); err != nil {
			t.Error(err)
		}
	}
}

// The products of Interleaved8 matrices read no byte of weights outside
// the matrix, on every path, for decode (one token: the layouts' decode
// kernels), two tokens (the deinterleaving fallback) and five (the
// row-lane prefill, from the groups where the path has repackX8): the
// matrix starts right after an inaccessible page, or ends right before
// one, so that a read outside it faults. The results equal those of the same matrix on the
// heap bit for bit. One and an odd number of blocks a row, one to three
// groups, one and two threads.
func TestInterleavedReadsStayInTheMatrix(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 23))
	forPathsThreadsTypes(t, func(path string, threads int, typ Type) {
		for _, nb := range []int{1, 3} {
			for _, rows := range []int{8, 24} {
				cols := nb * typ.BlockSize()
				rb := mustRowBytes(t, typ, cols)
				il, err := interleave(randMatrix(r, typ, rows, cols, rb))
				if err != nil {
					t.Fatal(err)
				}
				for i := range 2 {
					g, free := guarded(t, il.Data, i == 0)
					gm := il
					gm.Data = g
					for _, n := range []int{1, 2, 5} {
						name := fmt.Sprintf("%s/%dthreads/%v/%dx%dx%d/start=%v", path, threads, typ, rows, cols, n, i == 0)
						x := randRow(r, cols*n)
						work := make([]byte, MatMulWork(il, n))
						want := make([]float32, rows*n)
						MatMul(want, il, x, n, work)
						got := make([]float32, rows*n)
						MatMul(got, gm, x, n, work)
						if !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
							t.Fatalf("%s: the guarded matrix gives %v, on the heap %v", name, got, want)
						}
					}
					free()
				}
			}
		}
	})
}

// The float rows' decode kernels read no weight past the matrix and no
// activation past the token's: rows whose length is not a multiple of
// the vector (16), the matrix and the work buffer each ending right before
// an inaccessible page, one and two threads, every path.
func TestFloatDecodeReadsStayInTheirBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 31))
	defer SetPath(Path())
	defer SetThreads(Threads())
	for _, path := range Paths() {
		SetPath(path)
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, typ := range []Type{F16, BF16, F32} {
				for _, cols := range []int{1, 17, 100} {
					const rows = 3
					w := randMatrix(r, typ, rows, cols, mustRowBytes(t, typ, cols))
					x := randRow(r, cols)
					want := make([]float32, rows)
					MatVec(want, w, x, make([]byte, MatMulWork(w, 1)))
					gw, freeW := guarded(t, w.Data, false)
					// Decode converts the token into the two halves of
					// the work buffer in turn (decodeInput), so of a
					// buffer of exactly two token rows one of the two
					// products below ends its token at the guard.
					xrb := mustRowBytes(t, F32, cols)
					gx, freeX := guarded(t, make([]byte, max(MatMulWork(w, 1), 2*xrb)), false)
					gm := w
					gm.Data = gw
					got := make([]float32, rows)
					MatVec(got, gm, x, gx)
					MatVec(got, gm, x, gx)
					if !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
						t.Errorf("%s/%dthreads/%v/%d columns: guarded %v, on the heap %v", path, threads, typ, cols, got, want)
					}
					freeW()
					freeX()
				}
			}
		}
	}
}
