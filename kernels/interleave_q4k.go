package kernels

// The Q4_K group (decQ4_KX8AVX2), 1152 bytes per super-block column (the
// eight rows' 144-byte blocks b), in this order:
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
var _ = registerInterleaver(Q4_K, interleaver{
	interleave: func(dst, src []byte, nb int) {
		rb := nb * q4KBytes
		for b := range nb {
			g := dst[b*interleaveRows*q4KBytes:][:interleaveRows*q4KBytes]
			for r := range interleaveRows {
				blk := src[r*rb+b*q4KBytes:][:q4KBytes]
				q4KGroupMove(g, blk, r, true)
			}
		}
	},
	deinterleave: func(dst, src []byte, nb int) {
		rb := nb * q4KBytes
		for b := range nb {
			g := src[b*interleaveRows*q4KBytes:][:interleaveRows*q4KBytes]
			for r := range interleaveRows {
				blk := dst[r*rb+b*q4KBytes:][:q4KBytes]
				q4KGroupMove(g, blk, r, false)
			}
		}
	},
})

// q4KGroupMove copies row r's block blk into its places in the group's
// super-block column g (toGroup), or back.
func q4KGroupMove(g, blk []byte, r int, toGroup bool) {
	mv := func(gi, bi, n int) {
		if toGroup {
			copy(g[gi:gi+n], blk[bi:bi+n])
		} else {
			copy(blk[bi:bi+n], g[gi:gi+n])
		}
	}
	mv(2*r, 0, 2)    // d
	mv(16+2*r, 2, 2) // dmin
	for k := range 12 {
		mv(32+8*k+r, 4+k, 1)
	}
	for j := range 4 {
		for c := range 8 {
			mv(128+256*j+32*c+4*r, 16+32*j+4*c, 4)
		}
	}
}
