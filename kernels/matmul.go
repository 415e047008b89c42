package kernels

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// Matrix is a weight matrix: Rows rows of Cols elements, each row
// Type.RowBytes(Cols) bytes, one after another as GGUF stores them
// (RowMajor), or rearranged eight rows at a time by Interleave.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
	Layout     Layout
}

// Check verifies that the matrix's data has the size its shape needs.
func (m Matrix) Check() error {
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return err
	}
	if _, err := funcs(m.Type); err != nil {
		return err
	}
	if m.Rows < 0 || len(m.Data) != rb*m.Rows {
		return fmt.Errorf("kernels: %v matrix %dx%d needs %d bytes, has %d", m.Type, m.Rows, m.Cols, rb*m.Rows, len(m.Data))
	}
	return m.layoutErr()
}

// layoutErr says why m's rows cannot be in m's layout (an unknown one, or
// Interleaved8 for a type without it or rows that are not whole groups).
func (m Matrix) layoutErr() error {
	// RowMajor first: MatMul and MatVecGroup ask this of every matrix of
	// every product, and the map lookup is for the other layout only.
	switch {
	case m.Layout == RowMajor:
		return nil
	case m.Layout != Interleaved8:
		return fmt.Errorf("kernels: %v matrix has an unknown layout %v", m.Type, m.Layout)
	}
	if _, ok := interleavers[m.Type]; !ok || m.Rows%interleaveRows != 0 {
		return fmt.Errorf("kernels: %v matrix of %d rows cannot be %v", m.Type, m.Rows, m.Layout)
	}
	return nil
}

// MatMulWork is the size of the work buffer MatMul needs for n tokens: the
// activations converted to the weights' activation type, plus (for Q8_0
// activations) their block scales as float32, so the fast kernels convert
// each scale once per call rather than once per weight row; and at least
// twice what one token needs, as decode converts into alternate halves of
// it (see decodeInput).
func MatMulWork(m Matrix, n int) int {
	return max(matMulWork(m, n), 2*matMulWork(m, 1))
}

func matMulWork(m Matrix, n int) int {
	rb, _ := m.Type.VecDotType().RowBytes(m.Cols)
	return rb*n + dxBytes(m, n) + kBytes(m.Type, m.Cols, n) + q81Bytes(m)
}

// kRecord is the size of one token's record of one block for the K-quant
// row-lane kernels (see gemmvk_amd64.s).
const kRecord = 304

// kRecordQ6 is the larger record of the avx512 Q6_K kernel (gemmvk_amd64.s),
// whose sixteen sums take 64 bytes; kBytes makes room for it on every path.
const kRecordQ6 = 336

func kBytes(t Type, cols, n int) int {
	if t.VecDotType() != Q8_K {
		return 0
	}
	rec := kRecord
	if t == Q6_K {
		rec = kRecordQ6
	}
	// Decode's records (kRecordZ) fit in the row-lane kernels' room.
	return max((n+vGroup-1)/vGroup*vGroup*(cols/QKK)*rec, cols/QKK*kRecordZ+64)
}

// clearPad zeroes the records of the unused token slots of the last group
// (nb blocks of rec bytes per token): the kernels compute them but never
// store them, and they should hold numbers.
func clearPad(x []byte, nb, rec, n int) {
	if pad := len(x)/(nb*rec) - n; pad > 0 {
		last := x[(n/vGroup)*vGroup*nb*rec:]
		for b := range nb {
			clear(last[(b*vGroup+vGroup-pad)*rec : (b+1)*vGroup*rec])
		}
	}
}

func dxBytes(m Matrix, n int) int {
	if m.Type.VecDotType() == Q8_1 && n >= vMinTokens {
		return vBytes(m.Cols, n, laneRecord(m.Type)) // the row-lane kernels' records (Q4_1, Q5_1)
	}
	if m.Type.VecDotType() != Q8_0 {
		return 0
	}
	// +4: room to align the float32 view; then the token-group records of
	// the row-lane kernels, or decode's records of one token (the model's
	// one work buffer serves both), whichever is larger.
	return n*(m.Cols/QK)*4 + 4 + max(zBytes(m.Cols), vBytes(m.Cols, n, laneRecord(m.Type)))
}

// laneRecord is the largest record of a block that any path's row-lane
// kernels for t take (vRecord, or their own record), so that a work
// buffer serves whichever path is active when it is used.
func laneRecord(t Type) int { return max(vRecord, laneRecords[t]) }

// vRecord is the size of one token's record of one block for the row-lane
// kernels (where laneKernels.record does not say otherwise), vGroup the
// tokens of a group and vRows the weight rows of a call (see
// gemmv_amd64.s), vBlock the size of a repacked block of vRows rows.
const (
	vRecord = 40
	vGroup  = 16
	vRows   = 16
	vBlock  = 576
)

// vMinTokens is the smallest batch the row-lane kernels take: a group
// always computes sixteen tokens (avx512), so fewer waste work; but they
// also sum each block exactly in integers before any float step, where the
// 512-bit pair-record tiles they replaced converted lanes whose Q8_0 offset
// terms (±128·x) cancel only in float (FuzzMatMulPaths found an all-zero
// product that came out 7.6e-6), so they take every batch from four.
const vMinTokens = 4

// vBytes is the room of n tokens' records of rec bytes a block.
func vBytes(cols, n, rec int) int { return (n + vGroup - 1) / vGroup * vGroup * (cols / QK) * rec }

// zRecord is the room per two blocks of the records of decode's kernels
// whose decodeKernel has no group (decRecordsQ4QAVX2's, which take less);
// it was the size of the avx512 path's pair records, which the quad
// records replaced.
const zRecord = 192

// zBytes is the room decode's records of one token of cols elements take
// at a 64-byte boundary.
func zBytes(cols int) int { return recordBytes(cols/QK) + 64 }

// MatVec computes y = W·x for one token (decode). work holds x converted
// to the weights' activation type; its size is MatMulWork(w, 1).
func MatVec(y []float32, w Matrix, x []float32, work []byte) {
	MatMul(y, w, x, 1, work)
}

// MatMul computes y[i] = W·x[i] for n tokens (prefill): x is n rows of
// w.Cols, y is n rows of w.Rows. The activations are converted once; then
// each thread takes ranges of weight rows and runs every token through
// them: the row-lane kernels repack sixteen rows (AVX2: eight or sixteen)
// and take sixteen tokens (AVX2: two or four) per call (gemmv_amd64.s,
// gemmv2_amd64.s, gemmvk_amd64.s),
// the older tiles four tokens per row, so each weight block is read from
// memory once per call and unpacked once per group of tokens. Decode (n = 1) runs the path's decode kernel for the weight
// type, where it has one, over chunks of rows (see decode.go); else one row
// kernel call per row.
//
// The sizes are the caller's contract (the model checks its tensors with
// Matrix.Check when it loads them); a violation panics before any kernel
// reads out of bounds.
func MatMul(y []float32, w Matrix, x []float32, n int, work []byte) {
	xrb, wrb := checkMatMul(y, w, x, n, work)
	if n == 0 || w.Rows == 0 {
		return
	}
	opMu.Lock()
	defer opMu.Unlock()
	if k, ok := decodeFor(w); ok && n == 1 {
		matVecDecode(y, w, x, work, xrb, wrb, activeMats[w.Type].quant, k)
		return
	}
	b := convertBatch(w, x, n, work, xrb)
	multiplyBatch(y, w, n, wrb, &b)
}

// MatMulGroup computes ys[i] = ws[i]·x for n tokens and several matrices
// that read the same activations (a layer's q, k and v, or its gate and
// up): each run of consecutive matrices of one type and width converts
// the batch once, where MatMul would convert it once per matrix. The
// conversions took 5–14% of a Qwen2.5-0.5B layer's prefill time at two
// threads (128 tokens, avx512), and grouping takes a layer's five
// conversions of its normalised input to two where the types agree:
// 0.5–2.3% faster at two threads on every format and path measured
// (alternated in one process), the same at one. One token goes to
// MatVecGroup. work holds MatMulWork(ws[i], n) bytes for every i.
func MatMulGroup(ys [][]float32, ws []Matrix, x []float32, n int, work []byte) {
	if len(ys) != len(ws) || len(ws) > MaxGroup {
		panic(fmt.Sprintf("kernels: MatMulGroup of %d matrices and %d outputs (at most %d)", len(ws), len(ys), MaxGroup))
	}
	if n == 1 {
		MatVecGroup(ys, ws, x, work)
		return
	}
	var rbs [MaxGroup][2]int // each matrix's xrb and wrb
	for i, w := range ws {
		rbs[i][0], rbs[i][1] = checkMatMul(ys[i], w, x, n, work)
	}
	if n == 0 {
		return
	}
	opMu.Lock()
	defer opMu.Unlock()
	for i := 0; i < len(ws); {
		w0 := ws[i]
		b := convertBatch(w0, x, n, work, rbs[i][0])
		for ; i < len(ws) && ws[i].Type == w0.Type && ws[i].Cols == w0.Cols; i++ {
			if ws[i].Rows > 0 {
				multiplyBatch(ys[i], ws[i], n, rbs[i][1], &b)
			}
		}
	}
}

// checkMatMul panics unless MatMul(y, w, x, n, work) is within its
// contract, and returns the bytes of a converted token row and of a
// weight row.
func checkMatMul(y []float32, w Matrix, x []float32, n int, work []byte) (xrb, wrb int) {
	f, err := funcs(w.Type)
	if err != nil {
		panic(err)
	}
	xrb, err1 := f.vecDotType.RowBytes(w.Cols)
	wrb, err2 := w.Type.RowBytes(w.Cols)
	switch {
	case err1 != nil || err2 != nil:
		panic(fmt.Sprintf("kernels: MatMul: %v %v", err1, err2))
	case n < 0 || w.Rows < 0 || len(w.Data) < w.Rows*wrb || len(x) < n*w.Cols || len(y) < n*w.Rows || len(work) < MatMulWork(w, n):
		panic(fmt.Sprintf("kernels: MatMul of %v %dx%d by %d tokens: short buffers (weights %d, x %d, y %d, work %d bytes)",
			w.Type, w.Rows, w.Cols, n, len(w.Data), len(x), len(y), len(work)))
	case w.layoutErr() != nil:
		// A layout the matrix cannot have (rows not whole groups): its
		// kernels would skip rows, or deinterleave past its data.
		panic(fmt.Sprintf("kernels: MatMul: %v", w.layoutErr()))
	}
	return xrb, wrb
}

// batch is a batch of tokens converted for the products of one weight
// type and width (convertBatch), as multiplyBatch reads it.
type batch struct {
	xq   []byte
	dx   []float32
	lane laneSpec
	fast bool
	mk   matKernels
	xrb  int
}

// convertBatch converts n tokens of x for the products with matrices of
// w's type and width, into work. The caller holds opMu.
func convertBatch(w Matrix, x []float32, n int, work []byte, xrb int) batch {
	xt := w.Type.VecDotType()
	nb := w.Cols / QK
	mk, ok := activeMats[w.Type]
	// The tiles and rows take Q8_0 activations with float scales. Prefill
	// batches take the row-lane kernels where the path has them (Q8_0
	// activations, or Q8_1 for Q4_1 and Q5_1), else the tiles of four
	// tokens.
	fast := ok && nb > 0 && xt == Q8_0
	rowLanes := ok && nb > 0 && mk.lanes.repack != nil && n >= vMinTokens
	var dx []float32
	var xv []byte
	var lane laneSpec
	rest := work[xrb*n:]
	if fast {
		dx = floatView(rest, n*nb)
		rest = rest[n*nb*4+4:]
	}
	recV := cmp.Or(mk.lanes.record, vRecord)
	if rowLanes {
		xv = rest[:vBytes(w.Cols, n, recV)]
		lane = mk.lanes.spec(xv, nb, recV, n)
	}
	// K-quants: the row-lane kernels where the path has them.
	var xk []byte
	kl, kLanes := activeFloat.kLanes[w.Type]
	recK := cmp.Or(kl.record, kRecord)
	if nbk := w.Cols / QKK; kLanes && xt == Q8_K && n >= vMinTokens && nbk > 0 {
		// Exactly the groups' records (kBytes may leave more room), since
		// spec counts the padding token slots from the length.
		xk = work[xrb*n:][:(n+vGroup-1)/vGroup*vGroup*nbk*recK]
		lane = kl.spec(xk, nbk, recK, n)
	}
	q := &theJobs.quant
	*q = quantJob{x: x, xq: work[:xrb*n], dx: dx, xv: xv, xk: xk, pairs: kl.pairs, recordK: kl.recordK, recK: recK, zOff: mk.zOff, cols: w.Cols, xrb: xrb, quantize: quantizerFor(xt)}
	if fast || rowLanes {
		q.fastQ8, q.recV, q.recVSize = mk.quant, mk.recordsV, recV
	}
	parallel(n, 1, q)
	*q = quantJob{}
	return batch{xq: work[:xrb*n], dx: dx, lane: lane, fast: fast, mk: mk, xrb: xrb}
}

// multiplyBatch computes y = w·x for the batch b, converted for w's type
// and width. The caller holds opMu.
func multiplyBatch(y []float32, w Matrix, n, wrb int, b *batch) {
	if w.Layout == Interleaved8 {
		dScratch.grow(Threads(), deinterleaveRows*wrb)
	}
	j := &theJobs.mm
	*j = matmulJob{y: y, w: w, xq: b.xq, dx: b.dx, lane: b.lane, n: n, xrb: b.xrb, wrb: wrb, fast: b.fast, mk: b.mk, dot: vecDotFor(w.Type), tile4: activeFloat.tiles4[w.Type], tile2x4: activeFloat.tiles2x4[w.Type], tile4x4: activeFloat.tiles4x4[w.Type]}
	parallel(w.Rows, 16, j)
	*j = matmulJob{} // keep no reference to the caller's request data
}

// floatView is the float32 slice of n elements at the first 4-byte
// aligned offset of b (the arena hands out byte slices).
func floatView(b []byte, n int) []float32 {
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 3)
	b = b[off : off+4*n]
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// theJobs holds the reusable job of each parallel operation; opMu guards it.
var theJobs struct {
	quant  quantJob
	mm     matmulJob
	attn   attnJob
	swiglu swigluJob
}

// quantJob converts token rows of activations for the dot products.
type quantJob struct {
	x        []float32
	xq       []byte
	dx       []float32
	xv       []byte                                 // token-group records for the row-lane kernels, or nil
	xk       []byte                                 // the same for the K-quant row-lane kernels, or nil
	recV     func(nb int, row, dst *byte, zOff int) // or nil: recordsV
	recVSize int                                    // bytes of one of recV's records
	pairs    func(dst, bsums []byte)
	recordK  func(rec, blk []byte) // or nil: the values, pairs and dx
	recK     int                   // bytes of one of xk's records
	zOff     int32                 // their weight offset
	cols     int
	xrb      int
	quantize func(dst []byte, src []float32)
	fastQ8   func(nb int, src *float32, dst *byte) bool // or nil
}

// run converts tokens [lo, hi). Its threads write the row-lane records over
// cache lines that every thread read in the last product. With one product
// repeated alone, at two threads that writing cost several times what it
// does at one: converting 128 tokens of the FFN's down input (4864 wide)
// for the row-lane kernels of Q4_0 or Q8_0 took 80-90 µs at one thread and
// 105-115 at two (Zen 5, two vCPUs), the records about 25 thread-µs at one
// and 130 at two (timed token by token), while the quantisation divided as
// it should; asking for each chunk's records for writing first (PREFETCHW)
// made no difference. Timed inside a layer's sequence of products instead
// (q/k/v, o, gate/up, down), the same conversion took 230-310 µs at one
// thread (the activations no longer in cache; records 88-105 µs) and
// 75-134 at two (records 45-50 thread-µs): it divides there, and writing
// each conversion's records into the other of two buffers was no faster
// (86-106 µs). A product of 128 rows (Qwen2.5-0.5B's k or v, 896 wide) ran
// only 1.1-1.2 times faster at two threads (62-66 µs against 50-55), its
// conversion not at all: a 16-row product, mostly conversion (about 15 µs
// of its 21), took 21 µs at one thread and at two. MatMulGroup spares k and
// v a conversion of their own.
func (j *quantJob) run(lo, hi int) {
	nb := j.cols / QK
	for t := lo; t < hi; t++ {
		row := j.xq[t*j.xrb : (t+1)*j.xrb]
		src := j.x[t*j.cols : (t+1)*j.cols]
		if j.fastQ8 == nil || !j.fastQ8(nb, &src[0], &row[0]) {
			j.quantize(row, src)
		}
		if j.xv != nil && j.recV != nil {
			j.recV(nb, &row[0], &j.xv[t/vGroup*vGroup*nb*j.recVSize+t%vGroup*j.recVSize], int(j.zOff))
			continue // the row-lane kernels need nothing else
		}
		if j.dx != nil {
			d := j.dx[t*nb : (t+1)*nb]
			for b := range d {
				d[b] = f16(row[b*34:])
			}
		}
		if j.xv != nil {
			j.recordsV(t, row, j.dx[t*nb:(t+1)*nb])
		}
		if j.xk != nil {
			j.recordsK(t, row)
		}
	}
}

// recordsK lays out token t's Q8_K row as its records of gemmvk_amd64.s.
func (j *quantJob) recordsK(t int, row []byte) {
	nb := j.cols / QKK
	grp := j.xk[t/vGroup*vGroup*nb*j.recK:]
	for b := range nb {
		rec := grp[(b*vGroup+t%vGroup)*j.recK:][:j.recK]
		blk := row[b*q8KBytes : (b+1)*q8KBytes]
		if j.recordK != nil {
			j.recordK(rec, blk)
			continue
		}
		copy(rec[:256], blk[4:260])
		j.pairs(rec[256:j.recK-16], blk[260:292])
		copy(rec[j.recK-16:], blk[:4])
	}
}

// recordsV lays out token t's Q8_0 row as its records of gemmv_amd64.s
// (vRecord bytes): block b of the token's group of vGroup, slot t mod
// vGroup. Kernels with records of their own have their own recordsV.
func (j *quantJob) recordsV(t int, row []byte, dx []float32) {
	nb := len(dx)
	grp := j.xv[t/vGroup*vGroup*nb*vRecord:]
	for b := range nb {
		rec := grp[(b*vGroup+t%vGroup)*vRecord:][:vRecord]
		blk := row[b*34+2 : (b+1)*34]
		copy(rec, blk)
		var sum int32
		for _, v := range blk {
			sum += int32(int8(v))
		}
		binary.LittleEndian.PutUint32(rec[32:], uint32(-j.zOff*sum))
		binary.LittleEndian.PutUint32(rec[36:], math.Float32bits(dx[b]))
	}
}

// matmulJob multiplies the weight rows [lo, hi) by every token.
type matmulJob struct {
	y        []float32
	w        Matrix
	xq       []byte
	dx       []float32
	lane     laneSpec
	n        int
	xrb, wrb int
	fast     bool
	mk       matKernels
	dot      vecDotFunc
	tile4    func(nb int, w, x *byte, xstride int, out *float32, ostride int) // or nil
	tile2x4  floatTileFunc                                                    // or nil
	tile4x4  floatTileFunc                                                    // or nil
}

// tileBytes bounds the weight rows one tile holds, so that they stay in the
// L2 cache (512 KiB to 1 MiB per core here) while every token passes.
const tileBytes = 128 << 10

// deinterleaveRows is how many rows of an Interleaved8 matrix a thread
// deinterleaves at a time for the kernels that read RowMajor rows: a
// multiple of the row-lane kernels' tiles (vRows), as parallel hands out.
const deinterleaveRows = 64

func (j *matmulJob) run(lo, hi int) {
	switch {
	case j.w.Layout != Interleaved8:
		j.runRows(j.w.Data[lo*j.wrb:], lo, lo, hi)
		return
	case j.lane.x != nil && j.lane.repackX8 != nil && j.lane.rows%interleaveRows == 0:
		// The tiles come straight from the groups.
		j.runRowLanes(j.w.Data[lo*j.wrb:], lo, lo, hi, j.lane.repackX8)
		return
	}
	slot := dScratch.claim()
	defer dScratch.release(slot)
	buf := dScratch.bufs[slot]
	for r0 := lo; r0 < hi; r0 += deinterleaveRows {
		r1 := min(r0+deinterleaveRows, hi)
		deinterleave(buf, j.w, r0, r1)
		j.runRows(buf, r0, r0, r1)
	}
}

// runRows multiplies the weight rows [lo, hi) by every token; row r's
// bytes are at data[(r-base)·wrb], RowMajor.
func (j *matmulJob) runRows(data []byte, base, lo, hi int) {
	rows, cols, n := j.w.Rows, j.w.Cols, j.n
	y, xq := j.y, j.xq
	if j.lane.x != nil {
		j.runRowLanes(data, base, lo, hi, j.lane.repack)
		return
	}
	if !j.fast {
		t := 0
		if j.tile2x4 != nil {
			// Four tokens at a time through a cache-sized group of rows,
			// four rows a tile where the path has such tiles, then two;
			// an odd last row takes its dot products.
			step := max(4, min(64, tileBytes/j.wrb))
			for r0 := lo; r0 < hi; r0 += step {
				r1 := min(r0+step, hi)
				for t = 0; t+4 <= n; t += 4 {
					r := r0
					for ; j.tile4x4 != nil && r+4 <= r1; r += 4 {
						j.tile4x4(cols, &data[(r-base)*j.wrb], j.wrb, &xq[t*j.xrb], j.xrb, &y[t*rows+r], rows*4)
					}
					for ; r+2 <= r1; r += 2 {
						j.tile2x4(cols, &data[(r-base)*j.wrb], j.wrb, &xq[t*j.xrb], j.xrb, &y[t*rows+r], rows*4)
					}
					if r < r1 {
						row := data[(r-base)*j.wrb : (r-base+1)*j.wrb]
						for i := t; i < t+4; i++ {
							y[i*rows+r] = j.dot(cols, row, xq[i*j.xrb:(i+1)*j.xrb])
						}
					}
				}
			}
		} else if bs := j.w.Type.BlockSize(); j.tile4 != nil && cols >= bs {
			// Four tokens at a time through a cache-sized group of rows.
			step := max(4, min(64, tileBytes/j.wrb))
			for r0 := lo; r0 < hi; r0 += step {
				r1 := min(r0+step, hi)
				for t = 0; t+4 <= n; t += 4 {
					for r := r0; r < r1; r++ {
						j.tile4(cols/bs, &data[(r-base)*j.wrb], &xq[t*j.xrb], j.xrb, &y[t*rows+r], rows*4)
					}
				}
			}
		}
		for r := lo; r < hi; r++ {
			row := data[(r-base)*j.wrb : (r-base+1)*j.wrb]
			for i := t; i < n; i++ {
				y[i*rows+r] = j.dot(cols, row, xq[i*j.xrb:(i+1)*j.xrb])
			}
		}
		return
	}
	nb := cols / QK
	step := max(4, min(64, tileBytes/j.wrb))
	for r0 := lo; r0 < hi; r0 += step {
		r1 := min(r0+step, hi)
		t := 0
		for ; t+4 <= n; t += 4 {
			for r := r0; r < r1; r++ {
				j.mk.tile4(nb, &data[(r-base)*j.wrb], &xq[t*j.xrb], j.xrb, &j.dx[t*nb], nb*4, &y[t*rows+r], rows*4)
			}
		}
		for ; t < n; t++ {
			for r := r0; r < r1; r++ {
				y[t*rows+r] = j.mk.row1(nb, &data[(r-base)*j.wrb], &xq[t*j.xrb], &j.dx[t*nb])
			}
		}
	}
}

// runRowLanes is run for the row-lane kernels: sixteen rows at a time are
// repacked (by repack, from data: row r at (r-base)·wrb, or its group
// there) into this thread's scratch buffer, then every group of sixteen
// tokens passes through them. parallel hands out rows in multiples of
// vRows, so only the matrix's last tile is partial.
func (j *matmulJob) runRowLanes(data []byte, base, lo, hi int, repack func(nb int, w *byte, wrb int, rmask int, dst *byte)) {
	rows, n, wrb, l := j.w.Rows, j.n, j.wrb, &j.lane
	slot := vScratch.claim()
	defer vScratch.release(slot)
	buf := vScratch.bufs[slot]
	buf = buf[int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf)))&63):]
	acc := floatView(buf[l.nb*l.block:], vGroup*vRows)
	// The K-quant kernels' float sums, the request's activations, must
	// not outlive the product in package memory (see the package doc),
	// even when a panic ends it (the pool hands that to the caller, and
	// the process goes on).
	defer clear(acc)
	gs := vGroup * l.nb * l.rec
	chunk := cmp.Or(l.chunk, n)
	for t0 := 0; t0 < n; t0 += chunk {
		t1 := min(n, t0+chunk)
		calls := (t1 - t0 + l.tokens - 1) / l.tokens
		for r0 := lo; r0 < hi; r0 += l.rows {
			mask := 1<<min(l.rows, hi-r0) - 1
			repack(l.nb, &data[(r0-base)*wrb], wrb, mask, &buf[0])
			// The next tile comes into the cache a piece before each
			// group of tokens rather than all at once: a burst of a whole
			// tile's prefetches (64 KB for the FFN's down matrix in Q6_K)
			// filled the core's miss buffers and stalled its arithmetic
			// until memory answered, 5-6% of a layer's prefill on avx512.
			var next []byte
			if r1 := min(r0+2*l.rows, hi); r1 > r0+l.rows {
				next = data[(r0-base+l.rows)*wrb : (r1-base)*wrb]
			}
			piece := (len(next)/calls + 63) &^ 63
			for t := t0; t < t1; t += l.tokens {
				if len(next) > 0 {
					k := min(piece, len(next))
					l.prefetch(&next[0], k)
					next = next[k:]
				}
				x := &l.x[t/vGroup*gs+t%vGroup*l.rec]
				l.gemm(l.nb, &buf[0], x, &acc[0], &j.y[t*rows+r0], rows*4, min(l.tokens, t1-t), mask)
			}
		}
	}
}

// laneSpec is a row-lane product's kernels, their defaults filled in, and
// activation records: nb blocks per row, rec bytes per token and block.
type laneSpec struct {
	laneKernels
	x       []byte
	nb, rec int
	// chunk is the tokens (a multiple of vGroup) that pass through all
	// of a thread's rows before the next ones do, each tile repacked
	// once per pass; 0: all of them in one pass.
	chunk int
}

// spec readies the row-lane product of n tokens whose records, nb blocks
// of rec bytes each per token, are x: it zeroes the unused token slots of
// the last group and makes each thread's scratch room for a repacked tile.
func (l laneKernels) spec(x []byte, nb, rec, n int) laneSpec {
	l.block = cmp.Or(l.block, vBlock)
	l.rows, l.tokens = cmp.Or(l.rows, vRows), cmp.Or(l.tokens, vGroup)
	clearPad(x, nb, rec, n)
	vScratch.grow(Threads(), nb*l.block+vGroup*vRows*4+64)
	s := laneSpec{laneKernels: l, x: x, nb: nb, rec: rec}
	if l.passBytes > 0 {
		s.chunk = max(1, l.passBytes/(vGroup*nb*rec)) * vGroup
	}
	return s
}

// scratchSet holds one buffer per thread of a product: a thread claims a
// free one for the duration of its chunk. A job runs on at most Threads()
// goroutines at once, so one is always free.
type scratchSet struct {
	busy []atomic.Bool
	bufs [][]byte
}

// vScratch holds the row-lane kernels' repacked tiles, dScratch the rows
// of Interleaved8 matrices deinterleaved for the kernels that take
// RowMajor rows.
var vScratch, dScratch scratchSet

// grow makes sure there are threads buffers of size bytes; it allocates
// only when the shape or thread count grows. The caller holds opMu, so no
// job is using them.
func (s *scratchSet) grow(threads, size int) {
	if len(s.busy) < threads {
		s.busy = make([]atomic.Bool, threads)
		s.bufs = append(s.bufs, make([][]byte, threads-len(s.bufs))...)
	}
	for i := range s.bufs {
		if len(s.bufs[i]) < size {
			s.bufs[i] = make([]byte, size)
		}
	}
}

// claim returns a free buffer's slot; release(slot) frees it.
func (s *scratchSet) claim() int {
	for i := range s.busy {
		if s.busy[i].CompareAndSwap(false, true) {
			return i
		}
	}
	panic("kernels: more threads in a matrix product than scratch buffers")
}

func (s *scratchSet) release(slot int) { s.busy[slot].Store(false) }
