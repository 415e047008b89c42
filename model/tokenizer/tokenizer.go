// Package tokenizer is byte-level BPE as GPT-2, Qwen2 and Llama 3 use it:
// a pre-tokenizer splits text into words, each word's UTF-8 bytes are mapped
// to printable characters, and BPE merges them by rank into vocabulary
// entries. Special tokens (control and user-defined) are matched in the text
// first when asked to.
package tokenizer

import (
	"fmt"
	"math"
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
	AddEOS       bool // tokenizer.ggml.add_eos_token: Encode with addSpecial appends EOS, as llama.cpp does
	IgnoreMerges bool // a word that is itself a vocabulary entry is not merged (Llama 3)
	// NFC normalises text first, as Qwen2's tokenizer.json asks. GGUF has no
	// field for it and llama.cpp does not normalise, so files loaded from
	// GGUF leave it off, matching llama.cpp.
	NFC bool
}

// Tokenizer encodes and decodes text. It is read-only and safe for
// concurrent use.
type Tokenizer struct {
	cfg   Config
	vocab map[string]int32
	// outside numbers the pieces that merges name or make but the
	// vocabulary lacks, from len(cfg.Tokens) up, so that every piece a merge
	// involves has an id and merging compares ids, never building strings.
	outside  map[string]int32
	merges   map[[2]int32]merge // by the ids of the pair
	split    splitter
	specials []special // sorted longest first
	eog      map[int32]bool
}

// pieceID is the id of a piece: its vocabulary id, or past the vocabulary
// if only merges name it.
func (t *Tokenizer) pieceID(s string) (int32, bool) {
	if id, ok := t.vocab[s]; ok {
		return id, true
	}
	id, ok := t.outside[s]
	return id, ok
}

// merge is one BPE merge rule: its rank and the piece it makes.
type merge struct{ rank, piece int32 }

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
	// llama.cpp stops on such a file (GGML_ASSERT in append_eos).
	if cfg.AddEOS && (cfg.EOS < 0 || int(cfg.EOS) >= len(cfg.Tokens)) {
		return nil, fmt.Errorf("tokenizer: add_eos_token is set but the vocabulary has no EOS token")
	}
	t := &Tokenizer{cfg: cfg, vocab: make(map[string]int32, len(cfg.Tokens)), outside: map[string]int32{},
		merges: make(map[[2]int32]merge, len(cfg.Merges)), eog: map[int32]bool{}}
	switch cfg.Pre {
	case "qwen2":
		t.split = newSplitter(1)
	case "default", "":
		t.split = newDefaultSplitter()
	case "smollm":
		t.split = newGPT2Splitter(true)
	case "llama-bpe", "llama3", "llama-v3":
		t.split = newSplitter(3)
	default:
		return nil, fmt.Errorf("tokenizer: pre-tokenizer %q is not supported (qwen2, llama-bpe, smollm, default)", cfg.Pre)
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
	intern := func(s string) int32 {
		if id, ok := t.pieceID(s); ok {
			return id
		}
		id := int32(len(cfg.Tokens) + len(t.outside))
		t.outside[s] = id
		return id
	}
	for rank, m := range cfg.Merges {
		a, b, ok := strings.Cut(m, " ")
		if !ok {
			return nil, fmt.Errorf("tokenizer: merge %d (%q) is not two pieces", rank, m)
		}
		// The first of duplicate rules counts, as its rank is the lowest.
		pair := [2]int32{intern(a), intern(b)}
		if _, dup := t.merges[pair]; dup {
			continue
		}
		// What a merge makes is nearly always in the vocabulary; looking
		// it up there first saves building the string.
		made, ok := t.vocab[a+b]
		if !ok {
			made = intern(a + b)
		}
		t.merges[pair] = merge{int32(rank), made}
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

// AddsBOS reports whether AppendEncode with addSpecial prepends BOS.
func (t *Tokenizer) AddsBOS() bool { return t.cfg.AddBOS && t.cfg.BOS >= 0 }

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

// Encode tokenizes text. addSpecial prepends BOS and appends EOS where the
// model wants them;
// parseSpecial lets special tokens written in the text (such as
// "<|im_start|>") become those tokens, which only trusted text (a chat
// template's) may do. A pre-tokenized word of more than 2 GiB - 1 bytes
// (after the byte-level mapping, which can double its size) is encoded as
// consecutive words of at most that size, so no merge crosses where it is
// cut; Decode still gives back the text.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	return t.AppendEncode(nil, text, addSpecial, parseSpecial)
}

// MaxTokens bounds the ids AppendEncode appends for n bytes of text, BOS
// and EOS included: normalising (NFC) can make the text longer, by at most three
// times in UTF-8 (Unicode's bound, UAX #15: U+1D160's four bytes become
// twelve), and every other token, special ones too, is at least one byte
// of it. A caller that keeps ids in a buffer it cannot let grow (an arena)
// sizes it with this.
func MaxTokens(n int) int { return 3*n + 2 }

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
	// llama.cpp's tokenize appends EOS after the text when add_special
	// and the vocabulary's add_eos are set (llm_tokenizer_bpe_session's
	// append_eos).
	if addSpecial && t.cfg.AddEOS {
		dst = append(dst, t.cfg.EOS)
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
	var work bpeWork
	for i := 0; i < len(text); {
		j := t.split(text, i)
		buf = appendByteLevel(buf[:0], text[i:j])
		dst = t.bpe(dst, &work, string(buf))
		i = j
	}
	return dst
}

// bpeWork is bpe's working memory, reused across the words of a text.
type bpeWork struct {
	syms []symbol
	q    mergeQueue
}

// symbol is one piece of a word being merged, a node of a linked list over
// the word's characters; merging keeps the left node and unlinks the right.
// Offsets and indexes are int32, which halves bpe's memory (a word can be a
// whole request body), so bpe merges at most maxWord bytes as one word.
type symbol struct {
	start      int32 // byte offset in the word; the piece ends where the next starts
	prev, next int32 // indexes of the neighbours, -1 at the ends
	piece      int32 // from Tokenizer.pieceID; -1 if it has none, or merged away
}

// bpe merges the characters of one byte-level word by rank and appends the
// ids of the resulting pieces. Of the merges possible at each step the lowest
// rank goes first, and of equal ranks the leftmost, as Hugging Face's
// tokenizers and llama.cpp merge.
//
// A word can be as long as a request, since the pre-tokenizer does not cap a
// run of letters, so finding each merge by rescanning the word (quadratic:
// minutes for 64 KiB) would let one request hold the server. Instead the
// symbols are a linked list and the candidate merges a heap ordered by
// (rank, position), which costs O(n log n) for n characters.
func (t *Tokenizer) bpe(dst []int32, w *bpeWork, word string) []int32 {
	return t.bpeSplit(dst, w, word, maxWord)
}

// maxWord is the longest word, in bytes after the byte-level mapping, that
// bpe merges as one: symbol's offsets and indexes are int32.
const maxWord = math.MaxInt32

// bpeSplit is bpe for words of at most max bytes (max >= utf8.UTFMax); a
// longer word is merged as consecutive words of at most max bytes, cut at
// character boundaries, so no merge crosses a cut. Encode returns no
// error, and splitting keeps what callers rely on, that Decode gives back
// the text, where refusing would have to drop text or panic. Only a caller
// that does not cap its input reaches this (the server's 1 MiB body is far
// below maxWord), and no reference tokenizer gives an answer to match for
// a 2 GiB word anyway.
func (t *Tokenizer) bpeSplit(dst []int32, w *bpeWork, word string, max int) []int32 {
	for len(word) > max {
		cut := max
		for cut > max-(utf8.UTFMax-1) && !utf8.RuneStart(word[cut]) {
			cut--
		}
		dst = t.bpeWord(dst, w, word[:cut])
		word = word[cut:]
	}
	return t.bpeWord(dst, w, word)
}

// bpeWord is bpe for a word of at most maxWord bytes.
func (t *Tokenizer) bpeWord(dst []int32, w *bpeWork, word string) []int32 {
	if id, ok := t.vocab[word]; ok && (t.cfg.IgnoreMerges || utf8.RuneCountInString(word) == 1) {
		return append(dst, id)
	}
	if word == "" {
		return dst
	}
	if n := utf8.RuneCountInString(word); cap(w.syms) < n {
		// Sized once for the word rather than grown by appending, which
		// for a long word would allocate several times over.
		w.syms = make([]symbol, 0, n)
		w.q.c = make([]candidate, 0, n)
	}
	syms := w.syms[:0]
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		piece, ok := t.pieceID(word[i : i+n])
		if !ok {
			piece = -1 // neither in the vocabulary nor in a merge
		}
		at := int32(len(syms))
		next := at + 1
		if i+n == len(word) {
			next = -1
		}
		syms = append(syms, symbol{start: int32(i), prev: at - 1, next: next, piece: piece})
		i += n
	}
	w.syms = syms
	q := &w.q
	for i := range int32(len(syms)) {
		if c, ok := t.candidate(syms, i); ok {
			q.c = append(q.c, c)
		}
	}
	q.init()
	for len(q.c) > 0 {
		c := q.pop()
		l := &syms[c.pos]
		r := l.next
		// Skip a candidate whose pair has changed since it was found, by
		// a merge on either side (a merged-away symbol has piece -1). A
		// pair that still matches is a current candidate, with the key a
		// fresh one would have.
		if l.piece != c.left || r < 0 || syms[r].piece != c.right {
			continue
		}
		l.piece, l.next = c.piece, syms[r].next
		if l.next >= 0 {
			syms[l.next].prev = c.pos
		}
		syms[r].piece = -1
		if l.prev >= 0 {
			if c, ok := t.candidate(syms, l.prev); ok {
				q.push(c)
			}
		}
		if c, ok := t.candidate(syms, c.pos); ok {
			q.push(c)
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		end := len(word)
		if n := syms[i].next; n >= 0 {
			end = int(syms[n].start)
		}
		// pieceID gives a piece in the vocabulary its vocabulary id.
		if p := syms[i].piece; p >= 0 && int(p) < len(t.cfg.Tokens) {
			dst = append(dst, p)
			continue
		}
		// A piece outside the vocabulary: fall back to its single
		// characters, which byte-level vocabularies always hold.
		for _, r := range word[syms[i].start:end] {
			if id, ok := t.vocab[string(r)]; ok {
				dst = append(dst, id)
			}
		}
	}
	return dst
}

// candidate is a merge of the symbol at pos with its right neighbour, as it
// was when found: left and right are the two pieces it joins.
type candidate struct{ rank, piece, left, right, pos int32 }

// candidate returns the merge of syms[pos] with its right neighbour, if a
// rule merges them.
func (t *Tokenizer) candidate(syms []symbol, pos int32) (candidate, bool) {
	r := syms[pos].next
	if r < 0 {
		return candidate{}, false
	}
	pair := [2]int32{syms[pos].piece, syms[r].piece}
	m, ok := t.merges[pair]
	return candidate{rank: m.rank, piece: m.piece, left: pair[0], right: pair[1], pos: pos}, ok
}

// mergeQueue is a binary min-heap of candidates by (rank, pos), typed so
// that pushing does not allocate as container/heap's interface would.
type mergeQueue struct{ c []candidate }

func (q *mergeQueue) less(a, b int) bool {
	x, y := &q.c[a], &q.c[b]
	return x.rank < y.rank || x.rank == y.rank && x.pos < y.pos
}

// init orders candidates appended to q.c into a heap.
func (q *mergeQueue) init() {
	for i := len(q.c)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

func (q *mergeQueue) push(c candidate) {
	q.c = append(q.c, c)
	for i := len(q.c) - 1; i > 0; {
		up := (i - 1) / 2
		if !q.less(i, up) {
			break
		}
		q.c[i], q.c[up] = q.c[up], q.c[i]
		i = up
	}
}

func (q *mergeQueue) pop() candidate {
	top := q.c[0]
	last := len(q.c) - 1
	q.c[0] = q.c[last]
	q.c = q.c[:last]
	q.down(0)
	return top
}

func (q *mergeQueue) down(i int) {
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(q.c) && q.less(l, least) {
			least = l
		}
		if r < len(q.c) && q.less(r, least) {
			least = r
		}
		if least == i {
			return
		}
		q.c[i], q.c[least] = q.c[least], q.c[i]
		i = least
	}
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
