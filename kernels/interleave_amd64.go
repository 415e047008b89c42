package kernels

//go:noescape
func decQ4_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func decQ4_1X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func repackV8Q4_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)

// repackV8Q4_1X8 is the avx2 path's Q4_1 repackX8 (gemm_amd64.go).
//
//go:noescape
func repackV8Q4_1X8(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func decRecordsX8AVX2(nb int, xq, dst *byte, off int)

// The avx2 path's Interleaved8 Q4_0 and Q4_1 decode kernels
// (interleave_amd64.s); the records are 40 bytes a block, well inside
// decode's room (recordBytes). Q4_1's are the Q8_1 token's values, d and
// s (decRecordsX8_1AVX2, interleave_q5_amd64.s).
var (
	_ = registerInterleavedDecode("avx2", Q4_0, decodeKernel{rows: decQ4_0X8AVX2, records: decRecordsX8AVX2, off: 8, group: 1, recSize: x8Record})
	_ = registerInterleavedDecode("avx2", Q4_1, decodeKernel{rows: decQ4_1X8AVX2, records: decRecordsX8_1AVX2, group: 1, recSize: x8Record})
)

// x8Record is the size of one block's record of decRecordsX8AVX2.
const x8Record = 40

const _ = uint(64 - x8Record) // recordBytes leaves at least 64 bytes a block
