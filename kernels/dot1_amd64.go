package kernels

// The Q4_1 and Q5_1 dot products of dot1_amd64.s; see the comment there.

//go:noescape
func rowsQ4_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ5_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func quantQ8_1AVX2(nb int, src *float32, dst *byte) (finite bool)

// legacy1DotsAVX2 are the row kernels as dot products of one row.
var legacy1DotsAVX2 = map[Type]vecDotFunc{
	Q4_1: rowDot(Q4_1, rowsQ4_1AVX2),
	Q5_1: rowDot(Q5_1, rowsQ5_1AVX2),
}
