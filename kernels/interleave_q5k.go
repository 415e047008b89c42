package kernels

// The Q5_K group (decQ5_KX8AVX2, repackV8Q5_KX8), 1408 bytes per
// super-block column (the eight rows' 176-byte blocks b): Q4_K's group
// (interleave_q4k.go) in its first 1152 bytes, then the fifth bits:
//
//	1152  for each chunk c (0-7), 32 bytes at 1152+32c holding
//	      qh[4c..4c+3] of each row, row r at 4r: bits 2j and 2j+1 of them
//	      are the fifth bits of the elements whose nibbles chunk c of pair
//	      j holds (low and high)
//
// So one load serves a chunk of all four pairs, and a word shift and a
// mask put pair j's bits on bit 4 of the levels' bytes.
var _ = registerInterleaver(Q5_K, columnInterleaver(q5KBytes,
	func(g, blk []byte, r int) {
		kToGroup(g, blk, r, 48)
		for c := range 8 {
			le.PutUint32(g[1152+32*c+4*r:], le.Uint32(blk[16+4*c:]))
		}
	},
	func(g, blk []byte, r int) {
		kFromGroup(blk, g, r, 48)
		for c := range 8 {
			le.PutUint32(blk[16+4*c:], le.Uint32(g[1152+32*c+4*r:]))
		}
	}))
