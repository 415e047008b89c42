package chat

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
)

var conversations = [][]Message{
	{{"user", "Hello"}},
	{{"system", "Be brief."}, {"user", "Summarise: a\nb"}},
	{{"user", "hi"}, {"assistant", "hello!"}, {"user", "  spaces around  "}},
	{{"system", "S"}, {"user", "{{ not jinja }} {% raw %}"}, {"assistant", "<|im_end|> looks special"}, {"user", "日本語 😀\n\n"}},
}

// llama31Template reads Meta's Llama 3.1 instruct template (with its dated
// system preamble) from the ollama module that go.mod already requires: its
// template/index.json carries the Jinja templates it recognises.
func llama31Template(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ollama/ollama").Output()
	if err != nil {
		t.Fatalf("locating the ollama module: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "template", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index []struct{ Template, Name string }
	if err := json.Unmarshal(doc, &index); err != nil {
		t.Fatal(err)
	}
	for _, e := range index {
		if strings.Contains(e.Template, "Cutting Knowledge Date") {
			return e.Template
		}
	}
	t.Fatal("no Llama 3.1 template in ollama's template/index.json")
	return ""
}

const jinjaScript = `
import fs from 'node:fs';
import { Template } from '@huggingface/jinja';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const t = new Template(input.template);
const out = input.cases.map(c => t.render({ messages: c.messages, add_generation_prompt: c.gen,
  bos_token: input.bos, eos_token: input.eos, date_string: input.date }));
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
		{"llama3.1", llama31Template(t), "<|begin_of_text|>", "<|eot_id|>"},
	} {
		t.Run(fam.name, func(t *testing.T) {
			tmpl, err := Detect(fam.template)
			if err != nil {
				t.Fatal(err)
			}
			// A date whose day has one digit shows the template's zero padding.
			date := time.Date(2026, time.March, 5, 12, 0, 0, 0, time.UTC)
			tmpl = WithDate(tmpl, date)
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
			oracle.Node(t, jinjaScript, map[string]any{"template": fam.template, "cases": cases, "bos": fam.bos, "eos": fam.eos, "date": date.Format(DateFormat)}, &want)
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

// Qwen2-Instruct's template: ChatML with a default system message that is
// neither Qwen2.5's nor SmolLM2's.
const qwen2Template = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

func TestDetectRefusesUnknown(t *testing.T) {
	for _, s := range []string{"", "{{ messages }}", "[INST] {{ content }} [/INST]", qwen2Template, strings.ReplaceAll(qwen2Template, `\n`, "\n")} {
		if _, err := Detect(s); err == nil {
			t.Errorf("Detect(%q) accepted an unknown template", s)
		}
	}
	// ChatML without a default system message of its own is the generic
	// form, a system turn from the messages included.
	for _, s := range []string{
		strings.Replace(qwen2Template, "You are a helpful assistant.", "' + messages[0]['content'] + '", 1),
		"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}",
	} {
		if tmpl, err := Detect(s); err != nil || tmpl.Name() != "chatml" {
			t.Errorf("Detect(%q): %v, %v; want chatml", s, tmpl, err)
		}
	}
	tmpl, _ := Detect(Qwen25)
	if _, err := tmpl.Render([]Message{{"tool", "x"}}, true); err == nil || !strings.Contains(err.Error(), "role") {
		t.Errorf("unsupported role accepted: %v", err)
	}
}

// Without WithDate the dated template says today, as llama.cpp passes it.
func TestLlama31DefaultsToToday(t *testing.T) {
	tmpl, err := Detect(llama31Template(t))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{"system", " Be brief. "}, {"user", "Hi"}}
	got, err := tmpl.Render(msgs, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := WithDate(tmpl, time.Now()).Render(msgs, false)
	if got != want {
		t.Errorf("default date:\n got  %q\n want %q", got, want)
	}
	if !strings.Contains(got, "Today Date: "+time.Now().Format("02 Jan 2006")+"\n\nBe brief.<|eot_id|>") {
		t.Errorf("no dated preamble with the trimmed system message in %q", got)
	}
}

// A role comes from the request, and the server renders inside
// runtime/secret.Do, where bytes formatted with fmt land in a pooled
// printer that is never erased; the error names the message by number.
func TestRoleErrorCarriesNoContent(t *testing.T) {
	const canary = "c4n4ry7f3a9e"
	for _, tmpl := range []Template{chatML{name: "chatml"}, llama3{}, llama31{date: "01 Jan 2026"}} {
		_, err := tmpl.Render([]Message{{"user", "hi"}, {canary, canary}}, true)
		if err == nil || !strings.Contains(err.Error(), "message 2") {
			t.Fatalf("%s: got %v, want an error about message 2", tmpl.Name(), err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error %q carries the message's role", tmpl.Name(), err)
		}
	}
}

// TrimBOS drops the template's leading BOS text and nothing else, and
// WithDate still dates a trimmed Llama 3.1 template.
func TestTrimBOS(t *testing.T) {
	base, err := Detect(llama31Template(t))
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, time.March, 5, 0, 0, 0, 0, time.UTC)
	msgs := []Message{{"user", "<|begin_of_text|>hi"}}
	full, _ := WithDate(base, date).Render(msgs, true)
	got, err := WithDate(TrimBOS(base, "<|begin_of_text|>"), date).Render(msgs, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimPrefix(full, "<|begin_of_text|>"); got != want || want == full {
		t.Errorf("trimmed:\n got  %q\n want %q", got, want)
	}
	if TrimBOS(base, "") != base {
		t.Error("TrimBOS with no BOS text changed the template")
	}
}
