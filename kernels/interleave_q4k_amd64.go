package kernels

//go:noescape
func decQ4_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

// repackV8Q4_KX8 is kLanesAVX2's Q4_K repackX8 (gemm_amd64.go).
//
//go:noescape
func repackV8Q4_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)

// The avx2 path's Interleaved8 Q4_K decode kernel (interleave_q4k_amd64.s)
// takes the records of rowsQ4_KAVX2R (decRecordsQ8_KAVX2): each
// sub-block's 32 activations contiguous, the sub-blocks' sums of 32 as
// words, so one broadcast gives a pair of them for the mins.
var _ = registerInterleavedDecode("avx2", Q4_K, decodeKernel{rows: decQ4_KX8AVX2, records: decRecordsQ8_KAVX2, group: 1, recSize: kRecordZ})
