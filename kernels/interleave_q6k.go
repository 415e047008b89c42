package kernels

import "encoding/binary"

// The Q6_K group (decQ6_KX8AVX2): the eight rows' 210-byte blocks of each
// super-block column, their bits rearranged (ql, qh, scales and d as in
// format_kquant.go), 1680 bytes a column as 1536 of levels and a head of
// 144. The group holds first the columns' levels (column b's at 1536b),
// then their heads (column b's at 1536nb+144b), so the kernel's 32-byte
// loads of levels keep the alignment of the group. A head holds the
// rows' bytes as they are:
//
//	[0, 16)    the rows' F16 d, row r at 2r
//	[16, 144)  eight scale pairs: pair j (j = 0..7) at 16+16j holds
//	           scales 2j and 2j+1 of row r at 2r, 2r+1
//
// A column's levels: for half h (0, 1) and chunk k (0..7), at 768h+96k,
// three 32-byte chunks A, B and C, row r's dword at 4r in each. Byte i
// (0..3) of a row's dword belongs to element l = 2k+(i&1)+16(i>>1) of the
// half's 32 (its ql[64h+l], ql[64h+32+l] and qh[32h+l]), whose four
// levels, elements 128h+l, +32, +64 and +96 of the super-block, we call
// levels 0 to 3 (v0..v3, 0..63 each). Its bytes in A, B and C hold
// levels 0, 1 and 2 whole in bits 0-5 and two bits of level 3 each in
// bits 6-7:
//
//	A  v0 | (v3>>4)<<6
//	B  v1 | (v3>>2&3)<<6
//	C  v2 | (v3&3)<<6
//
// so each of levels 0 to 2 is one AND (0x3f), and level 3 three ANDs
// (0xc0), three shifts and two ORs: (C&0xc0)>>6 | (B&0xc0)>>4 |
// (A&0xc0)>>2 (masked first, so that 16-bit shifts carry no bits between
// bytes); Q6_K's own nibbles and qh pairs took 16 operations for the four
// levels, this 11. A chunk's row dword thus holds elements of two
// neighbouring 16-element groups: levels 0 of elements 128h+{2k, 2k+1,
// 2k+16, 2k+17}, of groups 8h and 8h+1; levels 1 (32 further) of groups
// 8h+2 and 8h+3; levels 2 and 3 64 and 96 further. After VPMADDUBSW a
// row's two words belong to the two groups, so VPMADDWD by the row's two
// scales as they lie in the pair (one VPMOVSXBW, no duplication) applies
// them; the activations come in the same order (decRecordsQ6_KX8AVX2).

// The sizes of a super-block column's levels and head in a group.
const (
	q6kX8Levels = 1536
	q6kX8Head   = 144
)

// q6kX8Move moves nb super-block columns between eight rows (rows, row r
// at r·nb·q6KBytes) and a group (group): into the group if in, else out.
// The levels' bits are rearranged eight elements at a time, as uint64s
// of ql, ql[32:] and qh (q6kABC, q6kQ), and every piece moves with
// constant offsets, so that Load, which interleaves a model's matrices,
// and the prefill of a few tokens, which deinterleaves, move gigabytes a
// second.
func q6kX8Move(group, rows []byte, nb int, in bool) {
	rb := nb * q6KBytes
	for b := range nb {
		lv := group[b*q6kX8Levels:][:q6kX8Levels]
		head := group[nb*q6kX8Levels+b*q6kX8Head:][:q6kX8Head]
		for r := range interleaveRows {
			blk := (*[q6KBytes]byte)(rows[r*rb+b*q6KBytes:])
			move2(in, head[2*r:], blk[208:])
			for j := range 8 {
				move2(in, head[16+16*j+2*r:], blk[192+2*j:])
			}
			for h := range 2 {
				c := lv[768*h+4*r:]
				ql := (*[64]byte)(blk[64*h:])
				qh := (*[32]byte)(blk[128+32*h:])
				// Elements 8e..8e+7 of the half are the first (e < 2) or
				// second words of chunks 4(e&1)..4(e&1)+3.
				c0, c1 := (*[q6kX8Span]byte)(c), (*[q6kX8Span]byte)(c[4*96:])
				c2, c3 := (*[q6kX8Span]byte)(c[2:]), (*[q6kX8Span]byte)(c[4*96+2:])
				if in {
					q6kX8Put(c0, (*[8]byte)(ql[0:]), (*[8]byte)(ql[32:]), (*[8]byte)(qh[0:]))
					q6kX8Put(c1, (*[8]byte)(ql[8:]), (*[8]byte)(ql[40:]), (*[8]byte)(qh[8:]))
					q6kX8Put(c2, (*[8]byte)(ql[16:]), (*[8]byte)(ql[48:]), (*[8]byte)(qh[16:]))
					q6kX8Put(c3, (*[8]byte)(ql[24:]), (*[8]byte)(ql[56:]), (*[8]byte)(qh[24:]))
				} else {
					q6kX8Get(c0, (*[8]byte)(ql[0:]), (*[8]byte)(ql[32:]), (*[8]byte)(qh[0:]))
					q6kX8Get(c1, (*[8]byte)(ql[8:]), (*[8]byte)(ql[40:]), (*[8]byte)(qh[8:]))
					q6kX8Get(c2, (*[8]byte)(ql[16:]), (*[8]byte)(ql[48:]), (*[8]byte)(qh[16:]))
					q6kX8Get(c3, (*[8]byte)(ql[24:]), (*[8]byte)(ql[56:]), (*[8]byte)(qh[24:]))
				}
			}
		}
	}
}

// q6kX8Put writes eight elements' levels, from their ql (qa), ql[32:]
// (qb) and qh bytes, as words into four consecutive chunks' A, B and C,
// the first word at c[0:].
func q6kX8Put(c *[q6kX8Span]byte, qa, qb, qh *[8]byte) {
	le := binary.LittleEndian
	a, b, x := q6kABC(le.Uint64(qa[:]), le.Uint64(qb[:]), le.Uint64(qh[:]))
	le.PutUint16(c[0:], uint16(a))
	le.PutUint16(c[32:], uint16(b))
	le.PutUint16(c[64:], uint16(x))
	le.PutUint16(c[96:], uint16(a>>16))
	le.PutUint16(c[128:], uint16(b>>16))
	le.PutUint16(c[160:], uint16(x>>16))
	le.PutUint16(c[192:], uint16(a>>32))
	le.PutUint16(c[224:], uint16(b>>32))
	le.PutUint16(c[256:], uint16(x>>32))
	le.PutUint16(c[288:], uint16(a>>48))
	le.PutUint16(c[320:], uint16(b>>48))
	le.PutUint16(c[352:], uint16(x>>48))
}

// q6kX8Get undoes q6kX8Put.
func q6kX8Get(c *[q6kX8Span]byte, qa, qb, qh *[8]byte) {
	le := binary.LittleEndian
	w := func(o int) uint64 { return uint64(le.Uint16(c[o:])) }
	a := w(0) | w(96)<<16 | w(192)<<32 | w(288)<<48
	b := w(32) | w(128)<<16 | w(224)<<32 | w(320)<<48
	x := w(64) | w(160)<<16 | w(256)<<32 | w(352)<<48
	qa0, qb0, qh0 := q6kQ(a, b, x)
	le.PutUint64(qa[:], qa0)
	le.PutUint64(qb[:], qb0)
	le.PutUint64(qh[:], qh0)
}

// q6kX8Span is the bytes from four consecutive chunks' first word of A to
// their last word of C.
const q6kX8Span = 3*96 + 64 + 2

// Byte masks of eight lanes.
const (
	m8x03 = 0x0303030303030303
	m8x0f = 0x0f0f0f0f0f0f0f0f
	m8x30 = 0x3030303030303030
	m8xc0 = 0xc0c0c0c0c0c0c0c0
	m8xcf = 0xcfcfcfcfcfcfcfcf
)

// q6kABC turns eight elements' ql, ql[32:] and qh bytes (qa, qb, qh) into
// their A, B and C bytes. In Q6_K, level 0 is qa's low nibble and qh's
// bits 0-1, level 1 qb's low nibble and qh's bits 2-3, level 2 qa's high
// nibble and qh's bits 4-5, level 3 qb's high nibble and qh's bits 6-7;
// so A's bits 6-7 (level 3's bits 4-5) are qh's, B's (bits 2-3) qb's,
// C's (bits 0-1) qb's bits 4-5.
func q6kABC(qa, qb, qh uint64) (a, b, c uint64) {
	a = qa&m8x0f | (qh&m8x03)<<4 | qh&m8xc0
	b = qb&m8xcf | (qh>>2&m8x03)<<4
	c = qa>>4&m8x0f | qh&m8x30 | (qb&m8x30)<<2
	return a, b, c
}

// q6kQ undoes q6kABC.
func q6kQ(a, b, c uint64) (qa, qb, qh uint64) {
	qa = a&m8x0f | (c&m8x0f)<<4
	qb = b&m8xcf | c>>2&m8x30
	qh = a>>4&m8x03 | (b>>4&m8x03)<<2 | c&m8x30 | a&m8xc0
	return qa, qb, qh
}

// move2 copies two bytes from p to g if in, else from g to p.
func move2(in bool, g, p []byte) {
	if in {
		g[0], g[1] = p[0], p[1]
	} else {
		p[0], p[1] = g[0], g[1]
	}
}

var _ = registerInterleaver(Q6_K, interleaver{
	interleave:   func(dst, src []byte, nb int) { q6kX8Move(dst, src, nb, true) },
	deinterleave: func(dst, src []byte, nb int) { q6kX8Move(src, dst, nb, false) },
})
