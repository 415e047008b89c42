package kernels

// The Q8_0 group (decQ8_0X8AVX2, and repackV8Q8_0X8 for prefill), 272
// bytes per block column (the eight rows' 34-byte blocks b): the rows' d
// (F16, row r at 2r), then eight chunks of 32 bytes, chunk c holding
// values 4c..4c+3 of each row (row r at 4r), so that one load is the
// values 4c..4c+3 of the eight rows in the lanes VPMADDUBSW sums them in.
var _ = registerInterleaver(Q8_0, columnInterleaver(Q8_0.BlockBytes(),
	func(g, blk []byte, r int) { putScales(g, blk, r, 2); putWords(g[16:], blk[2:], r, 8) },
	func(g, blk []byte, r int) { takeScales(blk, g, r, 2); takeWords(blk[2:], g[16:], r, 8) }))
