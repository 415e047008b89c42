package model_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"unicode/utf8"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/model/synth"
)

// builtinModel is a tiny synthetic model with the built-in test vocabulary:
// no oracle needed.
func builtinModel(t *testing.T) *model.Model {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: "tiny-llama3", Type: "q8_0", Seed: 11, Builtin: true}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func greedy(numPredict, numCtx int, stop ...string) model.Options {
	o := model.DefaultOptions()
	o.Temperature, o.RepeatPenalty, o.NumPredict, o.NumCtx, o.Stop = 0, 1, numPredict, numCtx, stop
	return o
}

// llamaComplete is llama-server's greedy /completion with stop strings: the
// text it returns and whether a stop string ended it.
func llamaComplete(t *testing.T, srv *oracle.LlamaServer, prompt []int32, n int, stop []string) (string, bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"prompt": toInts(prompt), "n_predict": n, "temperature": 0, "top_k": 1,
		"repeat_penalty": 1, "cache_prompt": false, "ignore_eos": true, "stop": stop})
	r, err := http.Post(srv.URL+"/completion", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var resp struct {
		Content  string `json:"content"`
		StopType string `json:"stop_type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	return resp.Content, resp.StopType == "word"
}

// Generation ends at a stop string exactly where llama-server ends it, with
// the same text before it and none of the stop string shown, whichever part
// of the continuation the stop string is taken from.
func TestStopStringsMatchLlamaCpp(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	path, m := synthFile(t, t.TempDir(), "tiny-llama3", "q4_0")
	srv := oracle.StartLlamaServerT(t, path, "--flash-attn", "off")
	prompt := m.Tokenizer.Encode("Alice: are we still meeting tomorrow at 10?\nBob: yes, in the small room.", true, false)
	full, _ := llamaComplete(t, srv, prompt, 24, nil)
	if utf8.RuneCountInString(full) < 20 {
		t.Fatalf("llama.cpp's continuation is too short to cut: %q", full)
	}
	runes := []rune(full)
	for _, cut := range []struct{ at, n int }{{1, 2}, {len(runes) / 3, 3}, {len(runes) / 2, 1}, {len(runes) - 4, 4}} {
		stop := string(runes[cut.at : cut.at+cut.n])
		want, stopped := llamaComplete(t, srv, prompt, 24, []string{stop})
		if !stopped {
			t.Fatalf("llama.cpp did not stop at %q (a part of its own continuation %q)", stop, full)
		}
		var got bytes.Buffer
		res, err := m.Generate(context.Background(), prompt, greedy(24, 256, stop), model.HeapAllocator{}, 1, func(b []byte) error {
			got.Write(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want || res.Reason != model.DoneStop || res.StopDetail != stop {
			t.Errorf("stop %q: pith %q (%s, %q), llama.cpp %q", stop, got.String(), res.Reason, res.StopDetail, want)
		}
	}
}

// A prompt that leaves no room is refused with a ContextFullError (pith does
// not truncate prompts or shift the context as ollama does: a summary of
// half a conversation would be wrong without saying so); generation that
// fills the context ends with DoneLength after the last token that fits.
func TestContextLimit(t *testing.T) {
	m := builtinModel(t)
	prompt := m.Tokenizer.Encode("the meeting is at three tomorrow in the small room", true, false)
	for _, numCtx := range []int{1, len(prompt) - 1, len(prompt)} {
		_, err := m.Generate(context.Background(), prompt, greedy(-1, numCtx), model.HeapAllocator{}, 1, func([]byte) error { return nil })
		var full *model.ContextFullError
		if !errors.As(err, &full) || full.Context != numCtx {
			t.Errorf("num_ctx %d with a %d-token prompt: error %v, want a ContextFullError", numCtx, len(prompt), err)
		}
	}
	for _, room := range []int{1, 2, 7} {
		numCtx := len(prompt) + room
		res, err := m.Generate(context.Background(), prompt, greedy(-1, numCtx), model.HeapAllocator{}, 1, func([]byte) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		// The last token is sampled from the logits of the last position
		// and never needs a position of its own.
		if res.Reason != model.DoneLength || res.GeneratedTokens != room+1 {
			t.Errorf("num_ctx %d: %s after %d tokens, want %s after %d", numCtx, res.Reason, res.GeneratedTokens, model.DoneLength, room+1)
		}
	}
	st := m.NewState(model.HeapAllocator{}, 4, 4)
	if _, err := st.Forward(prompt[:5]); !errors.As(err, new(*model.ContextFullError)) {
		t.Errorf("State.Forward past its context: %v", err)
	}
}

// Cancelling stops generation at once with the context's error, before the
// prefill when it is already cancelled and between tokens otherwise, and the
// arena it ran in holds nothing afterwards.
func TestCancel(t *testing.T) {
	m := builtinModel(t)
	prompt := m.Tokenizer.Encode("the meeting is at three tomorrow", true, false)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := m.NewState(model.HeapAllocator{}, 64, 8)
	if _, err := st.ForwardContext(ctx, prompt); !errors.Is(err, context.Canceled) || st.Pos() != 0 {
		t.Errorf("prefill with a cancelled context: %v, %d positions filled", err, st.Pos())
	}

	for _, after := range []int{0, 1, 3} {
		a, err := arena.New(32<<20, arena.Options{AllowUnlocked: true})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctx, cancel := context.WithCancel(context.Background())
		emitted := 0
		var res model.Result
		err = a.Do(func(a *arena.Arena) error {
			if after == 0 {
				cancel()
			}
			var err error
			res, err = m.Generate(ctx, prompt, greedy(-1, 256), a, 1, func([]byte) error {
				if emitted++; emitted == after {
					cancel()
				}
				return nil
			})
			return err
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancel after %d pieces: error %v", after, err)
		}
		if after > 0 && res.GeneratedTokens > after+1 {
			t.Errorf("cancel after %d pieces: %d tokens generated", after, res.GeneratedTokens)
		}
		for i, c := range a.Bytes(a.Size() - 64) {
			if c != 0 {
				t.Fatalf("cancel after %d pieces: byte %d of the arena is %#x after the wipe", after, i, c)
			}
		}
	}
}
