package tokenizer

import (
	"slices"
	"testing"
)

// tokenizer_config.json's add_bos_token and add_eos_token decide what
// Encode adds, as llama.cpp's converter carries them into a GGUF file.
func TestFromHFJSONAddSpecial(t *testing.T) {
	const tj = `{"model": {"type": "BPE", "vocab": {"a": 0, "<s>": 1, "</s>": 2}, "merges": []}}`
	for _, c := range []struct {
		name, config string
		want         []int32
	}{
		{"neither", `{"bos_token": "<s>", "eos_token": "</s>"}`, []int32{0}},
		{"bos", `{"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true}`, []int32{1, 0}},
		{"eos", `{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "add_eos_token": true}`, []int32{0, 2}},
		{"both", `{"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true, "add_eos_token": true}`, []int32{1, 0, 2}},
		{"eos false", `{"bos_token": "<s>", "eos_token": "</s>", "add_eos_token": false}`, []int32{0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := FromHFJSON([]byte(tj), []byte(c.config), "qwen2")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode("a", true, false); !slices.Equal(got, c.want) {
				t.Errorf("Encode(%q) = %v, want %v", "a", got, c.want)
			}
		})
	}
}
