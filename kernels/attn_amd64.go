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

// attnAVX2 serves the avx512 path too: its loops are bound by loads and
// conversions, not by the vector width.
var attnAVX2 = &attnKernels{
	f16: attnLoops{scores4: attnScores4AVX2, scores1: attnScores1AVX2, pv4: attnPV4AVX2, pv1: attnPV1AVX2},
	f32: attnLoops{scores4: attnScores4F32AVX2, scores1: attnScores1F32AVX2, pv4: attnPV4F32AVX2, pv1: attnPV1F32AVX2},
	max: attnMaxAVX2, sum: attnSumAVX2,
}
