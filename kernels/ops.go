package kernels

import "math"

// RMSNorm writes x / sqrt(mean(x²) + eps) * w into dst (all the same length).
//
// The steps round as ggml's rms_norm does: each square in float32, the sum
// in float64, the mean, the root and its inverse in float32. A scale that
// differs from ggml's in its last bit moves every element of the row by an
// ulp, and the Q8_0/Q8_K rounding of the next matrix input tips the other
// way now and then (model/llamacpp_test.go).
func RMSNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	mean := float32(ss / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// Rope is a rotary position embedding: which dimensions pair up and the
// angle of each pair at each position.
//
// The angles are computed as ggml computes them (ggml_rope_cache_init), not
// exactly: pair i turns by pos·s^i with s = base^(-2/Dim) rounded to
// float32 and the power built by repeated float32 multiplication, divided
// by the pair's llama-3 frequency factor. That differs from pos·base^(-2i/d)
// by a few float32 ulps at large i and pos, and those ulps are enough to
// tip the F16 rounding of a query or key element the other way now and
// then; on the synthetic models of the llama.cpp comparison
// (model/llamacpp_test.go) each tip moved log-probabilities by up to 0.18.
type Rope struct {
	Dim        int       // rotated elements per head (the head size)
	ThetaScale float32   // base^(-2/Dim), as C's powf returns it
	Factors    []float32 // llama-3 frequency factors, one per pair, or nil
	Neox       bool      // pair i with i+Dim/2 (Qwen2), not 2i with 2i+1
	// Scale interpolates the angles of a model run past the context it
	// was trained for (linear or YaRN scaling); nil is none.
	Scale *RopeScale
}

// RopeScale is ggml_rope_ext's scaling of the angles, computed as its
// rope_yarn does, each step in float32: pair i's angle theta becomes
// FreqScale·theta, mixed back towards theta by YaRN's ramp between the
// pairs Corr[0] and Corr[1] times ExtFactor, and its cos and sin are
// multiplied by MScale. Linear scaling is FreqScale alone.
type RopeScale struct {
	FreqScale float32    // 1/factor
	ExtFactor float32    // YaRN's weight of the ramp: 1 for YaRN, 0 for linear
	MScale    float32    // the magnitude of every rotation; 1 is none
	Corr      [2]float32 // pairs up to Corr[0] keep their angle, from Corr[1] on are interpolated
}

// YaRNCorrDims are the pairs where YaRN's ramp begins and ends for a
// rotation of dims dimensions with frequency base base: those that turn
// betaFast and betaSlow times over the original context origContext
// (ggml_rope_yarn_corr_dims), rounded outwards.
func YaRNCorrDims(dims, origContext int, base, betaFast, betaSlow float32) [2]float32 {
	corrDim := func(turns float32) float32 {
		return float32(dims) * logf(float32(origContext)/(turns*2*float32(math.Pi))) / (2 * logf(base))
	}
	start := float32(math.Floor(float64(corrDim(betaFast))))
	end := float32(math.Ceil(float64(corrDim(betaSlow))))
	return [2]float32{max(0, start), min(float32(dims-1), end)}
}

// logf is C's logf: the natural logarithm rounded to float32.
func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// angle is pair i's scaled angle, from its unscaled one theta (after the
// pair's frequency factor): ggml's rope_yarn.
func (s *RopeScale) angle(theta float32, i int) float32 {
	interpolated := s.FreqScale * theta
	if s.ExtFactor == 0 {
		return interpolated
	}
	mix := yarnRamp(s.Corr, i) * s.ExtFactor
	return interpolated*(1-mix) + theta*mix
}

// yarnRamp is 1 for the pairs up to corr[0], whose angles YaRN keeps, 0
// from corr[1] on, whose angles it interpolates, and linear between
// (ggml's rope_yarn_ramp).
func yarnRamp(corr [2]float32, pair int) float32 {
	y := (float32(pair) - corr[0]) / max(0.001, corr[1]-corr[0])
	return 1 - min(1, max(0, y))
}

// NewRope returns the rotation of heads of dim elements with frequency base
// base (the GGUF's rope.freq_base).
func NewRope(dim int, base float64, factors []float32, neox bool) Rope {
	exp := float32(-2) / float32(dim)
	return Rope{Dim: dim, ThetaScale: float32(math.Pow(float64(float32(base)), float64(exp))), Factors: factors, Neox: neox}
}

// RoPE rotates each of heads vectors of r.Dim elements laid out one after
// another in x by the angles of position pos.
func RoPE(x []float32, heads int, r Rope, pos int) {
	half := r.Dim / 2
	theta := float32(pos)
	for i := range half {
		th := theta
		if r.Factors != nil {
			th /= r.Factors[i]
		}
		theta *= r.ThetaScale
		var s, c float32
		if r.Scale == nil {
			s, c = float32(math.Sin(float64(th))), float32(math.Cos(float64(th)))
		} else {
			th = r.Scale.angle(th, i)
			s, c = float32(math.Sin(float64(th)))*r.Scale.MScale, float32(math.Cos(float64(th)))*r.Scale.MScale
		}
		for h := range heads {
			v := x[h*r.Dim : (h+1)*r.Dim]
			a, b := 2*i, 2*i+1
			if r.Neox {
				a, b = i, i+half
			}
			x0, x1 := v[a], v[b]
			v[a] = x0*c - x1*s
			v[b] = x0*s + x1*c
		}
	}
}

// Softmax replaces x with exp(x - max) / sum, in place.
func Softmax(x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := expf32(v - m)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// SwiGLU writes silu(gate)·up into dst.
//
// A prefill batch holds millions of elements (tokens × FFN size), and exp
// is the costliest step after the matrix products, so large calls are split
// over the worker pool; each element is computed exactly as before.
func SwiGLU(dst, gate, up []float32) {
	dst, up = dst[:len(gate)], up[:len(gate)]
	opMu.Lock() // guards the path's loop as well as the job
	defer opMu.Unlock()
	if len(gate) < swigluSerial {
		swiglu(dst, gate, up)
		return
	}
	j := &theJobs.swiglu
	*j = swigluJob{dst: dst, gate: gate, up: up}
	parallel(len(gate), 4096, j)
	*j = swigluJob{}
}

// swigluSerial is the size below which handing SwiGLU to the pool costs
// more than it saves (one decode token's FFN, 4864 elements for
// Qwen2.5-0.5B, stays on the caller).
const swigluSerial = 1 << 15

// swiglu runs the path's vector loop where it has one (bit for bit
// swigluGo, see swiglu_amd64.s), else swigluGo. The caller holds opMu.
func swiglu(dst, gate, up []float32) {
	if f := activeFloat.swiglu; f != nil {
		f(dst, gate, up)
		return
	}
	swigluGo(dst, gate, up)
}

// swigluGo is the reference, all in float32, e^x by expf32 (ggml's silu is
// float32 too).
func swigluGo(dst, gate, up []float32) {
	for i, g := range gate {
		dst[i] = g / (1 + expf32(-g)) * up[i]
	}
}

// swigluJob applies SwiGLU to the elements [lo, hi).
type swigluJob struct{ dst, gate, up []float32 }

func (j *swigluJob) run(lo, hi int) { swiglu(j.dst[lo:hi], j.gate[lo:hi], j.up[lo:hi]) }

// Add writes a + b into dst.
func Add(dst, a, b []float32) {
	dst = dst[:len(a)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Attention computes causal scaled dot-product attention for one query
// position with grouped-query heads: AttentionCausal for one token that
// sees n positions.
func Attention(out, q []float32, kCache, vCache []uint16, n, heads, kvHeads, d int, scale float32, scores []float32) {
	AttentionCausal(out, q, kCache, vCache, n-1, 1, heads, kvHeads, d, scale, scores)
}

// AttentionCausal computes causal scaled dot-product attention for nTok
// query tokens at positions pos..pos+nTok-1 with grouped-query heads: token
// i attends cache positions 0..pos+i. q and out are nTok × heads × d;
// kCache and vCache are F16, positions × kvHeads × d, already holding the
// new tokens; scores is scratch of AttentionScratch(pos+nTok, heads). Query
// head h reads KV head h / (heads/kvHeads). The heads run in parallel.
//
// It rounds where ggml's CPU backend rounds when it runs attention as two
// matrix products with an F16 cache (llama.cpp without flash attention):
// the query and the softmax weights become F16 before their products with
// the cache, so every product is exact in float32. What differs from
// llama.cpp is the order of the additions and the exponentials: float32
// like ggml's soft_max, but by expf32, not its ggml_v_expf and expf, both
// within about an ULP of e^x. Their sum is float64, as in ggml.
func AttentionCausal(out, q []float32, kCache, vCache []uint16, pos, nTok, heads, kvHeads, d int, scale float32, scores []float32) {
	attend(attnJob{out: out, q: q, k: kCache, v: vCache}, pos, nTok, heads, kvHeads, d, scale, scores)
}

// AttentionCausalF32 is AttentionCausal over a float32 cache, rounding
// where ggml's CPU backend rounds with one (llama.cpp's --cache-type-k
// f32): nowhere but in float32's own operations. The query and the
// softmax weights stay float32, so a product of two is not exact and the
// results differ from llama.cpp's by more than the order of additions.
func AttentionCausalF32(out, q []float32, kCache, vCache []float32, pos, nTok, heads, kvHeads, d int, scale float32, scores []float32) {
	attend(attnJob{out: out, q: q, kf: kCache, vf: vCache}, pos, nTok, heads, kvHeads, d, scale, scores)
}

// attend runs j (its outputs, queries and one cache, F16 or float32, set)
// over the heads, after checking every buffer's length.
func attend(j0 attnJob, pos, nTok, heads, kvHeads, d int, scale float32, scores []float32) {
	if nTok <= 0 || heads <= 0 {
		return
	}
	ctx := pos + nTok
	if n := ctx * kvHeads * d; j0.kf != nil {
		_, _ = j0.kf[n-1], j0.vf[n-1]
	} else {
		_, _ = j0.k[n-1], j0.v[n-1]
	}
	_, _, _ = j0.out[nTok*heads*d-1], j0.q[nTok*heads*d-1], scores[AttentionScratch(ctx, heads)-1]
	opMu.Lock()
	defer opMu.Unlock()
	j := &theJobs.attn
	*j = j0
	j.pos, j.nTok, j.heads, j.group, j.d, j.stride, j.scale, j.scores = pos, nTok, heads, heads/kvHeads, d, kvHeads*d, scale, scores
	units := heads
	if d%8 == 0 {
		j.tiled = activeFloat.attn
	}
	if j.tiled != nil && nTok < attnQueries {
		// Too few tokens to fill a group of queries: the heads that
		// share a KV head fill it instead (decode).
		j.quads = (j.group + attnQueries - 1) / attnQueries
		units = kvHeads * j.quads
	}
	parallel(units, 1, j)
	*j = attnJob{}
}

// attnJob attends the query heads [lo, hi) for every token, or with
// quads set, the units [lo, hi) of up to attnQueries heads that share a
// KV head (quads units a KV head). Its cache is k and v, or (float32) kf
// and vf. tiled is the path's loops when they take the head size
// (attendTiled), else nil (attendHead).
type attnJob struct {
	out, q, scores                     []float32
	k, v                               []uint16
	kf, vf                             []float32
	pos, nTok, heads, group, d, stride int
	quads                              int
	scale                              float32
	tiled                              *attnKernels
}

func (j *attnJob) run(lo, hi int) {
	if a := j.tiled; a != nil {
		for u := lo; u < hi; u++ {
			if j.quads == 0 {
				for i := 0; i < j.nTok; i += attnQueries {
					j.attendTiled(a, u, i, min(attnQueries, j.nTok-i), false)
				}
				continue
			}
			kv, first := u/j.quads, u%j.quads*attnQueries
			h := kv*j.group + first
			for i := range j.nTok {
				j.attendTiled(a, h, i, min(attnQueries, j.group-first), true)
			}
		}
		return
	}
	d, ctx, row := j.d, j.pos+j.nTok, j.heads*j.d
	for h := lo; h < hi; h++ {
		for i := range j.nTok {
			n := j.pos + i + 1
			o, q, sc, off := j.out[i*row+h*d:][:d], j.q[i*row+h*d:][:d], j.scores[attnQueries*h*ctx:][:n], (h/j.group)*d
			if j.kf != nil {
				attendHeadF32(o, q, j.kf, j.vf, n, off, j.stride, j.scale, sc)
				continue
			}
			attendHead(o, q, j.k, j.v, n, off, j.stride, j.scale, sc)
		}
	}
}

// AttentionScratch is the scratch size Attention needs for n positions:
// a row of scores for each of attnQueries tokens of each head.
func AttentionScratch(n, heads int) int { return attnQueries * n * heads }

// roundF16 is v rounded to the nearest F16 value (ties to even). Attention
// rounds every softmax weight, so values whose F16 is normal take a short
// path: round the float32 mantissa to F16's 10 bits in place. Everything
// else (F16 subnormals, zero, overflow, Inf, NaN) goes through the exact
// conversion; TestRoundF16Exhaustive checks both against it.
func roundF16(v float32) float32 {
	b := math.Float32bits(v)
	if e := b >> 23 & 0xff; e >= 113 && e <= 142 { // 2^-14 <= |v| < 2^16
		b += 0xfff + (b >> 13 & 1)
		b &^= 0x1fff
		if b>>23&0xff <= 142 {
			return math.Float32frombits(b)
		}
	}
	return F16ToF32(F32ToF16(v))
}

// expShiftGo writes expf32(src[i] - m) into dst: softmax's exponentials,
// float32 argument and result, like ggml's soft_max.
func expShiftGo(dst, src []float32, m float32) {
	for i, v := range src {
		dst[i] = expf32(v - m)
	}
}

// roundF16sGo writes roundF16(src[i]·s) into dst.
func roundF16sGo(dst, src []float32, s float32) {
	for i, v := range src {
		dst[i] = roundF16(v * s)
	}
}

// softmax turns scores into softmax weights as ggml's soft_max does:
// exponentials in float32, their sum in float64 (on paths with attn, in
// eight running sums). With round the weights are rounded to F16, as an
// F16 cache's product takes them; a float32 cache's takes them as they are.
func softmax(sc []float32, round bool) {
	expShift, roundF16s := activeFloat.expShift, activeFloat.roundF16s
	if roundF16s == nil {
		roundF16s = roundF16sGo
	}
	if expShift == nil {
		expShift = expShiftGo
	}
	a, m := activeFloat.attn, 0
	mx := float32(math.Inf(-1))
	if a != nil && len(sc) >= 8 {
		m = len(sc) &^ 7
		mx = a.max(m, &sc[0])
	}
	for _, s := range sc[m:] {
		mx = max(mx, s)
	}
	expShift(sc, sc, mx)
	var sum float64
	if m > 0 {
		sum = a.sum(m, &sc[0])
	}
	for _, e := range sc[m:] {
		sum += float64(e)
	}
	if round {
		roundF16s(sc, sc, float32(1/sum))
		return
	}
	inv := float32(1 / sum)
	for i := range sc {
		sc[i] *= inv
	}
}

// attendHeadF32 is attendHead over a float32 cache: the query and weights
// as they are.
func attendHeadF32(out, q []float32, kCache, vCache []float32, n, off, stride int, scale float32, sc []float32) {
	d := len(q)
	for t := range n {
		k := kCache[t*stride+off:][:d]
		var s float32
		for i, kv := range k {
			s += q[i] * kv
		}
		sc[t] = s * scale
	}
	softmax(sc[:n], false)
	clear(out)
	for t := range n {
		v := vCache[t*stride+off:][:d]
		p := sc[t]
		for i, vv := range v {
			out[i] += p * vv
		}
	}
}

// attendHead attends one head of one token: the portable path's, and every
// path's for a head size that is not a multiple of 8. out doubles as the
// F16-rounded query until the scores are known, so nothing is allocated.
func attendHead(out, q []float32, kCache, vCache []uint16, n, off, stride int, scale float32, sc []float32) {
	d := len(q)
	roundF16s := activeFloat.roundF16s
	if roundF16s == nil {
		roundF16s = roundF16sGo
	}
	roundF16s(out, q, 1)
	for t := range n {
		k := kCache[t*stride+off : t*stride+off+d]
		var s float32
		for i, kv := range k {
			s += out[i] * F16ToF32(kv)
		}
		sc[t] = s * scale
	}
	softmax(sc[:n], true)
	clear(out)
	for t := range n {
		v := vCache[t*stride+off : t*stride+off+d]
		p := sc[t]
		for i, vv := range v {
			out[i] += p * F16ToF32(vv)
		}
	}
}
