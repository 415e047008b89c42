package kernels

// The K-quant dot products of kquant_amd64.s; see the comment there.

//go:noescape
func rowsQ4_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ5_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ6_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ4_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func rowsQ5_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func tile4Q4_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)

//go:noescape
func tile4Q6_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)

// kquantDotsAVX2 are whole-row wrappers: n is a multiple of 256 (RowBytes
// refuses other rows) and the slices hold at least that many blocks.
var kquantDotsAVX2 = map[Type]vecDotFunc{
	Q4_K: func(n int, w, x []byte) float32 {
		nb := n / QKK
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*Q4_K.BlockBytes()-1], x[nb*Q8_K.BlockBytes()-1]
		var out float32
		rowsQ4_KAVX2(nb, &w[0], 0, &x[0], &out, 1)
		return out
	},
	Q5_K: func(n int, w, x []byte) float32 {
		nb := n / QKK
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*Q5_K.BlockBytes()-1], x[nb*Q8_K.BlockBytes()-1]
		var out float32
		rowsQ5_KAVX2(nb, &w[0], 0, &x[0], &out, 1)
		return out
	},
	Q6_K: func(n int, w, x []byte) float32 {
		nb := n / QKK
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*Q6_K.BlockBytes()-1], x[nb*Q8_K.BlockBytes()-1]
		var out float32
		rowsQ6_KAVX2(nb, &w[0], 0, &x[0], &out, 1)
		return out
	},
}

var kquantTilesAVX2 = map[Type]func(nb int, w, x *byte, xstride int, out *float32, ostride int){
	Q4_K: tile4Q4_KAVX2,
	Q6_K: tile4Q6_KAVX2,
}
