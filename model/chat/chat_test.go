package chat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
)

var conversations = [][]Message{
	{{"user", "Hello"}},
	{{"system", "Be brief."}, {"user", "Summarise: a\nb"}},
	{{"user", "hi"}, {"assistant", "hello!"}, {"user", "  spaces around  "}},
	{{"system", "S"}, {"user", "{{ not jinja }} {% raw %}"}, {"assistant", "<|im_end|> looks special"}, {"user", "日本語 😀\n\n"}},
}

const jinjaScript = `
import fs from 'node:fs';
import { Template } from '@huggingface/jinja';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const t = new Template(input.template);
const out = input.cases.map(c => t.render({ messages: c.messages, add_generation_prompt: c.gen,
  bos_token: input.bos, eos_token: input.eos, date_string: '25 Nov 2026' }));
process.stdout.write(JSON.stringify(out));
`

// Each supported family renders exactly as @huggingface/jinja renders the
// real template, with and without a system message and generation prompt.
func TestRenderMatchesJinja(t *testing.T) {
	llamaCfg, err := os.ReadFile(filepath.Join(oracle.NodeModules(), "@lenml", "tokenizer-llama3", "models", "tokenizer_config.json"))
	if err != nil {
		oracle.Require(t, oracle.NPM)
		t.Fatal(err)
	}
	llamaTmpl := jsonString(t, llamaCfg, "chat_template")
	for _, fam := range []struct{ name, template, bos, eos string }{
		{"qwen2.5", Qwen25, "", "<|im_end|>"},
		{"smollm2", SmolLM2, "<|im_start|>", "<|im_end|>"},
		{"llama3", llamaTmpl, "<|begin_of_text|>", "<|eot_id|>"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			tmpl, err := Detect(fam.template)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Name() != fam.name {
				t.Errorf("Detect named the template %q, want %q", tmpl.Name(), fam.name)
			}
			type tc struct {
				Messages []Message `json:"messages"`
				Gen      bool      `json:"gen"`
			}
			var cases []tc
			for _, c := range conversations {
				cases = append(cases, tc{c, true}, tc{c, false})
			}
			var want []string
			oracle.Node(t, jinjaScript, map[string]any{"template": fam.template, "cases": cases, "bos": fam.bos, "eos": fam.eos}, &want)
			for i, c := range cases {
				got, err := tmpl.Render(c.Messages, c.Gen)
				if err != nil {
					t.Fatal(err)
				}
				if got != want[i] {
					t.Errorf("case %d (gen=%v):\n got  %q\n want %q", i, c.Gen, got, want[i])
				}
			}
		})
	}
}

func TestDetectRefusesUnknown(t *testing.T) {
	for _, s := range []string{"", "{{ messages }}", "[INST] {{ content }} [/INST]"} {
		if _, err := Detect(s); err == nil {
			t.Errorf("Detect(%q) accepted an unknown template", s)
		}
	}
	tmpl, _ := Detect(Qwen25)
	if _, err := tmpl.Render([]Message{{"tool", "x"}}, true); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("unsupported role accepted: %v", err)
	}
}
