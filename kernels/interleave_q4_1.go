package kernels

// The Q4_1 group (decQ4_1X8AVX2, and repackV8Q4_1X8 for prefill), 160
// bytes per block column (the eight rows' 20-byte blocks b): the rows' d
// (F16, row r at 2r), their m at 16, then Q4_0's four nibble chunks at
// 32 (chunk c holding bytes 4c..4c+3 of each row's sixteen nibble bytes,
// row r at 4r). The kernel is Q4_0's with Q5_1's float end.
var _ = registerInterleaver(Q4_1, columnInterleaver(q4_1Bytes, q4_1ToGroup, q4_1FromGroup))

// q4_1Bytes is a Q4_1 block: F16 d, F16 m, 16 nibble bytes.
const q4_1Bytes = 20

func q4_1ToGroup(g, blk []byte, r int) {
	le.PutUint16(g[2*r:], le.Uint16(blk))
	le.PutUint16(g[16+2*r:], le.Uint16(blk[2:]))
	for c := range 4 {
		le.PutUint32(g[32+32*c+4*r:], le.Uint32(blk[4+4*c:]))
	}
}

func q4_1FromGroup(g, blk []byte, r int) {
	le.PutUint16(blk, le.Uint16(g[2*r:]))
	le.PutUint16(blk[2:], le.Uint16(g[16+2*r:]))
	for c := range 4 {
		le.PutUint32(blk[4+4*c:], le.Uint32(g[32+32*c+4*r:]))
	}
}
