package kernels

// The Q4_1 and Q5_1 dot products of dot1_amd64.s; see the comment there.

//go:noescape
func rowsQ4_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ5_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func quantQ8_1AVX2(nb int, src *float32, dst *byte) (finite bool)

// quantizeQ8_1AVX2 is quantizeQ8_1; a row with a NaN or infinity is left
// to the portable code, whose handling of those is the reference.
func quantizeQ8_1AVX2(dst []byte, src []float32) {
	nb := len(src) / QK
	if nb == 0 {
		return
	}
	_ = dst[nb*36-1]
	if !quantQ8_1AVX2(nb, &src[0], &dst[0]) {
		quantizeQ8_1(dst, src)
	}
}

// legacy1DotsAVX2 are the row kernels as dot products of one row.
var legacy1DotsAVX2 = map[Type]vecDotFunc{
	Q4_1: rowDot(Q4_1, rowsQ4_1AVX2),
	Q5_1: rowDot(Q5_1, rowsQ5_1AVX2),
}
