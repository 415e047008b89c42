package model_test

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/gguf"
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
	w.Set("tokenizer.ggml.tokens", []string{"a"})
	w.Set("tokenizer.ggml.merges", []string{})
	for name, dims := range map[string][]uint64{"token_embd.weight": {2, 1}, "output_norm.weight": {2}} {
		if err := w.AddTensor(name, kernels.F32, dims, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = model.Load(f)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "block_count") {
		t.Fatalf("Load: %v, want an error about block_count", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Fatalf("Load allocated %d MiB for a %d-byte file before refusing it", n>>20, b.Len())
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
