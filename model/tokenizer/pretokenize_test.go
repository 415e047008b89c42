package tokenizer

import (
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
	splitters := map[string]splitter{"qwen2": newSplitter(1), "llama-bpe": newSplitter(3), "smollm": newGPT2Splitter(true), "gpt2": newGPT2Splitter(false)}
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
