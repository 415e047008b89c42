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

// Shape is a model's published configuration (its config.json), in the
// terms convert_hf_to_gguf writes to GGUF.
type Shape struct {
	Name        string  // the Hugging Face model it copies
	Arch        string  // general.architecture
	Family      string  // tokenizer family: "qwen2", "llama3" or "smollm"
	Layers      int     // num_hidden_layers
	Embd        int     // hidden_size
	FFN         int     // intermediate_size
	Heads       int     // num_attention_heads
	KVHeads     int     // num_key_value_heads
	Vocab       int     // vocab_size: rows of token_embd (padded past the tokenizer's tokens)
	Context     int     // max_position_embeddings
	RopeBase    float64 // rope_theta
	NormEps     float32 // rms_norm_eps
	Tied        bool    // tie_word_embeddings: no output.weight
	QKVBias     bool    // Qwen2's attention biases
	Llama3Scale *Llama3Scaling
}

// Llama3Scaling is the rope_scaling block ("rope_type": "llama3") of a
// Llama 3.1/3.2 config.json.
type Llama3Scaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalContext                       int
}

var llama32Scaling = &Llama3Scaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalContext: 8192}

var shapes = map[string]Shape{
	// The published configurations (config.json of each *-Instruct model).
	"qwen2.5-0.5b": {Name: "Qwen2.5-0.5B-Instruct", Arch: "qwen2", Family: "qwen2", Layers: 24, Embd: 896, FFN: 4864,
		Heads: 14, KVHeads: 2, Vocab: 151936, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"qwen2.5-1.5b": {Name: "Qwen2.5-1.5B-Instruct", Arch: "qwen2", Family: "qwen2", Layers: 28, Embd: 1536, FFN: 8960,
		Heads: 12, KVHeads: 2, Vocab: 151936, Context: 32768, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"llama-3.2-1b": {Name: "Llama-3.2-1B-Instruct", Arch: "llama", Family: "llama3", Layers: 16, Embd: 2048, FFN: 8192,
		Heads: 32, KVHeads: 8, Vocab: 128256, Context: 131072, RopeBase: 500000, NormEps: 1e-5, Tied: true,
		Llama3Scale: llama32Scaling},
	"smollm2-135m": {Name: "SmolLM2-135M-Instruct", Arch: "llama", Family: "smollm", Layers: 30, Embd: 576, FFN: 1536,
		Heads: 9, KVHeads: 3, Vocab: 49152, Context: 8192, RopeBase: 100000, NormEps: 1e-5, Tied: true},
	"smollm2-360m": {Name: "SmolLM2-360M-Instruct", Arch: "llama", Family: "smollm", Layers: 32, Embd: 960, FFN: 2560,
		Heads: 15, KVHeads: 5, Vocab: 49152, Context: 8192, RopeBase: 100000, NormEps: 1e-5, Tied: true},

	// tiny-* are for tests: the real architectures and vocabularies with
	// small dimensions, so a comparison with llama.cpp takes seconds.
	"tiny-qwen2": {Name: "tiny qwen2 (test shape)", Arch: "qwen2", Family: "qwen2", Layers: 2, Embd: 128, FFN: 256,
		Heads: 4, KVHeads: 2, Vocab: 151936, Context: 4096, RopeBase: 1e6, NormEps: 1e-6, Tied: true, QKVBias: true},
	"tiny-llama3": {Name: "tiny llama 3 (test shape)", Arch: "llama", Family: "llama3", Layers: 2, Embd: 128, FFN: 256,
		Heads: 4, KVHeads: 2, Vocab: 128256, Context: 4096, RopeBase: 500000, NormEps: 1e-5, Tied: false,
		Llama3Scale: llama32Scaling},
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

// HeadDim is the per-head dimension (64 for every published shape here).
func (s Shape) HeadDim() int { return s.Embd / s.Heads }

// Params is the number of weights, for progress and sanity checks.
func (s Shape) Params() int64 {
	E, F, hd := int64(s.Embd), int64(s.FFN), int64(s.HeadDim())
	q, kv := int64(s.Heads)*hd, int64(s.KVHeads)*hd
	layer := 2*E + E*q + 2*E*kv + q*E + 3*E*F
	if s.QKVBias {
		layer += q + 2*kv
	}
	n := int64(s.Layers)*layer + E + int64(s.Vocab)*E
	if !s.Tied {
		n += int64(s.Vocab) * E
	}
	return n
}
