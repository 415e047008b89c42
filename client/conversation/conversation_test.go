package conversation

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format Format
		want   []Message
	}{
		{"json object", `{"messages":[{"from":"Ann","text":"hi"},{"from":"Bo","text":"yo"}],"max_words":50}`, JSON,
			[]Message{{"Ann", "hi"}, {"Bo", "yo"}}},
		{"json array", `[{"from":"Ann","text":"a: b"}]`, JSON, []Message{{"Ann", "a: b"}}},
		{"lines", "Ann: see you at 5: ok?\nBo: sure\nand bring cake\n\n", Lines,
			[]Message{{"Ann", "see you at 5: ok?"}, {"Bo", "sure\nand bring cake"}}},
		{"whatsapp ios", "[25/11/2026, 14:03:12] Messages and calls are end-to-end encrypted.\n" +
			"[25/11/2026, 14:03:12] Ann: first line\nsecond line\n[25/11/2026, 14:04:01] Bo: ok\n", WhatsApp,
			[]Message{{"Ann", "first line\nsecond line"}, {"Bo", "ok"}}},
		{"whatsapp android", "25/11/26, 9:03 PM - Ann: hello\r\n25/11/26, 9:04 PM - Bo: \u200e<Media omitted>\r\n", WhatsApp,
			[]Message{{"Ann", "hello"}, {"Bo", "<Media omitted>"}}},
		{"whatsapp dots", "25.11.26, 21:03 - Ann: hallo\n", WhatsApp, []Message{{"Ann", "hallo"}}},
	}
	for _, tt := range tests {
		got, f, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if f != tt.format || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %s %q, want %s %q", tt.name, f, got, tt.format, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, msg string }{
		{"empty", "  \n", "empty"},
		{"no sender", "just some text without a name\n", "expected \"Name: text\""},
		{"json unknown field", `{"messages":[],"evil":1}`, "unknown field"},
		{"json no sender", `[{"text":"x"}]`, "no sender"},
		{"json trailing", `[{"from":"a","text":"x"}] []`, "after the conversation"},
		{"no messages", `{"messages":[]}`, "no messages"},
		{"bad utf8", "Ann: \xff\n", "UTF-8"},
	}
	for _, tt := range tests {
		_, _, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.msg)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"messages":[{"from":"a","text":"b"}]}`))
	f.Add([]byte("[1/2/2026, 10:00:00] A: x\ny\n"))
	f.Add([]byte("1/2/26, 10:00 - A: x\n"))
	f.Add([]byte("A: b\nc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, _, err := Parse(data)
		if err != nil {
			return
		}
		if len(msgs) == 0 {
			t.Fatal("no error and no messages")
		}
		for _, m := range msgs {
			if m.From == "" && !strings.HasPrefix(strings.TrimSpace(string(data)), "{") && !strings.HasPrefix(strings.TrimSpace(string(data)), "[{") {
				t.Fatalf("message without sender from %q", data)
			}
		}
	})
}
