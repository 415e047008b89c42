package kernels

// The Q5_K group (decQ5_KX8AVX2, repackV8Q5_KX8), 1408 bytes per
// super-block column (the eight rows' 176-byte blocks b), in this order:
//
//	0     d, dmin and the scale bytes, as Q4_K's group (interleave_q4k.go)
//	128   the levels: for each sub-block pair j (0-3) and chunk c (0-7),
//	      32 bytes at 128+256j+32c, byte 4r+i holding row r's element
//	      4c+i of sub-block 2j whole (bits 0-4) and the low three bits of
//	      its element 4c+i of sub-block 2j+1 (bits 5-7)
//	1152  the high levels' top bits: for each pair j and half h (chunks
//	      4h..4h+3), 32 bytes at 1152+64j+32h, bits 2k and 2k+1 of byte
//	      4r+i being bits 3 and 4 of row r's element 4(4h+k)+i of
//	      sub-block 2j+1
//
// So a chunk makes both sub-blocks' levels registers as Q5_0's group
// does (interleave_q5.go): a mask for the low levels, a shift and a mask
// for the high ones, and a word shift of its half's top bits, a mask and
// an OR: six vector operations, where GGUF's nibbles and qh took nine (a
// shift and two masks for the nibbles, a move, a mask and an OR for each
// fifth bit). The bytes are the same 176 a row.
var _ = registerInterleaver(Q5_K, columnInterleaver(q5KBytes, q5KToGroup, q5KFromGroup))

// q5KToGroup puts row r's Q5_K block blk (d, dmin, scales[12], qh[32],
// qs[128]) in its places in the group's super-block column g; q5KFromGroup
// takes it back. Eight bytes of qs (two chunks) at a time: bit 2j of qh[l]
// is the fifth bit of element l of sub-block 2j (qs[32j+l]'s low nibble),
// bit 2j+1 that of element l of sub-block 2j+1 (its high nibble), so a
// shift and a mask of eight qh bytes give eight levels' fifth bits.
func q5KToGroup(g, blk []byte, r int) {
	g, blk = g[:interleaveRows*q5KBytes], blk[:q5KBytes]
	kHeadToGroup(g, blk, r)
	var top [8]uint32
	for h := range 4 {
		// Chunks c and c+1, their top bits' fields at bit s and s+2.
		c, s := 2*h, 4*(h%2)
		qh := le.Uint64(blk[16+8*h:])
		for j := range 4 {
			qs := le.Uint64(blk[48+32*j+8*h:])
			e := qs&lo4 | qh>>(2*j)&ones8<<4
			f := qs>>4&lo4 | qh>>(2*j+1)&ones8<<4
			w := e | f&lo3<<5
			le.PutUint32(g[128+256*j+32*c+4*r:], uint32(w))
			le.PutUint32(g[160+256*j+32*c+4*r:], uint32(w>>32))
			t := f >> 3 & (3 * ones8)
			top[2*j+c/4] |= uint32(t)<<s | uint32(t>>32)<<(s+2)
		}
	}
	for a, t := range top {
		le.PutUint32(g[1152+32*a+4*r:], t)
	}
}

func q5KFromGroup(g, blk []byte, r int) {
	g, blk = g[:interleaveRows*q5KBytes], blk[:q5KBytes]
	kHeadFromGroup(blk, g, r)
	for h := range 4 {
		c, s := 2*h, 4*(h%2)
		var qh uint64
		for j := range 4 {
			w := uint64(le.Uint32(g[128+256*j+32*c+4*r:])) | uint64(le.Uint32(g[160+256*j+32*c+4*r:]))<<32
			t := uint64(le.Uint32(g[1152+32*(2*j+c/4)+4*r:]))
			e := w & lo5
			f := w>>5&lo3 | (t>>s|t>>(s+2)<<32)&(3*ones8)<<3
			le.PutUint64(blk[48+32*j+8*h:], e&lo4|f&lo4<<4)
			qh |= e>>4&ones8<<(2*j) | f>>4&ones8<<(2*j+1)
		}
		le.PutUint64(blk[16+8*h:], qh)
	}
}
