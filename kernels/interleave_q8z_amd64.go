package kernels

// The avx512 path's Interleaved8 Q8_0 kernels (interleave_q8z_amd64.s):
// decode, and the prefill tiles from the groups (repackX8 in
// gemm_amd64.go's avx512 matKernels).
//
// They are Q8_0's alone. On Zen 5 the same kernel for Q4_0 ran 1.5 times
// as fast as its RowMajor kernel (decQ4_0VNNIQ) in L2 and little faster
// from memory: on bench's stack of Qwen2.5-0.5B-shaped layers, each way
// one step in turn, 0.94-0.99 of it on the layout of 144-byte columns
// (with prefetch), and 0.95-1.05 at one thread and 1.00-1.13 at two on
// runs of four columns whose values sit whole on cache lines (without;
// timed on the columns' bytes, not laid out). Q8_0's, on its runs,
// streams the same stack 1.11-1.30 times as fast as decQ8_0VNNI
// (interleave_q8z_amd64.s), and its matrix product in L2 runs at 157
// GFLOP/s where decQ8_0VNNI's runs at 87.

//go:noescape
func decQ8_0Z8(nb int, w *byte, wstride int, x *byte, out *float32, groups int)

//go:noescape
func repackVQ8_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)

var _ = registerInterleavedDecode("avx512", Q8_0, decodeKernel{rows: decQ8_0Z8, records: decRecordsX8AVX2, off: 128, group: 1, recSize: x8Record})
