package kernels

//go:noescape
func decQ6_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func decRecordsQ6_KX8AVX2(nb int, xq, dst *byte, off int)

//go:noescape
func repackV8Q6_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)

// The avx2 path's Interleaved8 Q6_K kernel (interleave_q6k_amd64.s); its
// records are Q8_K blocks with their values reordered, q8KBytes a block.
var _ = registerInterleavedDecode("avx2", Q6_K, decodeKernel{rows: decQ6_KX8AVX2, records: decRecordsQ6_KX8AVX2, group: 1, recSize: q8KBytes})

const _ = uint(kRecordZ - q8KBytes) // kBytes leaves kRecordZ bytes a block
