package kernels

// Decode (MatVec, one token) on paths that have a decode kernel for the
// weight type: the token is converted once to the weights' VecDotType
// and, for the kernels that take records, laid out as that kernel's
// records (see decode_amd64.s), and each thread runs whole chunks of rows
// through one kernel call, so a row of a few dozen blocks costs no call
// of its own.

// decodeKernel is a path's decode kernel for one weight type: rows
// multiplies rows weight rows (row r at w + r·wstride, nb blocks) by the
// activations at x and stores row r's result at out[r]; nb counts the
// weights' blocks. With records, the activations are the token's row in
// the VecDotType laid out by records, with the weights' unsigned offset
// off (the correction's factor, where the records have one); without,
// they are that row as it is.
type decodeKernel struct {
	rows    func(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
	records func(nb int, xq, dst *byte, off int)
	off     int
	// The records take recSize bytes per group blocks: the quad records
	// of decode_amd64.s (4 and qRecord, q8Record or q8DRecord), the
	// K-quants' (1 and kRecordZ). Zero means records that fit in zRecord
	// bytes per two blocks (decRecordsQ4QAVX2's).
	group, recSize int
}

// qRecord is the size of one quad record (four blocks) of the decode
// kernels that take four blocks a step (see decQ4_0VNNIQ).
const qRecord = 256

// q8Record and q8DRecord are the sizes of one quad record of the avx512
// and the avx2 Q8_0 decode kernels (decQ8_0VNNI, decQ8_0AVX2).
const (
	q8Record  = 144
	q8DRecord = 160
)

// recordBytes makes room for quads of qRecord bytes, so the Q8_0 quads
// must be no larger: the constant would be negative, and not build.
const _ = uint(qRecord - max(q8Record, q8DRecord))

// kRecordZ is the size of one super-block's record of the K-quant decode
// kernels that take records (rowsQ4_KVNNI); kBytes leaves room for them.
const kRecordZ = 320

// size is the room the records of nb blocks take.
func (k decodeKernel) size(nb int) int {
	if k.group == 0 {
		return (nb + 1) / 2 * zRecord
	}
	return (nb + k.group - 1) / k.group * k.recSize
}

// recordBytes is the room any decode kernel's records of nb blocks take.
func recordBytes(nb int) int { return max((nb+1)/2*zRecord, (nb+3)/4*qRecord) }

var decodes = map[string]map[Type]decodeKernel{}

// decodePrefetch, where the build has one, asks for the first decodeAhead
// bytes of a range of rows before its kernel runs: the kernels prefetch
// decodeAhead bytes ahead of what they compute (DEC_PFD in
// decode_amd64.s), so without this the start of every range a thread
// takes is read on demand.
var decodePrefetch func(p *byte, n int)

const decodeAhead = 16 << 10

// decodeOwn, where the build has one, asks for n bytes at p to come into
// this core's cache for writing (see decodeInput).
var decodeOwn func(p *byte, n int)

// registerDecode adds a path's decode kernels from a build-specific file.
func registerDecode(name string, m map[Type]decodeKernel) bool {
	decodes[name] = m
	return true
}

// quantizers are the paths' fast activation quantisers, which equal the
// portable ones bit for bit (activeQuant: the path in use's).
var (
	quantizers  = map[string]map[Type]func(dst []byte, src []float32){}
	activeQuant map[Type]func(dst []byte, src []float32)
)

func registerQuantizers(name string, m map[Type]func(dst []byte, src []float32)) bool {
	quantizers[name] = m
	return true
}

// quantizerFor is the quantiser MatMul uses for activations of type t.
func quantizerFor(t Type) func(dst []byte, src []float32) {
	if f, ok := activeQuant[t]; ok {
		return f
	}
	return portable[t].quantize
}

// q81Bytes is the room decode needs beyond the Q8_1 row for the records
// of a matrix whose activations are Q8_1 (Q8_0's is in dxBytes).
func q81Bytes(m Matrix) int {
	if m.Type.VecDotType() != Q8_1 {
		return 0
	}
	return zBytes(m.Cols)
}

// matVecDecode is MatMul for one token with the decode kernel k; MatMul
// has checked the buffers (work holds MatMulWork(w, 1) bytes: see
// decodeInput) and holds opMu. quant is the path's Q8_0 quantiser, or nil.
func matVecDecode(y []float32, w Matrix, x []float32, work []byte, xrb, wrb int, quant func(nb int, src *float32, dst *byte) bool, k decodeKernel) {
	rec, own := decodeInput(w, x, work, xrb, quant, k)
	runGroup([][]float32{y}, []Matrix{w}, rec, own, wrb, k)
}

// decodeFor is the active path's decode kernel for w (its type and
// layout), if it has one; w has at least one block per row.
func decodeFor(w Matrix) (decodeKernel, bool) {
	if w.Cols < w.Type.BlockSize() {
		return decodeKernel{}, false
	}
	if w.Layout == Interleaved8 {
		k, ok := activeInterleaved[w.Type]
		return k, ok
	}
	k, ok := activeDecode[w.Type]
	return k, ok
}

// rowDot is the dot product of one row of t (n elements: a whole number of
// blocks, as RowBytes ensures) with activations in t's VecDotType, through
// a row kernel of the decode signature run on a single row.
//
// rowDot must stay small enough to inline: then rows is a known assembly
// function at each call site, and out stays on the stack; called through
// a func value, out escapes and every dot product allocates (which
// TestInterleavedDoesNotAllocate catches). Hence the closure looks the
// sizes up itself, rather than rowDot once.
func rowDot(t Type, rows func(nb int, w *byte, wstride int, x *byte, out *float32, rows int)) vecDotFunc {
	return func(n int, w, x []byte) float32 {
		nb := n / t.BlockSize()
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*t.BlockBytes()-1], x[nb*t.VecDotType().BlockBytes()-1]
		var out float32
		rows(nb, &w[0], 0, &x[0], &out, 1)
		return out
	}
}
