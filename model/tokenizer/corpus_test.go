package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// corpus returns at least 500 deterministic test strings covering what
// trips tokenizers: many scripts, emoji sequences, whitespace runs, digits,
// code, contractions, and text that looks like special tokens.
func corpus() []string {
	base := []string{
		"Hello world", "hello  world", "Hello\nworld", "Hello\r\nworld\r\n", "  leading", "trailing  ", "\t\ttabs\tand spaces ",
		"I'm here, you're there; they've gone. We'll see. He'd know. It's it's IT'S I'M YOU'RE",
		"don't DON'T Don'T 'tis 're 'LL", "12345678901234567890", "3.14159 and 2,718 and 1e10", "v1.2.3-beta+build.45",
		"Mix of 日本語のテキスト and English", "中文测试：你好，世界！", "Привет, мир! Как дела?", "مرحبا بالعالم", "שלום עולם",
		"नमस्ते दुनिया", "สวัสดีชาวโลก", "Γειά σου Κόσμε", "한국어 텍스트입니다", "Ünïcödé àccénts çà et là", "ß ẞ ﬁ ﬂ",
		"emoji 😀😃😄 and 👍🏽 and 👨‍👩‍👧‍👦 family", "flags 🇫🇷🇯🇵", "🤖🦾", "a\u0301 e\u0300 combining", "zero\u200bwidth\u200djoin",
		"func main() {\n\tfmt.Println(\"hi\")\n}\n", "if (x <= 10 && y != 0) { return x / y; }", "<div class=\"a\">text</div>",
		"SELECT * FROM users WHERE id = 42;", "    indented code\n        more", "path/to/file.go:123:45", "https://example.com/a?b=c&d=e#f",
		"<|im_start|>user\nhi<|im_end|>", "<|eot_id|><|start_header_id|>assistant<|end_header_id|>", "<|endoftext|>", "<think>hmm</think>",
		"<|im_start|", "|im_end|>", "a </s> b</s>", "x<|fim_pad|>y <reponame>z <|file_sep|>", "<<|im_start|>>", "\n\n\n", "   \n   \n", " \n", "\n ", "a\n\n\nb", "x \t \n y",
		"!!!???...", "...", "—–-", "$100 €200 £300 ¥400", "@user #hashtag", "C++ C# F# .NET", "1,000,000", "٣٤٥ ٦٧٨", "①②③ Ⅻ",
		"", " ", "a", "A", "'", "''", "'s", " 's", "\u00a0nbsp\u00a0", "\u3000ideographic space\u3000", "line\u2028sep",
	}
	words := []string{"the", "The", "THE", "summary", "meeting", "tomorrow", "at", "3pm", "let's", "we're", "café", "naïve",
		"東京", "会議", "встреча", "завтра", "😀", "🎉", "42", "2024", "3.5", "\n", "\n\n", "  ", "\t", ",", ".", "!", "?", ":", "(", ")",
		"\"", "'", "-", "_", "/", "@", "#", "<|im_start|>", "<|im_end|>", "<|eot_id|>", "if", "return", "{", "}", "=>", "==", "0x1F"}
	r := rand.New(rand.NewPCG(42, 7))
	out := append([]string(nil), base...)
	for len(out) < 600 {
		n := 1 + r.IntN(12)
		var b strings.Builder
		for range n {
			w := words[r.IntN(len(words))]
			if r.IntN(3) > 0 && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		if r.IntN(5) == 0 {
			fmt.Fprintf(&b, " %d", r.IntN(1000000))
		}
		out = append(out, b.String())
	}
	// Long words of one repeated letter or pair, where merges of equal
	// rank overlap all along the word and only the leftmost-first rule
	// gives the reference's tokens.
	out = append(out, strings.Repeat("a", 301), strings.Repeat("in", 150), " "+strings.Repeat("ab", 99)+"c",
		strings.Repeat("Ω", 120), strings.Repeat("ー", 90))
	return out
}
