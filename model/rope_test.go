package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pith-project/pith/kernels"
)

// The scaled rope is the textbook one (Hugging Face's
// _compute_linear_scaling_rope_parameters and _compute_yarn_parameters,
// in float64) up to float32 rounding: positions divided by the factor; for
// YaRN, the pairs that turn more than 32 times over the original context
// kept, those that turn less than once interpolated, a linear ramp
// between, and cos and sin scaled by 0.1·ln(factor) + 1. (Against
// llama.cpp itself: TestRopeScalingMatchesLlamaCpp, with PITH_ORACLES=1.)
func TestRopeScalingIsTheTextbookOne(t *testing.T) {
	const dim, base, pos = 32, 1e6, 300
	for _, s := range []RopeScaling{
		{Type: "linear", Factor: 4, AttnFactor: 1},
		{Type: "yarn", Factor: 4, OrigContext: 1024, AttnFactor: 1},
		{Type: "yarn", Factor: 16, OrigContext: 4096, AttnFactor: 0.5},
		{Type: "none", Factor: 8, AttnFactor: 1.25},
	} {
		for _, neox := range []bool{false, true} {
			r := newRope(kernels.NewRope(dim, base, nil, neox), s, base)
			x := make([]float32, 2*dim)
			for i := range x {
				x[i] = rand.Float32()*2 - 1
			}
			want := make([]float64, len(x))
			for i, v := range x {
				want[i] = float64(v)
			}
			kernels.RoPE(x, 2, r, pos)
			for h := range 2 {
				textbookRoPE(want[h*dim:(h+1)*dim], pos, base, s, neox)
			}
			for i := range x {
				if d := math.Abs(float64(x[i]) - want[i]); d > 1e-3 {
					t.Fatalf("%+v, neox %v: element %d is %v, want %v", s, neox, i, x[i], want[i])
				}
			}
		}
	}
}

func textbookRoPE(v []float64, pos int, base float64, s RopeScaling, neox bool) {
	d := len(v)
	factor, attn := float64(s.Factor), float64(s.AttnFactor)
	if s.Type == "none" {
		factor = 1
	}
	// YaRN's correction range: the pair index at which a pair turns
	// `turns` times over the original context.
	corr := func(turns float64) float64 {
		return float64(d) * math.Log(float64(s.OrigContext)/(turns*2*math.Pi)) / (2 * math.Log(base))
	}
	low, high := math.Max(0, math.Floor(corr(32))), math.Min(float64(d-1), math.Ceil(corr(1)))
	if s.Type == "yarn" {
		attn *= 0.1*math.Log(factor) + 1
	}
	for i := range d / 2 {
		extrapolated := math.Pow(base, -2*float64(i)/float64(d))
		freq := extrapolated / factor
		if s.Type == "yarn" {
			keep := 1 - math.Min(1, math.Max(0, (float64(i)-low)/math.Max(0.001, high-low)))
			freq = freq*(1-keep) + extrapolated*keep
		}
		sin, cos := math.Sincos(float64(pos) * freq)
		a, b := 2*i, 2*i+1
		if neox {
			a, b = i, i+d/2
		}
		x0, x1 := v[a], v[b]
		v[a], v[b] = attn*(x0*cos-x1*sin), attn*(x0*sin+x1*cos)
	}
}
