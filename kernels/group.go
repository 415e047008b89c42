package kernels

import (
	"fmt"
	"unsafe"
)

// MaxGroup is the most matrices MatVecGroup multiplies in one call.
const MaxGroup = 4

// MatVecGroup computes ys[i] = ws[i]·x for one token and several matrices
// that read the same activations: a layer's q, k and v projections, or
// its gate and up. Where the weights share a type and width that has a
// decode kernel, the token is converted once and the threads split the
// rows of all the matrices as one range, so the group costs one dispatch
// and one wait instead of one per matrix: a Qwen2.5-0.5B layer's k and v
// are 128 rows each, over in a few microseconds, which the start and end
// of a product of their own cost about as much as. Otherwise it is MatVec
// on each. work holds MatMulWork(ws[i], 1) bytes for every i.
func MatVecGroup(ys [][]float32, ws []Matrix, x []float32, work []byte) {
	if len(ys) != len(ws) || len(ws) > MaxGroup {
		panic(fmt.Sprintf("kernels: MatVecGroup of %d matrices and %d outputs (at most %d)", len(ws), len(ys), MaxGroup))
	}
	if len(ws) == 0 {
		return
	}
	w0 := ws[0]
	k, ok := decodeFor(w0)
	for _, w := range ws[1:] {
		ok = ok && w.Type == w0.Type && w.Cols == w0.Cols && w.Layout == w0.Layout
	}
	if !ok {
		for i, w := range ws {
			MatMul(ys[i], w, x, 1, work)
		}
		return
	}
	// The same contract as MatMul's for each matrix; they share a type
	// and width, so the row sizes are the same.
	var xrb, wrb int
	for i, w := range ws {
		xrb, wrb = checkMatMul(ys[i], w, x, 1, work)
	}
	opMu.Lock()
	defer opMu.Unlock()
	rec, own := decodeInput(w0, x, work, xrb, activeMats[w0.Type].quant, k)
	runGroup(ys, ws, rec, own, wrb, k)
}

// runGroup runs the decode kernel k over the rows of every matrix of ws
// (one type, width and layout, converted token rec) as one range split
// over the threads; own is what the caller takes for writing once the
// job is posted (see decodeInput). The caller holds opMu.
func runGroup(ys [][]float32, ws []Matrix, rec, own []byte, wrb int, k decodeKernel) {
	j := &theGroup
	j.per = 1
	if ws[0].Layout == Interleaved8 {
		j.per = interleaveRows // the kernel takes whole groups of rows
	}
	j.count, j.end = len(ws), 0
	for i, w := range ws {
		j.start[i] = j.end
		j.end += w.Rows / j.per
	}
	copy(j.ys[:], ys)
	copy(j.ws[:], ws)
	j.rec, j.own, j.nb, j.ub, j.k = rec, own, ws[0].Cols/ws[0].Type.BlockSize(), wrb*j.per, k
	parallelSplit(j.end, 16/j.per, j)
	*j = groupJob{} // keep no reference to the caller's data
}

// groupJob runs units [lo, hi) of a group's concatenated rows, a unit
// being a row (RowMajor) or a group of eight rows (Interleaved8): matrix i
// holds units [start[i], start[i+1]).
type groupJob struct {
	count int
	start [MaxGroup]int
	end   int
	ys    [MaxGroup][]float32
	ws    [MaxGroup]Matrix
	rec   []byte
	own   []byte // see decodeInput
	nb    int
	ub    int // bytes of a unit
	per   int // rows of a unit
	k     decodeKernel
}

// theGroup is the reusable job of MatVecGroup and of MatVec's decode;
// opMu guards it.
var theGroup groupJob

// posted takes j.own for writing while the other threads join the job
// (see decodeInput).
func (j *groupJob) posted() {
	if decodeOwn != nil && len(j.own) > 0 {
		decodeOwn(&j.own[0], len(j.own))
	}
}

func (j *groupJob) run(lo, hi int) {
	for i := range j.count {
		first, last := j.start[i], j.end
		if i+1 < j.count {
			last = j.start[i+1]
		}
		a, b := max(lo, first), min(hi, last)
		if a >= b {
			continue
		}
		w := &j.ws[i].Data[(a-first)*j.ub]
		if decodePrefetch != nil {
			decodePrefetch(w, min((b-a)*j.ub, decodeAhead))
		}
		j.k.rows(j.nb, w, j.ub, &j.rec[0], &j.ys[i][(a-first)*j.per], b-a)
	}
}

// decodeInput converts the token for the decode kernel k of w's type into
// one half of work, and returns what the kernel reads (rec) and the part
// of the other half that the next decode product will convert into (own).
//
// The halves alternate from one product to the next because of who owns
// the converted token's cache lines. The other threads read it, so after a
// product they hold shared copies; converting the next token over them
// means asking every other core to drop each line first, which took 1–2
// µs when the two vCPUs here sat far apart (a cross-core round trip of
// 500 ns, against 110 in the usual windows), and every thread waits for
// that conversion. So the caller converts into the half that the previous
// product did not use, and takes the other half for writing (PREFETCHW,
// groupJob.posted) while the threads stream their weights, when the
// readers of that half are done with it. Both ways alternated every 60
// ms in one process (Qwen2.5-0.5B's layers from DRAM, two threads), in
// those windows: avx512 Q4_0 60.9 against 56.6, 63.9 against 62.9 and
// 64.6 against 62.6 GB/s in three runs (600–900 samples a way each);
// avx2 Q4_K 63.0 against 62.9. In the usual windows, no change.
//
// decodeUsed, the most of a half any product has converted into, bounds
// own, so that a work buffer sized for a batch of tokens costs no more
// prefetches than decode needs.
func decodeInput(w Matrix, x []float32, work []byte, xrb int, quant func(nb int, src *float32, dst *byte) bool, k decodeKernel) (rec, own []byte) {
	half := len(work) / 2
	cur, next := work[:half], work[half:]
	if decodeHalf != 0 {
		cur, next = next, cur
	}
	decodeHalf ^= 1
	rec = decodeRecords(w, x, cur, xrb, quant, k)
	used := int(uintptr(unsafe.Pointer(unsafe.SliceData(rec)))-uintptr(unsafe.Pointer(unsafe.SliceData(cur)))) + len(rec)
	decodeUsed = max(decodeUsed, used)
	return rec, next[:min(decodeUsed, len(next))]
}

// decodeHalf is the half of work the next decode product converts into,
// and decodeUsed the most bytes of one any has used (see decodeInput);
// opMu guards both.
var decodeHalf, decodeUsed int

// decodeRecords converts the token for the decode kernel k of w's type
// (see matVecDecode) and returns what the kernel reads.
func decodeRecords(w Matrix, x []float32, work []byte, xrb int, quant func(nb int, src *float32, dst *byte) bool, k decodeKernel) []byte {
	xq := work[:xrb]
	if vt := w.Type.VecDotType(); vt != Q8_0 {
		quantizerFor(vt)(xq, x[:w.Cols])
	} else if quant == nil || !quant(w.Cols/QK, &x[0], &xq[0]) {
		portable[Q8_0].quantize(xq, x[:w.Cols])
	}
	if k.records == nil {
		return xq
	}
	nb := w.Cols / w.Type.BlockSize()
	rest := work[xrb:]
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(rest))) & 63)
	rec := rest[off : off+k.size(nb)]
	k.records(nb, &xq[0], &rec[0], k.off)
	return rec
}
