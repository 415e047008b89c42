package kernels

//go:noescape
func decQ5_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func decQ5_1X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func decRecordsX8_1AVX2(nb int, xq, dst *byte, off int)

// repackV8Q5_0X8 and repackV8Q5_1X8 are the avx2 path's Q5_0 and Q5_1
// repackX8 (gemm_amd64.go).
//
//go:noescape
func repackV8Q5_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackV8Q5_1X8(nb int, w *byte, wrb int, rmask int, dst *byte)

// The avx2 path's Interleaved8 Q5_0 and Q5_1 decode kernels
// (interleave_q5_amd64.s): Q5_0 takes the Q4_0 kernel's records with
// Q5_0's offset of 16, Q5_1 the Q8_1 token's values, d and s.
var (
	_ = registerInterleavedDecode("avx2", Q5_0, decodeKernel{rows: decQ5_0X8AVX2, records: decRecordsX8AVX2, off: 16, group: 1, recSize: x8Record})
	_ = registerInterleavedDecode("avx2", Q5_1, decodeKernel{rows: decQ5_1X8AVX2, records: decRecordsX8_1AVX2, group: 1, recSize: x8Record})
)
