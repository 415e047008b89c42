package synth

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
)

// Options choose what to generate.
type Options struct {
	Shape string // a name from ShapeNames
	Type  string // a name from TypeNames
	Seed  uint64
	// The vocabulary: Vocab when set, else the built-in test vocabulary when
	// Builtin, else the family's real tokenizer read from TokenizerDir (""
	// means DefaultTokenizerDir).
	Vocab        *Vocab
	Builtin      bool
	TokenizerDir string
	Progress     func(format string, args ...any) // optional, one line per call
	// Context, when set, stops Generate between tensors once it is done
	// (Ctrl-C): Generate then returns its error, with the file half
	// written, for the caller to remove.
	Context context.Context
}

// TensorPlan is one tensor of a synthetic file: its name, ggml dims (row
// length first) and storage type.
type TensorPlan struct {
	Name string
	Dims []uint64
	Type kernels.Type
	spec weightSpec
}

// Plan lists a shape's tensors in file order with the types that
// llama-quantize would give them for ft.
func Plan(s Shape, ft FileType) []TensorPlan {
	E, F, hd := uint64(s.Embd), uint64(s.FFN), uint64(s.HeadDim())
	qDim, kvDim, V := uint64(s.Heads)*hd, uint64(s.KVHeads)*hd, uint64(s.Vocab)
	// The scales make the next-token distribution peaked and varied while
	// keeping the model tame: two implementations that differ only in the
	// order of float32 sums must give the same log-probabilities.
	//
	// ggml and pith round every matrix input to Q8_0 or Q8_K (F16 for F16
	// weights) and the KV cache to F16. A last-bit difference now and then
	// tips one such rounding the other way, which moves that matrix's
	// outputs by a quantisation step, which tips more roundings: in a deep
	// random network whose layers each rewrite the residual stream this
	// cascade grew to the size of the quantisation noise itself, 0.1 to 2
	// nats of log-probability with the earlier scales, as far from a
	// float64 reference as from llama.cpp (measured 2026-11-25).
	//
	// So the residual stream is the exact part, and every later step a
	// small correction to it, as in a pre-norm transformer at
	// initialisation:
	//   - The token's embedding (looked up, never rounded) and the first
	//     layer's feed-forward output, as large as the embedding, make up
	//     the stream. The first feed-forward's input is the normalised
	//     embedding, rounded the same way in both, so its output differs
	//     only where a rounding tips inside it, and that difference stays
	//     below a few thousandths of a nat.
	//   - So the first layer's attention adds nothing: its output
	//     projection is zero. With 0.5% of the embedding it changed the
	//     first feed-forward's input in the last bits wherever the F16
	//     rounding of an attention weight tipped, that tipped the input's
	//     Q8 rounding, and the first feed-forward, the largest part of the
	//     stream, carried it to 0.11 nats at a position (Qwen2.5-1.5B Q6_K,
	//     measured 2026-11-26; 0.04 without it).
	//   - Every later attention and feed-forward adds 0.5% of the
	//     embedding's size. Together they still move the top log-
	//     probabilities by 0.4 to 0.7 nats (TestMatchesLlamaCpp checks that
	//     they matter), so a mistake in attention or a later layer shows.
	//   - Queries and keys have unit-variance elements, so attention is soft
	//     (scores with a standard deviation near 1), not a sharp choice a
	//     rounding can flip.
	//   - The output norm's weights have mean 0: with the tied output matrix
	//     an embedding-dominated stream would otherwise predict the token
	//     it came from. Logits spread with a standard deviation of 5 nats,
	//     so the distribution is peaked (top token probability 0.1 to 0.9)
	//     and the first feed-forward, a random map of the token, gives a
	//     varied greedy continuation.
	//   - The stream's elements have an RMS of 128, not 1: RMSNorm does not
	//     care, and it keeps the small projections' weights near 0.01, where
	//     the F16 block scales of Q8_0 and the K-quants are normal numbers.
	//     At unit scale Q6_K's scales underflowed to zero on Llama 3.2 1B,
	//     and those layers vanished.
	const (
		logitStd  = 5     // nats, of logits against the normalised stream
		firstFFN  = 1     // the first feed-forward's output over the embedding (RMS)
		later     = 0.005 // every other projection's output over the embedding (RMS)
		attnRMS   = 0.7   // of attention's output: soft averages of unit-variance values
		swigluRMS = 0.6   // of silu(gate)·up with unit-variance gate and up
		se        = 128   // the embedding's element std: the stream's scale
	)
	in := 1 / math.Sqrt(float64(s.Embd)) // unit-variance projections of the normalised stream
	norm := weightSpec{std: 0.05, mean: 1}
	bias := weightSpec{std: 0.1}
	var out []TensorPlan
	add := func(name string, spec weightSpec, dims ...uint64) {
		out = append(out, TensorPlan{Name: name, Dims: dims, spec: spec})
	}
	add("token_embd.weight", weightSpec{std: se}, E, V)
	if s.Llama3Scale != nil {
		add("rope_freqs.weight", weightSpec{fixed: llama3Factors(s)}, hd/2)
	}
	for l := range s.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		ffn, attn := later, later
		if l == 0 {
			ffn, attn = firstFFN, 0 // see above: the first feed-forward's input is exact
		}
		add(p+"attn_norm.weight", norm, E)
		add(p+"attn_q.weight", weightSpec{std: in}, E, qDim)
		add(p+"attn_k.weight", weightSpec{std: in}, E, kvDim)
		add(p+"attn_v.weight", weightSpec{std: in}, E, kvDim)
		if s.QKVBias {
			add(p+"attn_q.bias", bias, qDim)
			add(p+"attn_k.bias", bias, kvDim)
			add(p+"attn_v.bias", bias, kvDim)
		}
		add(p+"attn_output.weight", weightSpec{std: attn * se / (attnRMS * math.Sqrt(float64(qDim)))}, qDim, E)
		add(p+"ffn_norm.weight", norm, E)
		add(p+"ffn_gate.weight", weightSpec{std: in}, E, F)
		add(p+"ffn_up.weight", weightSpec{std: in}, E, F)
		add(p+"ffn_down.weight", weightSpec{std: ffn * se / (swigluRMS * math.Sqrt(float64(s.FFN)))}, F, E)
	}
	add("output_norm.weight", weightSpec{std: logitStd / (math.Sqrt(float64(s.Embd)) * se)}, E)
	if !s.Tied {
		add("output.weight", weightSpec{std: se}, E, V)
	}
	st := &mixState{hasOutput: !s.Tied, layers: s.Layers}
	for i := range out {
		if len(out[i].Dims) == 1 {
			out[i].Type = kernels.F32
		} else {
			out[i].Type = ft.tensorType(st, out[i].Name, int(out[i].Dims[0]))
		}
	}
	return out
}

// Generate writes a synthetic model to w.
func Generate(w io.Writer, opts Options) error {
	shape, err := Lookup(opts.Shape)
	if err != nil {
		return err
	}
	return generate(w, shape, opts)
}

func generate(w io.Writer, shape Shape, opts Options) error {
	ft, err := LookupType(opts.Type)
	if err != nil {
		return err
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	plan := Plan(shape, ft)
	if err := checkQuantizers(plan, ft); err != nil {
		return err
	}
	v := opts.Vocab
	switch {
	case v != nil:
	case opts.Builtin:
		v, err = BuiltinVocab(shape)
	default:
		v, err = LoadVocab(shape, opts.TokenizerDir)
	}
	if err != nil {
		return err
	}
	if len(v.Tokens) != shape.Vocab {
		return fmt.Errorf("synth: vocabulary of %d tokens for %s's vocab_size %d", len(v.Tokens), shape.Name, shape.Vocab)
	}
	progress("synth: %s %s, %.0fM parameters, vocabulary: %s", shape.Name, ft.Name, float64(shape.Params())/1e6, v.Source)

	g := gguf.NewWriter()
	a := shape.Arch
	g.Set("general.architecture", a)
	g.Set("general.type", "model")
	g.Set("general.name", "synthetic "+shape.Name+" (random weights)")
	g.Set(a+".block_count", uint32(shape.Layers))
	g.Set(a+".context_length", uint32(shape.Context))
	g.Set(a+".embedding_length", uint32(shape.Embd))
	g.Set(a+".feed_forward_length", uint32(shape.FFN))
	g.Set(a+".attention.head_count", uint32(shape.Heads))
	g.Set(a+".attention.head_count_kv", uint32(shape.KVHeads))
	g.Set(a+".rope.freq_base", float32(shape.RopeBase))
	g.Set(a+".attention.layer_norm_rms_epsilon", shape.NormEps)
	if a == "llama" {
		g.Set(a+".rope.dimension_count", uint32(shape.HeadDim()))
		g.Set(a+".vocab_size", uint32(shape.Vocab))
	}
	g.Set("general.file_type", ft.FType)
	g.Set("tokenizer.ggml.model", "gpt2")
	g.Set("tokenizer.ggml.pre", v.Pre)
	g.Set("tokenizer.ggml.tokens", v.Tokens)
	g.Set("tokenizer.ggml.token_type", v.Types)
	g.Set("tokenizer.ggml.merges", v.Merges)
	if v.BOS >= 0 {
		g.Set("tokenizer.ggml.bos_token_id", uint32(v.BOS))
	}
	g.Set("tokenizer.ggml.eos_token_id", uint32(v.EOS))
	if v.PAD >= 0 {
		g.Set("tokenizer.ggml.padding_token_id", uint32(v.PAD))
	}
	g.Set("tokenizer.ggml.add_bos_token", v.AddBOS)
	g.Set("tokenizer.ggml.add_eos_token", false)
	g.Set("tokenizer.chat_template", v.Template)
	if ft.quantized() {
		g.Set("general.quantization_version", uint32(2))
	}
	g.Set("pith.synth.seed", opts.Seed)
	g.Set("pith.synth.vocabulary", v.Source)

	// One generator for the whole file, drawn in file order: the weights of
	// a seed never change.
	r := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	buf := make([]float32, chunkElems)
	for i, t := range plan {
		rows := 1
		for _, d := range t.Dims[1:] {
			rows *= int(d)
		}
		g.AddTensorFunc(t.Name, t.Type, t.Dims, func(dst []byte) error {
			if opts.Context != nil && opts.Context.Err() != nil {
				return fmt.Errorf("synth: stopped before %s: %w", t.Name, context.Cause(opts.Context))
			}
			if len(t.Dims) > 1 {
				progress("synth: %d/%d %s %v %v", i+1, len(plan), t.Name, t.Dims, t.Type)
			}
			return fillWeights(dst, t.Type, int(t.Dims[0]), rows, t.spec, r, buf)
		})
	}
	_, err = g.WriteTo(w)
	return err
}

// checkQuantizers fails early, naming the type, when kernels cannot yet
// store a type the mix needs.
func checkQuantizers(plan []TensorPlan, ft FileType) error {
	seen := map[kernels.Type]bool{}
	for _, t := range plan {
		if seen[t.Type] {
			continue
		}
		seen[t.Type] = true
		n := t.Type.BlockSize()
		rb, _ := t.Type.RowBytes(n)
		if err := kernels.QuantizeRow(t.Type, make([]byte, rb), make([]float32, n)); err != nil {
			return fmt.Errorf("synth: --type %s needs %v for %s, which package kernels cannot quantize yet: %w", ft.Name, t.Type, t.Name, err)
		}
	}
	return nil
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
