package kernels

// The Q5_0 group (decQ5_0X8AVX2, and repackV8Q5_0X8 for prefill), 176
// bytes per block column (the eight rows' 22-byte blocks b), in this
// order (Q5_1's, 192 bytes, has the rows' m at 16 and the rest 16 bytes
// on):
//
//	0   d of rows 0-7, F16 (2 bytes a row)
//	16  the high levels' top bits, 32 bytes: bits 2c, 2c+1 of byte 4r+i
//	    are bits 3 and 4 of row r's element 16+4c+i
//	48  the levels, four chunks of 32 bytes: byte 4r+i of chunk c holds
//	    row r's element 4c+i whole (bits 0-4) and the low three bits of
//	    its element 16+4c+i (bits 5-7)
//
// A chunk makes the levels' register c of the eight rows (elements
// 4c..4c+3, row r in lane r) with one mask (& 0x1f) and register c+4
// with a shift and a mask, its top bits by one word shift of the 32 bytes
// at 16 (by 3-2c: left, or right for c > 1) and a mask, and an OR: six
// vector operations a chunk. GGUF's split, nibbles and a 32-bit qh, took
// nine here (a shift and two masks for the nibbles, a shift, a mask and
// an OR for each fifth bit), and a byte shuffle, a compare and two masks
// a register in GGUF's own order (decQ5_0AVX2's DEC_Q5HX). The bytes are
// the same 22 a row.
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
// block column g; q5FromGroup takes it back. The top bits and levels
// follow the scales' 8·hb bytes. Eight bytes at a time, not a loop over
// elements: Load interleaves every Q5_0 matrix of a model (Qwen2.5-0.5B
// Q4_K_M has about eight million blocks).
func q5ToGroup(g, blk []byte, r, hb int) {
	putScales(g, blk, r, hb)
	g, blk = g[8*hb:], blk[hb:]
	qh := le.Uint32(blk)
	var top [2]uint64
	for h := range 2 {
		qs := le.Uint64(blk[4+8*h:])
		e := qs&lo4 | spread8(byte(qh>>(8*h)))<<4
		f := qs >> 4 & lo4
		top[h] = f>>3&ones8 | spread8(byte(qh>>(16+8*h)))<<1
		w := e | (f&lo3)<<5
		le.PutUint32(g[32+64*h+4*r:], uint32(w))
		le.PutUint32(g[64+64*h+4*r:], uint32(w>>32))
	}
	le.PutUint32(g[4*r:], uint32(top[0])|uint32(top[0]>>32)<<2|uint32(top[1])<<4|uint32(top[1]>>32)<<6)
}

func q5FromGroup(blk, g []byte, r, hb int) {
	takeScales(blk, g, r, hb)
	g, blk = g[8*hb:], blk[hb:]
	t := uint64(le.Uint32(g[4*r:]))
	var qh uint32
	for h := range 2 {
		w := uint64(le.Uint32(g[32+64*h+4*r:])) | uint64(le.Uint32(g[64+64*h+4*r:]))<<32
		top := (t>>(4*h) | t>>(4*h+2)<<32) & (3 * ones8)
		e := w & lo5
		f := w>>5&lo3 | top<<3
		le.PutUint64(blk[4+8*h:], e&lo4|(f&lo4)<<4)
		qh |= uint32(gather8(e>>4))<<(8*h) | uint32(gather8(f>>4))<<(16+8*h)
	}
	le.PutUint32(blk, qh)
}

// Byte masks, and the bytes' bit 0 as a byte (gather8) and back (spread8).
const (
	ones8 = 0x0101010101010101
	lo3   = 7 * ones8
	lo4   = 0x0f * ones8
	lo5   = 0x1f * ones8
)

func spread8(b byte) uint64 { return spreadTable[b] }

func gather8(x uint64) byte { return byte((x & ones8) * 0x0102040810204080 >> 56) }

// spreadTable[b] has bit i of b at bit 8i.
var spreadTable = func() (t [256]uint64) {
	for b := range t {
		for i := range 8 {
			t[b] |= uint64(b>>i&1) << (8 * i)
		}
	}
	return
}()
