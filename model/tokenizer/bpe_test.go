package tokenizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveBPE is the merge loop bpe had before it used a heap, kept as the
// reference: every step rescans the word for the lowest-ranked pair, the
// leftmost of equal ranks. It is quadratic, so only for short words.
func naiveBPE(t *Tokenizer, ranks map[[2]string]int, dst []int32, word string) []int32 {
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
			if r, ok := ranks[[2]string{parts[i], parts[i+1]}]; ok && (best < 0 || r < best) {
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
		for _, r := range p {
			if id, ok := t.vocab[string(r)]; ok {
				dst = append(dst, id)
			}
		}
	}
	return dst
}

// naiveRanks is the rank table naiveBPE reads: the first rank of each pair.
func naiveRanks(cfg Config) map[[2]string]int {
	ranks := map[[2]string]int{}
	for rank, m := range cfg.Merges {
		a, b, _ := strings.Cut(m, " ")
		if _, dup := ranks[[2]string{a, b}]; !dup {
			ranks[[2]string{a, b}] = rank
		}
	}
	return ranks
}

// newTestTokenizer builds a tokenizer from tokens and merges alone.
func newTestTokenizer(t testing.TB, tokens, merges []string) *Tokenizer {
	t.Helper()
	tok, err := New(Config{Model: "gpt2", Pre: "qwen2", Tokens: tokens, Merges: merges, BOS: -1, EOS: -1, EOT: -1})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The merge order on words small enough to follow by hand: lowest rank
// first, the leftmost of equal ranks (the same rule on overlapping pairs),
// and pieces outside the vocabulary falling back to their characters.
func TestBPEOrder(t *testing.T) {
	tok := newTestTokenizer(t,
		[]string{"a", "i", "n", "Ġ", "aa", "aaa", "in", "ni", "Ġi", "x"},
		[]string{"a a", "aa a", "i n", "n i", "Ġ i", "Ġi n", "x x"})
	for _, tc := range []struct {
		word string
		want []string
	}{
		{"a", []string{"a"}},
		{"aa", []string{"aa"}},
		{"aaa", []string{"aaa"}},         // "a a" at 0, not 1, then "aa a"
		{"aaaa", []string{"aa", "aa"}},   // "a a" (rank 0) before "aa a" (rank 1)
		{"aaaaa", []string{"aa", "aaa"}}, // aa|a|a|a, aa|aa|a, aa|aaa
		{"nin", []string{"n", "in"}},     // "i n" (rank 2) before "n i" (rank 3)
		{"Ġin", []string{"Ġ", "in"}},     // "i n" before "Ġ i", then no "Ġ in"
		{"xx", []string{"x", "x"}},       // merged to "xx", outside the vocabulary
		{"azn", []string{"a", "n"}},      // "z" is in neither
	} {
		var got []string
		for _, id := range tok.bpe(nil, new(bpeWork), tc.word) {
			got = append(got, tok.Piece(id))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("bpe(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

// mergeVocab is a vocabulary over a small alphabet whose merges build on
// each other, so that random words over it merge many times in many orders.
// "Ġ" is two bytes, "x" is in the vocabulary but in no merge, "z" in
// neither, and a quarter of the merged pieces are outside the vocabulary so
// the fallback runs too.
func mergeVocab(t testing.TB) *Tokenizer {
	alphabet := []string{"a", "b", "i", "n", "Ġ"}
	pieces := slices.Clone(alphabet)
	tokens := append(slices.Clone(alphabet), "x")
	merges := []string{"a a", "i n", "in in", "aa a", "a aa", "b a", "a b", "Ġ i", "n i"}
	for _, m := range merges {
		a, b, _ := strings.Cut(m, " ")
		pieces = append(pieces, a+b)
		tokens = append(tokens, a+b)
	}
	r := rand.New(rand.NewPCG(19, 1))
	for len(merges) < 80 {
		// Prefer short pieces, so that merges chain instead of needing
		// long exact runs.
		a := pieces[r.IntN(min(len(pieces), 8+r.IntN(len(pieces))))]
		b := pieces[r.IntN(min(len(pieces), 8+r.IntN(len(pieces))))]
		if slices.Contains(merges, a+" "+b) {
			continue
		}
		merges = append(merges, a+" "+b)
		if !slices.Contains(pieces, a+b) {
			pieces = append(pieces, a+b)
			if r.IntN(4) > 0 {
				tokens = append(tokens, a+b)
			}
		}
	}
	merges = append(merges, "a a") // a duplicate: the first rank counts
	return newTestTokenizer(t, tokens, merges)
}

// On random words, and on runs of one pair, bpe gives exactly what the
// naive loop gives (which the oracle tests tie to Hugging Face and
// llama.cpp).
func TestBPEMatchesNaive(t *testing.T) {
	tok := mergeVocab(t)
	ranks := naiveRanks(tok.cfg)
	alphabet := []rune("abinĠxz")
	r := rand.New(rand.NewPCG(19, 2))
	var words []string
	for range 3000 {
		w := make([]rune, 1+r.IntN(300))
		for i := range w {
			// A narrower alphabet in some words makes longer runs.
			w[i] = alphabet[r.IntN(len(alphabet)-r.IntN(5))]
		}
		words = append(words, string(w))
	}
	for n := 1; n <= 300; n++ {
		words = append(words, strings.Repeat("a", n), strings.Repeat("in", n), strings.Repeat("ab", n), "n"+strings.Repeat("i", n))
	}
	merged, bad := 0, 0
	var work bpeWork // shared, as encodeOrdinary shares it across words
	for _, w := range words {
		got, want := tok.bpe(nil, &work, w), naiveBPE(tok, ranks, nil, w)
		merged += utf8.RuneCountInString(w) - len(want)
		if !slices.Equal(got, want) {
			if bad++; bad <= 5 {
				t.Errorf("bpe(%q):\n got  %v\n want %v", w, got, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d words differ from the naive merge", bad, len(words))
	}
	t.Logf("%d words, %d merges, all identical to the naive merge", len(words), merged)
}

// A word longer than the limit is merged as consecutive words of at most
// the limit, cut at character boundaries (checked with small limits, since
// the real one, maxWord, takes a 2 GiB word): the result is the naive merge
// of each part, words within the limit are untouched, and nothing panics.
func TestBPESplitsLongWords(t *testing.T) {
	tok := mergeVocab(t)
	ranks := naiveRanks(tok.cfg)
	// "Ġ" is two bytes, so cuts fall inside characters and must move.
	alphabet := []rune("abinĠĠĠxz")
	r := rand.New(rand.NewPCG(19, 3))
	var work bpeWork
	for _, limit := range []int{utf8.UTFMax, 5, 7, 16, 64} {
		for range 300 {
			w := make([]rune, 1+r.IntN(100))
			for i := range w {
				w[i] = alphabet[r.IntN(len(alphabet))]
			}
			word := string(w)
			// The parts, found independently of bpeSplit: whole
			// characters, as many as fit.
			var want []int32
			part := ""
			for _, c := range w {
				if len(part)+len(string(c)) > limit {
					want = naiveBPE(tok, ranks, want, part)
					part = ""
				}
				part += string(c)
			}
			want = naiveBPE(tok, ranks, want, part)
			got := tok.bpeSplit(nil, &work, word, limit)
			if !slices.Equal(got, want) {
				t.Fatalf("limit %d, bpeSplit(%q):\n got  %v\n want %v", limit, word, got, want)
			}
			if len(word) <= limit && !slices.Equal(got, tok.bpe(nil, &work, word)) {
				t.Fatalf("limit %d: %q, within the limit, was split", limit, word)
			}
		}
	}
	if maxWord > math.MaxInt32 {
		t.Fatalf("maxWord %d does not fit symbol's int32 offsets", maxWord)
	}
}

// One word as long as a request body, which the pre-tokenizer does not
// split. With merges costing O(n log n) the throughput (b.SetBytes) stays
// about the same across sizes; the quadratic loop's fell tenfold from 4 KiB
// to 64 KiB.
func BenchmarkEncodeLongWord(b *testing.B) {
	tokens := []string{"i", "n", "in", "inin"}
	tok := newTestTokenizer(b, tokens, []string{"i n", "in in"})
	for _, size := range []int{4 << 10, 16 << 10, 64 << 10} {
		text := strings.Repeat("in", size/2)
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if ids := tok.Encode(text, false, false); len(ids) != size/4 {
					b.Fatalf("%d tokens, want %d", len(ids), size/4)
				}
			}
		})
	}
}
