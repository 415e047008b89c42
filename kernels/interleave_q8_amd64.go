package kernels

//go:noescape
func decQ8_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

// repackV8Q8_0X8 is the avx2 path's Q8_0 repackX8 (gemm_amd64.go).
//
//go:noescape
func repackV8Q8_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)

// The avx2 path's Interleaved8 Q8_0 decode kernel (interleave_q8_amd64.s),
// on the records of the Q4_0 kernel with no offset (the correction is 0).
var _ = registerInterleavedDecode("avx2", Q8_0, decodeKernel{rows: decQ8_0X8AVX2, records: decRecordsX8AVX2, group: 1, recSize: x8Record})
