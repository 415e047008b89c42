// Package tokenizer is byte-level BPE as GPT-2, Qwen2 and Llama 3 use it:
// a pre-tokenizer splits text into words, each word's UTF-8 bytes are mapped
// to printable characters, and BPE merges them by rank into vocabulary
// entries. Special tokens (control and user-defined) are matched in the text
// first when asked to.
package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Token types as llama.cpp numbers them in tokenizer.ggml.token_type.
const (
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Config describes a vocabulary, as GGUF or Hugging Face's tokenizer.json
// records it.
type Config struct {
	Model        string   // "gpt2" (byte-level BPE) is the one supported
	Pre          string   // pre-tokenizer, llama.cpp's name: "qwen2", "llama-bpe", "smollm", "gpt2"...
	Tokens       []string // id -> piece, in byte-level characters
	Types        []int32  // id -> Type*; nil means all normal
	Merges       []string // "a b", by rank
	BOS, EOS     int32    // -1 when absent
	EOT          int32    // end of turn, -1 when absent
	EOG          []int32  // every token that ends generation
	AddBOS       bool
	IgnoreMerges bool // a word that is itself a vocabulary entry is not merged (Llama 3)
	// NFC normalises text first, as Qwen2's tokenizer.json asks. GGUF has no
	// field for it and llama.cpp does not normalise, so files loaded from
	// GGUF leave it off, matching llama.cpp.
	NFC bool
}

// Tokenizer encodes and decodes text. It is read-only and safe for
// concurrent use.
type Tokenizer struct {
	cfg      Config
	vocab    map[string]int32
	ranks    map[[2]string]int
	split    splitter
	specials []special // sorted longest first
	eog      map[int32]bool
}

type special struct {
	text string
	id   int32
}

// New checks a Config and builds a Tokenizer.
func New(cfg Config) (*Tokenizer, error) {
	if cfg.Model != "gpt2" {
		return nil, fmt.Errorf("tokenizer: model %q is not supported (byte-level BPE, \"gpt2\", is)", cfg.Model)
	}
	if len(cfg.Tokens) == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary")
	}
	if cfg.Types != nil && len(cfg.Types) != len(cfg.Tokens) {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(cfg.Types), len(cfg.Tokens))
	}
	t := &Tokenizer{cfg: cfg, vocab: make(map[string]int32, len(cfg.Tokens)), ranks: make(map[[2]string]int, len(cfg.Merges)), eog: map[int32]bool{}}
	switch cfg.Pre {
	case "qwen2", "default", "":
		t.split = newSplitter(1)
	case "smollm":
		t.split = newGPT2Splitter(true)
	case "llama-bpe", "llama3", "llama-v3":
		t.split = newSplitter(3)
	default:
		return nil, fmt.Errorf("tokenizer: pre-tokenizer %q is not supported (qwen2, llama-bpe, smollm)", cfg.Pre)
	}
	for id, tok := range cfg.Tokens {
		if _, dup := t.vocab[tok]; !dup {
			t.vocab[tok] = int32(id)
		}
		typ := int32(TypeNormal)
		if cfg.Types != nil {
			typ = cfg.Types[id]
		}
		if (typ == TypeControl || typ == TypeUserDefined) && tok != "" {
			t.specials = append(t.specials, special{tok, int32(id)})
		}
	}
	sort.SliceStable(t.specials, func(a, b int) bool { return len(t.specials[a].text) > len(t.specials[b].text) })
	for rank, m := range cfg.Merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("tokenizer: merge %d (%q) is not two pieces", rank, m)
		}
		if _, dup := t.ranks[[2]string{a, b}]; !dup {
			t.ranks[[2]string{a, b}] = rank
		}
	}
	for _, id := range append([]int32{cfg.EOS, cfg.EOT}, cfg.EOG...) {
		if id >= 0 && int(id) < len(cfg.Tokens) {
			t.eog[id] = true
		}
	}
	return t, nil
}

// Vocab is the vocabulary size.
func (t *Tokenizer) Vocab() int { return len(t.cfg.Tokens) }

// BOS is the beginning-of-sequence token, or -1.
func (t *Tokenizer) BOS() int32 { return t.cfg.BOS }

// IsEndOfGeneration reports whether id ends generation (EOS, EOT, ...).
func (t *Tokenizer) IsEndOfGeneration(id int32) bool { return t.eog[id] }

// Piece is a token's text as stored in the vocabulary.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.cfg.Tokens) {
		return ""
	}
	return t.cfg.Tokens[id]
}

// ID returns the id of a vocabulary entry.
func (t *Tokenizer) ID(piece string) (int32, bool) {
	id, ok := t.vocab[piece]
	return id, ok
}

// Encode tokenizes text. addSpecial prepends BOS when the model wants one;
// parseSpecial lets special tokens written in the text (such as
// "<|im_start|>") become those tokens, which only trusted text (a chat
// template's) may do.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	return t.AppendEncode(nil, text, addSpecial, parseSpecial)
}

// AppendEncode is Encode appending to dst, so callers can keep token ids in
// memory they own.
func (t *Tokenizer) AppendEncode(dst []int32, text string, addSpecial, parseSpecial bool) []int32 {
	if addSpecial && t.cfg.AddBOS && t.cfg.BOS >= 0 {
		dst = append(dst, t.cfg.BOS)
	}
	for len(text) > 0 {
		next, sp := len(text), special{id: -1}
		if parseSpecial {
			next, sp = t.findSpecial(text)
		}
		dst = t.encodeOrdinary(dst, text[:next])
		if sp.id < 0 {
			break
		}
		dst = append(dst, sp.id)
		text = text[next+len(sp.text):]
	}
	return dst
}

// findSpecial finds the leftmost special token in text, the longest at
// that position.
func (t *Tokenizer) findSpecial(text string) (int, special) {
	best, bs := len(text), special{id: -1}
	for _, sp := range t.specials {
		if i := strings.Index(text[:min(len(text), best+len(sp.text))], sp.text); i >= 0 && i < best {
			best, bs = i, sp
		}
	}
	return best, bs
}

func (t *Tokenizer) encodeOrdinary(dst []int32, text string) []int32 {
	if t.cfg.NFC && !norm.NFC.IsNormalString(text) {
		text = norm.NFC.String(text)
	}
	var buf []byte
	for i := 0; i < len(text); {
		j := t.split(text, i)
		buf = appendByteLevel(buf[:0], text[i:j])
		dst = t.bpe(dst, string(buf))
		i = j
	}
	return dst
}

// bpe merges the characters of one byte-level word by rank and appends the
// ids of the resulting pieces.
func (t *Tokenizer) bpe(dst []int32, word string) []int32 {
	if id, ok := t.vocab[word]; ok && (t.cfg.IgnoreMerges || utf8.RuneCountInString(word) == 1) {
		return append(dst, id)
	}
	parts := make([]string, 0, len(word))
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		parts = append(parts, word[i:i+n])
		i += n
	}
	for len(parts) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := t.ranks[[2]string{parts[i], parts[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		parts[at] = parts[at] + parts[at+1]
		parts = append(parts[:at+1], parts[at+2:]...)
	}
	for _, p := range parts {
		if id, ok := t.vocab[p]; ok {
			dst = append(dst, id)
			continue
		}
		// A piece outside the vocabulary: fall back to its single
		// characters, which byte-level vocabularies always hold.
		for _, r := range p {
			if id, ok := t.vocab[string(r)]; ok {
				dst = append(dst, id)
			}
		}
	}
	return dst
}

// Decode returns the text of ids. Control tokens are left out unless
// special is set; bytes that do not form valid UTF-8 are kept as they are.
func (t *Tokenizer) Decode(ids []int32, special bool) string {
	var b []byte
	for _, id := range ids {
		b = t.AppendPiece(b, id, special)
	}
	return string(b)
}

// AppendPiece appends the bytes of one token.
func (t *Tokenizer) AppendPiece(dst []byte, id int32, special bool) []byte {
	if id < 0 || int(id) >= len(t.cfg.Tokens) {
		return dst
	}
	tok := t.cfg.Tokens[id]
	if t.cfg.Types != nil {
		switch t.cfg.Types[id] {
		case TypeControl:
			if special {
				dst = append(dst, tok...)
			}
			return dst
		case TypeUserDefined:
			return append(dst, tok...)
		}
	}
	return appendBytesFromLevel(dst, tok)
}
