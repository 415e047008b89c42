package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/tokenizer"
)

// Model is a loaded transformer. Its weights are views into the GGUF
// file's data (some rewritten in place by Load), shared by every request,
// which only read them.
type Model struct {
	Config    Config
	Tokenizer *tokenizer.Tokenizer
	Chat      chat.Template // nil when the file's template is not supported
	ChatErr   error         // why Chat is nil
	File      *gguf.File
	// Cache is the element type of the key and value cache of every State
	// made after it is set: CacheF16 (the zero value, llama.cpp's default)
	// or CacheF32, twice the memory for keys and values kept unrounded.
	Cache CacheType

	tokEmbd   kernels.Matrix
	outNorm   []float32
	output    kernels.Matrix
	layers    []layer
	rope      kernels.Rope
	attnScale float32
}

// Load builds a model from a parsed GGUF file. Where the active kernel
// path multiplies another layout faster, it rewrites the data of the layer
// matrices (and of a separate output matrix) in place and notes it in
// f.Rewritten, which a later Load of f reads: f's data must be writable
// (ReadFile, Mmap's private mapping, Parse of the caller's buffer), and no
// other Load of f, nor anything else reading its tensors, may run meanwhile.
func Load(f *gguf.File) (*Model, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c := Config{Arch: arch, RopeNeox: arch == "qwen2"}
	const big = 1 << 24
	ints := []struct {
		key string
		dst *int
	}{
		{".embedding_length", &c.Embd}, {".block_count", &c.Layers}, {".feed_forward_length", &c.FFN},
		{".attention.head_count", &c.Heads}, {".context_length", &c.ContextLen},
	}
	for _, kv := range ints {
		if *kv.dst, err = f.Int(arch+kv.key, big); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	// The optional keys take llama.cpp's defaults when absent
	// (llama_model::load_hparams); one that is present but unreadable is
	// an error there, and here, rather than a default that runs the model
	// wrong.
	if c.Heads > 0 {
		c.HeadDim = c.Embd / c.Heads
	}
	optInt := func(key string, dst *int) error {
		if !f.HasKey(arch + key) {
			return nil
		}
		v, err := f.Int(arch+key, big)
		if err != nil {
			return fmt.Errorf("model: %w", err)
		}
		*dst = v
		return nil
	}
	c.KVHeads = c.Heads
	if err := cmp.Or(optInt(".attention.head_count_kv", &c.KVHeads), optInt(".attention.key_length", &c.HeadDim)); err != nil {
		return nil, err
	}
	valueDim, ropeDim := c.HeadDim, c.HeadDim
	if err := cmp.Or(optInt(".attention.value_length", &valueDim), optInt(".rope.dimension_count", &ropeDim)); err != nil {
		return nil, err
	}
	if valueDim != c.HeadDim {
		return nil, fmt.Errorf("model: %s: value heads of %d and key heads of %d: pith supports equal ones", arch, valueDim, c.HeadDim)
	}
	if ropeDim != c.HeadDim {
		return nil, fmt.Errorf("model: %s: rope.dimension_count %d differs from the head dimension %d: partial rotary embeddings are not supported", arch, ropeDim, c.HeadDim)
	}
	c.RopeBase = 10000
	if f.HasKey(arch + ".rope.freq_base") {
		if c.RopeBase, err = f.Float(arch + ".rope.freq_base"); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	if c.RopeScale, err = ropeScaling(f, arch, c.ContextLen); err != nil {
		return nil, err
	}
	eps, err := f.Float(arch + ".attention.layer_norm_rms_epsilon")
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	c.NormEps = float32(eps)

	m := &Model{File: f}
	if m.Tokenizer, err = tokenizerFromGGUF(f); err != nil {
		return nil, err
	}
	c.Vocab = m.Tokenizer.Vocab()
	if err := c.validate(); err != nil {
		return nil, err
	}
	m.Config = c
	if tmpl, err := f.String("tokenizer.chat_template"); err == nil {
		m.Chat, m.ChatErr = chat.Detect(tmpl)
		if m.Tokenizer.AddsBOS() {
			m.Chat = chat.TrimBOS(m.Chat, m.Tokenizer.Piece(m.Tokenizer.BOS()))
		}
	} else {
		m.ChatErr = err
	}

	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	if m.tokEmbd, err = matrix(f, "token_embd.weight", c.Vocab, c.Embd); err != nil {
		return nil, err
	}
	if m.outNorm, err = vector(f, "output_norm.weight", c.Embd); err != nil {
		return nil, err
	}
	if f.Has("output.weight") {
		if m.output, err = matrix(f, "output.weight", c.Vocab, c.Embd); err != nil {
			return nil, err
		}
		if m.output, err = interleave(f, "output.weight", m.output); err != nil {
			return nil, err
		}
	} else {
		// Tied embeddings: one matrix, laid out for the output product
		// (the largest of a small model: 145 MB of Qwen2.5-0.5B's 352 at
		// Q4_0), and read by rows through its groups (State.step).
		if m.tokEmbd, err = interleave(f, "token_embd.weight", m.tokEmbd); err != nil {
			return nil, err
		}
		m.output = m.tokEmbd
	}
	if err := checkTensorNames(f, c); err != nil {
		return nil, err
	}
	var factors []float32
	if arch == "llama" && f.Has("rope_freqs.weight") {
		if factors, err = vector(f, "rope_freqs.weight", c.HeadDim/2); err != nil {
			return nil, err
		}
	}
	m.rope = newRope(kernels.NewRope(c.HeadDim, c.RopeBase, factors, c.RopeNeox), c.RopeScale, c.RopeBase)
	m.attnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	// Each layer is a few hundred bytes of records before its tensors are
	// read: a file whose block_count is far beyond its tensors would make
	// this allocate gigabytes for nothing, so its last layer must exist.
	if last := fmt.Sprintf("blk.%d.attn_q.weight", c.Layers-1); c.Layers > 0 && !f.Has(last) {
		return nil, fmt.Errorf("model: block_count is %d, but the file has no tensor %q", c.Layers, last)
	}
	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		mats := []struct {
			name       string
			dst        *kernels.Matrix
			rows, cols int
		}{
			{"attn_q.weight", &L.q, qDim, c.Embd}, {"attn_k.weight", &L.k, kvDim, c.Embd}, {"attn_v.weight", &L.v, kvDim, c.Embd},
			{"attn_output.weight", &L.o, c.Embd, qDim}, {"ffn_gate.weight", &L.gate, c.FFN, c.Embd},
			{"ffn_up.weight", &L.up, c.FFN, c.Embd}, {"ffn_down.weight", &L.down, c.Embd, c.FFN},
		}
		for _, mt := range mats {
			if *mt.dst, err = matrix(f, p+mt.name, mt.rows, mt.cols); err != nil {
				return nil, err
			}
			if *mt.dst, err = interleave(f, p+mt.name, *mt.dst); err != nil {
				return nil, err
			}
		}
		if L.attnNorm, err = vector(f, p+"attn_norm.weight", c.Embd); err != nil {
			return nil, err
		}
		if L.ffnNorm, err = vector(f, p+"ffn_norm.weight", c.Embd); err != nil {
			return nil, err
		}
		// Qwen2 has q, k and v biases; llama.cpp takes each as optional
		// for llama, and adds it when the file has it.
		for _, b := range []struct {
			name string
			dst  *[]float32
			n    int
		}{{"attn_q.bias", &L.qBias, qDim}, {"attn_k.bias", &L.kBias, kvDim}, {"attn_v.bias", &L.vBias, kvDim}} {
			if arch == "qwen2" || f.Has(p+b.name) {
				if *b.dst, err = vector(f, p+b.name, b.n); err != nil {
					return nil, err
				}
			}
		}
	}
	return m, nil
}

// layerTensors are the tensors of each layer that Load reads; the biases
// are Qwen2's, optional for llama.
var layerTensors = map[string]bool{
	"attn_q.weight": true, "attn_k.weight": true, "attn_v.weight": true, "attn_output.weight": true,
	"ffn_gate.weight": true, "ffn_up.weight": true, "ffn_down.weight": true,
	"attn_norm.weight": true, "ffn_norm.weight": true,
	"attn_q.bias": true, "attn_k.bias": true, "attn_v.bias": true,
}

// checkTensorNames refuses a file holding a tensor Load would not read.
// llama.cpp refuses a file with tensors its architecture does not create
// ("wrong number of tensors"), and uses the optional ones it knows (an
// output or feed-forward bias of llama, say): running without such a
// tensor would run another model than the file's, so pith refuses it by
// name. It runs before Load rewrites any tensor.
func checkTensorNames(f *gguf.File, c Config) error {
	for _, t := range f.Tensors {
		switch t.Name {
		case "token_embd.weight", "output_norm.weight", "output.weight":
			continue
		case "rope_freqs.weight":
			if c.Arch == "llama" {
				continue
			}
		}
		if rest, ok := strings.CutPrefix(t.Name, "blk."); ok {
			num, suffix, _ := strings.Cut(rest, ".")
			if i, err := strconv.Atoi(num); err == nil && i >= 0 && strconv.Itoa(i) == num && i < c.Layers && layerTensors[suffix] {
				continue
			}
		}
		return fmt.Errorf("model: %s: tensor %q is not one pith runs", c.Arch, t.Name)
	}
	return nil
}

// ropeScaling reads the rope scaling keys as llama.cpp does
// (llama_model::load_hparams, then llama_context's defaults): the type is
// "linear" when absent, and any but none, linear and yarn stops llama.cpp
// too; the factor is rope.scaling.factor, else the older
// rope.scale_linear, and 0 or absent means 1; YaRN's original context is
// the training context unless the file names another. llama.cpp reads the
// rope.scaling.yarn_* keys only for other architectures and runs these with
// YaRN's defaults whatever they say, so a file that sets one is refused:
// no choice would run it as both its maker and llama.cpp intend.
func ropeScaling(f *gguf.File, arch string, trained int) (RopeScaling, error) {
	rs := RopeScaling{Type: "linear", Factor: 1, OrigContext: trained, AttnFactor: 1}
	if f.HasKey(arch + ".rope.scaling.type") {
		var err error
		if rs.Type, err = f.String(arch + ".rope.scaling.type"); err != nil {
			return rs, fmt.Errorf("model: %w", err)
		}
	}
	if rs.Type != "none" && rs.Type != "linear" && rs.Type != "yarn" {
		return rs, fmt.Errorf("model: %s: rope scaling type %q is not one llama.cpp knows (none, linear, yarn)", arch, rs.Type)
	}
	// optFloat sets dst from key when the file has it, which must be a
	// positive number; with zeroAbsent, 0 is also taken as absent
	// (llama.cpp's reading of a scaling factor, which converters write so).
	optFloat := func(key string, dst *float32, zeroAbsent bool) (bool, error) {
		if !f.HasKey(arch + key) {
			return false, nil
		}
		v, err := f.Float(arch + key)
		if err != nil {
			return false, fmt.Errorf("model: %w", err)
		}
		if zeroAbsent && float32(v) == 0 {
			return true, nil
		}
		if !(v > 0) || math.IsInf(v, 0) || float32(v) == 0 {
			return false, fmt.Errorf("model: %s: %s%s is %v, want a positive number", arch, arch, key, v)
		}
		*dst = float32(v)
		return true, nil
	}
	found, err := optFloat(".rope.scaling.factor", &rs.Factor, true)
	if err == nil && !found {
		_, err = optFloat(".rope.scale_linear", &rs.Factor, true)
	}
	if err == nil {
		_, err = optFloat(".rope.scaling.attn_factor", &rs.AttnFactor, false)
	}
	if err != nil {
		return rs, err
	}
	if f.HasKey(arch + ".rope.scaling.original_context_length") {
		if rs.OrigContext, err = f.Int(arch+".rope.scaling.original_context_length", 1<<24); err != nil {
			return rs, fmt.Errorf("model: %w", err)
		}
		if rs.OrigContext <= 0 {
			return rs, fmt.Errorf("model: %s: rope.scaling.original_context_length is %d, want a positive number", arch, rs.OrigContext)
		}
	}
	for _, key := range []string{"ext_factor", "attn_factor", "beta_fast", "beta_slow", "log_multiplier"} {
		if f.HasKey(arch + ".rope.scaling.yarn_" + key) {
			return rs, fmt.Errorf("model: %s: rope.scaling.yarn_%s is set, which llama.cpp ignores for %s: pith cannot run the file as its maker meant and as llama.cpp does", arch, key, arch)
		}
	}
	return rs, nil
}

// matrix returns a 2-D tensor as a kernels.Matrix of rows × cols.
func matrix(f *gguf.File, name string, rows, cols int) (kernels.Matrix, error) {
	t, data, err := f.Tensor(name)
	if err != nil {
		return kernels.Matrix{}, fmt.Errorf("model: %w", err)
	}
	if len(t.Dims) != 2 || t.Dims[0] != uint64(cols) || t.Dims[1] != uint64(rows) {
		return kernels.Matrix{}, fmt.Errorf("model: tensor %q has shape %v, want [%d %d]", name, t.Dims, cols, rows)
	}
	m := kernels.Matrix{Type: t.Type, Rows: rows, Cols: cols, Data: data, Layout: kernels.Layout(f.Rewritten[name])}
	if err := m.Check(); err != nil {
		return kernels.Matrix{}, fmt.Errorf("model: tensor %q: %w", name, err)
	}
	return m, nil
}

// interleave lays a matrix that products read out for the active kernel
// path, in place (kernels.Interleave), and notes it in f. (Untied token
// embeddings, which only rows read, stay as they are.)
func interleave(f *gguf.File, name string, m kernels.Matrix) (kernels.Matrix, error) {
	if m.Layout != kernels.RowMajor {
		return m, nil // laid out by an earlier Load of f
	}
	m, err := kernels.Interleave(m)
	if err != nil {
		return m, fmt.Errorf("model: tensor %q: %w", name, err)
	}
	if m.Layout != kernels.RowMajor {
		if f.Rewritten == nil {
			f.Rewritten = map[string]uint8{}
		}
		f.Rewritten[name] = uint8(m.Layout)
	}
	return m, nil
}

// vector returns a 1-D tensor as float32s (dequantised copies: they are small).
func vector(f *gguf.File, name string, n int) ([]float32, error) {
	t, data, err := f.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(t.Dims) != 1 || t.Dims[0] != uint64(n) {
		return nil, fmt.Errorf("model: tensor %q has shape %v, want [%d]", name, t.Dims, n)
	}
	v := make([]float32, n)
	if err := kernels.DequantizeRow(t.Type, v, data); err != nil {
		return nil, fmt.Errorf("model: tensor %q: %w", name, err)
	}
	return v, nil
}

// tokenizerFromGGUF reads the vocabulary the file carries.
func tokenizerFromGGUF(f *gguf.File) (*tokenizer.Tokenizer, error) {
	cfg := tokenizer.Config{BOS: -1, EOS: -1, EOT: -1}
	var err error
	if cfg.Model, err = f.String("tokenizer.ggml.model"); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if f.HasKey("tokenizer.ggml.pre") {
		if cfg.Pre, err = f.String("tokenizer.ggml.pre"); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	// Without a named pre-tokenizer ("" or Ollama's "default") the
	// tokenizer splits text with llama.cpp's default expressions, as
	// llama.cpp does.
	if cfg.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	// llama.cpp refuses a vocabulary that holds a piece twice ("duplicate
	// token in vocabulary"): text would encode to one of the ids only.
	seen := make(map[string]int, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		if j, dup := seen[t]; dup {
			return nil, fmt.Errorf("model: tokenizer.ggml.tokens holds %q at ids %d and %d", t, j, i)
		}
		seen[t] = i
	}
	if cfg.Types, err = f.Int32s("tokenizer.ggml.token_type"); err != nil {
		cfg.Types = nil
	}
	if cfg.Merges, err = f.Strings("tokenizer.ggml.merges"); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	id := func(key string) int32 {
		v, err := f.Int(key, len(cfg.Tokens)-1)
		if err != nil {
			return -1
		}
		return int32(v)
	}
	cfg.BOS, cfg.EOS, cfg.EOT = id("tokenizer.ggml.bos_token_id"), id("tokenizer.ggml.eos_token_id"), id("tokenizer.ggml.eot_token_id")
	// llama.cpp's Llama 3 pre-tokenizers add BOS and skip merging a word
	// the vocabulary holds; add_bos_token, when present, decides the first.
	llama3 := cfg.Pre == "llama-bpe" || cfg.Pre == "llama3" || cfg.Pre == "llama-v3"
	cfg.AddBOS, cfg.IgnoreMerges = llama3, llama3
	if f.HasKey("tokenizer.ggml.add_bos_token") {
		if cfg.AddBOS, err = f.Bool("tokenizer.ggml.add_bos_token"); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	if f.HasKey("tokenizer.ggml.add_eos_token") {
		if cfg.AddEOS, err = f.Bool("tokenizer.ggml.add_eos_token"); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	cfg.Types, cfg.EOG = specialsByText(f, cfg.Tokens, cfg.Types)
	if eom := id("tokenizer.ggml.eom_token_id"); eom >= 0 {
		cfg.EOG = append(cfg.EOG, eom)
	}
	tok, err := tokenizer.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return tok, nil
}

// fimTokens are llama.cpp's fill-in-the-middle tokens, found by their text
// when the file does not name them; the pad, repository and file-separator
// ones end generation too (Qwen2.5's <|fim_pad|>, <|repo_name|> and
// <|file_sep|>, SmolLM2's <reponame>).
var fimTokens = []struct {
	key   string
	texts []string
	eog   bool
}{
	{"tokenizer.ggml.fim_pre_token_id", []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}, false},
	{"tokenizer.ggml.fim_suf_token_id", []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}, false},
	{"tokenizer.ggml.fim_mid_token_id", []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}, false},
	{"tokenizer.ggml.fim_pad_token_id", []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}, true},
	{"tokenizer.ggml.fim_rep_token_id", []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}, true},
	{"tokenizer.ggml.fim_sep_token_id", []string{"<|file_sep|>"}, true},
}

// specialsByText finds, as llama.cpp does, the tokens that end generation
// besides EOS and EOT, and the control tokens the file forgot to mark:
// every token llama.cpp recognises by its text becomes a control token
// (hidden when decoding without specials, matched as a special in trusted
// text), as llama.cpp overrides its type. types is copied, never written:
// it is the file's metadata.
func specialsByText(f *gguf.File, tokens []string, types []int32) ([]int32, []int32) {
	out := make([]int32, len(tokens))
	if types != nil {
		copy(out, types)
	} else {
		for i := range out {
			out[i] = tokenizer.TypeNormal
		}
	}
	var eog []int32
	for i, t := range tokens {
		if tokenizer.EndsGeneration(t) {
			eog = append(eog, int32(i))
			out[i] = tokenizer.TypeControl
		}
	}
	for _, fim := range fimTokens {
		if v, err := f.Int(fim.key, len(tokens)-1); err == nil {
			if fim.eog {
				eog = append(eog, int32(v))
			}
			continue
		}
		// llama.cpp takes the first match in its hash map's order; real
		// vocabularies have at most one of each kind.
		for i, t := range tokens {
			if slices.Contains(fim.texts, t) {
				out[i] = tokenizer.TypeControl
				if fim.eog {
					eog = append(eog, int32(i))
				}
				break
			}
		}
	}
	return out, eog
}
