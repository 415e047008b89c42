package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/synth"
)

// The test binary doubles as pith's worker: RunModel starts it with the
// request in the environment, as `pith bench model --worker` would run.
const workerEnv = "PITH_BENCH_TEST_WORKER"

func TestMain(m *testing.M) {
	if req := os.Getenv(workerEnv); req != "" {
		var r WorkerRequest
		if err := json.Unmarshal([]byte(req), &r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := RunWorker(context.Background(), r, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testWorker runs this test binary as the worker for the flags RunModel
// passes (parsed back through WorkerRequest.Args' format).
func testWorker(ctx context.Context, args []string) *exec.Cmd {
	var r WorkerRequest
	for i := 0; i+1 < len(args); i += 2 {
		v := args[i+1]
		switch args[i] {
		case "--model":
			r.Model = v
		case "-p":
			r.Prompts, _ = ParseInts(v)
		case "-n":
			r.Gens, _ = ParseInts(v)
		case "-t":
			fmt.Sscan(v, &r.Threads)
		case "--request":
			fmt.Sscan(v, &r.Request)
		case "--cache-type":
			if err := r.Cache.Set(v); err != nil {
				panic(err)
			}
		}
	}
	b, _ := json.Marshal(r)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+string(b))
	return cmd
}

// tinyModel writes a tiny synthetic model (real qwen2 architecture, small
// dimensions, built-in vocabulary) once per test binary.
var tinyModel = func() func(t *testing.T) string {
	var path string
	return func(t *testing.T) string {
		t.Helper()
		if path != "" {
			return path
		}
		dir, err := os.MkdirTemp("", "pith-bench-test")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "tiny-qwen2-q4_0.gguf")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := synth.Generate(f, synth.Options{Shape: "tiny-qwen2", Type: "q4_0", Seed: 3, Builtin: true}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		path = p
		return p
	}
}()

func TestRunWorker(t *testing.T) {
	m := tinyModel(t)
	var out bytes.Buffer
	// 520 tokens exceed the 512-token micro-batch, so the prompt goes in two pieces.
	if err := RunWorker(context.Background(), WorkerRequest{Model: m, Prompts: []int{8, 520}, Gens: []int{4}, Threads: 1}, &out); err != nil {
		t.Fatal(err)
	}
	var res WorkerResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range res.Figures {
		if f.Model != filepath.Base(m) || f.Threads != 1 || len(f.Samples) != 1 || f.Samples[0] <= 0 {
			t.Errorf("figure %+v", f)
		}
		got[f.Test+" "+f.Unit] = f.Samples[0]
	}
	for _, k := range []string{"pp8 tok/s", "pp520 tok/s", "ttft-pp8 ms", "ttft-pp520 ms", "tg4 tok/s"} {
		if got[k] <= 0 {
			t.Errorf("no %s in %v", k, got)
		}
	}
	// Time to first token covers the whole prompt: at least its tokens
	// divided by the prompt speed.
	if ttft, min := got["ttft-pp520 ms"], 520/got["pp520 tok/s"]*1000; ttft < min*0.999 {
		t.Errorf("TTFT %v ms shorter than the prompt's %v ms", ttft, min)
	}
}

func TestRunWorkerErrors(t *testing.T) {
	m := tinyModel(t)
	for _, c := range []struct {
		name string
		req  WorkerRequest
		want string
	}{
		{"missing file", WorkerRequest{Model: filepath.Join(t.TempDir(), "none.gguf"), Prompts: []int{1}, Threads: 1}, "bench: model"},
		{"not a model", WorkerRequest{Model: "model_test.go", Prompts: []int{1}, Threads: 1}, "bench: model"},
		{"prompt beyond context", WorkerRequest{Model: m, Prompts: []int{5000}, Threads: 1}, "exceeds the model's context"},
		{"no threads", WorkerRequest{Model: m, Prompts: []int{1}}, "threads"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := RunWorker(context.Background(), c.req, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestRunModel(t *testing.T) {
	m := tinyModel(t)
	r := NewReport(Env{})
	// A parent far larger than its workers: a worker's peak memory must be
	// its own, not the parent's (which ru_maxrss would report after exec).
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	defer runtime.KeepAlive(ballast)
	var lines []string
	err := RunModel(context.Background(), r, ModelOptions{Model: m, Prompts: []int{16}, Gens: []int{4}, Threads: []int{1, 2}, Reps: 2,
		PithCommand: testWorker, Progress: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range []int{1, 2} {
		for _, c := range []struct{ test, unit string }{{"pp16", UnitTokPerSec}, {"tg4", UnitTokPerSec}, {"ttft-pp16", UnitMillis}, {"peak-rss", UnitMiB}} {
			f := r.Find(Key{SuiteModel, SystemPith, filepath.Base(m), c.test, th, "", c.unit})
			if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
				t.Errorf("%s t%d: %+v", c.test, th, f)
			}
		}
	}
	// A worker maps the 24 MB model and runs a Go runtime: its peak RSS is
	// at least a few MiB and well below the parent's 256 MiB ballast.
	if f := r.Find(Key{SuiteModel, SystemPith, filepath.Base(m), "peak-rss", 1, "", UnitMiB}); f != nil && (f.Min < 5 || f.Max > 200) {
		t.Errorf("peak RSS %v MiB", f.Samples)
	}
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "[1/4] ") {
		t.Errorf("progress %q", lines)
	}
	if err := RunModel(context.Background(), r, ModelOptions{Model: m, PithCommand: testWorker}); err == nil {
		t.Error("nothing to measure, accepted")
	}
	if err := RunModel(context.Background(), r, ModelOptions{Model: m, Prompts: []int{0}, PithCommand: testWorker}); err == nil {
		t.Error("prompt of 0 tokens accepted")
	}
}

// A request worker reports its peak memory and the budget of the model
// file + KV cache + 64 MiB, in a process of its own.
func TestRunModelRequest(t *testing.T) {
	m := tinyModel(t)
	st, err := os.Stat(m)
	if err != nil {
		t.Fatal(err)
	}
	r := NewReport(Env{})
	if err := RunModel(context.Background(), r, ModelOptions{Model: m, Gens: []int{2}, Threads: []int{1}, Reps: 1, Request: 256, PithCommand: testWorker}); err != nil {
		t.Fatal(err)
	}
	rss := r.Find(Key{SuiteModel, SystemPith, filepath.Base(m), "req256-peak-rss", 1, "", UnitMiB})
	budget := r.Find(Key{SuiteModel, SystemPith, filepath.Base(m), "req256-budget", 1, "", UnitMiB})
	if rss == nil || budget == nil {
		t.Fatalf("no request figures: %+v %+v", rss, budget)
	}
	// The model is read into memory, so the peak holds the whole file.
	if file := float64(st.Size()) / (1 << 20); rss.Min < file || budget.Min < file+64 || budget.Min > file+80 {
		t.Errorf("file %.1f MiB, peak %v MiB, budget %v MiB", file, rss.Samples, budget.Samples)
	}
	// A float32 cache doubles the budget's KV cache.
	r32 := NewReport(Env{})
	if err := RunModel(context.Background(), r32, ModelOptions{Model: m, Gens: []int{2}, Threads: []int{1}, Reps: 1, Request: 256, Cache: model.CacheF32, PithCommand: testWorker}); err != nil {
		t.Fatal(err)
	}
	budget32 := r32.Find(Key{SuiteModel, SystemPith, filepath.Base(m), "req256-budget", 1, "", UnitMiB})
	if kv := budget.Min - float64(st.Size())/(1<<20) - 64; budget32 == nil || math.Abs(budget32.Min-(budget.Min+kv)) > 1e-6 {
		t.Errorf("budget %v MiB with an F16 cache of %.3f MiB, %+v with an F32 cache", budget.Samples, kv, budget32)
	}
	if err := RunModel(context.Background(), r, ModelOptions{Model: m, Gens: []int{2}, Threads: []int{1}, Reps: 1, Request: 1 << 30, PithCommand: testWorker}); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("a request beyond the model's context: %v", err)
	}
}

func llamaOracle() *LlamaBench {
	return &LlamaBench{
		Command: func(ctx context.Context, args ...string) *exec.Cmd {
			return oracle.LlamaCommand(ctx, "llama-bench", args...)
		},
		Stage: oracle.Stage,
	}
}

// TestRunModelCompareLlama runs llama-bench from the oracle root on the
// same file, interleaved: both systems' figures, paired by test and thread.
func TestRunModelCompareLlama(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	m := tinyModel(t)
	r := NewReport(Env{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var order []string
	err := RunModel(ctx, r, ModelOptions{Model: m, Prompts: []int{16}, Gens: []int{4}, Threads: []int{1}, Reps: 2,
		PithCommand: testWorker, Llama: llamaOracle(),
		Progress: func(f string, a ...any) { order = append(order, strings.Fields(fmt.Sprintf(f, a...))[2]) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, sys := range []string{SystemPith, SystemLlama} {
		for _, c := range []struct{ test, unit string }{{"pp16", UnitTokPerSec}, {"tg4", UnitTokPerSec}, {"peak-rss", UnitMiB}} {
			f := r.Find(Key{SuiteModel, sys, filepath.Base(m), c.test, 1, "", c.unit})
			if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
				t.Errorf("%s %s: %+v", sys, c.test, f)
			}
		}
		t.Logf("%s peak RSS %v MiB", sys, r.Find(Key{SuiteModel, sys, filepath.Base(m), "peak-rss", 1, "", UnitMiB}).Samples)
	}
	// Interleaved, alternating who goes first.
	if want := []string{"pith", "llama.cpp", "llama.cpp", "pith"}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", order, want)
	}
	if !strings.Contains(r.Env.Llama, "llama-bench build") {
		t.Errorf("llama.cpp build not recorded: %q", r.Env.Llama)
	}
	// llama-bench has no float32 cache (llama-server has): refused
	// before anything runs, rather than compared with an F16 one.
	if err := RunModel(ctx, NewReport(Env{}), ModelOptions{Model: m, Gens: []int{4}, Threads: []int{1}, Reps: 1, Cache: model.CacheF32, PithCommand: testWorker, Llama: llamaOracle()}); err == nil || !strings.Contains(err.Error(), "no f32 KV cache") {
		t.Errorf("an F32 cache compared with llama-bench: %v", err)
	}
}

// TestDescribeModelAgainstLlama: the bytes a decode step reads, for a model
// with tied embeddings, are every tensor's bytes, which llama-bench
// reports as model_size.
func TestDescribeModelAgainstLlama(t *testing.T) {
	m := tinyModel(t)
	d, err := DescribeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if d.Arch != "qwen2" || d.Type != "Q4_0" || len(d.SHA256) != 64 || d.WeightBytes <= 0 || d.WeightBytes >= d.Size {
		t.Fatalf("description %+v", d)
	}
	if _, err := DescribeModel("model_test.go"); err == nil {
		t.Fatal("a Go file described as a model")
	}
	oracle.Require(t, oracle.Llama)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := oracle.Bench(ctx, m, "-p", "1", "-n", "0", "-r", "1", "-t", "1", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseLlamaBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].ModelSize != d.WeightBytes {
		t.Fatalf("weight bytes %d, llama-bench's model_size %d", d.WeightBytes, rows[0].ModelSize)
	}
	if !strings.HasSuffix(rows[0].ModelType, " "+d.Type) {
		t.Fatalf("type %q, llama-bench's model_type %q", d.Type, rows[0].ModelType)
	}
}

func TestParseInts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"", nil, ""},
		{"128", []int{128}, ""},
		{"128, 512", []int{128, 512}, ""},
		{"1,2,4,8", []int{1, 2, 4, 8}, ""},
		{"0", nil, "not a list of positive integers"},
		{"12,a", nil, "not a list of positive integers"},
		{"128,", nil, "not a list of positive integers"},
		{"1,1", nil, `"1,1" lists 1 twice`},
		{"128,512, 128", nil, "lists 128 twice"},
	} {
		got, err := ParseInts(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseInts(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseInts(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// The worker's prompts are token ids inside the vocabulary, whatever its
// size: a small one (a character-level model) must not divide by zero or
// give ids past its end.
func TestBenchTokensInVocabulary(t *testing.T) {
	for _, vocab := range []int{151936, 49152, 1000, 401, 399, 300, 100, 2, 1, 400} {
		ids := benchTokens(600, vocab)
		if len(ids) != 600 {
			t.Fatalf("vocab %d: %d ids", vocab, len(ids))
		}
		for i, id := range ids {
			if id < 0 || int(id) >= vocab {
				t.Fatalf("vocab %d: id %d at %d is outside it", vocab, id, i)
			}
			if vocab > 400 && (id < 100 || int(id) >= vocab-300) {
				t.Fatalf("vocab %d: id %d at %d is among the special tokens at its ends", vocab, id, i)
			}
		}
	}
}
