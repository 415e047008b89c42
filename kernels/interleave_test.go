package kernels

import (
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// interleavedTypes are the types with an Interleaved8 layout, in order.
func interleavedTypes() []Type {
	var ts []Type
	for t := range interleavers {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// Every type's interleaving moves every bit of eight rows somewhere (Q5_0's
// moves its fifth bits one by one, the others whole bytes) and
// deinterleaving puts each back: random bytes (not only valid blocks) of
// one to nine blocks a row.
func TestInterleaveRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 3))
	for _, typ := range interleavedTypes() {
		il := interleavers[typ]
		for nb := 1; nb <= 9; nb++ {
			src := make([]byte, interleaveRows*nb*typ.BlockBytes())
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			group := make([]byte, len(src))
			il.interleave(group, src, nb)
			back := make([]byte, len(src))
			il.deinterleave(back, group, nb)
			if !bytes.Equal(back, src) {
				t.Fatalf("%v, %d blocks: deinterleave(interleave(rows)) differs from the rows", typ, nb)
			}
			ones := func(b []byte) (n int) {
				for _, c := range b {
					n += bits.OnesCount8(c)
				}
				return n
			}
			if ones(group) != ones(src) {
				t.Fatalf("%v, %d blocks: the group has %d set bits, the rows %d", typ, nb, ones(group), ones(src))
			}
		}
	}
}

// Interleave rewrites a matrix only where the active path decodes the
// layout (and its rows are whole groups); interleave refuses what it
// cannot do.
func TestInterleaveChoosesLayout(t *testing.T) {
	defer SetPath(Path())
	r := rand.New(rand.NewPCG(1, 2))
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, typ := range interleavedTypes() {
			for _, rows := range []int{8, 12, 24} {
				rb := mustRowBytes(t, typ, 512)
				w := randMatrix(r, typ, rows, 512, rb)
				orig := slices.Clone(w.Data)
				got, err := Interleave(w)
				if err != nil {
					t.Fatal(err)
				}
				_, has := interleavedDecodes[path][typ]
				if want := has && rows%8 == 0; (got.Layout == Interleaved8) != want {
					t.Fatalf("%s %v %d rows: layout %v, want interleaved %v", path, typ, rows, got.Layout, want)
				}
				if got.Layout == RowMajor && !bytes.Equal(got.Data, orig) {
					t.Fatalf("%s %v %d rows: row-major data changed", path, typ, rows)
				}
				if err := got.Check(); err != nil {
					t.Fatalf("%s %v: %v", path, typ, err)
				}
			}
		}
	}
	bad := []Matrix{
		{Type: F16, Rows: 8, Cols: 32, Data: make([]byte, 8*64)},
		{Type: Q4_0, Rows: 12, Cols: 32, Data: make([]byte, 12*18)},
		{Type: Q4_0, Rows: 8, Cols: 32, Data: make([]byte, 8*18), Layout: Interleaved8},
		{Type: Q4_0, Rows: 8, Cols: 32, Data: make([]byte, 7*18)},
	}
	for _, m := range bad {
		if _, err := interleave(m); err == nil {
			t.Errorf("interleave(%v %dx%d %v, %d bytes): no error", m.Type, m.Rows, m.Cols, m.Layout, len(m.Data))
		}
	}
	if err := (Matrix{Type: Q4_0, Rows: 12, Cols: 32, Data: make([]byte, 12*18), Layout: Interleaved8}).Check(); err == nil {
		t.Error("Check accepts an interleaved matrix of 12 rows")
	}
}

// Products with an Interleaved8 matrix equal those with its rows as they
// were, on every path and at one and two threads: prefill exactly (it
// deinterleaves, then runs the same kernels), decode within float32
// rounding of the portable reference (the layout's own kernel, or the
// prefill kernels on one token where the path has none); MatVecGroup of
// interleaved matrices, and of one with a RowMajor one, equals MatVec on
// each bit for bit. Outputs are poisoned, with guards.
func TestInterleavedProductsEqualRowMajor(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 17))
	type shape struct{ rows, cols, n int }
	shapes := []shape{{8, 32, 1}, {8, 96, 1}, {16, 256, 1}, {24, 928, 1}, {40, 512, 1}, {16, 4864, 1}, {136, 896, 1},
		{8, 256, 3}, {24, 512, 5}, {40, 896, 17}, {16, 4864, 4},
		// More rows than a thread deinterleaves at a time (deinterleaveRows).
		{136, 512, 5}}
	compared := 0
	forPathsThreadsTypes(t, func(path string, threads int, typ Type) {
		for _, s := range shapes {
			wrb, err := typ.RowBytes(s.cols)
			if err != nil {
				continue
			}
			name := fmt.Sprintf("%s/%dthreads/%v/%dx%dx%d", path, threads, typ, s.rows, s.cols, s.n)
			rm := randMatrix(r, typ, s.rows, s.cols, wrb)
			il, err := interleave(Matrix{Type: typ, Rows: s.rows, Cols: s.cols, Data: slices.Clone(rm.Data)})
			if err != nil {
				t.Fatal(err)
			}
			x := randRow(r, s.cols*s.n)
			work := make([]byte, MatMulWork(rm, s.n))
			want := make([]float32, s.rows*s.n)
			MatMul(want, rm, x, s.n, work)
			ybuf := make([]float32, s.rows*s.n+2)
			for i := range ybuf {
				ybuf[i] = float32(math.NaN())
			}
			ybuf[0], ybuf[len(ybuf)-1] = 12345, 54321
			y := ybuf[1 : len(ybuf)-1]
			MatMul(y, il, x, s.n, work)
			if ybuf[0] != 12345 || ybuf[len(ybuf)-1] != 54321 {
				t.Fatalf("%s: wrote outside y", name)
			}
			if s.n > 1 {
				for i := range y {
					if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s: y[%d] = %v interleaved, %v row-major", name, i, y[i], want[i])
					}
				}
			} else {
				xq := make([]byte, mustRowBytes(t, typ.VecDotType(), s.cols))
				QuantizeRow(typ.VecDotType(), xq, x)
				for j := range s.rows {
					_, mag := exactDot(t, typ, rm.Data[j*wrb:], xq, s.cols)
					ref, _ := DotRow(typ, rm.Data[j*wrb:], xq, s.cols)
					bound := float64(s.cols+16) * 0x1p-24 * mag
					if d := math.Abs(float64(y[j] - ref)); !(d <= bound) {
						t.Fatalf("%s: y[%d] = %v, portable %v: off by %g > %g", name, j, y[j], ref, d, bound)
					}
				}
			}
			compared += len(y)
			if s.n != 1 {
				continue
			}
			// The same matrix twice and a smaller one, as a group
			// (one range over all their groups of rows); and the
			// matrix with its rows as they were (layouts mixed).
			il2, _ := interleave(randMatrix(r, typ, 8, s.cols, wrb))
			for _, group := range [][]Matrix{{il, il2, il}, {il, rm}} {
				ys := make([][]float32, len(group))
				for i, w := range group {
					ys[i] = make([]float32, w.Rows)
				}
				MatVecGroup(ys, group, x, work)
				for i, w := range group {
					one := make([]float32, w.Rows)
					MatVec(one, w, x, work)
					for k := range one {
						if math.Float32bits(ys[i][k]) != math.Float32bits(one[k]) {
							t.Fatalf("%s: group matrix %d (%v) row %d: %v, MatVec %v", name, i, w.Layout, k, ys[i][k], one[k])
						}
					}
				}
			}
		}
	})
	t.Logf("%d outputs compared", compared)
}

// forPathsThreads runs f on every path, at one and two threads, and
// restores the path and the threads after.
func forPathsThreads(t *testing.T, f func(path string, threads int)) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			f(path, threads)
		}
	}
}

// forPathsThreadsTypes is forPathsThreads for every type with an
// Interleaved8 layout.
func forPathsThreadsTypes(t *testing.T, f func(path string, threads int, typ Type)) {
	forPathsThreads(t, func(path string, threads int) {
		for _, typ := range interleavedTypes() {
			f(path, threads, typ)
		}
	})
}

// An interleaved product allocates nothing on any path.
func TestInterleavedDoesNotAllocate(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(2)
	r := rand.New(rand.NewPCG(4, 5))
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, typ := range interleavedTypes() {
			for _, n := range []int{1, 8} {
				rb := mustRowBytes(t, typ, 512)
				w, err := interleave(randMatrix(r, typ, 64, 512, rb))
				if err != nil {
					t.Fatal(err)
				}
				x := randRow(r, 512*n)
				y := make([]float32, 64*n)
				work := make([]byte, MatMulWork(w, n))
				MatMul(y, w, x, n, work) // grows the scratch
				if a := testing.AllocsPerRun(20, func() { MatMul(y, w, x, n, work) }); a != 0 {
					t.Errorf("%s %v, %d tokens: %v allocations per product", path, typ, n, a)
				}
			}
		}
	}
}

// BenchmarkInterleavedL2 runs each path's decode kernels for every type
// with an Interleaved8 layout, on RowMajor rows and on the same rows
// interleaved, alone (no activation conversion, no dispatch) over an
// L2-resident matrix of 4096 columns (about 192 KiB): the kernels' own
// arithmetic rates, side by side.
func BenchmarkInterleavedL2(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const cols = 4096
	for _, typ := range interleavedTypes() {
		rb := mustRowBytesB(b, typ, cols)
		rows := (192 << 10) / rb / interleaveRows * interleaveRows
		m := randMatrix(r, typ, rows, cols, rb)
		il, err := interleave(Matrix{Type: typ, Rows: rows, Cols: cols, Data: slices.Clone(m.Data)})
		if err != nil {
			b.Fatal(err)
		}
		xq := make([]byte, mustRowBytesB(b, typ.VecDotType(), cols))
		QuantizeRow(typ.VecDotType(), xq, randRow(r, cols))
		nb := cols / typ.BlockSize()
		for _, path := range Paths() {
			if _, err := paths[path](); err != nil {
				continue
			}
			run := func(layout Layout, k decodeKernel, w []byte, stride, calls int) {
				x := alignedRecords(k, xq, nb)
				y := make([]float32, rows)
				b.Run(fmt.Sprintf("%v/%s/%v", typ, path, layout), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					cpu0 := cpuSeconds()
					for b.Loop() {
						k.rows(nb, &w[0], stride, &x[0], &y[0], calls)
					}
					reportGFLOPS(b, rows*cols, cpu0)
				})
			}
			if k, ok := decodes[path][typ]; ok {
				run(RowMajor, k, m.Data, rb, rows)
			}
			if k, ok := interleavedDecodes[path][typ]; ok {
				run(Interleaved8, k, il.Data, interleaveRows*rb, rows/interleaveRows)
			}
		}
	}
}

// BenchmarkInterleavedPrefill multiplies a 1024x4096 matrix by 64 tokens
// for every type with an Interleaved8 layout, on each path with a decode
// kernel for it, row-major and interleaved, at one and two threads: the
// interleaved matrix's tiles come from its groups (repackX8) or, without
// that, from rows deinterleaved first, which must not cost prefill what
// the layout wins in decode.
func BenchmarkInterleavedPrefill(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(1, 2))
	const rows, cols, n = 1024, 4096, 64
	x := randRow(r, cols*n)
	y := make([]float32, rows*n)
	for _, typ := range interleavedTypes() {
		m := randMatrix(r, typ, rows, cols, mustRowBytesB(b, typ, cols))
		il, err := interleave(Matrix{Type: typ, Rows: rows, Cols: cols, Data: slices.Clone(m.Data)})
		if err != nil {
			b.Fatal(err)
		}
		for _, path := range Paths() {
			if _, ok := interleavedDecodes[path][typ]; !ok || SetPath(path) != nil {
				continue
			}
			for _, threads := range []int{1, 2} {
				SetThreads(threads)
				for _, w := range []Matrix{m, il} {
					work := make([]byte, MatMulWork(w, n))
					b.Run(fmt.Sprintf("%v/%s/%v/%dthreads", typ, path, w.Layout, threads), func(b *testing.B) {
						cpu0 := cpuSeconds()
						for b.Loop() {
							MatMul(y, w, x, n, work)
						}
						reportGFLOPS(b, rows*cols*n, cpu0)
					})
				}
			}
		}
	}
}

// MatMul and MatVecGroup refuse an Interleaved8 matrix whose rows are not
// whole groups, on every path: the decode kernels would leave the last
// rows' results unwritten, and deinterleaving would read past its data.
func TestInterleavedBadShapePanics(t *testing.T) {
	defer SetPath(Path())
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 5} {
			// A matrix of 12 rows in a buffer of 16, as a tensor followed
			// by another in a file.
			buf := make([]byte, 16*18)
			w := Matrix{Type: Q4_0, Rows: 12, Cols: 32, Data: buf[:12*18], Layout: Interleaved8}
			x := make([]float32, 32*n)
			y := make([]float32, 12*n)
			work := make([]byte, MatMulWork(w, n))
			calls := map[string]func(){"MatMul": func() { MatMul(y, w, x, n, work) }}
			if n == 1 {
				calls["MatVecGroup"] = func() { MatVecGroup([][]float32{y, y}, []Matrix{w, w}, x, work) }
			}
			for name, call := range calls {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s: %s of a 12-row interleaved matrix by %d tokens did not panic", path, name, n)
						}
					}()
					call()
				}()
			}
		}
	}
}

// spread8 and gather8 against the bit-by-bit definition, on every byte.
func TestSpread8Gather8(t *testing.T) {
	for b := range 256 {
		var want uint64
		for k := range 8 {
			want |= uint64(b>>k&1) << (8 * k)
		}
		if got := spread8(byte(b)); got != want {
			t.Fatalf("spread8(%#x) = %#x, want %#x", b, got, want)
		}
		if got := gather8(want | 0xfefefefefefefefe); got != byte(b) {
			t.Fatalf("gather8(%#x) = %#x, want %#x", want|0xfefefefefefefefe, got, b)
		}
	}
}

// Row gives a row's GGUF bytes whatever the layout: of an interleaved
// matrix, from its group deinterleaved into the caller's scratch, with no
// allocation, and an error (not a panic) when the scratch is too small.
func TestRowOfInterleaved(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 19))
	for _, typ := range interleavedTypes() {
		const rows, cols = 24, 512
		rb := mustRowBytes(t, typ, cols)
		rm := randMatrix(r, typ, rows, cols, rb)
		il, err := interleave(Matrix{Type: typ, Rows: rows, Cols: cols, Data: slices.Clone(rm.Data)})
		if err != nil {
			t.Fatal(err)
		}
		scratch := make([]byte, il.RowScratch())
		for i := range rows {
			got, err := il.Row(i, scratch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, rm.Data[i*rb:(i+1)*rb]) {
				t.Fatalf("%v row %d differs from the row-major row", typ, i)
			}
		}
		if n := testing.AllocsPerRun(10, func() { _, _ = il.Row(13, scratch) }); n != 0 {
			t.Errorf("%v: Row allocates %v times", typ, n)
		}
		if _, err := il.Row(3, scratch[:len(scratch)-1]); err == nil {
			t.Errorf("%v: Row accepts too small a scratch", typ)
		}
		if _, err := il.Row(rows, scratch); err == nil {
			t.Errorf("%v: Row accepts row %d of %d", typ, rows, rows)
		}
		if rm.RowScratch() != 0 {
			t.Errorf("%v: a row-major matrix asks for scratch", typ)
		}
	}
}
