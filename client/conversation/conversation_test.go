package conversation

import (
	"reflect"
	"runtime"
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
		{"lines, long messages", "Ann:\none\ntwo\n\nthree\nBo: x\ny\nCy: z\n", Lines,
			[]Message{{"Ann", "\none\ntwo\nthree"}, {"Bo", "x\ny"}, {"Cy", "z"}}},
		{"whatsapp, long messages and a notice", "[1/2/2026, 10:00:00] Ann: a\nb\n\nc\n\n" +
			"[1/2/2026, 10:00:01] Ann added Bo\nnot part of a message\n" +
			"[1/2/2026, 10:00:02] Bo: \u200ed\n\u200ee\n[1/2/2026, 10:00:03] Cy: f\n\n\n", WhatsApp,
			[]Message{{"Ann", "a\nb\n\nc"}, {"Bo", "d\ne"}, {"Cy", "f"}}},
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

// longMessage is one message of n continuation lines, in the format given.
func longMessage(f Format, n int) string {
	head := map[Format]string{Lines: "Alice: hi\n", WhatsApp: "[25/11/2026, 14:03:12] Alice: hi\n"}[f]
	return head + strings.Repeat("x\n", n)
}

// A long message costs a few allocations and a small multiple of its size:
// adding each line to the text so far would allocate once per line and
// copy the message each time (quadratic: 256 KiB took over a minute). The
// small case comes first so that a regression fails fast.
func TestLongMessage(t *testing.T) {
	for _, f := range []Format{Lines, WhatsApp} {
		for _, lines := range []int{1 << 10, 1 << 17} {
			in := []byte(longMessage(f, lines))
			var msgs []Message
			var got Format
			var err error
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			msgs, got, err = Parse(in)
			runtime.ReadMemStats(&after)
			if err != nil || got != f || len(msgs) != 1 || msgs[0].Text != "hi"+strings.Repeat("\nx", lines) {
				t.Fatalf("%s, %d lines: %s, %d messages, %v", f, lines, got, len(msgs), err)
			}
			if n := after.Mallocs - before.Mallocs; n > 100 {
				t.Fatalf("%s, %d lines: %d allocations", f, lines, n)
			}
			if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(32*len(in)); n > limit {
				t.Fatalf("%s, %d lines: %d bytes allocated for %d of input (limit %d)", f, lines, n, len(in), limit)
			}
			t.Logf("%s, %d lines: %d allocations, %d bytes for %d of input", f, lines, after.Mallocs-before.Mallocs, after.TotalAlloc-before.TotalAlloc, len(in))
		}
	}
}

func BenchmarkLongMessage(b *testing.B) {
	for _, f := range []Format{Lines, WhatsApp} {
		in := []byte(longMessage(f, 1<<17))
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Parse(in); err != nil {
					b.Fatal(err)
				}
			}
		})
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
	f.Add([]byte(longMessage(Lines, 64)))
	f.Add([]byte(longMessage(WhatsApp, 64)))
	f.Add([]byte("[1/2/2026, 10:00:00] A: x\ny\n[1/2/2026, 10:00:01] A added B\nz\n[1/2/2026, 10:00:02] B: w\n"))
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
