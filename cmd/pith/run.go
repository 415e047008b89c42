package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/pith-project/pith/client/conversation"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/chat"
)

func init() {
	var (
		modelPath, sha, summarize, system string
		verbose                           bool
		temp                              float64
		numPredict, threads, maxWords     int
		cache                             model.CacheType
		seed                              int64
	)
	register(&command{
		Name:  "run",
		Short: "run a model on a prompt or summarise a conversation, on this machine",
		Usage: "pith run [--model FILE] [flags] [PROMPT | -]",
		Help: `Runs a GGUF model locally and streams its answer to the terminal, like
'ollama run'. The prompt is wrapped in the model's chat template. With
--summarize, reads a conversation (JSON, "Name: text" lines or a WhatsApp
export) and prints its summary, through the same prompt the server uses.

This runs on your machine with no enclave and no sealing: use it to try a
model. Without --model it uses $PITH_MODEL or the synthetic model that
'make demo' generates. Synthetic models have random weights: their text is
meaningless.

Example:
  pith run --model qwen2.5-0.5b-instruct-q4_0.gguf "Why is the sky blue?"
  pith run --summarize chat.txt --max-words 60 --verbose`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&modelPath, "model", "", "GGUF model file (default $PITH_MODEL or the demo model)")
			fs.StringVar(&sha, "sha256", "", "check the model's SHA-256 (hex) before use")
			fs.StringVar(&summarize, "summarize", "", "summarise the conversation in this file (- for stdin)")
			fs.IntVar(&maxWords, "max-words", 80, "summary length limit in words, with --summarize")
			fs.StringVar(&system, "system", "", "system message for a prompt")
			fs.BoolVar(&verbose, "verbose", false, "print prompt and generation speed at the end")
			fs.Float64Var(&temp, "temperature", 0.8, "sampling temperature; 0 is greedy")
			fs.IntVar(&numPredict, "num-predict", 256, "tokens to generate at most")
			fs.Int64Var(&seed, "seed", -1, "sampling seed; -1 picks one")
			fs.IntVar(&threads, "threads", runtime.NumCPU(), "cores to use, at most 4 per core (the default is all of this machine's)")
			cacheTypeVar(fs, &cache, "")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 1 {
				return usagef("give the prompt as one argument (quote it)")
			}
			if summarize != "" && len(args) > 0 {
				return usagef("--summarize and a prompt are exclusive")
			}
			if summarize == "" && len(args) == 0 {
				return usagef("no prompt (give one, - for stdin, or --summarize FILE)")
			}
			if err := checkThreads("--threads", threads); err != nil {
				return err
			}
			if threads != kernels.Threads() {
				kernels.SetThreads(threads)
			}
			m, err := openModel(modelPath, sha)
			if err != nil {
				return err
			}
			m.Cache = cache
			out := func(b []byte) error { _, err := os.Stdout.Write(b); return err }
			var res model.Result
			if summarize != "" {
				data, err := readArg(ctx, summarize)
				if err != nil {
					return err
				}
				conv, format, err := conversation.Parse(data)
				if err != nil {
					return err
				}
				msgs := make([]model.Message, len(conv))
				for i, c := range conv {
					msgs[i] = model.Message{From: c.From, Text: c.Text}
				}
				fmt.Fprintf(os.Stderr, "pith: summarising %d messages (%s) with %s\n", len(msgs), format, m.Config.Arch)
				res, err = m.Summarize(ctx, msgs, maxWords, model.HeapAllocator{}, out)
				if err != nil {
					return err
				}
			} else {
				prompt, err := readPrompt(args[0])
				if err != nil {
					return err
				}
				if m.Chat == nil {
					return fmt.Errorf("model's chat template: %w", m.ChatErr)
				}
				var msgs []chat.Message
				if system != "" {
					msgs = append(msgs, chat.Message{Role: "system", Content: system})
				}
				text, err := m.Chat.Render(append(msgs, chat.Message{Role: "user", Content: prompt}), true)
				if err != nil {
					return err
				}
				ids := m.Tokenizer.Encode(text, true, true)
				opts := model.DefaultOptions()
				opts.Temperature, opts.NumPredict, opts.Seed = float32(temp), numPredict, seed
				opts.NumCtx = min(m.Config.ContextLen, len(ids)+numPredict+1)
				res, err = m.Generate(ctx, ids, opts, model.HeapAllocator{}, randomSeed(), out)
				if err != nil {
					return err
				}
			}
			fmt.Println()
			if verbose {
				printTimings(os.Stderr, res)
			}
			return nil
		},
	})
}

func printTimings(w io.Writer, r model.Result) {
	rate := func(n int, d float64) string {
		if d <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f tokens/s", float64(n)/d)
	}
	fmt.Fprintf(w, "prompt:     %d tokens in %.2fs (%s)\n", r.PromptTokens, r.PromptTime.Seconds(), rate(r.PromptTokens, r.PromptTime.Seconds()))
	fmt.Fprintf(w, "generation: %d tokens in %.2fs (%s)\n", r.GeneratedTokens, r.GenerateTime.Seconds(), rate(r.GeneratedTokens, r.GenerateTime.Seconds()))
	fmt.Fprintf(w, "stopped:    %s %s\n", r.Reason, strings.TrimSpace(r.StopDetail))
	fmt.Fprintf(w, "kernels:    %s, %d threads\n", kernels.Path(), kernels.Threads())
}

// readArg reads the file name, or standard input for "-". Reading
// standard input it gives up when ctx ends (Ctrl-C) rather than report
// what it read so far, usually nothing, as the input; and when that is a
// terminal it says so on stderr, so that a user who forgot the file
// argument is not left facing a silent wait.
func readArg(ctx context.Context, name string) ([]byte, error) {
	if name != "-" {
		return os.ReadFile(name)
	}
	if isTerminal(os.Stdin) {
		fmt.Fprintln(os.Stderr, "pith: reading the conversation from standard input; end with Ctrl-D")
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() { // left blocked in its read if ctx ends; the command is ending too
		data, err := io.ReadAll(io.LimitReader(os.Stdin, conversation.MaxInput+1))
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		if ctx.Err() != nil { // a signal can end the read early, as an empty one
			return nil, fmt.Errorf("interrupted while reading standard input: %w", ctx.Err())
		}
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted while reading standard input: %w", ctx.Err())
	}
}

func readPrompt(arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	return string(b), err
}
