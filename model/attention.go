package model

import (
	"math"
	"sync"

	"github.com/pith-project/pith/kernels"
)

// Attention here rounds exactly where ggml's CPU backend rounds when it runs
// attention as two matrix products (llama.cpp without flash attention): the
// query and the softmax weights become F16, because an F16 matrix (the K
// and V caches) converts its F32 operand to F16 before the dot product.
// On the synthetic models, whose attention is sharp, leaving either in F32
// moves next-token log-probabilities by up to 0.7 nats against llama.cpp,
// while copying both brings Q8_0 and Q4_0 files within 2e-5 of it (measured
// by reference_test.go's variants). F16 products are exact in F32, so the
// only difference left is the order of additions.
//
// It lives in model rather than kernels because kernels.Attention keeps
// both in F32; once kernels offers these roundings, step can call it again.

// f16Table maps every F16 bit pattern to its float32 value: a load is
// cheaper than the branches of kernels.F16ToF32 in the innermost loops.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = kernels.F16ToF32(uint16(i))
	}
	return &t
})

// roundF16 rounds every element of x to the nearest F16 value, in place.
func roundF16(x []float32) {
	t := f16Table()
	for i, v := range x {
		x[i] = t[kernels.F32ToF16(v)]
	}
}

// roundBF16 rounds every element of x to the nearest BF16 value, in place.
func roundBF16(x []float32) {
	for i, v := range x {
		x[i] = kernels.BF16ToF32(kernels.F32ToBF16(v))
	}
}

// attend computes causal grouped-query attention for one query position: q
// is heads × d (already rounded to F16), the caches hold n positions ×
// kvHeads × d, out is heads × d and scores is scratch of at least n.
func attend(out, q []float32, kCache, vCache []uint16, n, heads, kvHeads, d int, scale float32, scores []float32) {
	t := f16Table()
	group := heads / kvHeads
	stride := kvHeads * d
	sc := scores[:n]
	var accs [1024]float64 // HeadDim is at most 1024 (Config.validate)
	acc := accs[:d]
	for h := range heads {
		qh, oh := q[h*d:(h+1)*d], out[h*d:(h+1)*d]
		off := (h / group) * d
		mx := float32(math.Inf(-1))
		for p := range sc {
			k := kCache[p*stride+off : p*stride+off+d]
			var s float64 // F16 products are exact in float32; only the sum rounds
			for i, kv := range k {
				s += float64(qh[i] * t[kv])
			}
			sc[p] = float32(s) * scale
			mx = max(mx, sc[p])
		}
		// ggml's soft_max: exponentials in float32, their sum in double.
		var sum float64
		for p, v := range sc {
			e := float32(math.Exp(float64(v - mx)))
			sc[p] = e
			sum += float64(e)
		}
		inv := float32(1 / sum)
		for p := range sc {
			sc[p] = t[kernels.F32ToF16(sc[p]*inv)]
		}
		clear(acc)
		for p, w := range sc {
			v := vCache[p*stride+off : p*stride+off+d]
			for i, vv := range v {
				acc[i] += float64(w * t[vv])
			}
		}
		for i, a := range acc {
			oh[i] = float32(a)
		}
	}
}
