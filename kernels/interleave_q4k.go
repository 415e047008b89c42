package kernels

// The Q4_K group (decQ4_KX8AVX2, and repackV8Q4_KX8 for prefill), 1152
// bytes per super-block column (the eight rows' 144-byte blocks b), in
// this order:
//
//	0    d of rows 0-7, F16 (2 bytes a row)
//	16   dmin of rows 0-7, F16
//	32   the scale bytes: byte k (0-11) of the rows' 12-byte packing of
//	     scales and mins at 32+8k, row r at 32+8k+r
//	128  the nibbles: for each sub-block pair j (0-3) and chunk c (0-7),
//	     32 bytes at 128+256j+32c holding qs[32j+4c..32j+4c+3] of each
//	     row, row r at 4r: their low nibbles are elements 4c..4c+3 of
//	     sub-block 2j, the high ones of sub-block 2j+1
//
// With scale byte k of the eight rows contiguous, bytes 0-3, 4-7 and 8-11
// are one 32-byte vector each, and the eight rows' 6-bit scales and mins
// unpack with a few byte-wise operations on three vectors (as
// getScaleMinK4 does for one row), each sub-block's eight scales then
// contiguous for one shuffle to the rows' lanes.
var _ = registerInterleaver(Q4_K, columnInterleaver(q4KBytes,
	func(g, blk []byte, r int) { kToGroup(g, blk, r, 16) },
	func(g, blk []byte, r int) { kFromGroup(blk, g, r, 16) }))

// kToGroup puts row r's Q4_K or Q5_K block blk (d, dmin, scales[12],
// and the nibbles qs[128] at qs) in its places in the group's super-block
// column g; kFromGroup takes it back. Nibble chunk q (bytes 4q..4q+3 of
// qs) goes to 128+32q+4r, as 256j+32c is 32(8j+c). Moves of constant
// width, not a copy per piece: Load interleaves every Q4_K matrix of a
// model, and prefill on paths without a repackX8 deinterleaves rows for
// every product.
func kToGroup(g, blk []byte, r, qs int) {
	g, blk = g[:interleaveRows*q4KBytes], blk[:qs+128]
	kHeadToGroup(g, blk, r)
	for q := range 32 {
		le.PutUint32(g[128+32*q+4*r:], le.Uint32(blk[qs+4*q:]))
	}
}

func kFromGroup(blk, g []byte, r, qs int) {
	g, blk = g[:interleaveRows*q4KBytes], blk[:qs+128]
	kHeadFromGroup(blk, g, r)
	for q := range 32 {
		le.PutUint32(blk[qs+4*q:], le.Uint32(g[128+32*q+4*r:]))
	}
}

// kHeadToGroup puts row r's d, dmin and scales (the first 16 bytes of a
// Q4_K or Q5_K block) in the group's first 128 bytes; kHeadFromGroup takes
// them back.
func kHeadToGroup(g, blk []byte, r int) {
	g, blk = g[:128], blk[:16]
	le.PutUint16(g[2*r:], le.Uint16(blk[0:]))
	le.PutUint16(g[16+2*r:], le.Uint16(blk[2:]))
	for k := range 12 {
		g[32+8*k+r] = blk[4+k]
	}
}

func kHeadFromGroup(blk, g []byte, r int) {
	g, blk = g[:128], blk[:16]
	le.PutUint16(blk[0:], le.Uint16(g[2*r:]))
	le.PutUint16(blk[2:], le.Uint16(g[16+2*r:]))
	for k := range 12 {
		blk[4+k] = g[32+8*k+r]
	}
}
