package kernels

// The Q4_1 and Q5_1 dot products of dot1_amd64.s; see the comment there.

//go:noescape
func dotQ4_1Q8_1AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1Q8_1AVX2(nb int, w, x *byte) float32

// legacy1DotsAVX2 are whole-row wrappers: n is a multiple of 32 (RowBytes
// refuses other rows) and the slices hold at least that many blocks.
var legacy1DotsAVX2 = map[Type]vecDotFunc{
	Q4_1: func(n int, w, x []byte) float32 {
		nb := n / QK
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*Q4_1.BlockBytes()-1], x[nb*Q8_1.BlockBytes()-1]
		return dotQ4_1Q8_1AVX2(nb, &w[0], &x[0])
	},
	Q5_1: func(n int, w, x []byte) float32 {
		nb := n / QK
		if nb == 0 {
			return 0
		}
		_, _ = w[nb*Q5_1.BlockBytes()-1], x[nb*Q8_1.BlockBytes()-1]
		return dotQ5_1Q8_1AVX2(nb, &w[0], &x[0])
	},
}
