package kernels

// The Q4_1 group (decQ4_1X8AVX2, and repackV8Q4_1X8 for prefill), 160
// bytes per block column (the eight rows' 20-byte blocks b): the rows' d
// (F16, row r at 2r), their m at 16, then Q4_0's four nibble chunks at
// 32 (chunk c holding bytes 4c..4c+3 of each row's sixteen nibble bytes,
// row r at 4r). The kernel is Q4_0's with Q5_1's float end.
var _ = registerInterleaver(Q4_1, columnInterleaver(Q4_1.BlockBytes(),
	func(g, blk []byte, r int) { putScales(g, blk, r, 4); putWords(g[32:], blk[4:], r, 4) },
	func(g, blk []byte, r int) { takeScales(blk, g, r, 4); takeWords(blk[4:], g[32:], r, 4) }))
