package kernels

// The Q5_0 group (decQ5_0X8AVX2, and repackV8Q5_0X8 for prefill), 176
// bytes per block column (the eight rows' 22-byte blocks b), in this
// order (Q5_1's, 192 bytes, has the rows' m at 16 and the rest 16 bytes
// on):
//
//	0   d of rows 0-7, F16 (2 bytes a row)
//	16  the fifth bits, 32 bytes: bit g of byte 4r+i is the fifth bit of
//	    row r's element 4g+i
//	48  the nibbles, as Q4_0's group: four chunks of 32 bytes, chunk c
//	    holding bytes 4c..4c+3 of each row's sixteen nibble bytes (row r
//	    at 4r), their low nibbles elements 4c..4c+3, the high ones
//	    16+4c..16+4c+3
//
// A chunk's low nibbles make the levels' register c of the eight rows
// (elements 4c..4c+3, row r in lane r), its high ones register c+4, and
// register g's fifth bits are bit g of the 32 bytes at 16: one shift of
// that vector (by 4-g left or g-4 right) puts them at bit 4 of the right
// bytes, where GGUF's 32-bit qh would take a byte shuffle, a compare and
// two masks (decQ5_0AVX2's DEC_Q5HX) for every register.
var (
	_ = registerInterleaver(Q5_0, columnInterleaver(Q5_0.BlockBytes(),
		func(g, blk []byte, r int) { q5ToGroup(g, blk, r, 2) },
		func(g, blk []byte, r int) { q5FromGroup(blk, g, r, 2) }))
	_ = registerInterleaver(Q5_1, columnInterleaver(Q5_1.BlockBytes(),
		func(g, blk []byte, r int) { q5ToGroup(g, blk, r, 4) },
		func(g, blk []byte, r int) { q5FromGroup(blk, g, r, 4) }))
)

// q5ToGroup puts row r's block blk, whose first hb bytes are F16 scales
// (each at 16·k in the column, row r at 2r), in its places in the group's
// block column g; q5FromGroup takes it back. The fifth bits and nibbles
// follow the scales' 8·hb bytes.
func q5ToGroup(g, blk []byte, r, hb int) {
	putScales(g, blk, r, hb)
	g, blk = g[8*hb:], blk[hb:]
	qh := le.Uint32(blk)
	for i := range 4 {
		g[4*r+i] = gather4(qh >> i)
	}
	putWords(g[32:], blk[4:], r, 4)
}

func q5FromGroup(blk, g []byte, r, hb int) {
	takeScales(blk, g, r, hb)
	g, blk = g[8*hb:], blk[hb:]
	var qh uint32
	for i := range 4 {
		qh |= scatter4(g[4*r+i]) << i
	}
	le.PutUint32(blk, qh)
	takeWords(blk[4:], g[32:], r, 4)
}

// gather4 packs bits 0, 4, 8, ..., 28 of x into a byte, in that order;
// scatter4 undoes it. Folds, not a loop over bits: Load interleaves every
// Q5_0 matrix of a model (a loop took 0.3 s for Qwen2.5-0.5B Q4_K_M).
func gather4(x uint32) byte {
	x &= 0x11111111
	x = (x | x>>3) & 0x03030303
	x = (x | x>>6) & 0x000f000f
	return byte(x | x>>12)
}

func scatter4(b byte) uint32 {
	x := uint32(b)
	x = (x | x<<12) & 0x000f000f
	x = (x | x<<6) & 0x03030303
	return (x | x<<3) & 0x11111111
}
