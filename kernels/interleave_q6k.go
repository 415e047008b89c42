package kernels

// The Q6_K group (decQ6_KX8AVX2): the eight rows' 210-byte blocks of each
// super-block column rearranged byte for byte (ql, qh, scales and d as in
// format_kquant.go), 1680 bytes a column as 1536 of levels and a head of
// 144. The group holds first the columns' levels (column b's at 1536b),
// then their heads (column b's at 1536nb+144b), so the kernel's 32-byte
// loads of levels keep the alignment of the group. A head:
//
//	[0, 16)    the rows' F16 d, row r at 2r
//	[16, 144)  eight scale pairs: pair j (j = 0..7) at 16+16j holds
//	           scales 2j and 2j+1 of row r at 2r, 2r+1
//
// A column's levels: for half h (0, 1) and chunk k (0..7), at 768h+96k,
// three 32-byte chunks, row r at 4r in each:
//
//	QA  ql[64h+2k], ql[64h+2k+1], ql[64h+2k+16], ql[64h+2k+17]
//	QB  the same bytes of ql[64h+32:]
//	QH  the same bytes of qh[32h:]
//
// A chunk's row dword thus holds two bytes of each of two neighbouring
// 16-element groups: the low nibbles of QA (with qh bits 0-1) are
// elements 128h+{2k, 2k+1, 2k+16, 2k+17}, of groups 8h and 8h+1; those
// of QB (qh bits 2-3) 32 further, groups 8h+2 and 8h+3; the high nibbles
// of QA (qh bits 4-5) and QB (qh bits 6-7) 64 and 96 further. After
// VPMADDUBSW a row's two words belong to the two groups, so VPMADDWD by
// the row's two scales as they lie in the pair (one VPMOVSXBW, no
// duplication) applies them; the activations come in the same order
// (decRecordsQ6_KX8AVX2).

// The sizes of a super-block column's levels and head in a group.
const (
	q6kX8Levels = 1536
	q6kX8Head   = 144
)

// q6kX8Move moves nb super-block columns between eight rows (rows, row r
// at r·nb·q6KBytes) and a group (group): into the group if in, else out.
// Every piece is two bytes; the loops name them with constant offsets so
// that Load, which interleaves a model's matrices, moves gigabytes a second.
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
				for k := range 8 {
					c := (*[68]byte)(lv[768*h+96*k+4*r:])
					ql, qh := blk[64*h+2*k:], blk[128+32*h+2*k:]
					move2(in, c[0:], ql[0:]) // QA
					move2(in, c[2:], ql[16:])
					move2(in, c[32:], ql[32:]) // QB
					move2(in, c[34:], ql[48:])
					move2(in, c[64:], qh[0:]) // QH
					move2(in, c[66:], qh[16:])
				}
			}
		}
	}
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
