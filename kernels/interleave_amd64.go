package kernels

//go:noescape
func decQ4_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func repackV8Q4_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func decRecordsX8AVX2(nb int, xq, dst *byte, off int)

// The avx2 path's Interleaved8 decode kernels (interleave_amd64.s); the
// records are 40 bytes a block, well inside decode's room (recordBytes).
var _ = registerInterleavedDecode("avx2", Q4_0, decodeKernel{rows: decQ4_0X8AVX2, records: decRecordsX8AVX2, off: 8, group: 1, recSize: x8Record})

// x8Record is the size of one block's record of decRecordsX8AVX2.
const x8Record = 40

const _ = uint(64 - x8Record) // recordBytes leaves at least 64 bytes a block
