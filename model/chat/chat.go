// Package chat renders conversations into prompts with the chat template
// of the model's family, chosen from the GGUF's tokenizer.chat_template.
// Templates are Jinja in the files; pith recognises the families it
// supports and renders them in Go, byte for byte as Jinja would (the tests
// check this against @huggingface/jinja). An unknown template is an error,
// never a silently wrong prompt.
package chat

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one turn.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// Template renders messages into prompt text.
type Template interface {
	Name() string
	Render(msgs []Message, addGenerationPrompt bool) (string, error)
}

// Detect recognises a template by the markers of its family.
func Detect(template string) (Template, error) {
	switch {
	case template == "":
		return nil, errors.New("chat: the model has no chat template (tokenizer.chat_template)")
	case strings.Contains(template, "<|start_header_id|>") && strings.Contains(template, "<|eot_id|>"):
		if strings.Contains(template, "Cutting Knowledge Date: December 2023") && strings.Contains(template, "Today Date: ") {
			return llama31{}, nil
		}
		if strings.Contains(template, "Cutting Knowledge Date") {
			// Some other dated preamble: rendering it as Llama 3.1's would
			// be a silently wrong prompt.
			return nil, errors.New("chat: a Llama 3 template with an unknown dated system preamble")
		}
		// Llama 3.0's template appends the assistant header whether or not
		// a generation prompt is asked for.
		return llama3{alwaysGen: !strings.Contains(template, "add_generation_prompt")}, nil
	case strings.Contains(template, "<|im_start|>") && strings.Contains(template, "<|im_end|>"):
		c := chatML{name: "chatml"}
		switch {
		case strings.Contains(template, qwenDefaultSystem):
			c.name, c.defaultSystem = "qwen2.5", qwenDefaultSystem
		case strings.Contains(template, smolDefaultSystem):
			// Without it SmolLM2 would get a prompt its template never makes.
			c.name, c.defaultSystem = "smollm2", smolDefaultSystem
		case hasDefaultSystem(template):
			// Another default system message (Qwen2's "You are a helpful
			// assistant.", say): the generic form would leave it out.
			return nil, errors.New("chat: a ChatML template with a default system message pith does not know")
		}
		return c, nil
	}
	return nil, fmt.Errorf("chat: unrecognised chat template (%d bytes); supported: Qwen2.5/SmolLM2 ChatML, Llama 3", len(template))
}

// hasDefaultSystem reports whether a ChatML template writes a system turn
// of its own text: a Jinja string literal '<|im_start|>system\n' (the
// escape as files have it, or a newline) followed by more literal text,
// where a template without one follows it with the message's content.
func hasDefaultSystem(template string) bool {
	for _, open := range []string{`<|im_start|>system\n`, "<|im_start|>system\n"} {
		for rest := template; ; {
			i := strings.Index(rest, open)
			if i < 0 {
				break
			}
			rest = rest[i+len(open):]
			if rest != "" && rest[0] != '\'' && rest[0] != '"' {
				return true
			}
		}
	}
	return false
}

// TrimBOS returns t rendering without a leading bos, for a tokenizer that
// adds the BOS token itself: Llama 3's templates begin with
// <|begin_of_text|>, and parsed as a special token after the BOS the
// tokenizer adds it would make the prompt start with two, which the model
// never saw in training. llama.cpp does the same (common/chat.cpp strips
// the template's leading bos_token when the vocabulary's add_bos is set),
// and Ollama's templates leave it out for the tokenizer to add. An empty
// bos returns t.
func TrimBOS(t Template, bos string) Template {
	if bos == "" || t == nil {
		return t
	}
	return bosTrimmed{t, bos}
}

type bosTrimmed struct {
	Template
	bos string
}

func (b bosTrimmed) Render(msgs []Message, gen bool) (string, error) {
	s, err := b.Template.Render(msgs, gen)
	return strings.TrimPrefix(s, b.bos), err
}

func checkRoles(msgs []Message) error {
	if len(msgs) == 0 {
		return errors.New("chat: no messages")
	}
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			// The role is request content: named by its length only, as
			// fmt's pooled printers, never erased, would keep its bytes.
			return fmt.Errorf("chat: message %d has a role of %d bytes that is not system, user or assistant", i+1, len(m.Role))
		}
	}
	return nil
}

const (
	qwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
	smolDefaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
)

// chatML is Qwen2.5's template (without tools): a system turn always
// (Qwen's default when none is given), then each turn as
// <|im_start|>role\ncontent<|im_end|>\n.
type chatML struct {
	name, defaultSystem string
}

func (c chatML) Name() string { return c.name }

func (c chatML) Render(msgs []Message, gen bool) (string, error) {
	if err := checkRoles(msgs); err != nil {
		return "", err
	}
	var b strings.Builder
	if msgs[0].Role != "system" && c.defaultSystem != "" {
		b.WriteString("<|im_start|>system\n" + c.defaultSystem + "<|im_end|>\n")
	}
	for _, m := range msgs {
		b.WriteString("<|im_start|>" + m.Role + "\n" + m.Content + "<|im_end|>\n")
	}
	if gen {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String(), nil
}

// llama3 is Llama 3's header format: <|begin_of_text|>, then each turn as
// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>, content
// trimmed as the template's | trim does.
type llama3 struct{ alwaysGen bool }

func (llama3) Name() string { return "llama3" }

func (l llama3) Render(msgs []Message, gen bool) (string, error) {
	if err := checkRoles(msgs); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<|begin_of_text|>")
	for _, m := range msgs {
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + strings.TrimSpace(m.Content) + "<|eot_id|>")
	}
	if gen || l.alwaysGen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}

// llama31 is the template of Llama 3.1 and 3.2 (as their
// tokenizer_config.json carry it) for conversations without tools: a
// system turn always comes first, holding "Cutting Knowledge Date:
// December 2023", "Today Date: " and the date, and then the system
// message if there is one (trimmed); the other turns are Llama 3's.
type llama31 struct {
	date string // the template's date_string; "" means today's
}

func (llama31) Name() string { return "llama3.1" }

// DateFormat is how Llama 3.1/3.2's template writes "Today Date" (its
// strftime_now("%d %b %Y")).
const DateFormat = "02 Jan 2006"

// WithDate returns t rendering date as its "Today Date" when t is a dated
// template (Llama 3.1/3.2), and t itself otherwise. Without it the dated
// templates use the local date at the time of rendering, as llama.cpp and
// Llama 3.2's template do.
func WithDate(t Template, date time.Time) Template {
	if b, ok := t.(bosTrimmed); ok {
		b.Template = WithDate(b.Template, date)
		return b
	}
	if l, ok := t.(llama31); ok {
		l.date = date.Format(DateFormat)
		return l
	}
	return t
}

func (l llama31) Render(msgs []Message, gen bool) (string, error) {
	if err := checkRoles(msgs); err != nil {
		return "", err
	}
	date := l.date
	if date == "" {
		date = time.Now().Format(DateFormat)
	}
	system := ""
	if msgs[0].Role == "system" {
		system, msgs = strings.TrimSpace(msgs[0].Content), msgs[1:]
	}
	var b strings.Builder
	b.WriteString("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n")
	b.WriteString("Cutting Knowledge Date: December 2023\nToday Date: " + date + "\n\n" + system + "<|eot_id|>")
	for _, m := range msgs {
		b.WriteString("<|start_header_id|>" + m.Role + "<|end_header_id|>\n\n" + strings.TrimSpace(m.Content) + "<|eot_id|>")
	}
	if gen {
		b.WriteString("<|start_header_id|>assistant<|end_header_id|>\n\n")
	}
	return b.String(), nil
}
