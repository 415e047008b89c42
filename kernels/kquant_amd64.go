package kernels

// The K-quant dot products of kquant_amd64.s; see the comment there.

//go:noescape
func rowsQ4_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ4_KAVX2R(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ5_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ6_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ4_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ6_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decRecordsQ8_KAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func rowsQ5_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func tile4Q4_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)

//go:noescape
func tile4Q6_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)

// kquantDotsAVX2 are the row kernels as dot products of one row.
var kquantDotsAVX2 = map[Type]vecDotFunc{
	Q4_K: rowDot(Q4_K, rowsQ4_KAVX2),
	Q5_K: rowDot(Q5_K, rowsQ5_KAVX2),
	Q6_K: rowDot(Q6_K, rowsQ6_KAVX2),
}

var kquantTilesAVX2 = map[Type]func(nb int, w, x *byte, xstride int, out *float32, ostride int){
	Q4_K: tile4Q4_KAVX2,
	Q6_K: tile4Q6_KAVX2,
}
