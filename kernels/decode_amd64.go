package kernels

import "golang.org/x/sys/cpu"

// The decode kernels of decode_amd64.s; see the comment there.

// decRecordsQ4AVX2 builds the last pairs' records of decRecordsQ4QAVX2,
// which jumps to it; it has no caller in Go.
//
//lint:ignore U1000 reached by a JMP from decRecordsQ4QAVX2
//go:noescape
func decRecordsQ4AVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decRecordsQ8QAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decRecordsQ8DAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decRecordsQ4QAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decQ4_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ5_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ8_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ4_0VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decRecordsQ4ZAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decQ5_0VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ4_1VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ5_1VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decRecordsQ8_1QAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decF16Z(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decBF16Z(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ8_0VNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

// checkedQuantizer is the quantiser of whole rows of t (Q8_1, Q8_K) by
// fast, for nb blocks; a row with a NaN or infinity is left to the
// portable code, whose handling of those is the reference.
func checkedQuantizer(t Type, fast func(nb int, src *float32, dst *byte) (finite bool)) func(dst []byte, src []float32) {
	bs, bb, ref := t.BlockSize(), t.BlockBytes(), portable[t].quantize
	return func(dst []byte, src []float32) {
		nb := len(src) / bs
		if nb == 0 {
			return
		}
		_ = dst[nb*bb-1]
		if !fast(nb, &src[0], &dst[0]) {
			ref(dst, src)
		}
	}
}

// quantizersAVX2 are the avx2 path's activation quantisers (the avx512
// path's are quantizersAVX512).
var quantizersAVX2 = map[Type]func(dst []byte, src []float32){
	Q8_K: checkedQuantizer(Q8_K, quantQ8_KD),
	Q8_1: checkedQuantizer(Q8_1, quantQ8_1AVX2),
}

var (
	_ = registerQuantizers("avx2", quantizersAVX2)
	_ = registerQuantizers("avx512", quantizersAVX512)
)

// avx2Decode are the avx2 path's decode kernels, and the avx512 path's
// for the types whose avx512 kernels the CPU cannot run.
var avx2Decode = map[Type]decodeKernel{
	Q4_0: {rows: decQ4_0AVX2, records: decRecordsQ4QAVX2, off: 8},
	Q8_0: {rows: decQ8_0AVX2, records: decRecordsQ8DAVX2, group: 4, recSize: q8DRecord},
	Q5_0: {rows: decQ5_0AVX2, records: decRecordsQ4QAVX2, off: 16},
	Q4_1: {rows: rowsQ4_1AVX2},
	Q5_1: {rows: rowsQ5_1AVX2},
	Q4_K: {rows: rowsQ4_KAVX2R, records: decRecordsQ8_KAVX2, group: 1, recSize: kRecordZ},
	Q5_K: {rows: rowsQ5_KAVX2},
	Q6_K: {rows: rowsQ6_KAVX2},
}

// avx512Needs are the CPU features beyond avx512Path's that a type's
// avx512 decode kernel takes: AVX512_VBMI (VPERMB and its kin, and
// VPMULTISHIFTQB), GFNI (GF2P8AFFINEQB) and AVX512_BITALG (VPSHUFBITQMB).
// Where one is missing, avx512Decode takes the avx2 kernel; Ice Lake and
// Zen 4 and later have all three, Cascade Lake none. TestAVX512DecodeNeeds
// checks the table against the instructions of the kernels' assembly.
type avx512Needs struct{ vbmi, gfni, bitalg bool }

var avx512DecodeNeeds = map[Type]avx512Needs{
	Q4_0: {vbmi: true, gfni: true},
	Q5_0: {vbmi: true, gfni: true, bitalg: true},
	Q4_1: {vbmi: true, gfni: true},
	Q5_1: {vbmi: true, gfni: true, bitalg: true},
	Q4_K: {vbmi: true},
	Q5_K: {vbmi: true},
}

// met says whether this CPU has the features.
func (n avx512Needs) met() bool {
	return (!n.vbmi || cpu.X86.HasAVX512VBMI) && (!n.gfni || cpu.X86.HasAVX512GFNI) && (!n.bitalg || cpu.X86.HasAVX512BITALG)
}

var (
	_ = registerDecode("avx2", avx2Decode)
	_ = registerDecode("avx512", avx512Decode())

	_ = func() bool { decodePrefetch, decodeOwn = prefetchV, prefetchW; return true }()
)

func avx512Decode() map[Type]decodeKernel {
	m := map[Type]decodeKernel{
		Q4_0: {rows: decQ4_0VNNIQ, records: decRecordsQ4ZAVX2, off: 8, group: 4, recSize: qRecord},
		Q8_0: {rows: decQ8_0VNNI, records: decRecordsQ8QAVX2, group: 4, recSize: q8Record},
		Q5_0: {rows: decQ5_0VNNIQ, records: decRecordsQ4ZAVX2, off: 16, group: 4, recSize: qRecord},
		Q4_1: {rows: decQ4_1VNNIQ, records: decRecordsQ8_1QAVX2, group: 4, recSize: qRecord},
		Q5_1: {rows: decQ5_1VNNIQ, records: decRecordsQ8_1QAVX2, group: 4, recSize: qRecord},
		// Float rows, their F32 activations as they are (F32 rows take
		// the dot products: see decF16Z).
		F16:  {rows: decF16Z},
		BF16: {rows: decBF16Z},
		// The K-quants' kernels of kquant_amd64.s.
		Q4_K: {rows: rowsQ4_KVNNI, records: decRecordsQ8_KAVX2, group: 1, recSize: kRecordZ},
		Q5_K: {rows: rowsQ5_KVNNI, records: decRecordsQ8_KAVX2, group: 1, recSize: kRecordZ},
		Q6_K: {rows: rowsQ6_KVNNI},
	}
	for t, n := range avx512DecodeNeeds {
		if !n.met() {
			m[t] = avx2Decode[t]
		}
	}
	return m
}

// The Q8_0 activation quantisers of decode_amd64.s (the avx512 and avx2
// paths' matKernels.quant, for decode and prefill); false leaves the row
// to the portable quantiser.

//go:noescape
func quantQ8_0Z(nb int, src *float32, dst *byte) (finite bool)

//go:noescape
func quantQ8_0D(nb int, src *float32, dst *byte) (finite bool)
