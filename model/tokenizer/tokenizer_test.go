package tokenizer

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf8"
)

// byteVocab is a small vocabulary that needs no npm: every byte-level
// character, a few merges, and one control token.
func byteVocab(t testing.TB) *Tokenizer {
	t.Helper()
	cfg := Config{Model: "gpt2", Pre: "qwen2", BOS: -1, EOS: 258, EOT: -1}
	for b := 0; b < 256; b++ {
		cfg.Tokens = append(cfg.Tokens, string(byteToRune[b]))
	}
	cfg.Tokens = append(cfg.Tokens, "he", "hel", "<|im_end|>")
	cfg.Types = make([]int32, len(cfg.Tokens))
	for i := range cfg.Types {
		cfg.Types[i] = TypeNormal
	}
	cfg.Types[258] = TypeControl
	cfg.Merges = []string{"h e", "he l"}
	tok, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMergesAndSpecials(t *testing.T) {
	tok := byteVocab(t)
	got := tok.Encode("hello<|im_end|>", false, true)
	want := []int32{257, 'l', 'o', 258}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Without parseSpecial the marker is ordinary text.
	if ids := tok.Encode("<|im_end|>", false, false); len(ids) == 1 {
		t.Errorf("special token parsed from untrusted text: %v", ids)
	}
	if !tok.IsEndOfGeneration(258) || tok.IsEndOfGeneration(257) {
		t.Error("end-of-generation set wrong")
	}
	if s := tok.Decode(got, false); s != "hello" {
		t.Errorf("decode without specials: %q", s)
	}
	if s := tok.Decode(got, true); s != "hello<|im_end|>" {
		t.Errorf("decode with specials: %q", s)
	}
}

// Fed one byte-token at a time, the stream decoder never emits half a
// character and loses nothing.
func TestStreamDecoderHoldsPartialUTF8(t *testing.T) {
	tok := byteVocab(t)
	text := "héllo 😀 日本"
	ids := tok.Encode(text, false, false)
	d := tok.NewStreamDecoder(make([]byte, 64))
	var out bytes.Buffer
	for _, id := range ids {
		piece := d.Add(id)
		if !utf8.Valid(piece) {
			t.Fatalf("emitted invalid UTF-8 %q", piece)
		}
		out.Write(piece)
	}
	out.Write(d.Flush())
	if out.String() != text {
		t.Fatalf("streamed %q, want %q", out.String(), text)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Model: "llama", Tokens: []string{"a"}},
		{Model: "gpt2"},
		{Model: "gpt2", Pre: "qwen2", Tokens: []string{"a"}, Types: []int32{1, 1}},
		{Model: "gpt2", Pre: "unknown", Tokens: []string{"a"}},
		{Model: "gpt2", Pre: "qwen2", Tokens: []string{"a"}, Merges: []string{"nospace"}},
		{Model: "gpt2", Pre: "qwen2", Tokens: []string{"a"}, BOS: -1, EOS: -1, AddEOS: true},
		{Model: "gpt2", Pre: "qwen2", Tokens: []string{"a"}, BOS: -1, EOS: 1, AddEOS: true},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("accepted %+v", cfg)
		}
	}
}

// With add_eos_token, Encode's addSpecial appends EOS after the text, as
// llama.cpp's tokenize does (the oracle test compares whole corpora), and
// MaxTokens leaves room for it beside BOS.
func TestAddEOS(t *testing.T) {
	tok, err := New(Config{Model: "gpt2", Pre: "qwen2", Tokens: []string{"a", "<s>", "</s>"}, Types: []int32{TypeNormal, TypeControl, TypeControl},
		BOS: 1, EOS: 2, EOT: -1, AddBOS: true, AddEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text       string
		addSpecial bool
		want       []int32
	}{{"aa", true, []int32{1, 0, 0, 2}}, {"aa", false, []int32{0, 0}}, {"", true, []int32{1, 2}}} {
		got := tok.Encode(tc.text, tc.addSpecial, false)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q, addSpecial %v) = %v, want %v", tc.text, tc.addSpecial, got, tc.want)
		}
		if len(got) > MaxTokens(len(tc.text)) {
			t.Errorf("%d tokens for %d bytes, more than MaxTokens's %d", len(got), len(tc.text), MaxTokens(len(tc.text)))
		}
	}
}

func FuzzEncodeDecode(f *testing.F) {
	tok := byteVocab(f)
	for _, s := range corpus()[:80] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s, false, false)
		if !utf8.ValidString(s) {
			return // invalid bytes round-trip as bytes, checked below
		}
		if got := tok.Decode(ids, false); got != s {
			t.Fatalf("decode(encode(%q)) = %q", s, got)
		}
	})
}
