package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/model"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"no-such-command"}, 2, `unknown command "no-such-command" (commands: bench, image, model, `},
		{[]string{"help", "nosuch"}, 2, `unknown command "nosuch" (commands: bench, image, model, `},
		{[]string{"--help", "nosuch"}, 2, `unknown command "nosuch"`},
		{[]string{"help", "verify"}, 0, ""},
		{[]string{"version", "extra"}, 2, "takes no arguments"},
		{[]string{"version", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"model", "inspect", "--no-such-flag"}, 2, "(see 'pith model inspect --help')"},
		{[]string{"model", "detokenize", "--no-such-flag"}, 2, "(see 'pith model detokenize --help')"},
		{[]string{"bench", "model", "--model", "x.gguf", "--cache-type", "f32", "--compare", "llama.cpp"}, 2, "cannot be compared"},
		{[]string{"bench", "model", "--model", "x.gguf", "--cache-type", "q3"}, 2, "want f16 or f32"},
		{[]string{"run", "--cache-type", "q3", "hi"}, 2, "want f16 or f32"},
		{[]string{"run", "--threads", "-1", "hi"}, 2, "--threads -1: give at least 1 thread"},
		{[]string{"run", "--threads", "0", "hi"}, 2, "--threads 0: give at least 1 thread"},
		{[]string{"run", "--threads", "100000", "hi"}, 2, "--threads 100000: at most"},
		{[]string{"serve", "--threads", "-4"}, 2, "--threads -4: give at least 1 thread"},
		{[]string{"serve", "--threads", "100000"}, 2, "--threads 100000: at most"},
		{[]string{"bench", "kernels", "-t", "1,100000"}, 2, "-t 100000: at most"},
		{[]string{"bench", "model", "--model", "x.gguf", "-t", "100000"}, 2, "-t 100000: at most"},
		{[]string{"bench", "serve", "--model", "x.gguf", "-t", "-2"}, 2, "-t -2: give at least 1 thread"},
		{[]string{"bench", "serve", "--model", "x.gguf", "-t", "100000"}, 2, "-t 100000: at most"},
		{[]string{"relay"}, 2, "--gateway is required"},
		{[]string{"relay", "--gateway", "ftp://enclave.example"}, 2, "http or https URL"},
		{[]string{"relay", "--gateway", "http://enclave.example", "--max-body", "0"}, 2, "--max-body: want at least 1 byte"},
		{[]string{"relay", "--gateway", "http://enclave.example", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"relay", "--gateway", "http://enclave.example", "--tls-cert", "c.pem"}, 2, "--tls-cert and --tls-key go together"},
		{[]string{"relay", "--gateway", "http://enclave.example", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, 2, "--tls-cert /nonexistent/c.pem, --tls-key /nonexistent/k.pem: open"},
		{[]string{"serve", "--concurrent", "0"}, 2, "--concurrent 0: give at least 1"},
		{[]string{"serve", "--concurrent", "8", "--queue", "4"}, 2, "--queue 4 is below --concurrent 8"},
		{[]string{"serve", "--max-context", "0"}, 2, "--max-context 0: give at least 1 token"},
		{[]string{"serve", "--max-context", "-5"}, 2, "--max-context -5"},
		{[]string{"serve", "--max-conns", "3"}, 2, "--max-conns 3 is below --queue"},
		{[]string{"serve", "--max-conns", "-1"}, 2, "--max-conns -1 is below --queue"},
		{[]string{"serve", "--timeout", "-1s"}, 2, "--timeout -1s: give a positive duration"},
		{[]string{"serve", "--timeout", "0"}, 2, "--timeout 0s: give a positive duration"},
		{[]string{"serve", "--rotate-keys", "-1h"}, 2, "--rotate-keys -1h0m0s: give a positive duration"},
		{[]string{"bench", "kernels", "--plot", "k.svg"}, 2, "flag provided but not defined: -plot"},
		// The firmware floor is checked before the manifest is read or an
		// enclave asked.
		{[]string{"summarize", "--url", "http://127.0.0.1:1", "--manifest", "/nonexistent/m.json", "--min-snp-tcb", "fmc=1", "c.txt"}, 2, `--min-snp-tcb: "fmc=1" is not one of`},
		{[]string{"proxy", "--url", "http://127.0.0.1:1", "--manifest", "/nonexistent/m.json", "--min-tdx-tcb", "xyz"}, 2, "--min-tdx-tcb: want 16 bytes as 32 hex digits"},
		{nil, 2, ""},
		{[]string{"help"}, 0, ""},
		{[]string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := runMain(tt.args, &out, &errb)
		if code != tt.code {
			t.Errorf("pith %v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, errb.String())
		}
		if tt.inStderr != "" && !strings.Contains(errb.String(), tt.inStderr) {
			t.Errorf("pith %v: stderr %q does not contain %q", tt.args, errb.String(), tt.inStderr)
		}
		if code == 2 && strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("pith %v: usage error is not one line: %q", tt.args, errb.String())
		}
		if n := strings.Count(errb.String(), "(see '"); code == 2 && n > 1 {
			t.Errorf("pith %v: usage error points to %d helps: %q", tt.args, n, errb.String())
		}
	}
}

// Every registered command must explain itself with an example.
func TestEveryCommandHasHelpWithExample(t *testing.T) {
	for name := range commands {
		var out, errb bytes.Buffer
		if code := runMain([]string{name, "--help"}, &out, &errb); code != 0 {
			t.Errorf("pith %s --help: exit %d", name, code)
		}
		if !strings.Contains(out.String(), "Example") {
			t.Errorf("pith %s --help has no example:\n%s", name, out.String())
		}
	}
}

// Every COMMAND of a group explains itself, and lists its flags with the
// same help text the command itself defines.
func TestSubcommandHelpListsFlags(t *testing.T) {
	groups := []struct {
		name  string
		order []string
		subs  map[string]*subcommand
	}{{"bench", benchOrder, benchSubs}, {"model", modelOrder, modelSubs}}
	wantFlags := map[string][]string{
		"bench kernels":  {"-paths", "-types"},
		"bench model":    {"-cache-type", "-compare", "-request"},
		"bench serve":    {"-nowipe-binary"},
		"bench show":     {"-markdown"},
		"model synth":    {"-shape", "-type"},
		"model tokenize": {"-json"},
	}
	for _, g := range groups {
		for _, name := range g.order {
			out := captureStdout(t, func() {
				help := "--help"
				if name == "model" {
					help = "--help=1" // the flag package's spelling, answered the same
				}
				if err := runSubcommand(t.Context(), g.name, g.order, g.subs, []string{name, help}); err != nil {
					t.Errorf("pith %s %s --help: %v", g.name, name, err)
				}
			})
			if !strings.HasPrefix(out, "Usage: ") || !strings.Contains(out, "Example") {
				t.Errorf("pith %s %s --help has no usage or no example:\n%s", g.name, name, out)
			}
			for _, f := range wantFlags[g.name+" "+name] {
				if !strings.Contains(out, "\nFlags:\n") || !(strings.Contains(out, "  "+f+" ") || strings.Contains(out, "  "+f+"\n")) {
					t.Errorf("pith %s %s --help does not list %s:\n%s", g.name, name, f, out)
				}
			}
		}
	}
}

// --cache-type sets the model's cache type, by its llama.cpp name.
func TestCacheTypeFlag(t *testing.T) {
	var c model.CacheType
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cacheTypeVar(fs, &c, "")
	if err := fs.Parse([]string{"--cache-type", "f32"}); err != nil || c != model.CacheF32 {
		t.Errorf("--cache-type f32: %v, %v", c, err)
	}
	if err := fs.Parse([]string{"--cache-type", "f16"}); err != nil || c != model.CacheF16 {
		t.Errorf("--cache-type f16: %v, %v", c, err)
	}
	if err := fs.Parse([]string{"--cache-type", "q8_0"}); err == nil {
		t.Error("--cache-type q8_0 accepted")
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	return <-done
}

// withOpenStdin runs f with os.Stdin a pipe that is never written nor
// closed, as a forgotten stdin is: anything that reads it waits forever.
func withOpenStdin(t *testing.T, f func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	f()
}

// A summarize call without its required flags says so at once, without
// first waiting for a conversation on stdin.
func TestSummarizeChecksFlagsBeforeStdin(t *testing.T) {
	tests := []struct {
		args     []string
		inStderr string
	}{
		{[]string{"summarize"}, "--url is required"},
		{[]string{"summarize", "-"}, "--url is required"},
		{[]string{"summarize", "--url", "http://127.0.0.1:1"}, "--manifest is required"},
	}
	for _, tt := range tests {
		withOpenStdin(t, func() {
			done := make(chan struct{})
			var code int
			var errb bytes.Buffer
			go func() { code = runMain(tt.args, io.Discard, &errb); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("pith %v: still waiting after 5s (reading stdin?)", tt.args)
			}
			if code != 2 || !strings.Contains(errb.String(), tt.inStderr) {
				t.Errorf("pith %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errb.String(), tt.inStderr)
			}
		})
	}
}

// A read of stdin cut short by Ctrl-C reports the interruption, not the
// empty input a cancelled read would otherwise look like.
func TestReadStdinInterrupted(t *testing.T) {
	withOpenStdin(t, func() {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		data, err := readArg(ctx, "-")
		if err == nil || !strings.Contains(err.Error(), "interrupted") || !errors.Is(err, context.Canceled) {
			t.Errorf("interrupted read: %q, %v; want an interruption error", data, err)
		}
	})
}

// A directory or an empty file given where a model or a manifest belongs
// is a usage error that says which, not the reader's puzzle ("mmap: no
// such device", "bad magic", "EOF").
func TestInputFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := dir + "/empty.gguf"
	emptyJSON := dir + "/empty.json"
	for _, p := range []string{empty, emptyJSON} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	isDir := func(flag string) string { return flag + " " + dir + ": is a directory, not " }
	isEmpty := func(flag, p string) string { return flag + " " + p + ": file is empty" }
	tests := []struct {
		env      string // $PITH_MODEL
		args     []string
		inStderr string
	}{
		{"", []string{"run", "--model", dir, "hi"}, isDir("--model")},
		{"", []string{"run", "--model", empty, "hi"}, isEmpty("--model", empty)},
		{dir, []string{"run", "hi"}, isDir("$PITH_MODEL")},
		{"", []string{"serve", "--model", dir}, isDir("--model")},
		{"", []string{"serve", "--model", empty}, isEmpty("--model", empty)},
		{dir, []string{"serve"}, isDir("$PITH_MODEL")},
		{"", []string{"model", "tokenize", "--model", dir, "x"}, isDir("--model")},
		{"", []string{"model", "detokenize", "--model", empty, "1"}, isEmpty("--model", empty)},
		{"", []string{"model", "inspect", dir}, dir + ": is a directory, not a GGUF file"},
		{"", []string{"model", "inspect", empty}, empty + ": file is empty"},
		{"", []string{"bench", "model", "--model", dir}, isDir("--model")},
		{"", []string{"bench", "model", "--model", empty}, isEmpty("--model", empty)},
		{"", []string{"bench", "serve", "--model", dir}, isDir("--model")},
		{"", []string{"bench", "serve", "--url", "http://127.0.0.1:1", "--manifest", dir}, isDir("--manifest")},
		{"", []string{"image", "build", "--model", dir, "--out", dir + "/out"}, isDir("--model")},
		{"", []string{"image", "measure", "--model", empty, dir}, isEmpty("--model", empty)},
		{"", []string{"verify", "--manifest", dir, "--skip-binding", empty}, isDir("--manifest")},
		{"", []string{"verify", "--manifest", emptyJSON, "--skip-binding", empty}, isEmpty("--manifest", emptyJSON)},
		{"", []string{"summarize", "--url", "http://127.0.0.1:1", "--manifest", dir, empty}, isDir("--manifest")},
		{"", []string{"summarize", "--url", "http://127.0.0.1:1", "--manifest", emptyJSON, empty}, isEmpty("--manifest", emptyJSON)},
		{"", []string{"proxy", "--url", "http://127.0.0.1:1", "--manifest", emptyJSON}, isEmpty("--manifest", emptyJSON)},
		{"", []string{"serve", "--model", "/no/such/model.gguf", "--manifest", emptyJSON}, isEmpty("--manifest", emptyJSON)},
	}
	for _, tt := range tests {
		t.Setenv("PITH_MODEL", tt.env)
		var errb bytes.Buffer
		code := runMain(tt.args, io.Discard, &errb)
		if code != 2 || !strings.Contains(errb.String(), tt.inStderr) || strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
			t.Errorf("pith %v: exit %d, stderr %q; want 2 and one line with %q", tt.args, code, errb.String(), tt.inStderr)
		}
	}
	// The DOCUMENT argument of verify, after a good manifest.
	man := dir + "/manifest.json"
	mb, _ := json.Marshal(attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: strings.Repeat("ab", 48)}})
	if err := os.WriteFile(man, mb, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{dir, empty} {
		code, _, errText := runVerifyCmd(t, "--manifest", man, "--skip-binding", doc)
		if code != 2 || !strings.Contains(errText, doc+": ") || !strings.Contains(errText, "not an attestation document") {
			t.Errorf("pith verify %s: exit %d, stderr %q; want 2 and the document refused by name", doc, code, errText)
		}
	}
}
