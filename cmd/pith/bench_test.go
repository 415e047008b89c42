package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pith-project/pith/bench"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels/probe"
	"github.com/pith-project/pith/model/synth"
)

// asPithEnv makes this test binary behave as pith itself, because `pith
// bench model` runs each measurement in a child started from
// os.Executable(), which in a test is the test binary.
const asPithEnv = "PITH_TEST_AS_PITH"

func TestMain(m *testing.M) {
	if os.Getenv(asPithEnv) == "1" {
		os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var (
	tinyOnce sync.Once
	tinyPath string
	tinyErr  error
)

// tinyBenchModel is a tiny synthetic qwen2 (built-in vocabulary), written
// once per test binary.
func tinyBenchModel(t *testing.T) string {
	t.Helper()
	tinyOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pith-bench-cmd")
		if err != nil {
			tinyErr = err
			return
		}
		tinyPath = filepath.Join(dir, "tiny.gguf")
		f, err := os.Create(tinyPath)
		if err != nil {
			tinyErr = err
			return
		}
		tinyErr = synth.Generate(f, synth.Options{Shape: "tiny-qwen2", Type: "q4_0", Seed: 5, Builtin: true})
		if err := f.Close(); tinyErr == nil {
			tinyErr = err
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyPath
}

// runPith runs pith in this process with os.Stdout captured (the commands
// write their tables there) and returns the exit code, stdout and stderr.
func runPith(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv(asPithEnv, "1") // for the worker children only; this process is past TestMain
	tmp, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	tmpErr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = tmp, tmpErr
	code := runMain(args, tmp, tmpErr)
	os.Stdout, os.Stderr = oldOut, oldErr
	read := func(f *os.File) string {
		f.Seek(0, io.SeekStart)
		b, _ := io.ReadAll(f)
		f.Close()
		return string(b)
	}
	return code, read(tmp), read(tmpErr)
}

func readReportFile(t *testing.T, path string) *bench.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := bench.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBenchModelRun(t *testing.T) {
	m := tinyBenchModel(t)
	dir := t.TempDir()
	js, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	code, out, errs := runPith(t, "bench", "model", "--model", m, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--json", js, "--plot", svg, "--markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"### Model tiny.gguf (Q4_0,", "| pp8 | 1 | tok/s |", "| tg4 | 1 | tok/s |", "| peak-rss | 1 | MiB |", "read-bandwidth"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "[1/1] tiny.gguf pith") {
		t.Errorf("no progress on stderr: %q", errs)
	}
	r := readReportFile(t, js)
	data, _ := os.ReadFile(m)
	sum := sha256.Sum256(data)
	if len(r.Env.Models) != 1 || r.Env.Models[0].SHA256 != hex.EncodeToString(sum[:]) || r.Env.Models[0].Size != int64(len(data)) {
		t.Fatalf("model %+v", r.Env.Models)
	}
	if r.Env.KernelPath == "" || r.Env.GoVersion == "" || r.Env.Commit == "" {
		t.Fatalf("env %+v", r.Env)
	}
	for _, test := range []string{"pp8", "tg4", "ttft-pp8", "peak-rss"} {
		found := false
		for _, f := range r.Figures {
			found = found || (f.System == bench.SystemPith && f.Test == test && len(f.Samples) == 1 && f.Samples[0] > 0)
		}
		if !found {
			t.Errorf("no pith %s figure", test)
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, new(struct{})); err != nil {
		t.Fatalf("SVG not well-formed: %v", err)
	}
	checkLlamaColumns(t, js, out)
}

// checkLlamaColumns checks, on a report of pith alone (js, printed as
// Markdown in md), that the tables leave the llama.cpp columns out, in
// Markdown and as text, and the JSON names no llama.cpp; and that the
// same report with llama.cpp's figures added shows them, filled.
func checkLlamaColumns(t *testing.T, js, md string) {
	t.Helper()
	const pithOnly = "| test | threads | unit | pith | pith weights GB/s (of best bandwidth) |"
	if !strings.Contains(md, pithOnly) || strings.Contains(md, "llama") {
		t.Errorf("markdown without --compare: want the header %q and no llama.cpp:\n%s", pithOnly, md)
	}
	code, text, errs := runPith(t, "bench", "show", js)
	if code != 0 || !strings.Contains(text, "Model tiny.gguf") || strings.Contains(text, "llama") {
		t.Errorf("text without --compare: exit %d %s; want no llama.cpp:\n%s", code, errs, text)
	}
	raw, _ := os.ReadFile(js)
	if strings.Contains(string(raw), "llama") {
		t.Errorf("JSON without --compare names llama.cpp:\n%s", raw)
	}
	// The same figures as llama-bench's, half as fast.
	r := readReportFile(t, js)
	for _, f := range slices.Clone(r.Figures) {
		if f.Suite == bench.SuiteModel && f.System == bench.SystemPith && f.Test == "pp8" {
			f.System, f.Samples, f.Paired = bench.SystemLlama, []float64{f.Median / 2}, nil
			r.Add(f)
		}
	}
	withLlama := filepath.Join(t.TempDir(), "llama.json")
	if err := writeFileWith(withLlama, r.WriteJSON); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"--markdown", ""} {
		args := []string{"bench", "show", withLlama}
		if format != "" {
			args = append(args, format)
		}
		code, out, errs := runPith(t, args...)
		if code != 0 || !strings.Contains(out, "pith / llama.cpp") || !strings.Contains(out, "2.00×") {
			t.Errorf("bench show %s with llama.cpp figures: exit %d %s; want the llama.cpp columns, filled:\n%s", format, code, errs, out)
		}
	}
}

func TestBenchModelCompareLlama(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	m := tinyBenchModel(t)
	dir := t.TempDir()
	js, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.svg")
	code, out, errs := runPith(t, "bench", "model", "--model", m, "-p", "16", "-n", "4", "-t", "1", "-r", "2", "--compare", "llama.cpp", "--json", js, "--plot", svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readReportFile(t, js)
	for _, sys := range []string{bench.SystemPith, bench.SystemLlama} {
		for _, test := range []string{"pp16", "tg4", "peak-rss"} {
			if f := r.Find(bench.Key{Suite: bench.SuiteModel, System: sys, Model: "tiny.gguf", Test: test, Threads: 1, Unit: unitOf(test)}); f == nil || len(f.Samples) != 2 {
				t.Errorf("%s %s: %+v", sys, test, f)
			}
		}
	}
	if !strings.Contains(out, "pith / llama.cpp") || !strings.Contains(out, "×") || !strings.Contains(out, "llama:  llama-bench build") {
		t.Errorf("table lacks the comparison:\n%s", out)
	}
	b, _ := os.ReadFile(svg)
	for _, want := range []string{`data-system="pith"`, `data-system="llama.cpp"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
}

func unitOf(test string) string {
	switch {
	case test == "peak-rss":
		return bench.UnitMiB
	case strings.HasPrefix(test, "ttft"):
		return bench.UnitMillis
	}
	return bench.UnitTokPerSec
}

func TestBenchKernels(t *testing.T) {
	js := filepath.Join(t.TempDir(), "k.json")
	code, out, errs := runPith(t, "bench", "kernels", "-r", "1", "-t", "1", "--types", "Q4_0", "--min-time", "1ms", "--json", js)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "decode Q4_0") || !strings.Contains(out, "prefill Q4_0") || !strings.Contains(out, "share of probe") {
		t.Fatalf("table:\n%s", out)
	}
	r := readReportFile(t, js)
	var probes, layers, kernels int
	avx2Prefill := false
	for _, f := range r.Figures {
		switch {
		case f.Suite == bench.SuiteProbe && f.Test == "layer-read Q4_0":
			layers++
		case f.Suite == bench.SuiteProbe:
			probes++
		case f.Suite == bench.SuiteKernels:
			kernels++
			avx2Prefill = avx2Prefill || f.Path == "avx2" && strings.HasPrefix(f.Test, "prefill ")
		}
	}
	// Bandwidth, FMA and (where the CPU has int8 vector instructions)
	// int8, and the avx2 path's own int8 where the CPU has wider ones; the
	// decode ceiling of the one format at the one thread count.
	wantProbes := 2
	if probe.Int8Instructions("") != "" {
		wantProbes++
	}
	if in := probe.Int8Instructions("avx2"); avx2Prefill && in != "" && in != probe.Int8Instructions("") {
		wantProbes++
	}
	if probes != wantProbes || layers != 1 || kernels < 2 {
		t.Fatalf("%d probe, %d layer-read and %d kernel figures", probes, layers, kernels)
	}
}

func TestBenchDiff(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, samples []float64) string {
		r := bench.NewReport(bench.Env{})
		r.Add(bench.Figure{Suite: bench.SuiteModel, System: bench.SystemPith, Test: "tg128", Threads: 2, Unit: bench.UnitTokPerSec, Samples: samples})
		p := filepath.Join(dir, name)
		if err := writeFileWith(p, r.WriteJSON); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.json", []float64{50, 51, 52, 53, 54})
	b := write("b.json", []float64{60, 61, 62, 63, 64})
	code, out, errs := runPith(t, "bench", "diff", a, b)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "+19.2%") || !strings.Contains(out, "significant (p=0.008), better") {
		t.Fatalf("diff:\n%s", out)
	}
	// show merges a session's reports into one table, plot and file.
	serve := bench.NewReport(bench.Env{})
	serve.Add(bench.Figure{Suite: bench.SuiteServe, System: bench.SystemPith, Test: "latency", Threads: 1, Unit: bench.UnitMillis, Samples: []float64{5, 6}})
	sp := filepath.Join(dir, "serve.json")
	if err := writeFileWith(sp, serve.WriteJSON); err != nil {
		t.Fatal(err)
	}
	all, svg := filepath.Join(dir, "all.json"), filepath.Join(dir, "all.svg")
	if code, out, errs := runPith(t, "bench", "show", a, "--json", all, sp, "--plot", svg); code != 0 || !strings.Contains(out, "Serving") {
		t.Fatalf("show: exit %d %s\n%s", code, errs, out)
	}
	if r := readReportFile(t, all); len(r.Figures) != 2 {
		t.Fatalf("merged %d figures", len(r.Figures))
	}
	if code, _, errs := runPith(t, "bench", "show", a, a); code != 1 || !strings.Contains(errs, "more than one report") {
		t.Fatalf("show a a: exit %d %q", code, errs)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format":"something else"}`), 0o644)
	if code, _, errs := runPith(t, "bench", "diff", a, bad); code != 1 || !strings.Contains(errs, "bad.json: bench: report format") {
		t.Fatalf("bad report: exit %d, %q", code, errs)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "nope"},
		{"bench", "model"},
		{"bench", "model", "--model", "x.gguf", "-p", "12,a"},
		{"bench", "model", "--model", "x.gguf", "-t", "0"},
		{"bench", "model", "--model", "x.gguf", "-t", "1,1"},
		{"bench", "model", "--model", "x.gguf", "-p", "64,64"},
		{"bench", "kernels", "-t", "2,2"},
		{"bench", "serve", "--model", "x.gguf", "-c", "2,2"},
		{"bench", "model", "--model", "x.gguf", "-r", "0"},
		{"bench", "model", "--model", "x.gguf", "--compare", "ollama"},
		{"bench", "model", "--model", "x.gguf", "--compare", "ollama", "--llama-bench", "/bin/true"},
		{"bench", "model", "--model", "x.gguf", "--request", "10"},
		{"bench", "model", "--model", "x.gguf", "--llama-bench", "/nonexistent/llama-bench"},
		{"bench", "model", "--model", "x.gguf", "--llama-bench", "/etc/passwd"},
		{"bench", "model", "--model", "x.gguf", "--request", "-5"},
		{"bench", "model", "--model", "x.gguf", "extra"},
		{"bench", "kernels", "-r", "0"},
		{"bench", "diff", "one.json"},
		{"bench", "show"},
		{"bench", "serve"},
		{"bench", "serve", "--url", "http://127.0.0.1:1"},
		{"bench", "serve", "--model", "x.gguf", "-c", "0"},
		{"bench", "serve", "--url", "http://127.0.0.1:1", "--manifest", "m.json", "--nowipe-binary", "/tmp/x"},
	} {
		code, _, errs := runPith(t, args...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("pith %v: exit %d, stderr %q", args, code, errs)
		}
	}
	for _, sub := range benchOrder {
		code, out, _ := runPith(t, "bench", sub, "--help")
		if code != 0 || !strings.Contains(out, "Example:") {
			t.Errorf("pith bench %s --help: exit %d\n%s", sub, code, out)
		}
	}
}

// TestBenchServe starts pith serve (this test binary as pith), verifies it
// with the client and measures sealed and plaintext requests.
func TestBenchServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	m := tinyBenchModel(t)
	js := filepath.Join(t.TempDir(), "s.json")
	args := []string{"bench", "serve", "--model", m, "-c", "1,2", "-n", "4", "--requests", "2", "-t", "1", "--prompt-words", "20", "--json", js}
	compare := false
	if ok, _ := oracle.Available(oracle.Llama); ok || oracle.Mandatory() {
		args = append(args, "--compare", "llama.cpp")
		compare = true
	}
	code, out, errs := runPith(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	r := readReportFile(t, js)
	if r.Env.ServeThreads != 1 || !strings.Contains(out, "serve:  the servers started for the serve runs had -t 1") {
		t.Errorf("the servers' -t 1 is not in the report: env %d\n%s", r.Env.ServeThreads, out)
	}
	systems := []string{bench.SystemPith, bench.SystemPithPlain}
	if compare {
		systems = append(systems, bench.SystemLlama)
	}
	for _, sys := range systems {
		for _, c := range []int{1, 2} {
			f := r.Find(bench.Key{Suite: bench.SuiteServe, System: sys, Test: "latency", Threads: c, Unit: bench.UnitMillis})
			if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
				t.Errorf("%s c%d latency: %+v", sys, c, f)
			}
		}
	}
	if !strings.Contains(out, "Serving: per-request times") {
		t.Errorf("no serving table:\n%s", out)
	}

	// Measuring a server given by --url, the report's environment is the
	// client's, and the report says so.
	srv, err := startPithServer(t.Context(), "", nil, m, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	js = filepath.Join(t.TempDir(), "u.json")
	code, out, errs = runPith(t, "bench", "serve", "--url", srv.url, "--manifest", srv.manifest, "--allow-dev", "-c", "1", "-n", "2", "--requests", "1", "--prompt-words", "5", "--json", js)
	if code != 0 {
		t.Fatalf("--url: exit %d: %s", code, errs)
	}
	const clients = "are those of the machine that sent the requests"
	if r := readReportFile(t, js); !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, clients) }) || !strings.Contains(out, clients) {
		t.Errorf("--url: the report does not say its environment is the client's: notes %q\n%s", r.Notes, out)
	}
}

// Output paths are checked before the work that fills them: a bad one is
// a usage error naming the flag, at once (bench model with a model that
// does not exist would fail otherwise, after the check), and no .tmp file
// is left behind.
func TestOutputPathsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	adir := filepath.Join(dir, "adir")
	if err := os.Mkdir(adir, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nonexistent", "x.json")
	tests := []struct {
		args     []string
		inStderr string
	}{
		{[]string{"bench", "model", "--model", "x.gguf", "--json", missing}, "--json " + missing + ": directory"},
		{[]string{"bench", "model", "--model", "x.gguf", "--plot", adir}, "--plot " + adir + " is a directory"},
		{[]string{"bench", "kernels", "--json", adir}, "--json " + adir + " is a directory"},
		{[]string{"bench", "serve", "--model", "x.gguf", "--json", missing}, "does not exist (create it with 'mkdir -p"},
		{[]string{"bench", "show", "x.json", "--plot", adir}, "--plot " + adir + " is a directory"},
		{[]string{"model", "synth", "--builtin-vocab", "-o", adir}, "-o " + adir + " is a directory"},
		{[]string{"model", "synth", "--builtin-vocab", "-o", missing}, "-o " + missing + ": directory"},
	}
	for _, tt := range tests {
		code, _, errs := runPith(t, tt.args...)
		if code != 2 || !strings.Contains(errs, tt.inStderr) {
			t.Errorf("pith %v: exit %d, stderr %q; want 2 and %q", tt.args, code, errs, tt.inStderr)
		}
	}
	if _, err := os.Stat(adir + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("%s.tmp left behind: %v", adir, err)
	}
}

// A file that cannot be written at the end (here a plot of a report with
// nothing to draw) fails the command, but the table is printed all the
// same and no .tmp file is left.
func TestBenchTablePrintedWhenFileFails(t *testing.T) {
	dir := t.TempDir()
	r := bench.NewReport(bench.Env{})
	r.Add(bench.Figure{Suite: bench.SuiteKernels, System: bench.SystemPith, Test: "q4_0 avx2 L2", Threads: 1, Unit: bench.UnitTokPerSec, Samples: []float64{7, 8}})
	rp := filepath.Join(dir, "k.json")
	if err := writeFileWith(rp, r.WriteJSON); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "k.svg")
	code, out, errs := runPith(t, "bench", "show", rp, "--plot", svg)
	if code != 1 || !strings.Contains(errs, "writing --plot "+svg) {
		t.Errorf("show --plot of a kernels report: exit %d, stderr %q; want 1 and the plot's error", code, errs)
	}
	if !strings.Contains(out, "q4_0 avx2 L2") {
		t.Errorf("the table was not printed:\n%s", out)
	}
	for _, p := range []string{svg, svg + ".tmp"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after the failed write: %v", p, err)
		}
	}
}

// A run that fails after measuring something (here llama-bench failing
// after pith's first worker) still prints the figures it has and writes
// them to --json, marked incomplete, and exits with the failure: a long
// run that fails near its end keeps what it measured.
func TestBenchModelKeepsFiguresOnFailure(t *testing.T) {
	m := tinyBenchModel(t)
	dir := t.TempDir()
	fake := filepath.Join(dir, "llama-bench")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'llama-bench: failed to load model' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	js := filepath.Join(dir, "r.json")
	code, out, errs := runPith(t, "bench", "model", "--model", m, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--llama-bench", fake, "--json", js)
	if code != 1 || !strings.Contains(errs, "failed to load model") {
		t.Fatalf("exit %d, stderr %q; want 1 and llama-bench's error", code, errs)
	}
	if !strings.Contains(out, "pp8") || !strings.Contains(out, "note: incomplete: the run stopped early") {
		t.Errorf("the figures measured before the failure were not printed, marked incomplete:\n%s", out)
	}
	r := readReportFile(t, js)
	if f := r.Find(bench.Key{Suite: bench.SuiteModel, System: bench.SystemPith, Model: "tiny.gguf", Test: "pp8", Threads: 1, Unit: bench.UnitTokPerSec}); f == nil {
		t.Errorf("--json lacks pith's pp8, measured before the failure: %+v", r.Figures)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "incomplete:") }) {
		t.Errorf("--json is not marked incomplete: %q", r.Notes)
	}

	// Ctrl-C cancels the command's context: its figures are kept too,
	// and the note says the run was interrupted.
	var stdout strings.Builder
	out2 := benchOutput{json: filepath.Join(dir, "int.json")}
	if err := out2.keep(r, &stdout, context.Canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("keep returned %v, want the interruption", err)
	}
	if !strings.Contains(stdout.String(), "note: incomplete: the run stopped early (interrupted)") {
		t.Errorf("an interrupted run's table does not say so:\n%s", stdout.String())
	}
	if readReportFile(t, out2.json).Find(bench.Key{Suite: bench.SuiteModel, System: bench.SystemPith, Model: "tiny.gguf", Test: "pp8", Threads: 1, Unit: bench.UnitTokPerSec}) == nil {
		t.Error("an interrupted run's --json lacks its figures")
	}
}

// A model's figures are keyed by its file name, so two --model files of
// one name (or one file twice) would have their samples mixed in the same
// figures: refused before anything runs.
func TestBenchModelSameNameTwice(t *testing.T) {
	m := tinyBenchModel(t)
	other := filepath.Join(t.TempDir(), filepath.Base(m))
	data, err := os.ReadFile(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{m, other}, {m, m}} {
		code, _, errs := runPith(t, "bench", "model", "--model", pair[0], "--model", pair[1], "-p", "8", "-n", "4", "-t", "1", "-r", "1")
		if code != 2 || !strings.Contains(errs, "have the same file name") {
			t.Errorf("--model %s --model %s: exit %d, stderr %q; want 2 and the names' clash", pair[0], pair[1], code, errs)
		}
	}
}

// bench diff says, above its table, when the reports come from different
// machines: their figures pair all the same.
func TestBenchDiffSaysSetupChanges(t *testing.T) {
	dir := t.TempDir()
	write := func(name, cpu string) string {
		r := bench.NewReport(bench.Env{CPU: cpu, Cores: 2})
		r.Add(bench.Figure{Suite: bench.SuiteModel, System: bench.SystemPith, Test: "tg128", Threads: 2, Unit: bench.UnitTokPerSec, Samples: []float64{50, 51}})
		p := filepath.Join(dir, name)
		if err := writeFileWith(p, r.WriteJSON); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code, out, errs := runPith(t, "bench", "diff", write("a.json", "AMD EPYC"), write("b.json", "Intel Xeon"))
	if code != 0 || !strings.HasPrefix(out, `note: different CPU: old "AMD EPYC", new "Intel Xeon"`) {
		t.Fatalf("exit %d %s; want the CPUs' difference ahead of the table:\n%s", code, errs, out)
	}
}

// bench serve's flags for one way of finding the server (start one with
// --model, or measure --url's) are refused with the other, where they
// would be ignored, and each refusal names the flag.
func TestBenchServeFlagsOfTheOtherWay(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "x.gguf", "--requests", "-1"}, "--requests -1: give a count"},
		{[]string{"--model", "x.gguf", "--manifest", "m.json"}, "--manifest applies to a server given by --url"},
		{[]string{"--model", "x.gguf", "--allow-dev"}, "--allow-dev applies to a server given by --url"},
		{[]string{"--url", "http://127.0.0.1:1", "--manifest", "m.json", "-t", "2"}, "-t sets the threads of the servers this command starts"},
	} {
		code, _, errs := runPith(t, append([]string{"bench", "serve"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("pith bench serve %v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// bench kernels refuses a bad --paths, --types or --min-time before the
// probes run (they take seconds to minutes), naming the flag, rather than
// failing after them with a report marked incomplete; and a format named
// twice, whose figures would mix both runs' samples.
func TestBenchKernelsListsCheckedFirst(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown type", []string{"--types", "q4_O"}, `--types: "q4_O" is not a weight format`},
		{"type twice", []string{"--types", "q4_0,Q4_0"}, "--types lists Q4_0 twice"},
		{"unknown path", []string{"--paths", "avx9"}, `--paths: "avx9" is not a kernel path`},
		{"path twice", []string{"--paths", "portable,portable"}, "--paths lists portable twice"},
		{"negative time", []string{"--min-time", "-1s"}, "--min-time -1s: give a positive time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runPith(t, append([]string{"bench", "kernels", "-r", "1", "--min-time", "10ms"}, c.args...)...)
			if code != 2 || !strings.Contains(errs, c.want) || strings.Contains(errs, "probe") || out != "" {
				t.Errorf("pith bench kernels %v: exit %d, stderr %.200q, stdout %.200q; want 2, %q and no probe run", c.args, code, errs, out, c.want)
			}
		})
	}
}

// Every figure a model run reports is explained by bench model --help,
// under its name with the length as N, and so is the ratio column.
func TestBenchModelHelpExplainsFigures(t *testing.T) {
	m := tinyBenchModel(t)
	js := filepath.Join(t.TempDir(), "r.json")
	if code, _, errs := runPith(t, "bench", "model", "--model", m, "-p", "8", "-n", "4", "-t", "1", "-r", "1", "--request", "64", "--json", js); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	_, help, _ := runPith(t, "bench", "model", "--help")
	help = strings.Join(strings.Fields(help), " ")
	digits := regexp.MustCompile(`[0-9]+`)
	names := []string{`"pith / llama.cpp" divides the medians`}
	for _, f := range readReportFile(t, js).Figures {
		if f.Suite == bench.SuiteModel {
			names = append(names, digits.ReplaceAllString(f.Test, "N")+" is")
		}
	}
	for _, n := range names {
		if !strings.Contains(help, n) {
			t.Errorf("bench model --help does not explain %q", n)
		}
	}
}

// A server that accepts /healthz but never answers must not hold the
// wait for it past its limit: each probe has a deadline of its own.
func TestWaitHealthyStuckServer(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer stuck.Close()
	defer close(release)
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(manifest, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &pithServer{url: stuck.URL, manifest: manifest, exited: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- s.waitHealthy(t.Context(), time.Second) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not healthy after 1s") {
			t.Errorf("waitHealthy on a server that never answers: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waitHealthy still waiting 30 s after its 1 s limit")
	}
}
