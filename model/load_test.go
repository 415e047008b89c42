package model_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
)

// A file whose block_count is far beyond its tensors is refused before
// the layers' records are allocated: a 700-byte file once made Load
// allocate 8 GiB.
func TestLoadRefusesLayersWithoutTensors(t *testing.T) {
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.embedding_length", uint32(2))
	w.Set("llama.block_count", uint32(1<<24))
	w.Set("llama.feed_forward_length", uint32(1))
	w.Set("llama.attention.head_count", uint32(1))
	w.Set("llama.attention.head_count_kv", uint32(1))
	w.Set("llama.context_length", uint32(16))
	w.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	w.Set("tokenizer.ggml.model", "gpt2")
	w.Set("tokenizer.ggml.pre", "llama-bpe")
	w.Set("tokenizer.ggml.tokens", []string{"a"})
	w.Set("tokenizer.ggml.merges", []string{})
	for name, dims := range map[string][]uint64{"token_embd.weight": {2, 1}, "output_norm.weight": {2}} {
		if err := w.AddTensor(name, kernels.F32, dims, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	f := written(t, w)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := model.Load(f)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "block_count") {
		t.Fatalf("Load: %v, want an error about block_count", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Fatalf("Load allocated %d MiB for a %d-byte file before refusing it", n>>20, len(f.Data))
	}
}

// A Llama 3 file adds BOS when tokenizing and its template also begins
// with <|begin_of_text|>: the prompt must start with one BOS, as
// llama.cpp's (common/chat.cpp strips the template's) and Ollama's do,
// not two.
func TestChatPromptHasOneBOS(t *testing.T) {
	m := builtinModel(t)
	if !m.Tokenizer.AddsBOS() {
		t.Fatal("the Llama 3 test file does not add BOS; the test would prove nothing")
	}
	for _, tmpl := range []chat.Template{m.Chat, chat.WithDate(m.Chat, time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))} {
		text, err := tmpl.Render([]chat.Message{{Role: "user", Content: "hi"}}, true)
		if err != nil {
			t.Fatal(err)
		}
		ids := m.Tokenizer.Encode(text, true, true)
		bos := m.Tokenizer.BOS()
		n := 0
		for _, id := range ids {
			if id == bos {
				n++
			}
		}
		if ids[0] != bos || n != 1 {
			t.Errorf("%s: prompt %v has %d BOS (%d), want exactly one, first", tmpl.Name(), ids[:min(4, len(ids))], n, bos)
		}
	}
}

// builtinFile is a tiny synthetic file of shape with the built-in test
// vocabulary, its metadata edited: a nil value removes the key.
func builtinFile(t *testing.T, shape string, edits map[string]any) *gguf.File {
	t.Helper()
	return builtinFileWith(t, shape, edits, nil)
}

// builtinFileWith is builtinFile with extra F32 tensors, each of the
// values given (its only dimension their count).
func builtinFileWith(t *testing.T, shape string, edits map[string]any, extra map[string][]float32) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: shape, Type: "q8_0", Seed: 11, Builtin: true}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
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
		if v != nil {
			w.Set(k, v)
		}
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
	for name, v := range extra {
		data := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
		}
		if err := w.AddTensor(name, kernels.F32, []uint64{uint64(len(v))}, data); err != nil {
			t.Fatal(err)
		}
	}
	return written(t, w)
}

// written is what w writes, parsed.
func written(t *testing.T, w *gguf.Writer) *gguf.File {
	t.Helper()
	var out bytes.Buffer
	if _, err := w.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Without tokenizer.ggml.add_bos_token, llama.cpp adds BOS for the Llama
// 3 pre-tokenizers and for no other byte-level one (llama-vocab.cpp:
// add_bos = true for "llama3", "llama-v3", "llama-bpe"; false for BPE
// otherwise), and the key, when present, decides.
func TestAddBOSDefaults(t *testing.T) {
	for _, tc := range []struct {
		shape string
		edits map[string]any
		want  bool
	}{
		{"tiny-llama3", map[string]any{"tokenizer.ggml.add_bos_token": nil}, true},
		{"tiny-llama3", map[string]any{"tokenizer.ggml.add_bos_token": nil, "tokenizer.ggml.pre": "llama3"}, true},
		{"tiny-llama3", map[string]any{"tokenizer.ggml.add_bos_token": false}, false},
		{"tiny-qwen2", map[string]any{"tokenizer.ggml.add_bos_token": nil}, false},
		{"tiny-qwen2", map[string]any{"tokenizer.ggml.add_bos_token": true}, true},
	} {
		m, err := model.Load(builtinFile(t, tc.shape, tc.edits))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Tokenizer.AddsBOS(); got != tc.want {
			t.Errorf("%s %v: adds BOS %v, want %v", tc.shape, tc.edits, got, tc.want)
		}
	}
	_, err := model.Load(builtinFile(t, "tiny-llama3", map[string]any{"tokenizer.ggml.add_bos_token": uint8(1)}))
	if err == nil || !strings.Contains(err.Error(), "add_bos_token") {
		t.Errorf("add_bos_token of the wrong type: %v, want an error naming it", err)
	}
}

// llama.cpp's other names for the Llama 3 pre-tokenizer, "llama3" and
// "llama-v3", tokenize as "llama-bpe" does, a word the vocabulary holds
// taken whole rather than merged.
func TestLlama3PreTokenizerNames(t *testing.T) {
	var want []int32
	for _, pre := range []string{"llama-bpe", "llama3", "llama-v3"} {
		m, err := model.Load(builtinFile(t, "tiny-llama3", map[string]any{"tokenizer.ggml.pre": pre}))
		if err != nil {
			t.Fatal(err)
		}
		got := m.Tokenizer.Encode("Hello world", false, false)
		if want == nil {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("pre-tokenizer %q: %v, want %v as llama-bpe", pre, got, want)
		}
	}
}

// The optional hyper-parameters take llama.cpp's defaults when absent
// (llama_model::load_hparams), and what pith cannot run as llama.cpp
// would is refused by name instead of run wrong: YaRN parameters that
// llama.cpp ignores for these architectures, partial rotary embeddings,
// value heads unlike key heads, and a key of the wrong type, which
// llama.cpp refuses too. (TestRopeScalingMatchesLlamaCpp runs the
// scalings.)
func TestOptionalHyperParameters(t *testing.T) {
	for _, tc := range []struct {
		edits   map[string]any
		wantErr string // "" loads
	}{
		{map[string]any{"llama.rope.scaling.type": "none"}, ""},
		{map[string]any{"llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": float32(1)}, ""},
		{map[string]any{"llama.rope.dimension_count": uint32(32), "llama.attention.key_length": uint32(32), "llama.attention.value_length": uint32(32)}, ""},
		{map[string]any{"llama.rope.scaling.type": "yarn", "llama.rope.scaling.factor": float32(4)}, ""},
		{map[string]any{"llama.rope.scaling.factor": float32(2)}, ""},
		{map[string]any{"llama.rope.scaling.factor": float32(0), "llama.rope.scale_linear": float32(-1)}, ""}, // 0 is absent, and the old key is then not read
		{map[string]any{"llama.rope.scaling.type": "llama3"}, `"llama3" is not one llama.cpp knows`},
		{map[string]any{"llama.rope.scaling.type": uint32(1)}, "rope.scaling.type"},
		{map[string]any{"llama.rope.scale_linear": float32(-4)}, "rope.scale_linear is -4"},
		{map[string]any{"llama.rope.scaling.attn_factor": float32(0)}, "attn_factor is 0"},
		{map[string]any{"llama.rope.scaling.type": "yarn", "llama.rope.scaling.original_context_length": uint32(0)}, "original_context_length is 0"},
		{map[string]any{"llama.rope.scaling.type": "yarn", "llama.rope.scaling.yarn_beta_fast": float32(16)}, "yarn_beta_fast is set, which llama.cpp ignores"},
		{map[string]any{"llama.rope.freq_base": uint32(500000)}, "rope.freq_base"},
		{map[string]any{"llama.attention.key_length": float32(32)}, "key_length"},
		{map[string]any{"llama.attention.value_length": uint32(16)}, "value heads of 16"},
		{map[string]any{"llama.rope.dimension_count": uint32(16)}, "partial rotary"},
		// Absent, the KV heads default to the heads (4), which this
		// file's 2-head K tensors then contradict.
		{map[string]any{"llama.attention.head_count_kv": nil}, `"blk.0.attn_k.weight" has shape [128 64], want [128 128]`},
	} {
		_, err := model.Load(builtinFile(t, "tiny-llama3", tc.edits))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.edits, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: %v, want an error with %q", tc.edits, err, tc.wantErr)
		}
	}
}

// A tensor Load would not read is refused by name, as llama.cpp refuses a
// file with tensors its architecture does not create, rather than run a
// model without it; the q, k and v biases that llama.cpp takes as optional
// for llama are added when present.
func TestTensorsLoadReads(t *testing.T) {
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	for _, tc := range []struct {
		shape, name string
		n           int
	}{
		{"tiny-llama3", "blk.0.attn_output.bias", 128},
		{"tiny-llama3", "blk.1.ffn_down.bias", 128},
		{"tiny-llama3", "blk.2.attn_norm.weight", 128},
		{"tiny-llama3", "blk.01.attn_norm.weight", 128},
		{"tiny-llama3", "blk.-1.attn_norm.weight", 128},
		{"tiny-llama3", "blk.0.ffn_gate_exps.weight", 128},
		{"tiny-qwen2", "rope_freqs.weight", 16},
	} {
		_, err := model.Load(builtinFileWith(t, tc.shape, nil, map[string][]float32{tc.name: ones(tc.n)}))
		if want := fmt.Sprintf("%q is not one pith runs", tc.name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with %s: %v, want an error with %s", tc.shape, tc.name, err, want)
		}
	}
	logits := func(f *gguf.File) []float32 {
		m, err := model.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.NewState(model.HeapAllocator{}, 16, 4).Forward([]int32{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out)
	}
	plain := logits(builtinFile(t, "tiny-llama3", nil))
	biased := logits(builtinFileWith(t, "tiny-llama3", nil, map[string][]float32{"blk.1.attn_v.bias": ones(64)}))
	moved := 0.0
	for i := range plain {
		moved = max(moved, math.Abs(float64(plain[i]-biased[i])))
	}
	if moved < 1e-3 {
		t.Errorf("a llama attn_v.bias of ones moved no logit (at most %g): it was not added", moved)
	}
}

// tinyFile is a whole llama model in a few kilobytes (F32 weights, a
// four-token vocabulary), the seed of FuzzLoad.
func tinyFile(t testing.TB) []byte {
	w := gguf.NewWriter()
	for k, v := range map[string]any{
		"general.architecture": "llama", "llama.embedding_length": uint32(8), "llama.block_count": uint32(1),
		"llama.feed_forward_length": uint32(16), "llama.attention.head_count": uint32(2),
		"llama.attention.head_count_kv": uint32(1), "llama.context_length": uint32(32),
		"llama.attention.layer_norm_rms_epsilon": float32(1e-5), "llama.rope.freq_base": float32(10000),
		"tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "llama-bpe",
		"tokenizer.ggml.tokens":     []string{"a", "b", "ab", "<|eot_id|>"},
		"tokenizer.ggml.token_type": []int32{1, 1, 1, 3}, "tokenizer.ggml.merges": []string{"a b"},
		"tokenizer.ggml.bos_token_id": uint32(3), "tokenizer.ggml.eos_token_id": uint32(3),
		"tokenizer.chat_template": "<|start_header_id|><|eot_id|>add_generation_prompt",
	} {
		w.Set(k, v)
	}
	r := uint32(1)
	for name, dims := range map[string][]uint64{
		"token_embd.weight": {8, 4}, "output_norm.weight": {8}, "rope_freqs.weight": {2},
		"blk.0.attn_q.weight": {8, 8}, "blk.0.attn_k.weight": {8, 4}, "blk.0.attn_v.weight": {8, 4},
		"blk.0.attn_output.weight": {8, 8}, "blk.0.ffn_gate.weight": {8, 16}, "blk.0.ffn_up.weight": {8, 16},
		"blk.0.ffn_down.weight": {16, 8}, "blk.0.attn_norm.weight": {8}, "blk.0.ffn_norm.weight": {8},
	} {
		n := 1
		for _, d := range dims {
			n *= int(d)
		}
		data := make([]byte, 4*n)
		for i := range n {
			r = r*1664525 + 1013904223
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(int32(r))/(1<<33)))
		}
		if err := w.AddTensor(name, kernels.F32, dims, data); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzLoad: a file the GGUF reader accepts either fails to load with an
// error that says where it came from, or loads into a model that runs a
// step and tokenizes without panicking.
func FuzzLoad(f *testing.F) {
	seed := tinyFile(f)
	g, err := gguf.Parse(slices.Clone(seed))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := model.Load(g); err != nil {
		f.Fatalf("the seed does not load: %v", err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := gguf.Parse(data)
		if err != nil {
			return
		}
		m, err := model.Load(g)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "model: ") && !strings.HasPrefix(err.Error(), "tokenizer: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		if m.Config.Embd*m.Config.Vocab > 1<<20 || m.Config.Layers > 4 {
			return // a big model: loading it was the test
		}
		ids := m.Tokenizer.Encode("ab a<|eot_id|>", true, true)
		m.Tokenizer.Decode(ids, true)
		if _, err := m.NewState(model.HeapAllocator{}, 4, 2).Forward([]int32{0, 1}); err != nil {
			t.Fatalf("Forward: %v", err)
		}
	})
}

// A file that names no pre-tokenizer, or "default", loads with
// llama.cpp's default pre-tokenizer (model/tokenizer's tests hold it to
// llama-server's); one that is not a string is refused.
func TestDefaultPreTokenizer(t *testing.T) {
	for _, pre := range []any{nil, "default"} {
		if _, err := model.Load(builtinFile(t, "tiny-qwen2", map[string]any{"tokenizer.ggml.pre": pre})); err != nil {
			t.Errorf("tokenizer.ggml.pre %v: %v", pre, err)
		}
	}
	if _, err := model.Load(builtinFile(t, "tiny-qwen2", map[string]any{"tokenizer.ggml.pre": uint32(2)})); err == nil || !strings.Contains(err.Error(), "tokenizer.ggml.pre") {
		t.Errorf("tokenizer.ggml.pre 2: %v, want an error naming it", err)
	}
}
