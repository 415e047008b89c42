// Package conversation reads the conversations a user hands to
// `pith summarize`: JSON, "Name: text" lines, or a WhatsApp chat export
// (iOS "[dd/mm/yyyy, hh:mm:ss] Name: text" and Android
// "dd/mm/yyyy, hh:mm - Name: text"), where a message may span several lines.
package conversation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Message is one message: who sent it and what it says.
type Message struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// Format names an input format.
type Format string

const (
	JSON     Format = "json"
	Lines    Format = "lines"
	WhatsApp Format = "whatsapp"
)

// MaxInput bounds what Parse reads, so a mistaken file cannot exhaust memory.
const MaxInput = 16 << 20

// Parse detects the format of data and returns its messages.
func Parse(data []byte) ([]Message, Format, error) {
	if len(data) > MaxInput {
		return nil, "", fmt.Errorf("conversation: input is %d bytes, at most %d", len(data), MaxInput)
	}
	if !utf8.Valid(data) {
		return nil, "", errors.New("conversation: input is not valid UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, "", errors.New("conversation: input is empty")
	}
	// WhatsApp first: an iOS export also starts with '['.
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if isWhatsApp(text) {
		msgs, err := parseWhatsApp(text)
		return msgs, WhatsApp, err
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		msgs, err := parseJSON(trimmed)
		return msgs, JSON, err
	}
	msgs, err := parseLines(text)
	return msgs, Lines, err
}

// parseJSON accepts {"messages":[...]} (the summarise request's shape) or a
// bare array of messages.
func parseJSON(data []byte) ([]Message, error) {
	var msgs []Message
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if data[0] == '[' {
		if err := dec.Decode(&msgs); err != nil {
			return nil, fmt.Errorf("conversation: JSON: %w", err)
		}
	} else {
		var doc struct {
			Messages []Message `json:"messages"`
			MaxWords int       `json:"max_words"`
		}
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("conversation: JSON: %w", err)
		}
		msgs = doc.Messages
	}
	if dec.More() {
		return nil, errors.New("conversation: JSON: data after the conversation")
	}
	for i, m := range msgs {
		if strings.TrimSpace(m.From) == "" {
			return nil, fmt.Errorf("conversation: JSON: message %d has no sender (\"from\")", i+1)
		}
	}
	return nonEmpty(msgs)
}

// parseLines reads "Name: text" lines; a line without "Name: " continues
// the previous message, and blank lines are skipped.
func parseLines(text string) ([]Message, error) {
	var g gather
	for n, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if from, body, ok := splitSender(line); ok {
			g.start(from, body)
			continue
		}
		if len(g.msgs) == 0 {
			return nil, fmt.Errorf("conversation: line %d: expected \"Name: text\", got %q", n+1, clip(line))
		}
		g.add(line)
	}
	return nonEmpty(g.done())
}

// gather collects messages whose text arrives a line at a time. Appending
// each line to the text so far would copy the whole message once per line,
// quadratic in its length (a 2 MiB message took minutes); the lines go
// into a builder instead, and a message of one line keeps its text as is.
type gather struct {
	msgs    []Message
	text    strings.Builder // the last message's text, once it has grown
	growing bool
}

// start begins a new message.
func (g *gather) start(from, text string) {
	g.finish()
	g.msgs = append(g.msgs, Message{From: from, Text: text})
}

// add appends a line to the last message, which must exist.
func (g *gather) add(line string) {
	if !g.growing {
		g.text.WriteString(g.msgs[len(g.msgs)-1].Text)
		g.growing = true
	}
	g.text.WriteByte('\n')
	g.text.WriteString(line)
}

// finish stores the last message's text, if it has grown.
func (g *gather) finish() {
	if g.growing {
		g.msgs[len(g.msgs)-1].Text = g.text.String()
		g.text.Reset()
		g.growing = false
	}
}

// done returns the messages, all complete.
func (g *gather) done() []Message {
	g.finish()
	return g.msgs
}

// splitSender splits "Name: text" where Name is short and has no colon.
func splitSender(line string) (from, text string, ok bool) {
	i := strings.Index(line, ": ")
	if i <= 0 || i > 64 {
		// "Name:" alone: a message whose text starts on the next line.
		name := strings.TrimSpace(strings.TrimSuffix(line, ":"))
		if strings.HasSuffix(line, ":") && name != "" && len(line) <= 65 && !strings.ContainsAny(name, ":\t") {
			return name, "", true
		}
		return "", "", false
	}
	from = strings.TrimSpace(line[:i])
	if from == "" || strings.ContainsAny(from, ":\t") {
		return "", "", false
	}
	return from, line[i+2:], true
}

func nonEmpty(msgs []Message) ([]Message, error) {
	if len(msgs) == 0 {
		return nil, errors.New("conversation: no messages found")
	}
	return msgs, nil
}

func clip(s string) string {
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}
