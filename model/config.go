package model

import (
	"fmt"
	"math"
)

// Config holds a transformer's hyper-parameters as GGUF records them.
type Config struct {
	Arch       string // "qwen2" or "llama" (Llama 3.x and SmolLM2)
	Vocab      int
	Embd       int // hidden size
	Layers     int
	Heads      int
	KVHeads    int
	HeadDim    int
	FFN        int // feed-forward (intermediate) size
	ContextLen int // context length the model was trained for
	RopeBase   float64
	RopeNeox   bool // rotate halves (qwen2) rather than adjacent pairs (llama)
	RopeScale  RopeScaling
	NormEps    float32
}

// RopeScaling is how a model stretches its rotary embedding beyond the
// context it was first trained for, as GGUF records it ({arch}.rope.scaling.*).
type RopeScaling struct {
	Type        string  // "none", "linear" (the default: with Factor 1 it changes nothing) or "yarn"
	Factor      float32 // context extension: linear divides every position by it; 1 is none
	OrigContext int     // YaRN: the context before extension (original_context_length)
	AttnFactor  float32 // rope.scaling.attn_factor: multiplies every rotation's cos and sin; 1 is none
}

func (c Config) validate() error {
	switch {
	case c.Arch != "qwen2" && c.Arch != "llama":
		return fmt.Errorf("model: architecture %q is not supported (qwen2, llama)", c.Arch)
	case c.Vocab <= 0 || c.Embd <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FFN <= 0:
		return fmt.Errorf("model: %s: non-positive size in %+v", c.Arch, c)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("model: %s: %d heads are not a multiple of %d KV heads", c.Arch, c.Heads, c.KVHeads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0 || c.HeadDim > 1024:
		return fmt.Errorf("model: %s: head dimension %d must be even and at most 1024", c.Arch, c.HeadDim)
	case !(c.RopeBase > 1) || math.IsInf(c.RopeBase, 0):
		return fmt.Errorf("model: %s: rope frequency base %v must be > 1", c.Arch, c.RopeBase)
	case !(c.NormEps > 0) || c.NormEps > 1:
		return fmt.Errorf("model: %s: RMS norm epsilon %v must be in (0, 1]", c.Arch, c.NormEps)
	}
	return nil
}
