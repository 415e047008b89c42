package model

import (
	"math"

	"github.com/pith-project/pith/kernels"
)

// rope is a model's rotary position embedding: kernels.RoPE when the file
// asks for no scaling, else ggml's rope with linear or YaRN scaling
// (ggml_rope_ext on the CPU: ggml_rope_cache_init and rope_yarn), for which
// kernels.Rope has no fields. Every step rounds to float32 where ggml's
// does: an angle one ulp off tips F16 roundings of the cache against
// llama.cpp (see kernels.Rope).
type rope struct {
	kernels.Rope
	scaled    bool
	freqScale float32    // 1/factor: an interpolated angle is the original times this
	extFactor float32    // how much YaRN's ramp brings back the original angles: 1 for yarn, 0 otherwise
	mscale    float32    // cos and sin are multiplied by it: YaRN's attention temperature
	corr      [2]float32 // YaRN's ramp: pairs up to corr[0] keep their angle, from corr[1] on are interpolated
}

// YaRN's ramp ends where a pair turns beta times over the original context:
// llama.cpp's defaults (llama_hparams: yarn_beta_fast, yarn_beta_slow).
const yarnBetaFast, yarnBetaSlow = 32, 1

// newRope is k scaled as llama_context sets up ggml's rope parameters: no
// scaling for "none"; positions divided by the factor for "linear" and
// "yarn"; and for YaRN, the ramp between original and interpolated angles
// and the magnitude 1 + 0.1·ln(factor). llama_context cancels that
// magnitude (its yarn_attn_factor) and ggml's rope_yarn applies it again,
// and the product is not always exactly 1·magnitude in float32, so both
// are kept.
func newRope(k kernels.Rope, s RopeScaling, base float64) rope {
	r := rope{Rope: k, freqScale: 1, mscale: s.AttnFactor}
	if s.Type != "none" {
		r.freqScale = 1 / s.Factor
	}
	if s.Type == "yarn" {
		r.extFactor = 1
		factor := 1 / r.freqScale
		attn := float32(1)
		if factor > 1 {
			attn = 0.1*logf(factor) + 1
		}
		attn *= 1 / (1 + 0.1*logf(factor))
		r.mscale = attn * s.AttnFactor
		r.mscale *= 1 + 0.1*logf(1/r.freqScale) // ggml's rope_yarn
		r.corr = yarnCorrDims(k.Dim, s.OrigContext, float32(base))
	}
	r.scaled = r.freqScale != 1 || r.extFactor != 0 || r.mscale != 1
	return r
}

// rotate turns each of heads vectors of r.Dim elements in x by the angles
// of position pos.
func (r *rope) rotate(x []float32, heads, pos int) {
	if !r.scaled {
		kernels.RoPE(x, heads, r.Rope, pos)
		return
	}
	theta := float32(pos) // pair i's original angle is pos·ThetaScale^i, over its factor
	for i := range r.Dim / 2 {
		angle := r.angle(theta, i)
		theta *= r.ThetaScale
		r.turnPair(x, heads, i, float32(math.Cos(float64(angle)))*r.mscale, float32(math.Sin(float64(angle)))*r.mscale)
	}
}

// angle is pair i's scaled angle, from its unscaled one theta before the
// pair's frequency factor (ggml's rope_yarn).
func (r *rope) angle(theta float32, i int) float32 {
	if r.Factors != nil {
		theta /= r.Factors[i]
	}
	interpolated := r.freqScale * theta
	if r.extFactor == 0 {
		return interpolated
	}
	mix := yarnRamp(r.corr, i) * r.extFactor
	return interpolated*(1-mix) + theta*mix
}

// turnPair rotates pair i of every head by the angle of cos and sin.
func (r *rope) turnPair(x []float32, heads, i int, cos, sin float32) {
	a, b := 2*i, 2*i+1
	if r.Neox {
		a, b = i, i+r.Dim/2
	}
	for v := x[:heads*r.Dim]; len(v) > 0; v = v[r.Dim:] {
		v[a], v[b] = v[a]*cos-v[b]*sin, v[a]*sin+v[b]*cos
	}
}

// yarnRamp is 1 for the pairs up to corr[0], whose angles YaRN keeps, 0
// from corr[1] on, whose angles it interpolates, and linear between
// (ggml's rope_yarn_ramp).
func yarnRamp(corr [2]float32, pair int) float32 {
	y := (float32(pair) - corr[0]) / max(0.001, corr[1]-corr[0])
	return 1 - min(1, max(0, y))
}

// yarnCorrDims are the pairs where YaRN's ramp begins and ends: those that
// turn yarnBetaFast and yarnBetaSlow times over the original context
// (ggml_rope_yarn_corr_dims), rounded outwards.
func yarnCorrDims(dims, origContext int, base float32) [2]float32 {
	corrDim := func(turns float32) float32 {
		return float32(dims) * logf(float32(origContext)/(turns*2*float32(math.Pi))) / (2 * logf(base))
	}
	start := float32(math.Floor(float64(corrDim(yarnBetaFast))))
	end := float32(math.Ceil(float64(corrDim(yarnBetaSlow))))
	return [2]float32{max(0, start), min(float32(dims-1), end)}
}

// logf is C's logf: the natural logarithm rounded to float32.
func logf(x float32) float32 { return float32(math.Log(float64(x))) }
