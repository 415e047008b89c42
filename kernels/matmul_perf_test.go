package kernels

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
)

// exactDot is the float64 value of a weight row times a converted token,
// from the dequantised values (f16 scale times small integer: exact in
// float64), and the sum of the products' magnitudes, which bounds the
// rounding any float32 summation order can cause.
func exactDot(t *testing.T, typ Type, w, xq []byte, cols int) (exact, mag float64) {
	wf := make([]float32, cols)
	xf := make([]float32, cols)
	if err := DequantizeRow(typ, wf, w); err != nil {
		t.Fatal(err)
	}
	if err := DequantizeRow(typ.VecDotType(), xf, xq); err != nil {
		t.Fatal(err)
	}
	for i := range wf {
		p := float64(wf[i]) * float64(xf[i])
		exact += p
		mag += math.Abs(p)
	}
	return exact, mag
}

// Every path's MatMul equals the portable reference (and, for formats whose
// reference is exact up to rounding, the exact product) to float32 rounding, on fresh random matrices of awkward shapes, at 1
// and 2 threads, with unaligned buffers and a poisoned output whose guard
// elements must stay untouched.
func TestMatMulPathsEqualExact(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	defer SetPath(Path())
	defer SetThreads(Threads())
	type shape struct{ rows, cols, n int }
	// Decode (one token) has kernels of its own: odd and even block
	// counts, chunks of rows split over the threads.
	shapes := []shape{{1, 32, 1}, {2, 64, 3}, {7, 96, 4}, {33, 224, 5}, {16, 256, 9}, {5, 928, 8}, {3, 1024, 2}, {6, 2112, 5}, {9, 4864, 6}, {4, 4864, 13}, {19, 160, 35}, {21, 512, 37},
		{7, 96, 1}, {33, 224, 1}, {40, 512, 1}, {5, 928, 1}, {9, 4864 + 256, 1},
		// Float rows whose length is not a multiple of the kernels' step
		// (64) or vector (16): the block formats skip them. With four
		// tokens or more, the float tiles' (four rows by four tokens on
		// avx512, then two, an odd last row apart) with a tail past their
		// steps of eight or sixteen.
		{3, 8, 1}, {5, 17, 1}, {2, 100, 1}, {3, 4864 + 3, 1},
		{1, 37, 4}, {3, 8, 5}, {5, 17, 6}, {2, 100, 9}, {7, 100, 5}, {3, 4864 + 3, 4}}
	if !testing.Short() {
		shapes = append(shapes, shape{4097, 64, 4}, shape{17, 4864 + 32, 7}, shape{4097, 64, 1})
	}
	var types []Type
	for typ, f := range portable {
		if f != nil {
			types = append(types, Type(typ))
		}
	}
	slices.Sort(types)
	compared := 0
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, typ := range types {
				for _, s := range shapes {
					wrb, err1 := typ.RowBytes(s.cols)
					xrb, err2 := typ.VecDotType().RowBytes(s.cols)
					if err1 != nil || err2 != nil {
						continue // not a whole number of this type's blocks
					}
					name := fmt.Sprintf("%s/%dthreads/%v/%dx%dx%d", path, threads, typ, s.rows, s.cols, s.n)
					// Odd offsets: nothing may assume alignment.
					wbuf := make([]byte, wrb*s.rows+1)
					w := Matrix{Type: typ, Rows: s.rows, Cols: s.cols, Data: wbuf[1:]}
					if w.Check() != nil {
						continue // an activation-only type
					}
					for i := range s.rows {
						QuantizeRow(typ, w.Data[i*wrb:(i+1)*wrb], randRow(r, s.cols))
					}
					x := randRow(r, s.cols*s.n+1)[1:]
					ybuf := make([]float32, s.rows*s.n+2)
					for i := range ybuf {
						ybuf[i] = float32(math.NaN())
					}
					ybuf[0], ybuf[len(ybuf)-1] = 12345, 54321
					y := ybuf[1 : len(ybuf)-1]
					work := make([]byte, MatMulWork(w, s.n)+3)[3:]
					MatMul(y, w, x, s.n, work)
					if ybuf[0] != 12345 || ybuf[len(ybuf)-1] != 54321 {
						t.Fatalf("%s: wrote outside y", name)
					}
					for i := range s.n {
						xq := make([]byte, xrb)
						QuantizeRow(typ.VecDotType(), xq, x[i*s.cols:(i+1)*s.cols])
						for j := range s.rows {
							exact, mag := exactDot(t, typ, w.Data[j*wrb:], xq, s.cols)
							ref, _ := DotRow(typ, w.Data[j*wrb:], xq, s.cols)
							got := y[i*s.rows+j]
							bound := float64(s.cols+16) * 0x1p-24 * mag
							if d := math.Abs(float64(got - ref)); !(d <= bound) {
								t.Fatalf("%s: y[%d][%d] = %v, portable %v: off by %g > %g", name, i, j, got, ref, d, bound)
							}
							// Where ggml's dot product is the exact one
							// rounded (no rounded activation sums, as
							// Q8_1's), both must be close to it.
							if typ == Q8_0 || typ == Q4_0 || typ == Q5_0 || typ == F32 || typ == F16 || typ == BF16 {
								if d := math.Abs(float64(got) - exact); !(d <= bound) {
									t.Fatalf("%s: y[%d][%d] = %v, exact %v: off by %g > %g", name, i, j, got, exact, d, bound)
								}
							}
							compared++
						}
					}
				}
			}
		}
	}
	t.Logf("%d outputs compared over paths %v", compared, Paths())
}

// Where every float operation is exact (scales 1, integer activations, row
// sums below 2^24), every path must equal the portable reference and the
// integer dot product bit for bit: this isolates the integer arithmetic
// (nibble unpacking, sign handling, weights of -128, pair saturation) from
// float rounding.
func TestMatMulIntegerExact(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 1))
	defer SetPath(Path())
	defer SetThreads(Threads())
	const one = 0x3c00 // F16 1.0
	for _, path := range Paths() {
		SetPath(path)
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, typ := range []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q5_1} {
				for _, s := range []struct{ rows, cols, n int }{{1, 32, 1}, {3, 64, 5}, {9, 928, 6}, {40, 960, 11}, {21, 96, 37}, {5, 2176, 6}, {3, 2176, 13}, {3, 64, 1}, {9, 928, 1}, {40, 960, 1}, {5, 2176, 1}} {
					nb, bb := s.cols/QK, typ.BlockBytes()
					w := Matrix{Type: typ, Rows: s.rows, Cols: s.cols, Data: make([]byte, s.rows*nb*bb)}
					wi := make([]int, s.rows*s.cols) // the integer weights
					for blk := range s.rows * nb {
						b := w.Data[blk*bb : (blk+1)*bb]
						b[0], b[1] = one&0xff, one>>8 // Q4_1, Q5_1: and m = 0
						for j := range QK {
							var q int
							switch typ {
							case Q4_1:
								q = r.IntN(16)
								b[4+j%16] |= byte(q) << (4 * (j / 16))
							case Q5_1: // m, 4 bytes of fifth bits, then nibbles
								q = r.IntN(32)
								b[8+j%16] |= byte(q&15) << (4 * (j / 16))
								b[4+j/8] |= byte(q>>4) << (j % 8)
							case Q8_0:
								q = r.IntN(256) - 128
								b[2+j] = byte(int8(q))
							case Q4_0:
								q = r.IntN(16)
								b[2+j%16] |= byte(q) << (4 * (j / 16))
								q -= 8
							case Q5_0: // 4 bytes of fifth bits, then nibbles
								q = r.IntN(32)
								b[6+j%16] |= byte(q&15) << (4 * (j / 16))
								b[2+j/8] |= byte(q>>4) << (j % 8)
								q -= 16
							}
							wi[blk*QK+j] = q
						}
					}
					// Integers with a ±127 in every block quantise to
					// themselves with scale 1; long rows get small ones
					// elsewhere, to keep the sums below 2^24.
					span := 255
					if s.cols > 1024 {
						span = 17
					}
					x := make([]float32, s.n*s.cols)
					for i := range x {
						x[i] = float32(r.IntN(span) - span/2)
						if i%QK == 0 {
							x[i] = float32(127 * (1 - 2*r.IntN(2)))
						}
					}
					ms := []Matrix{w}
					if _, ok := interleavers[typ]; ok && s.rows%8 == 0 {
						il, err := interleave(Matrix{Type: typ, Rows: s.rows, Cols: s.cols, Data: slices.Clone(w.Data)})
						if err != nil {
							t.Fatal(err)
						}
						ms = append(ms, il)
					}
					for _, w := range ms {
						y := make([]float32, s.rows*s.n)
						MatMul(y, w, x, s.n, make([]byte, MatMulWork(w, s.n)))
						for i := range s.n {
							for j := range s.rows {
								want := 0
								for c := range s.cols {
									want += wi[j*s.cols+c] * int(x[i*s.cols+c])
								}
								if got := y[i*s.rows+j]; got != float32(want) {
									t.Fatalf("%s %d threads %v %v %v: y[%d][%d] = %v, want %d", path, threads, typ, w.Layout, s, i, j, got, want)
								}
							}
						}
					}
				}
			}
		}
	}
}

// MatVec, MatMul and Attention allocate nothing, on any path, at 2 threads.
func TestKernelsDoNotAllocate(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(2)
	r := rand.New(rand.NewPCG(5, 6))
	const rows, n = 256, 8
	for _, path := range Paths() {
		SetPath(path)
		for _, typ := range []Type{Q4_0, Q8_0, F16, Q4_K, Q6_K, Q4_1} {
			cols := 896
			if typ.BlockSize() == QKK {
				cols = 1024
			}
			rb := mustRowBytes(t, typ, cols)
			w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rb*rows)}
			for i := range rows {
				QuantizeRow(typ, w.Data[i*rb:], randRow(r, cols))
			}
			x := randRow(r, cols*n)
			y := make([]float32, rows*n)
			work := make([]byte, MatMulWork(w, n))
			if a := testing.AllocsPerRun(20, func() { MatVec(y, w, x, work) }); a != 0 {
				t.Errorf("%s %v MatVec: %v allocations", path, typ, a)
			}
			if a := testing.AllocsPerRun(20, func() { MatMul(y, w, x, n, work) }); a != 0 {
				t.Errorf("%s %v MatMul: %v allocations", path, typ, a)
			}
		}
	}
	const heads, kvHeads, d, ctx = 14, 2, 64, 40
	q := randRow(r, heads*d)
	kc := make([]uint16, ctx*kvHeads*d)
	vc := make([]uint16, ctx*kvHeads*d)
	out := make([]float32, heads*d)
	sc := make([]float32, AttentionScratch(ctx, heads))
	if a := testing.AllocsPerRun(20, func() { Attention(out, q, kc, vc, ctx, heads, kvHeads, d, 0.125, sc) }); a != 0 {
		t.Errorf("Attention: %v allocations", a)
	}
	const nTok = 6 // a batch: a group of four tokens, then two one at a time
	qb, ob := randRow(r, nTok*heads*d), make([]float32, nTok*heads*d)
	kf, vf := randRow(r, ctx*kvHeads*d), randRow(r, ctx*kvHeads*d)
	if a := testing.AllocsPerRun(20, func() { AttentionCausal(ob, qb, kc, vc, ctx-nTok, nTok, heads, kvHeads, d, 0.125, sc) }); a != 0 {
		t.Errorf("AttentionCausal: %v allocations", a)
	}
	if a := testing.AllocsPerRun(20, func() { AttentionCausalF32(ob, qb, kf, vf, ctx-nTok, nTok, heads, kvHeads, d, 0.125, sc) }); a != 0 {
		t.Errorf("AttentionCausalF32: %v allocations", a)
	}
}

// countJob records how often each index was run.
type countJob struct{ hits []atomic.Int32 }

func (j *countJob) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		j.hits[i].Add(1)
	}
}

// The pool runs every index exactly once, for sizes around the chunk
// boundaries, across thread-count changes, and when workers have parked
// between jobs.
func TestPoolCoversEveryIndexOnce(t *testing.T) {
	defer SetThreads(Threads())
	for _, threads := range []int{1, 2, 3, 5} {
		SetThreads(threads)
		for _, n := range []int{0, 1, 2, 15, 16, 17, 63, 64, 65, 1000, 4097} {
			for _, grain := range []int{1, 4, 16} {
				for _, split := range []bool{false, true} {
					j := &countJob{hits: make([]atomic.Int32, n)}
					opMu.Lock()
					if split {
						parallelSplit(n, grain, j)
					} else {
						parallel(n, grain, j)
					}
					opMu.Unlock()
					for i := range j.hits {
						if h := j.hits[i].Load(); h != 1 {
							t.Fatalf("threads=%d n=%d grain=%d split=%v: index %d ran %d times", threads, n, grain, split, i, h)
						}
					}
				}
			}
		}
	}
}

// Every path's float dot products (F32/F16/BF16 weights) equal the
// portable loops to float rounding, for
// lengths around the vector steps and unaligned buffers.
func TestFloatKernelsEqualPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 13))
	compared := 0
	for path, fk := range floats {
		if _, err := paths[path](); err != nil {
			continue // not runnable on this CPU
		}
		for _, n := range []int{1, 7, 15, 16, 17, 31, 32, 33, 100, 1000, 4864 + 3} {
			x := randRow(r, n+1)[1:]
			xb := make([]byte, 4*n+1)[1:]
			QuantizeRow(F32, xb, x)
			for typ, fast := range fk.dots {
				if typ.VecDotType() != F32 {
					continue // the K-quants: TestKQuantDotsEqualPortable
				}
				w := make([]byte, mustRowBytes(t, typ, n)+1)[1:]
				QuantizeRow(typ, w, randRow(r, n))
				want := portable[typ].vecDot(n, w, xb)
				got := fast(n, w, xb)
				wf := make([]float32, n)
				DequantizeRow(typ, wf, w)
				var mag float64
				for i := range wf {
					mag += math.Abs(float64(wf[i]) * float64(x[i]))
				}
				if d := math.Abs(float64(got - want)); !(d <= float64(n+8)*0x1p-24*mag) {
					t.Errorf("%s %v n=%d: %v, portable %v", path, typ, n, got, want)
				}
				compared++
			}
		}
	}
	t.Logf("%d comparisons", compared)
}

// Attention gives the same result on every path (rounding apart),
// with grouped-query heads and a context that is not a multiple of the
// vector width.
func TestAttentionPathsAgree(t *testing.T) {
	defer SetPath(Path())
	r := rand.New(rand.NewPCG(rand.Uint64(), 17))
	const heads, kvHeads, d, ctx = 14, 2, 64, 37
	q := randRow(r, heads*d)
	kc := make([]uint16, ctx*kvHeads*d)
	vc := make([]uint16, ctx*kvHeads*d)
	F32ToF16Row(kc, randRow(r, len(kc)))
	F32ToF16Row(vc, randRow(r, len(vc)))
	SetPath("portable")
	want := make([]float32, heads*d)
	Attention(want, q, kc, vc, ctx, heads, kvHeads, d, 0.125, make([]float32, AttentionScratch(ctx, heads)))
	for _, path := range Paths() {
		SetPath(path)
		got := make([]float32, heads*d)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		Attention(got, q, kc, vc, ctx, heads, kvHeads, d, 0.125, make([]float32, AttentionScratch(ctx, heads)))
		for i := range got {
			// The softmax weights are rounded to F16, so a last-bit
			// difference in a score can move a weight by 2^-11.
			if !(math.Abs(float64(got[i]-want[i])) <= 2e-3) {
				t.Fatalf("%s: out[%d] = %v, portable %v", path, i, got[i], want[i])
			}
		}
	}
}

// The K-quant fast dot products, and those with Q8_1 activations (Q4_1,
// Q5_1), equal the portable ones (ggml's order of float additions) to
// rounding, on fresh random rows of 1 to 19 blocks (Qwen2.5's 4864 is 19
// K-quant blocks), unaligned.
func TestKQuantDotsEqualPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 19))
	compared := 0
	for path, fk := range floats {
		if _, err := paths[path](); err != nil {
			continue
		}
		for typ, fast := range fk.dots {
			vt := typ.VecDotType()
			if vt != Q8_K && vt != Q8_1 {
				continue
			}
			for _, nb := range []int{1, 2, 3, 4, 7, 19} {
				n := nb * typ.BlockSize()
				for range 4 {
					w := make([]byte, mustRowBytes(t, typ, n)+1)[1:]
					QuantizeRow(typ, w, randRow(r, n))
					x := make([]byte, mustRowBytes(t, vt, n)+3)[3:]
					xf := randRow(r, n)
					QuantizeRow(vt, x, xf)
					want := portable[typ].vecDot(n, w, x)
					got := fast(n, w, x)
					wf := make([]float32, n)
					DequantizeRow(typ, wf, w)
					var mag float64
					for i := range wf {
						mag += math.Abs(float64(wf[i]) * float64(xf[i]))
					}
					if d := math.Abs(float64(got - want)); !(d <= 64*0x1p-24*mag) {
						t.Errorf("%s %v nb=%d: %v, portable %v (diff %g)", path, typ, nb, got, want, d)
					}
					compared++
				}
			}
		}
	}
	if compared == 0 && len(Paths()) > 1 {
		t.Error("no K-quant or Q8_1 fast path compared")
	}
	t.Logf("%d comparisons", compared)
}

// attentionRef is ggml's attention with an F16 cache in float64: query and
// softmax weights rounded to F16, exponentials rounded to float32 (math.Exp's,
// independent of the kernels' expf32), their sum in float64. It also returns, per output, the sum of |weight·value|, which
// bounds the rounding.
func attentionRef(q []float32, kc, vc []uint16, n, h, group, kvHeads, d int, scale float32) (out, mag []float64) {
	off, stride := (h/group)*d, kvHeads*d
	sc := make([]float32, n)
	mx := float32(math.Inf(-1))
	for t := range n {
		var s float64
		for i := range d {
			s += float64(roundF16(q[i])) * float64(F16ToF32(kc[t*stride+off+i]))
		}
		sc[t] = float32(s) * scale
		mx = max(mx, sc[t])
	}
	var sum float64
	for t := range sc {
		sc[t] = float32(math.Exp(float64(sc[t] - mx)))
		sum += float64(sc[t])
	}
	inv := float32(1 / sum)
	out, mag = make([]float64, d), make([]float64, d)
	for t := range n {
		w := float64(roundF16(sc[t] * inv))
		for i := range d {
			v := w * float64(F16ToF32(vc[t*stride+off+i]))
			out[i] += v
			mag[i] += math.Abs(v)
		}
	}
	return out, mag
}

// attnShapes are the attention tests' shapes, which cover the tiled
// loops' cases: whole and partial groups of attnQueries tokens, odd and
// even numbers of keys, groups of heads sharing a KV head (whole and
// partial, which take batches of fewer tokens, and which one token takes
// through the four-query loops once the context has room for their
// copies, (g-1)·ctx >= d: seven heads of 32 from a context of 16, six
// of 24 from 24),
// head sizes with and without a last 8 or 16 dimensions, and one (12)
// that is not a multiple of 8 and takes attendHead.
var attnShapes = []attnShape{
	{14, 2, 64, 5, 9},
	{4, 4, 24, 0, 7},
	{6, 2, 40, 3, 6},
	{2, 1, 8, 11, 5},
	{2, 1, 128, 0, 4},
	{3, 1, 12, 2, 5},
	{8, 2, 32, 3, 2},
	{7, 1, 32, 14, 4},
	{12, 2, 24, 30, 2},
	{10, 2, 8, 6, 4},
}

type attnShape struct{ heads, kvHeads, d, pos, nTok int }

// checkAttention runs attention (made for a shape and its context by
// setup, with a float64 reference for query q of head h seeing n
// positions) on every path and thread count over attnShapes: a batch of
// tokens after a prefix must equal its tokens one at a time bit for bit,
// and each output the reference within tol of the sum of |weight·value|.
func checkAttention(t *testing.T, r *rand.Rand, tol float64, setup func(sh attnShape, ctx int) (run func(out, q []float32, pos, nTok int, sc []float32), ref func(q []float32, n, h int) (out, mag []float64))) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	for _, sh := range attnShapes {
		heads, d, pos, nTok := sh.heads, sh.d, sh.pos, sh.nTok
		ctx := pos + nTok
		q := randRow(r, nTok*heads*d)
		for i := range q {
			q[i] *= 3 // sharp enough that the softmax is not flat
		}
		run, ref := setup(sh, ctx)
		for _, path := range Paths() {
			SetPath(path)
			for _, threads := range []int{1, 2} {
				SetThreads(threads)
				out := make([]float32, nTok*heads*d)
				for i := range out {
					out[i] = float32(math.NaN())
				}
				run(out, q, pos, nTok, make([]float32, AttentionScratch(ctx, heads)))
				for tok := range nTok {
					one := make([]float32, heads*d)
					run(one, q[tok*heads*d:(tok+1)*heads*d], pos+tok, 1, make([]float32, AttentionScratch(ctx, heads)))
					for h := range heads {
						want, mag := ref(q[tok*heads*d+h*d:], pos+tok+1, h)
						for i := range d {
							got := out[tok*heads*d+h*d+i]
							if got != one[h*d+i] {
								t.Fatalf("%+v %s %dt: token %d head %d [%d]: batch %v, single %v", sh, path, threads, tok, h, i, got, one[h*d+i])
							}
							if !(math.Abs(float64(got)-want[i]) <= tol*mag[i]+1e-6) {
								t.Fatalf("%+v %s %dt: token %d head %d [%d]: %v, reference %v", sh, path, threads, tok, h, i, got, want[i])
							}
						}
					}
				}
			}
		}
	}
}

// AttentionCausal over an F16 cache matches the float64 reference, and a
// batch its tokens one at a time (Attention) bit for bit.
func TestAttentionCausalEqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 23))
	checkAttention(t, r, 2e-3, func(sh attnShape, ctx int) (func(out, q []float32, pos, nTok int, sc []float32), func(q []float32, n, h int) ([]float64, []float64)) {
		heads, kvHeads, d := sh.heads, sh.kvHeads, sh.d
		kc := make([]uint16, ctx*kvHeads*d)
		vc := make([]uint16, ctx*kvHeads*d)
		F32ToF16Row(kc, randRow(r, len(kc)))
		F32ToF16Row(vc, randRow(r, len(vc)))
		run := func(out, q []float32, pos, nTok int, sc []float32) {
			if nTok == 1 {
				Attention(out, q, kc, vc, pos+1, heads, kvHeads, d, 0.125, sc)
				return
			}
			AttentionCausal(out, q, kc, vc, pos, nTok, heads, kvHeads, d, 0.125, sc)
		}
		ref := func(q []float32, n, h int) ([]float64, []float64) {
			return attentionRef(q, kc, vc, n, h, heads/kvHeads, kvHeads, d, 0.125)
		}
		return run, ref
	})
}

// A Q8_0 matrix times two tokens: row 0 sums the token, row 1 takes its
// first element twice.
func ExampleMatMul() {
	const cols = 32
	rows := [][]float32{make([]float32, cols), make([]float32, cols)}
	for i := range rows[0] {
		rows[0][i] = 1
	}
	rows[1][0] = 2
	rb, _ := Q8_0.RowBytes(cols)
	w := Matrix{Type: Q8_0, Rows: 2, Cols: cols, Data: make([]byte, 2*rb)}
	for i, r := range rows {
		QuantizeRow(Q8_0, w.Data[i*rb:], r)
	}
	x := make([]float32, 2*cols) // two tokens: 0.5s, then 0..30 and 127
	for i := range cols {
		x[i], x[cols+i] = 0.5, float32(i)
	}
	x[2*cols-1] = 127
	y := make([]float32, 2*2)
	MatMul(y, w, x, 2, make([]byte, MatMulWork(w, 2)))
	// Quantised weights and activations: close to 16, 1, 592, 0.
	fmt.Printf("%.0f %.0f\n%.0f %.0f\n", y[0], y[1], y[2], y[3])
	// Output:
	// 16 1
	// 592 0
}

// Weights come from files: whatever their bytes (NaN or infinite scales,
// -128 in Q8_0, any bit pattern), every path runs without panicking or
// reading out of bounds and agrees with the portable reference: equal to
// rounding, or both not finite.
func FuzzMatMulPaths(f *testing.F) {
	f.Add(uint8(0), make([]byte, 2*34), int64(1))
	f.Add(uint8(1), bytes.Repeat([]byte{0xff, 0x7b, 0x80}, 40), int64(2))
	f.Add(uint8(2), bytes.Repeat([]byte{0x00, 0x7c, 0x01}, 50), int64(3))
	types := []Type{Q8_0, Q4_0, Q5_0, F16, BF16, Q4_K, Q6_K, Q5_K, Q4_1, Q5_1}
	f.Fuzz(func(t *testing.T, which uint8, data []byte, seed int64) {
		typ := types[int(which)%len(types)]
		cols := 64
		if typ.BlockSize() == QKK {
			cols = QKK
		}
		rb := mustRowBytes(t, typ, cols)
		rows := len(data) / rb
		if rows == 0 || rows > 64 {
			return
		}
		w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: data[:rows*rb]}
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		defer SetPath(Path())
		// Five tokens (tiles and rows), one (the decode kernels) and nine
		// (the row-lane prefill kernels, a partial group of sixteen).
		for _, n := range []int{5, 1, 9} {
			x := randRow(r, cols*n)
			SetPath("portable")
			want := make([]float32, rows*n)
			MatMul(want, w, x, n, make([]byte, MatMulWork(w, n)))
			mag := fuzzMagnitudes(t, w, x, n)
			for _, path := range Paths() {
				SetPath(path)
				got := make([]float32, rows*n)
				MatMul(got, w, x, n, make([]byte, MatMulWork(w, n)))
				for i := range got {
					g, p := float64(got[i]), float64(want[i])
					if math.IsInf(mag[i], 0) || math.IsNaN(mag[i]) || mag[i] > 1e30 {
						continue // overflow or NaN: only the absence of a crash counts
					}
					if d := math.Abs(g - p); !(d <= 256*0x1p-24*mag[i]+1e-30) {
						t.Fatalf("%s %v n=%d: y[%d] = %v, portable %v (bound %g)", path, typ, n, i, g, p, 256*0x1p-24*mag[i])
					}
				}
			}
		}
	})
}

// fuzzMagnitudes bounds, for each output of a fuzzed MatMul, the size of
// the terms whose float rounding any summation order can differ by: the
// sum of |w·x| over the dequantised row, and for the formats with a min
// the scale and min terms apart (they may cancel), with some slack for
// the activations' quantisation.
func fuzzMagnitudes(t *testing.T, w Matrix, x []float32, n int) []float64 {
	rb := mustRowBytes(t, w.Type, w.Cols)
	mag := make([]float64, w.Rows*n)
	wf := make([]float32, w.Cols)
	variants := [][2]int{{-1, -1}}
	if w.Type == Q4_K || w.Type == Q5_K || w.Type == Q4_1 || w.Type == Q5_1 {
		variants = [][2]int{{2, 3}, {0, 1}} // zero the min, then d
	}
	for r := range w.Rows {
		for _, v := range variants {
			row := slices.Clone(w.Data[r*rb : (r+1)*rb])
			if v[0] >= 0 {
				for b := 0; b < len(row); b += w.Type.BlockBytes() {
					row[b+v[0]], row[b+v[1]] = 0, 0
				}
			}
			if err := DequantizeRow(w.Type, wf, row); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				for c, wv := range wf {
					mag[i*w.Rows+r] += math.Abs(float64(wv)) * (1.05*math.Abs(float64(x[i*w.Cols+c])) + 0.05)
				}
			}
		}
	}
	return mag
}
