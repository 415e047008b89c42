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

// q6kX8Map gives, for each byte of a super-block column (its head, then
// its levels), its source: row·q6KBytes plus the byte's offset in the
// row's block.
var q6kX8Map = func() (m [interleaveRows * q6KBytes]uint16) {
	src := func(r, off int) uint16 { return uint16(r*q6KBytes + off) }
	for r := range interleaveRows {
		m[2*r], m[2*r+1] = src(r, 208), src(r, 209)
		for j := range 8 {
			m[16+16*j+2*r] = src(r, 192+2*j)
			m[16+16*j+2*r+1] = src(r, 193+2*j)
		}
		for h := range 2 {
			for k := range 8 {
				at := q6kX8Head + 768*h + 96*k + 4*r
				for i, l := range [4]int{2 * k, 2*k + 1, 2*k + 16, 2*k + 17} {
					m[at+i] = src(r, 64*h+l)        // QA
					m[at+32+i] = src(r, 64*h+32+l)  // QB
					m[at+64+i] = src(r, 128+32*h+l) // QH
				}
			}
		}
	}
	return m
}()

// q6kX8Head is the size of a super-block column's head.
const q6kX8Head = 144

// q6kX8Move moves nb super-block columns between eight rows (rows, row r
// at r·nb·q6KBytes) and a group (group): into the group if in, else out.
func q6kX8Move(group, rows []byte, nb int, in bool) {
	rb := nb * q6KBytes
	levels := nb * (len(q6kX8Map) - q6kX8Head)
	for b := range nb {
		head := group[levels+b*q6kX8Head:][:q6kX8Head]
		lv := group[b*(len(q6kX8Map)-q6kX8Head):][:len(q6kX8Map)-q6kX8Head]
		for i, s := range q6kX8Map {
			var g *byte
			if i < q6kX8Head {
				g = &head[i]
			} else {
				g = &lv[i-q6kX8Head]
			}
			p := &rows[int(s)/q6KBytes*rb+b*q6KBytes+int(s)%q6KBytes]
			if in {
				*g = *p
			} else {
				*p = *g
			}
		}
	}
}

var _ = registerInterleaver(Q6_K, interleaver{
	interleave:   func(dst, src []byte, nb int) { q6kX8Move(dst, src, nb, true) },
	deinterleave: func(dst, src []byte, nb int) { q6kX8Move(src, dst, nb, false) },
})
