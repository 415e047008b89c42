package synth

import (
	"bytes"
	"math"
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
