package kernels

//go:noescape
func decQ5_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

// repackV8Q5_KX8 is kLanesAVX2's Q5_K repackX8 (gemm_amd64.go).
//
//go:noescape
func repackV8Q5_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)

// The avx2 path's Interleaved8 Q5_K decode kernel (interleave_q4k_amd64.s)
// takes the Q4_K kernel's records.
var _ = registerInterleavedDecode("avx2", Q5_K, decodeKernel{rows: decQ5_KX8AVX2, records: decRecordsQ8_KAVX2, group: 1, recSize: kRecordZ})
