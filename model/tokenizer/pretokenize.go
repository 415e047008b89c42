package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The pre-tokenizers split text into words before BPE, exactly as these
// regular expressions (Qwen2 and Llama 3's) do, written by hand because Go's
// regexp has no look-ahead:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Llama 3 differs only in taking up to three digits at a time: \p{N}{1,3}.
// Alternatives are tried in order at each position, as a backtracking
// regex engine does.

// splitter returns the end of the word starting at i.
type splitter func(s string, i int) int

func newSplitter(maxDigits int) splitter {
	return func(s string, i int) int { return nextWord(s, i, maxDigits) }
}

func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isS(r rune) bool { return unicode.IsSpace(r) }

func at(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(s[i:])
}

func nextWord(s string, i, maxDigits int) int {
	c0, n0 := at(s, i)
	// 1. Contractions, any case.
	if c0 == '\'' {
		c1, n1 := at(s, i+1)
		switch unicode.ToLower(c1) {
		case 's', 't', 'm', 'd':
			return i + 1 + n1
		case 'r', 'v', 'l':
			c2, n2 := at(s, i+1+n1)
			want := map[rune]rune{'r': 'e', 'v': 'e', 'l': 'l'}[unicode.ToLower(c1)]
			if unicode.ToLower(c2) == want {
				return i + 1 + n1 + n2
			}
		}
	}
	// 2. [^\r\n\p{L}\p{N}]?\p{L}+
	j := i
	if c0 != '\r' && c0 != '\n' && !isL(c0) && !isN(c0) {
		if c1, _ := at(s, i+n0); isL(c1) {
			j = i + n0
		}
	}
	if c, _ := at(s, j); isL(c) {
		for {
			c, n := at(s, j)
			if !isL(c) {
				return j
			}
			j += n
		}
	}
	// 3. \p{N}{1,maxDigits}
	if isN(c0) {
		j = i
		for k := 0; k < maxDigits; k++ {
			c, n := at(s, j)
			if !isN(c) {
				break
			}
			j += n
		}
		return j
	}
	// 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	other := func(c rune) bool { return c >= 0 && !isS(c) && !isL(c) && !isN(c) }
	j = i
	if c0 == ' ' {
		if c1, _ := at(s, i+1); other(c1) {
			j = i + 1
		}
	}
	if c, _ := at(s, j); other(c) {
		for {
			c, n := at(s, j)
			if !other(c) {
				break
			}
			j += n
		}
		for {
			c, n := at(s, j)
			if c != '\r' && c != '\n' {
				return j
			}
			j += n
		}
	}
	// 5-7. Whitespace. Find the run and the last line break in it.
	if isS(c0) {
		end, lastNL := i, -1
		for {
			c, n := at(s, end)
			if !isS(c) {
				break
			}
			if c == '\r' || c == '\n' {
				lastNL = end
			}
			end += n
		}
		if lastNL >= 0 { // \s*[\r\n]+
			return lastNL + 1
		}
		if end == len(s) { // \s+(?!\S) at the end of the text
			return end
		}
		// \s+(?!\S): give back the last space so it can lead the next word.
		_, last := utf8.DecodeLastRuneInString(s[:end])
		if end-last > i {
			return end - last
		}
		return end // \s+
	}
	// Unreachable for valid input: every rune is a letter, number, space or
	// other. Invalid UTF-8 bytes decode as U+FFFD (other) above.
	return i + max(n0, 1)
}

// GPT-2's pre-tokenizer (llama.cpp's "gpt2", not offered until an oracle
// checks it on its own) is the older regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// with lower-case contractions only and a single optional space, not any
// non-letter, before a word. SmolLM's ("smollm") first splits every digit
// off on its own (\p{N}) and runs the same regex on the pieces between, so
// a piece ends, for the look-ahead too, where a digit starts.
func newGPT2Splitter(digitsAlone bool) splitter {
	return func(s string, i int) int { return gpt2Word(s, i, digitsAlone) }
}

func gpt2Word(s string, i int, digitsAlone bool) int {
	c0, n0 := at(s, i)
	if digitsAlone && isN(c0) {
		return i + n0
	}
	// The end of the piece the regex sees: the text's end or, for SmolLM,
	// a digit.
	pieceEnd := func(j int) bool {
		c, _ := at(s, j)
		return c < 0 || digitsAlone && isN(c)
	}
	// 1. Contractions, lower case only.
	if c0 == '\'' {
		c1, _ := at(s, i+1)
		c2, _ := at(s, i+2)
		switch {
		case c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd':
			return i + 2
		case (c1 == 'r' || c1 == 'v') && c2 == 'e', c1 == 'l' && c2 == 'l':
			return i + 3
		}
	}
	// 2-4. An optional space, then a run of letters, of digits, or of
	// anything else that is not a space.
	class := func(c rune) int {
		switch {
		case c < 0 || isS(c):
			return -1
		case isL(c):
			return 0
		case isN(c):
			return 1
		}
		return 2
	}
	j := i
	if c0 == ' ' && !pieceEnd(i+1) {
		j = i + 1
	}
	if c, _ := at(s, j); class(c) >= 0 && !(digitsAlone && class(c) == 1) {
		k := class(c)
		for {
			c, n := at(s, j)
			if class(c) != k {
				return j
			}
			j += n
		}
	}
	// 5-6. Whitespace: \s+(?!\S) leaves the last space of a run to lead the
	// next word, unless the run ends the piece; a single space before a
	// non-space is \s+.
	if isS(c0) {
		end := i
		for {
			c, n := at(s, end)
			if !isS(c) {
				break
			}
			end += n
		}
		if pieceEnd(end) {
			return end
		}
		if _, last := utf8.DecodeLastRuneInString(s[:end]); end-last > i {
			return end - last
		}
		return end
	}
	return i + max(n0, 1)
}

// newDefaultSplitter is llama.cpp's default pre-tokenizer, its choice for
// a file that names none or "default" (Ollama's converter writes that for
// a tokenizer.json it does not recognise): four regular expressions, each
// splitting the pieces the one before it made into its matches and the
// text between them (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_DEFAULT;
// unicode.cpp, unicode_regex_split):
//
//	[\p{P}\$\+<=>\^~\|]+
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//	\p{N}+
//	[0-9][0-9][0-9]
//
// So punctuation runs stand apart first ("I'm" is three words), a space
// before a number becomes a word of its own, and digits go in threes from
// the left. The word that starts at i ends at the first of the four
// boundaries after it, each found within the piece the one before gave.
func newDefaultSplitter() splitter { return defaultWord }

func defaultWord(s string, i int) int {
	// 1. The run of the first expression's class, or of the rest, that i
	// is in (pieces are maximal runs, so its end is the run's from i).
	c0, _ := at(s, i)
	end := i
	for c, n := at(s, end); c >= 0 && isPunctRun(c) == isPunctRun(c0); c, n = at(s, end) {
		end += n
	}
	// 2. The GPT-2 expression within that piece, its look-ahead too.
	end = gpt2Word(s[:end], i, false)
	// 3. A run of numbers, or of anything else, within that word.
	j := i
	for c, n := at(s, j); j < end && isN(c) == isN(c0); c, n = at(s, j) {
		j += n
	}
	end = j
	// 4. Three ASCII digits where they start, or the text before the first
	// three within that run.
	for k := i; k+3 <= end; k++ {
		if isDigit(s[k]) && isDigit(s[k+1]) && isDigit(s[k+2]) {
			if k == i {
				return i + 3
			}
			return k
		}
	}
	return end
}

// isPunctRun is the class of the default pre-tokenizer's first expression:
// punctuation (\p{P}) and the ASCII symbols it names.
func isPunctRun(c rune) bool {
	return unicode.IsPunct(c) || strings.ContainsRune("$+<=>^~|", c)
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
