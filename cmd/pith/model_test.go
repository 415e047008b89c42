package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every model sub-command explains itself with an example, and 'pith model
// --help' lists them all.
func TestModelSubcommandHelp(t *testing.T) {
	var all bytes.Buffer
	runMain([]string{"model", "--help"}, &all, &bytes.Buffer{})
	for _, name := range modelOrder {
		if !strings.Contains(all.String(), "pith model "+name) {
			t.Errorf("'pith model --help' does not list %s", name)
		}
		if !strings.Contains(modelSubs[name].help, "Example:\n  pith model "+name) {
			t.Errorf("pith model %s --help has no example", name)
		}
	}
	var out, errb bytes.Buffer
	if code := runMain([]string{"model", "import"}, &out, &errb); code != 2 {
		t.Errorf("'pith model import' without a name: exit %d", code)
	}
	if code := runMain([]string{"model", "frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown model command") {
		t.Errorf("unknown sub-command: exit %d, %q", code, errb.String())
	}
}

// detokenize --json prints the text and each id's piece, as its help says,
// and the pieces are the ones tokenize --json gives for the same text.
func TestDetokenizeJSON(t *testing.T) {
	path := tinyBenchModel(t)
	code, out, errs := runPith(t, "model", "tokenize", "--model", path, "--json", "Hello world")
	if code != 0 {
		t.Fatalf("tokenize --json: exit %d: %s", code, errs)
	}
	var toks []tokPiece
	if err := json.Unmarshal([]byte(out), &toks); err != nil || len(toks) == 0 {
		t.Fatalf("tokenize --json: %q: %v", out, err)
	}
	args := []string{"model", "detokenize", "--model", path, "--json"}
	for _, tk := range toks {
		args = append(args, strconv.Itoa(int(tk.ID)))
	}
	code, out, errs = runPith(t, args...)
	if code != 0 {
		t.Fatalf("detokenize --json: exit %d: %s", code, errs)
	}
	var got struct {
		Text   string     `json:"text"`
		Tokens []tokPiece `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("detokenize --json printed no JSON: %q: %v", out, err)
	}
	if got.Text != "Hello world" || !slices.Equal(got.Tokens, toks) {
		t.Errorf("detokenize --json: %+v, want text %q and tokens %+v", got, "Hello world", toks)
	}
}

// model synth stopped by Ctrl-C (its context done) fails, says so, and
// leaves neither the file nor its .tmp.
func TestModelSynthInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.gguf")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := modelSynth(ctx, []string{"--shape", "tiny-qwen2", "--builtin-vocab", "-o", out})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("synth with a cancelled context: %v, want an interruption error", err)
	}
	for _, p := range []string{out, out + ".tmp"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after the interrupted synth: %v", p, err)
		}
	}
}

// A missing model gets the 'pith model synth' hint only when it is the
// demo model (no --model, no $PITH_MODEL), and the hinted command works:
// synth makes the demo path's folder in the cache.
func TestMissingModelHint(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PITH_MODEL", "")
	demo := demoModelPath()
	tests := []struct {
		path     string
		wantHint bool
	}{
		{"", true},
		{demo, true},
		{filepath.Join(t.TempDir(), "typo.gguf"), false},
	}
	for _, tt := range tests {
		_, err := openModelMapped(tt.path)
		if err == nil {
			t.Fatalf("openModelMapped(%q): no error", tt.path)
		}
		hint := "pith model synth -o " + demo
		if got := strings.Contains(err.Error(), hint); got != tt.wantHint {
			t.Errorf("openModelMapped(%q): %q; hint %q shown %v, want %v", tt.path, err, hint, got, tt.wantHint)
		}
	}
	code, _, errs := runPith(t, "model", "synth", "--shape", "tiny-qwen2", "--builtin-vocab", "-o", demo)
	if code != 0 {
		t.Fatalf("the hinted synth -o %s: exit %d: %s", demo, code, errs)
	}
	if _, err := openModelMapped(""); err != nil {
		t.Errorf("the demo model synth wrote does not open: %v", err)
	}
}
