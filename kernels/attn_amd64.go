package kernels

import "unsafe"

// The loops of attn_amd64.s, over an F16 cache and (F32) a float32 one;
// k and v point at its elements.

//go:noescape
func attnScores4AVX2(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)

//go:noescape
func attnScores1AVX2(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)

//go:noescape
func attnPV4AVX2(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)

//go:noescape
func attnPV1AVX2(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)

//go:noescape
func attnScores4F32AVX2(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)

//go:noescape
func attnScores1F32AVX2(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)

//go:noescape
func attnPV4F32AVX2(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)

//go:noescape
func attnPV1F32AVX2(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)

//go:noescape
func attnMaxAVX2(n int, x *float32) float32

//go:noescape
func attnSumAVX2(n int, x *float32) float64

var attnAVX2 = &attnKernels{
	f16: attnLoops{scores4: attnScores4AVX2, scores1: attnScores1AVX2, pv4: attnPV4AVX2, pv1: attnPV1AVX2},
	f32: attnLoops{scores4: attnScores4F32AVX2, scores1: attnScores1F32AVX2, pv4: attnPV4F32AVX2, pv1: attnPV1F32AVX2},
	max: attnMaxAVX2, sum: attnSumAVX2,
}

// attnAVX512 is attnAVX2 with the Z-register loops: the scores' for head
// sizes that are a multiple of 16 (64 and 128 in the supported models),
// the weighted sums of values for every size (their results are the AVX2
// loops' bit for bit).
var attnAVX512 = &attnKernels{
	f16:  attnLoops{scores4: attnScores4AVX2, scores1: attnScores1AVX2, pv4: attnPV4Z, pv1: attnPV1Z},
	f32:  attnLoops{scores4: attnScores4F32AVX2, scores1: attnScores1F32AVX2, pv4: attnPV4F32Z, pv1: attnPV1F32Z},
	f16w: attnLoops{scores4: attnScores4Z, scores1: attnScores1Z, pv4: attnPV4Z, pv1: attnPV1Z},
	f32w: attnLoops{scores4: attnScores4F32Z, scores1: attnScores1F32Z, pv4: attnPV4F32Z, pv1: attnPV1F32Z},
	max:  attnMaxAVX2, sum: attnSumAVX2,
}

//go:noescape
func attnScores4Z(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)

//go:noescape
func attnScores1Z(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)

//go:noescape
func attnPV4Z(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)

//go:noescape
func attnPV1Z(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)

//go:noescape
func attnScores4F32Z(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)

//go:noescape
func attnScores1F32Z(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)

//go:noescape
func attnPV4F32Z(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)

//go:noescape
func attnPV1F32Z(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
