package model

import (
	"math"

	"github.com/pith-project/pith/kernels"
)

// YaRN's ramp ends where a pair turns beta times over the original context:
// llama.cpp's defaults (llama_hparams: yarn_beta_fast, yarn_beta_slow).
const yarnBetaFast, yarnBetaSlow = 32, 1

// newRope is k scaled as llama_context sets up ggml's rope parameters
// (kernels.RopeScale): no scaling for "none"; positions divided by the
// factor for "linear" and "yarn"; and for YaRN, the ramp between original
// and interpolated angles and the magnitude 1 + 0.1·ln(factor).
// llama_context cancels that magnitude (its yarn_attn_factor) and ggml's
// rope_yarn applies it again, and the product is not always exactly
// 1·magnitude in float32, so both are kept. An unscaled file keeps k's
// Scale nil, and with it the rotation bit for bit as without scaling.
func newRope(k kernels.Rope, s RopeScaling, base float64) kernels.Rope {
	sc := kernels.RopeScale{FreqScale: 1, MScale: s.AttnFactor}
	if s.Type != "none" {
		sc.FreqScale = 1 / s.Factor
	}
	if s.Type == "yarn" {
		sc.ExtFactor = 1
		factor := 1 / sc.FreqScale
		attn := float32(1)
		if factor > 1 {
			attn = 0.1*logf(factor) + 1
		}
		attn *= 1 / (1 + 0.1*logf(factor))
		sc.MScale = attn * s.AttnFactor
		sc.MScale *= 1 + 0.1*logf(1/sc.FreqScale) // ggml's rope_yarn
		sc.Corr = kernels.YaRNCorrDims(k.Dim, s.OrigContext, float32(base), yarnBetaFast, yarnBetaSlow)
	}
	if sc.FreqScale != 1 || sc.ExtFactor != 0 || sc.MScale != 1 {
		k.Scale = &sc
	}
	return k
}

// logf is C's logf: the natural logarithm rounded to float32.
func logf(x float32) float32 { return float32(math.Log(float64(x))) }
