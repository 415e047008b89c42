// Package synth writes synthetic GGUF models: the exact published shapes,
// tensor names and hyper-parameters of real models, the real tokenizer of
// their family, and seeded random weights. Weights cannot be downloaded
// here, so these files are what tests and benchmarks run on; llama.cpp loads
// them like the real thing.
package synth

import (
	"fmt"
	"sort"
)

// Shape is a model's published configuration (its config.json).
type Shape struct {
	Name        string
	Arch        string // GGUF architecture
	Family      string // tokenizer family: "qwen2" or "llama3"
	Layers      int
	Embd        int
	FFN         int
	Heads       int
	KVHeads     int
	Vocab       int
	Context     int
	RopeBase    float64
	NormEps     float32
	Tied        bool
	QKVBias     bool
	Llama3Scale *Llama3Scaling // Llama 3.1/3.2's RoPE frequency scaling
}

// Llama3Scaling is the rope_scaling block of a Llama 3.1/3.2 config.json.
type Llama3Scaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalContext                       int
}

var shapes = map[string]Shape{
	// tiny-* are for tests: the real architectures and vocabularies with
	// small dimensions, so a comparison with llama.cpp takes seconds.
	"tiny-qwen2": {Name: "tiny qwen2 (test shape)", Arch: "qwen2", Family: "qwen2", Layers: 2, Embd: 128, FFN: 256,
		Heads: 4, KVHeads: 2, Vocab: 151936, Context: 4096, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"tiny-llama3": {Name: "tiny llama 3 (test shape)", Arch: "llama", Family: "llama3", Layers: 2, Embd: 128, FFN: 256,
		Heads: 4, KVHeads: 2, Vocab: 128256, Context: 4096, RopeBase: 500000, NormEps: 1e-5, Tied: false,
		Llama3Scale: &Llama3Scaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}},
	"qwen2.5-0.5b": {Name: "Qwen2.5-0.5B-Instruct", Arch: "qwen2", Family: "qwen2", Layers: 24, Embd: 896, FFN: 4864,
		Heads: 14, KVHeads: 2, Vocab: 151936, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"qwen2.5-1.5b": {Name: "Qwen2.5-1.5B-Instruct", Arch: "qwen2", Family: "qwen2", Layers: 28, Embd: 1536, FFN: 8960,
		Heads: 12, KVHeads: 2, Vocab: 151936, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"llama-3.2-1b": {Name: "Llama-3.2-1B-Instruct", Arch: "llama", Family: "llama3", Layers: 16, Embd: 2048, FFN: 8192,
		Heads: 32, KVHeads: 8, Vocab: 128256, Context: 131072, RopeBase: 500000, NormEps: 1e-5, Tied: true,
		Llama3Scale: &Llama3Scaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}},
}

// Lookup returns a shape by its short name.
func Lookup(name string) (Shape, error) {
	s, ok := shapes[name]
	if !ok {
		return Shape{}, fmt.Errorf("synth: unknown shape %q (have %v)", name, ShapeNames())
	}
	return s, nil
}

// ShapeNames lists the shapes, sorted.
func ShapeNames() []string {
	var n []string
	for k := range shapes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// HeadDim is the per-head dimension.
func (s Shape) HeadDim() int { return s.Embd / s.Heads }
