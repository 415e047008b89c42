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

// roundF16 rounds every element of x to the nearest F16 value, in place.
func roundF16(x []float32) {
	for i, v := range x {
		x[i] = kernels.F16ToF32(kernels.F32ToF16(v))
	}
}

// roundBF16 rounds every element of x to the nearest BF16 value, in place.
func roundBF16(x []float32) {
	for i, v := range x {
		x[i] = kernels.BF16ToF32(kernels.F32ToBF16(v))
	}
}

// attnScratch is one worker's memory for attention: one KV head's keys and
// values widened to F32 (so each is converted once per step, not once per
// query head and token), and the weights of one query.
type attnScratch struct {
	k, v, scores []float32
}

func newAttnScratch(alloc Allocator, ctx, headDim int) attnScratch {
	return attnScratch{k: alloc.Float32s(ctx * headDim), v: alloc.Float32s(ctx * headDim), scores: alloc.Float32s(ctx)}
}

// attentionParallelWork is the amount of work (query elements times
// positions) above which attention is split over goroutines. Below it, as
// in decoding a short context, starting them costs more than it saves.
var attentionParallelWork = 1 << 22 // a variable so that tests can reach the parallel path

// attention computes causal grouped-query attention for the n tokens at
// positions pos..pos+n-1 of layer l: q is n × heads·d (rounded to F16),
// att receives n × heads·d. The caches already hold the n new positions.
func (s *State) attention(att, q []float32, l, n int) {
	c := s.m.Config
	total := s.pos + n
	workers := len(s.attn)
	if n*total*c.Heads*c.HeadDim < attentionParallelWork {
		workers = 1
	}
	if workers == 1 {
		for g := range c.KVHeads {
			s.attendGroup(&s.attn[0], g, att, q, l, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() {
			for g := w; g < c.KVHeads; g += workers {
				s.attendGroup(&s.attn[w], g, att, q, l, n)
			}
		})
	}
	for g := 0; g < c.KVHeads; g += workers {
		s.attendGroup(&s.attn[0], g, att, q, l, n)
	}
	wg.Wait()
}

// attendGroup does the query heads that share KV head g.
func (s *State) attendGroup(sc *attnScratch, g int, att, q []float32, l, n int) {
	c := s.m.Config
	d, group := c.HeadDim, c.Heads/c.KVHeads
	qDim, kvStride, off := c.Heads*d, c.KVHeads*d, g*d
	total := s.pos + n
	kf, vf := sc.k[:total*d], sc.v[:total*d]
	for p := range total {
		kernels.F16ToF32Row(kf[p*d:(p+1)*d], s.kCache[l][p*kvStride+off:p*kvStride+off+d])
		kernels.F16ToF32Row(vf[p*d:(p+1)*d], s.vCache[l][p*kvStride+off:p*kvStride+off+d])
	}
	scale := s.m.attnScale
	for h := g * group; h < (g+1)*group; h++ {
		for i := range n {
			qh := q[i*qDim+h*d : i*qDim+(h+1)*d]
			oh := att[i*qDim+h*d : i*qDim+(h+1)*d]
			w := sc.scores[:s.pos+i+1] // causal: token i sees positions 0..pos+i
			mx := float32(math.Inf(-1))
			for p := range w {
				w[p] = dot(qh, kf[p*d:(p+1)*d]) * scale
				mx = max(mx, w[p])
			}
			// ggml's soft_max: exponentials in float32, their sum in double.
			var sum float64
			for p, v := range w {
				e := float32(math.Exp(float64(v - mx)))
				w[p] = e
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for p := range w {
				w[p] = kernels.F16ToF32(kernels.F32ToF16(w[p] * inv))
			}
			clear(oh)
			for p, wp := range w {
				v := vf[p*d : (p+1)*d]
				v = v[:len(oh)]
				for j, vv := range v {
					oh[j] += wp * vv
				}
			}
		}
	}
}

// dot is a float32 dot product with four running sums, so that the adds do
// not wait on each other (a single chain is four times slower). The order
// of additions is not ggml's either way.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
