package tokenizer

import (
	"slices"
	"testing"
	"unicode/utf8"
)

// Every splitter cuts any text, valid UTF-8 or not, into words that follow
// one another and cover it, always moving forward (so no input can make
// Encode loop), and SmolLM's gives every digit a word of its own.
func FuzzPreTokenize(f *testing.F) {
	for _, s := range corpus()[:80] {
		f.Add(s)
	}
	f.Add("a  1 22\t\t333 \xff x")
	splitters := map[string]splitter{"qwen2": newSplitter(1), "llama-bpe": newSplitter(3), "smollm": newGPT2Splitter(true), "gpt2": newGPT2Splitter(false), "default": newDefaultSplitter()}
	f.Fuzz(func(t *testing.T, s string) {
		for name, split := range splitters {
			for i := 0; i < len(s); {
				j := split(s, i)
				if j <= i || j > len(s) {
					t.Fatalf("%s: word at %d of %q ends at %d", name, i, s, j)
				}
				if name == "smollm" {
					if r, n := utf8.DecodeRuneInString(s[i:]); isN(r) && j != i+n {
						t.Fatalf("smollm: digit %q at %d of %q is not a word of its own (%q)", r, i, s, s[i:j])
					}
				}
				i = j
			}
		}
	})
}

// llama.cpp's default pre-tokenizer: punctuation runs first, then GPT-2's
// expression, then numbers apart from what precedes them, in threes. The
// words of the first two are llama-server's on Qwen2.5's vocabulary with
// the file's pre-tokenizer set to "default" (TestMatchesLlamaServer holds
// the whole corpus to it).
func TestDefaultSplitter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"I'm here, you're there", []string{"I", "'", "m", " here", ",", " you", "'", "re", " there"}},
		{"Hello, world!! (ok)", []string{"Hello", ",", " world", "!!", " ", "(", "ok", ")"}},
		{"pay $1234567 now", []string{"pay", " ", "$", "123", "456", "7", " now"}},
		{"x 12345", []string{"x", " ", "123", "45"}},
		{"a+=b^2 ~x|y`z", []string{"a", "+=", "b", "^", "2", " ", "~", "x", "|", "y", "`", "z"}},
		{"٣45678", []string{"٣", "456", "78"}},
	} {
		var got []string
		for i := 0; i < len(tc.in); {
			j := defaultWord(tc.in, i)
			got = append(got, tc.in[i:j])
			i = j
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}
