package kernels

// The Q5_K group (decQ5_KX8AVX2), 1408 bytes per super-block column (the
// eight rows' 176-byte blocks b): Q4_K's group (interleave_q4k.go) in its
// first 1152 bytes, then the fifth bits:
//
//	1152  for each chunk c (0-7), 32 bytes at 1152+32c holding
//	      qh[4c..4c+3] of each row, row r at 4r: bits 2j and 2j+1 of them
//	      are the fifth bits of the elements whose nibbles chunk c of pair
//	      j holds (low and high)
//
// So one load serves a chunk of all four pairs, and a word shift and a
// mask put pair j's bits on bit 4 of the levels' bytes.
var _ = registerInterleaver(Q5_K, interleaver{
	interleave: func(dst, src []byte, nb int) {
		rb := nb * q5KBytes
		for b := range nb {
			g := (*[interleaveRows * q5KBytes]byte)(dst[b*interleaveRows*q5KBytes:])
			for r := range interleaveRows {
				blk := (*[q5KBytes]byte)(src[r*rb+b*q5KBytes:])
				q5KToGroup(g, blk, r)
			}
		}
	},
	deinterleave: func(dst, src []byte, nb int) {
		rb := nb * q5KBytes
		for b := range nb {
			g := (*[interleaveRows * q5KBytes]byte)(src[b*interleaveRows*q5KBytes:])
			for r := range interleaveRows {
				blk := (*[q5KBytes]byte)(dst[r*rb+b*q5KBytes:])
				q5KFromGroup(blk, g, r)
			}
		}
	},
})

// q5KToGroup puts row r's block blk (d, dmin, scales[12], qh[32],
// qs[128]) in its places in the group's super-block column g;
// q5KFromGroup takes it back.
func q5KToGroup(g *[interleaveRows * q5KBytes]byte, blk *[q5KBytes]byte, r int) {
	le.PutUint16(g[2*r:], le.Uint16(blk[0:]))
	le.PutUint16(g[16+2*r:], le.Uint16(blk[2:]))
	for k := range 12 {
		g[32+8*k+r] = blk[4+k]
	}
	for q := range 32 {
		le.PutUint32(g[128+32*q+4*r:], le.Uint32(blk[48+4*q:]))
	}
	for c := range 8 {
		le.PutUint32(g[1152+32*c+4*r:], le.Uint32(blk[16+4*c:]))
	}
}

func q5KFromGroup(blk *[q5KBytes]byte, g *[interleaveRows * q5KBytes]byte, r int) {
	le.PutUint16(blk[0:], le.Uint16(g[2*r:]))
	le.PutUint16(blk[2:], le.Uint16(g[16+2*r:]))
	for k := range 12 {
		blk[4+k] = g[32+8*k+r]
	}
	for q := range 32 {
		le.PutUint32(blk[48+4*q:], le.Uint32(g[128+32*q+4*r:]))
	}
	for c := range 8 {
		le.PutUint32(blk[16+4*c:], le.Uint32(g[1152+32*c+4*r:]))
	}
}
