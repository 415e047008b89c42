package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/bench"
	"github.com/pith-project/pith/client"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
)

var benchOrder = []string{"kernels", "model", "serve", "show", "diff"}

var benchSubs = map[string]*subcommand{
	"kernels": {"pith bench kernels [-t 1,N] [-r N] [--paths P,..] [--types T,..] [--json FILE] [--markdown]",
		"GB/s and GFLOP/s of every kernel path and weight format, against this run's probes",
		`Measure the matrix-vector product of every kernel path this build and CPU
can run, for every weight format the kernels compute with: one thread on an
L2-resident matrix (GFLOP/s, against the FMA probe) and each of -t threads
(default one and all cores) on a 256 MiB stack of Qwen2.5-0.5B-shaped
layers, one decode step's products (GB/s of weights, against the
read-bandwidth probe). One thread's decode share says how near a core
decodes to its own stream: on a shared machine whose cores sometimes share
a memory path and sometimes do not, all cores reach about that share when
they do not. For the formats with tiled prefill kernels, also a
Qwen2.5-0.5B-shaped layer times 128 tokens at one thread and -t threads
(GFLOP/s, against the FMA probe and the int8 probe of the path's own
instructions: VPDPBUSD for avx512, VPMADDUBSW for avx2, which the table
then lists as "int8-dot avx2" on a CPU that has both). The probes run in the
same process first, then again between the kernel samples: a read-bandwidth
sample (as long as a kernel sample, --min-time) before each decode sample
and after the last, an int8 sample likewise around the prefill samples.
Shares divide by the best probe sample of the run, and their paired
figures by the larger of the two around each sample (the same other
tenants on a shared machine). A layer-read probe per format reads the
same layers' bytes with nothing else, the threads meeting after each
product as decode's do: the ceiling of decode's access pattern, which its
"layer reads" share divides by. A "best" share is the best sample over
the probe's best: both the nearest the run came to a machine without
other tenants.

Example:
  pith bench kernels -r 5 --json kernels.json`, benchKernels},
	"model": {"pith bench model --model FILE [--model FILE2] [-p 128,512] [-n 128] [-t 1,2] [-r 5] [--compare llama.cpp | --llama-bench PATH] [--cache-type f16|f32] [--kernels] [--json FILE] [--markdown] [--plot FILE.svg]",
		"prompt and generation tokens/s, time to first token and peak memory, optionally against llama-bench",
		`Measure prompt processing (-p lengths) and generation (-n lengths) tokens/s
at each thread count (-t), like llama-bench's table, with time to first
token and the peak resident memory of each run. Every repetition (-r) is a
fresh worker process that warms up first; the table shows median (min–max).

--compare llama.cpp runs llama.cpp's llama-bench (from the oracle root that
scripts/install-oracles.sh installs, or --llama-bench PATH) on the same file
with the same threads, interleaved with pith's runs, and prints the ratios;
without it the tables and the JSON report have pith's figures only.
Generation speed is also shown as GB/s of weights read, against the
read-bandwidth probe measured in the same run (each sample the best of
three reads, "kernels/probe best of 3"). --kernels adds the kernel suite
to the same report, whose probe samples are single reads paired with the
kernels' ("kernels/probe"). Progress goes to stderr.

The figures: ppN is tokens/s of an N-token prompt from an empty context
(in pieces of 512, llama-bench's micro-batch); tgN is tokens/s of N tokens
generated one at a time; ttft-ppN is the milliseconds from allocating the
state to the first token chosen after that prompt (no tokenizing);
peak-rss is a worker's peak resident memory (VmHWM, MiB) over all its
tests, the model included, and llama-bench's the same. With --request N,
reqN-peak-rss is the peak memory of one server-sized request of N
positions, and reqN-budget is what it may use. "pith / llama.cpp" divides
the medians: above 1 is pith faster in tok/s but bigger in MiB.

Example:
  pith model synth --shape qwen2.5-0.5b --type q4_0 -o qwen-q4_0.gguf
  pith bench model --model qwen-q4_0.gguf -p 128 -n 64 -t 1,2 -r 5 --compare llama.cpp --plot bench.svg`, benchModel},
	"serve": {"pith bench serve --model FILE [-c 1,2,4,8] [-n 64] [--requests N] [-t N] [--compare llama.cpp] [--nowipe-binary PATH] [--json FILE] [--markdown] [--plot FILE.svg]\n       pith bench serve --url URL --manifest FILE [--allow-dev] [flags]",
		"time to first token, latency percentiles and tokens/s through the sealed path, against plaintext and llama-server",
		`Start 'pith serve' on the model (development attestation, plaintext API on
loopback), verify it with the Go client like a user would, and send
streaming generations from 1, 2, 4 and 8 concurrent clients (-c), sealed
with OHTTP, then the same through the plaintext API of the same server: the
difference is what sealing costs. --compare llama.cpp does the same against
llama-server on the same file and threads. Each level reports time to first
token and total latency (p50/p95/p99), generation speed and throughput.
Both servers run one generation at a time (pith's default --concurrent 1,
llama-server -np 1), so concurrency shows queueing.

--nowipe-binary PATH adds a second server from a pith built with the
test-only tag pithnowipe (go build -tags pithnowipe): no arena wipe, no
runtime/secret, no collection after each request. Its plaintext figures
against pith-plaintext are what wiping costs. That build never serves real
requests: it refuses to start unless told it is this control.

With --url, measures an already running server instead (sealed, and
plaintext when it serves /api/).

Example:
  pith bench serve --model qwen-q4_0.gguf -c 1,2,4,8 --compare llama.cpp --plot serve.svg
  go build -tags pithnowipe -o /tmp/pith-nowipe ./cmd/pith
  pith bench serve --model qwen-q4_0.gguf --nowipe-binary /tmp/pith-nowipe`, benchServe},
	"show": {"pith bench show REPORT.json... [--json FILE] [--markdown] [--plot FILE.svg]",
		"print, plot or merge reports of one session (same machine and build)",
		`Print a report written by --json as a table (or Markdown), draw it, or merge
several reports of the same session (for example 'pith bench model' and
'pith bench serve' run one after the other) into one report and one plot.
Reports from different machines or builds, or holding the same figure, are
refused: use 'pith bench diff' to compare runs.

Example:
  pith bench show model.json serve.json --json all.json --plot all.svg --markdown`, benchShow},
	"diff": {"pith bench diff OLD.json NEW.json",
		"change of every figure between two reports, and whether it exceeds the noise",
		`Compare two reports written by --json: the change of each figure's median
and whether it is beyond the run-to-run noise (two-sided Mann-Whitney U test
at p < 0.05, or non-overlapping min..max ranges when there are too few
repetitions for the test; the rule is printed with the table). Figures
pair by name, whatever the machine: a difference of setup other than the
build (CPU, cores, OS, kernel path, KV cache type, llama.cpp build, or a
model name that names another file) is noted above the table.

Example:
  pith bench diff before.json after.json`, benchDiff},
}

func init() {
	register(&command{
		Name:  "bench",
		Short: "benchmark kernels and models on this machine, against llama.cpp",
		Usage: "pith bench (" + strings.Join(benchOrder, " | ") + ") [flags] [args]",
		Help: `Measure how fast pith is on this machine, how close to the machine's
limits (bandwidth and FMA probes measured in the same run), and how it
compares with llama.cpp on the same file in the same run.
'pith bench COMMAND --help' explains each command.

` + subcommandList(benchOrder, benchSubs) + `
Example:
  pith bench kernels
  pith bench model --model qwen-q4_0.gguf --compare llama.cpp --json a.json
  pith bench diff a.json b.json`,
		Run: func(ctx context.Context, args []string) error {
			return runSubcommand(ctx, "bench", benchOrder, benchSubs, args)
		},
	})
}

// benchOutput holds the output flags every report-writing command shares.
type benchOutput struct {
	json, plot string
	markdown   bool
}

func (o *benchOutput) define(fs *flag.FlagSet) {
	o.defineNoPlot(fs)
	fs.StringVar(&o.plot, "plot", "", "also draw the model figures as an SVG plot in FILE")
}

// defineNoPlot declares the output flags of a command whose report has
// nothing bench.Report.WriteSVG draws (kernels: no model figures), so
// that --plot is refused rather than accepted and ignored.
func (o *benchOutput) defineNoPlot(fs *flag.FlagSet) {
	fs.StringVar(&o.json, "json", "", "also write the report as JSON ("+bench.Format+") to FILE")
	fs.BoolVar(&o.markdown, "markdown", false, "print Markdown tables instead of the terminal table")
}

// check refuses output files the command could not write, before it
// runs: a benchmark takes minutes, and a bad path found at the end loses
// them.
func (o *benchOutput) check() error {
	if err := checkOutputPath("--json", o.json); err != nil {
		return err
	}
	return checkOutputPath("--plot", o.plot)
}

// write prints the report's table and writes the files asked for. The
// table comes first and regardless, so that a file that cannot be written
// after all (a full disk) does not lose the figures too.
func (o *benchOutput) write(r *bench.Report, stdout io.Writer) error {
	var err error
	if o.markdown {
		err = r.WriteMarkdown(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if o.json != "" {
		if werr := writeFileWith(o.json, r.WriteJSON); werr != nil {
			err = errors.Join(err, fmt.Errorf("writing --json %s: %w (the table above has the figures)", o.json, werr))
		}
	}
	if o.plot != "" {
		if werr := writeFileWith(o.plot, r.WriteSVG); werr != nil {
			err = errors.Join(err, fmt.Errorf("writing --plot %s: %w", o.plot, werr))
		}
	}
	return err
}

// keep handles a run stopped by runErr (a failed worker, llama-bench or
// server, or an interrupt) after some figures were measured: it prints
// them and writes the files asked for, marked incomplete, so that a long
// run failing near its end does not lose what it had measured, and
// returns runErr with any error of writing.
func (o *benchOutput) keep(r *bench.Report, stdout io.Writer, runErr error) error {
	if runErr == nil || len(r.Figures) == 0 {
		return runErr
	}
	why, _, _ := strings.Cut(runErr.Error(), "\n")
	if errors.Is(runErr, context.Canceled) {
		why = "interrupted"
	}
	r.Notes = append(r.Notes, "incomplete: the run stopped early ("+why+"); these are the figures measured before")
	progress("the run stopped early: printing the %d figures measured before", len(r.Figures))
	return errors.Join(runErr, o.write(r, stdout))
}

// checkOutputPath refuses, as a usage error naming flagName, an output
// path that is a directory or whose directory does not exist or cannot be
// written, so that a long job finds out before it starts. An empty path
// (the flag not given) passes.
func checkOutputPath(flagName, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("%s %s is a directory: give a file name inside it", flagName, path)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return usagef("%s %s: directory %s does not exist (create it with 'mkdir -p %s')", flagName, path, dir, dir)
	}
	if !st.IsDir() {
		return usagef("%s %s: %s is not a directory", flagName, path, dir)
	}
	f, err := os.CreateTemp(dir, ".pith-write-check-*")
	if err != nil {
		return usagef("%s %s: cannot write in %s: %v", flagName, path, dir, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// writeFileWith writes a file through a temporary name, so a failed run
// never leaves half a report where a good one was, nor the temporary file.
func writeFileWith(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// progress prints one line per step to stderr, so the table on stdout
// stays clean when redirected.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pith bench: "+format+"\n", args...)
}

func parseThreads(s string) ([]int, error) {
	if s == "" {
		return []int{runtime.NumCPU()}, nil
	}
	ts, err := bench.ParseInts(s)
	if err != nil {
		return nil, usagef("-t: %v", err)
	}
	for _, t := range ts {
		if err := checkThreads("-t", t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func benchKernels(ctx context.Context, args []string) error {
	var out benchOutput
	var threads, paths, types string
	var reps int
	var minTime time.Duration
	fs, err := parseFlags("bench", "kernels", args, func(fs *flag.FlagSet) {
		fs.StringVar(&threads, "t", "", "threads of the memory-bound test and the probes, comma-separated (default 1 and all cores)")
		fs.IntVar(&reps, "r", 5, "repetitions of each figure")
		fs.StringVar(&paths, "paths", "", "kernel paths, comma-separated (default every one this CPU runs: "+strings.Join(kernels.Paths(), ", ")+")")
		fs.StringVar(&types, "types", "", "weight formats, comma-separated (default "+strings.Join(bench.KernelTypes, ",")+")")
		fs.DurationVar(&minTime, "min-time", 100*time.Millisecond, "time of one repetition")
		out.defineNoPlot(fs)
	})
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 || reps < 1 {
		return usagef("kernels takes flags only, and -r at least 1")
	}
	if minTime <= 0 {
		return usagef("--min-time %v: give a positive time", minTime)
	}
	if err := checkKernelLists(splitList(paths), splitList(types)); err != nil {
		return err
	}
	ts, err := parseThreads(threads)
	if err != nil {
		return err
	}
	if threads == "" && ts[0] > 1 {
		ts = []int{1, ts[0]}
	}
	r := bench.NewReport(bench.CollectEnv(version, commit))
	r.Command = append([]string{"pith", "bench", "kernels"}, args...)
	if err := runKernelSuite(ctx, r, ts, reps, splitList(paths), splitList(types), minTime); err != nil {
		return out.keep(r, os.Stdout, err)
	}
	return out.write(r, os.Stdout)
}

// checkKernelLists refuses, before the probes run, a kernel path this
// build and CPU cannot run, a weight format the kernels do not know, and
// one named twice (in any spelling: its figures would hold both runs'
// samples).
func checkKernelLists(paths, types []string) error {
	var seen []string
	for _, p := range paths {
		if !slices.Contains(kernels.Paths(), p) {
			return usagef("--paths: %q is not a kernel path this build and CPU run (they are %s)", p, strings.Join(kernels.Paths(), ", "))
		}
		if slices.Contains(seen, p) {
			return usagef("--paths lists %s twice", p)
		}
		seen = append(seen, p)
	}
	seen = nil
	for _, name := range types {
		t, err := kernels.ParseType(name)
		if err != nil {
			return usagef("--types: %q is not a weight format (try %s)", name, strings.Join(bench.KernelTypes, ","))
		}
		if slices.Contains(seen, t.String()) {
			return usagef("--types lists %s twice", t)
		}
		seen = append(seen, t.String())
	}
	return nil
}

func runKernelSuite(ctx context.Context, r *bench.Report, threads []int, reps int, paths, types []string, minTime time.Duration) error {
	probeThreads := threads
	if !contains(probeThreads, 1) {
		probeThreads = append([]int{1}, threads...) // the L2 test is judged against one thread
	}
	// Read-bandwidth samples as long as the kernels' and, for the decode
	// figures, taken between theirs (see KernelOptions.Probe).
	p := bench.KernelsProbe{MinTime: minTime, Repeats: 1}
	if err := bench.ProbeThreads(ctx, r, p, probeThreads, reps, progress); err != nil {
		return err
	}
	return bench.RunKernels(ctx, r, bench.KernelOptions{Paths: paths, Types: types, Threads: threads, Reps: reps, MinTime: minTime, Probe: p, Progress: progress})
}

func benchModel(ctx context.Context, args []string) error {
	var out benchOutput
	var models []string
	var prompts, gens, threads, compare, llamaBench string
	var reps, request int
	var worker, withKernels bool
	var cache model.CacheType
	fs, err := parseFlags("bench", "model", args, func(fs *flag.FlagSet) {
		fs.Func("model", "GGUF model file (repeat for several)", func(s string) error { models = append(models, s); return nil })
		fs.StringVar(&prompts, "p", "512", "prompt lengths, comma-separated")
		fs.StringVar(&gens, "n", "128", "generation lengths, comma-separated")
		fs.StringVar(&threads, "t", "", "thread counts, comma-separated (default all cores)")
		fs.IntVar(&reps, "r", 5, "repetitions")
		fs.StringVar(&compare, "compare", "", `"llama.cpp" to run llama-bench on the same file, interleaved`)
		fs.StringVar(&llamaBench, "llama-bench", "", "llama-bench binary to compare with (instead of the oracle root)")
		fs.BoolVar(&withKernels, "kernels", false, "also run the kernel suite into the same report")
		fs.IntVar(&request, "request", 0, "also measure the peak memory of one request of this many context positions\n(the model read into memory, a locked request arena; 0: skip), against the\nbudget of the model file + its KV cache + 64 MiB")
		cacheTypeVar(fs, &cache, "\n(only f16 against llama-bench, which has no f32 cache)")
		fs.BoolVar(&worker, "worker", false, "internal: measure once in this process and print JSON (used by the runs)")
		out.define(fs)
	})
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("model takes flags only (got %q)", fs.Arg(0))
	}
	if len(models) == 0 {
		return usagef("--model FILE is required")
	}
	names := map[string]string{}
	for _, m := range models {
		if err := checkInputFile("--model", m, "a GGUF file"); err != nil {
			return err
		}
		// A model's figures and its entry in the report are keyed by its
		// file name: two files of one name would be measured into the same
		// figures, their samples mixed.
		if prev, ok := names[filepath.Base(m)]; ok {
			return usagef("--model %s and --model %s have the same file name, which names a model's figures: give each file once, under names of its own", prev, m)
		}
		names[filepath.Base(m)] = m
	}
	ps, err := bench.ParseInts(prompts)
	if err != nil {
		return usagef("-p: %v", err)
	}
	ns, err := bench.ParseInts(gens)
	if err != nil {
		return usagef("-n: %v", err)
	}
	ts, err := parseThreads(threads)
	if err != nil {
		return err
	}
	if worker {
		if len(models) != 1 || len(ts) != 1 {
			return usagef("--worker takes one --model and one -t")
		}
		return bench.RunWorker(ctx, bench.WorkerRequest{Model: models[0], Prompts: ps, Gens: ns, Threads: ts[0], Request: request, Cache: cache}, os.Stdout)
	}
	if reps < 1 {
		return usagef("-r must be at least 1")
	}
	if compare != "" && compare != "llama.cpp" {
		return usagef("--compare knows only llama.cpp, not %q", compare)
	}
	// The worker refuses a shorter request, but only after the first
	// repetition has run.
	if request < 0 || (request > 0 && request < bench.MinRequest) {
		return usagef("--request %d: give at least %d context positions (or 0 to skip)", request, bench.MinRequest)
	}
	if cache != model.CacheF16 && (compare != "" || llamaBench != "") {
		return usagef("llama-bench has no %s KV cache: --cache-type %s cannot be compared with it", cache, cache)
	}
	var llama *bench.LlamaBench
	switch {
	case llamaBench != "":
		// Found now, not when the first repetition's pith worker is done.
		if _, err := exec.LookPath(llamaBench); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			} else {
				err = errors.Unwrap(err)
			}
			return usagef("--llama-bench %s: %v", llamaBench, err)
		}
		llama = bench.LlamaBenchAt(llamaBench)
	case compare == "llama.cpp":
		if ok, why := oracle.Available(oracle.Llama); !ok {
			return fmt.Errorf("bench: --compare llama.cpp: %s (install it with 'make oracles', or give --llama-bench PATH)", why)
		}
		llama = &bench.LlamaBench{
			Command: func(ctx context.Context, args ...string) *exec.Cmd {
				return oracle.LlamaCommand(ctx, "llama-bench", args...)
			},
			Stage: oracle.Stage,
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: cannot find pith's own binary for the worker runs: %w", err)
	}
	env := bench.CollectEnv(version, commit)
	for _, m := range models {
		progress("hashing %s", m)
		d, err := bench.DescribeModel(m)
		if err != nil {
			return err
		}
		env.Models = append(env.Models, *d)
	}
	env.KVCache = cache.String()
	r := bench.NewReport(env)
	r.Command = append([]string{"pith", "bench", "model"}, args...)
	if withKernels {
		if err := runKernelSuite(ctx, r, ts, reps, nil, nil, 100*time.Millisecond); err != nil {
			return out.keep(r, os.Stdout, err)
		}
	} else if err := bench.ProbeThreads(ctx, r, bench.KernelsProbe{}, ts, reps, progress); err != nil {
		return out.keep(r, os.Stdout, err)
	}
	for _, m := range models {
		err := bench.RunModel(ctx, r, bench.ModelOptions{
			Model: m, Prompts: ps, Gens: ns, Threads: ts, Reps: reps, Llama: llama, Progress: progress, Request: request, Cache: cache,
			PithCommand: func(ctx context.Context, args []string) *exec.Cmd {
				return exec.CommandContext(ctx, self, append([]string{"bench", "model", "--worker"}, args...)...)
			},
		})
		if err != nil {
			return out.keep(r, os.Stdout, err)
		}
	}
	return out.write(r, os.Stdout)
}

func benchShow(ctx context.Context, args []string) error {
	var out benchOutput
	// Flags may come after the files, as in the example: parse, take the
	// leading file, parse the rest again.
	var files []string
	fs, err := parseFlags("bench", "show", args, out.define)
	if err != nil {
		return err
	}
	for fs.NArg() > 0 {
		files = append(files, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return usagef("%v (see 'pith bench show --help')", err)
		}
	}
	if len(files) == 0 {
		return usagef("show takes one or more report files")
	}
	if err := out.check(); err != nil {
		return err
	}
	var reps []*bench.Report
	for _, p := range files {
		r, err := readReport(p)
		if err != nil {
			return err
		}
		reps = append(reps, r)
	}
	r, err := bench.Merge(reps...)
	if err != nil {
		return err
	}
	return out.write(r, os.Stdout)
}

func readReport(path string) (*bench.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := bench.ReadReport(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func benchDiff(ctx context.Context, args []string) error {
	fs, err := parseFlags("bench", "diff", args, nil)
	if err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 2 {
		return usagef("diff takes two report files: OLD.json NEW.json")
	}
	var reps [2]*bench.Report
	for i, p := range args {
		r, err := readReport(p)
		if err != nil {
			return err
		}
		reps[i] = r
	}
	// Ahead of the table, where it cannot be missed: a change of machine
	// or model file would otherwise read as the build's.
	for _, n := range bench.SetupChanges(reps[0], reps[1]) {
		fmt.Fprintln(os.Stdout, "note: "+n)
	}
	return bench.WriteDiff(os.Stdout, bench.Diff(reps[0], reps[1]))
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func contains(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func benchServe(ctx context.Context, args []string) error {
	var out benchOutput
	var modelPath, levels, url, manifest string
	var gen, requests, threads, words int
	var compare string
	var allowDev bool
	var nowipe string
	fs, err := parseFlags("bench", "serve", args, func(fs *flag.FlagSet) {
		fs.StringVar(&modelPath, "model", "", "GGUF model file to serve")
		fs.StringVar(&levels, "c", "1,2,4,8", "concurrency levels, comma-separated")
		fs.IntVar(&gen, "n", 64, "tokens to generate per request")
		fs.IntVar(&requests, "requests", 0, "requests per level and system (default max(8, 2×concurrency))")
		fs.IntVar(&words, "prompt-words", 100, "words in the prompt")
		fs.IntVar(&threads, "t", runtime.NumCPU(), "threads of each server")
		fs.StringVar(&compare, "compare", "", `"llama.cpp" to measure llama-server too`)
		fs.StringVar(&url, "url", "", "measure this running pith server instead of starting one")
		fs.StringVar(&manifest, "manifest", "", "with --url: the manifest the server must match")
		fs.BoolVar(&allowDev, "allow-dev", false, "with --url: accept the development attestation stand-in")
		fs.StringVar(&nowipe, "nowipe-binary", "", "also measure a pith built with -tags pithnowipe (wiping off) at PATH, to price the wiping")
		out.define(fs)
	})
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes flags only (got %q)", fs.Arg(0))
	}
	cs, err := bench.ParseInts(levels)
	if err != nil {
		return usagef("-c: %v", err)
	}
	if len(cs) == 0 {
		return usagef("-c: give concurrency levels such as 1,2,4,8")
	}
	if gen < 1 || words < 1 {
		return usagef("-n and --prompt-words must be positive")
	}
	if requests < 0 {
		return usagef("--requests %d: give a count, or 0 for max(8, 2×concurrency)", requests)
	}
	if err := checkThreads("-t", threads); err != nil {
		return err
	}
	if (url == "") == (modelPath == "") {
		return usagef("give --model FILE (to start a server) or --url URL, not both")
	}
	if url != "" && manifest == "" {
		return usagef("--url needs --manifest")
	}
	// The flags of one way that the other would ignore: the server this
	// command starts writes its own manifest and has the development
	// attestation, and one already running has its threads.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, name := range []string{"manifest", "allow-dev"} {
		if given[name] && url == "" {
			return usagef("--%s applies to a server given by --url, not to the one --model starts", name)
		}
	}
	if given["t"] && url != "" {
		return usagef("-t sets the threads of the servers this command starts: a server given by --url has its own")
	}
	if modelPath != "" {
		if err := checkInputFile("--model", modelPath, "a GGUF file"); err != nil {
			return err
		}
	}
	if manifest != "" {
		if err := checkManifestFile(manifest); err != nil {
			return err
		}
	}
	if compare != "" && compare != "llama.cpp" {
		return usagef("--compare knows only llama.cpp, not %q", compare)
	}
	if compare != "" && modelPath == "" {
		return usagef("--compare llama.cpp needs --model (llama-server loads the same file)")
	}
	if nowipe != "" && modelPath == "" {
		return usagef("--nowipe-binary needs --model (it starts its own server)")
	}
	env := bench.CollectEnv(version, commit)
	if modelPath != "" {
		d, err := bench.DescribeModel(modelPath)
		if err != nil {
			return err
		}
		env.Models = append(env.Models, *d)
	}
	r := bench.NewReport(env)
	r.Command = append([]string{"pith", "bench", "serve"}, args...)
	if url != "" {
		// The environment is collected here, where the client runs; the
		// server's machine, kernel path and model are not known to it.
		r.Notes = append(r.Notes, "serve: measured the server at "+url+"; the cpu, cores, kernel path and build above are those of the machine that sent the requests, not necessarily the server's")
	}

	if url == "" {
		r.Env.ServeThreads = threads
		srv, err := startPithServer(ctx, "", nil, modelPath, threads, max(16, 2*slices.Max(cs)))
		if err != nil {
			return err
		}
		defer srv.stop()
		url, manifest, allowDev = srv.url, srv.manifest, true
	}
	_, man, err := readManifest(manifest)
	if err != nil {
		return err
	}
	pol := attest.DefaultPolicy()
	pol.AllowDev = allowDev
	c, err := client.New(ctx, client.Options{URL: url, Manifest: man, Policy: pol})
	if err != nil {
		return fmt.Errorf("bench: serve: verifying %s: %w", url, err)
	}
	name, err := servedModel(ctx, c.HTTPClient(), client.BaseURL.String())
	if err != nil {
		return err
	}
	targets := []bench.ServeTarget{bench.OllamaTarget(bench.SystemPith, c.HTTPClient(), client.BaseURL.String(), name)}
	if _, err := servedModel(ctx, http.DefaultClient, url); err == nil {
		targets = append(targets, bench.OllamaTarget(bench.SystemPithPlain, http.DefaultClient, url, name))
	} else {
		r.Notes = append(r.Notes, "serve: the server has no plaintext API, so the cost of sealing is not measured")
	}
	if nowipe != "" {
		// The control build refuses to serve unless told it is the control.
		nw, err := startPithServer(ctx, nowipe, []string{"PITH_NOWIPE_CONTROL=1"}, modelPath, threads, max(16, 2*slices.Max(cs)))
		if err != nil {
			return err
		}
		defer nw.stop()
		targets = append(targets, bench.OllamaTarget(bench.SystemPithNoWipe, http.DefaultClient, nw.url, name))
		r.Notes = append(r.Notes, "serve: pith-nowipe is a build with the test-only pithnowipe tag (no arena wipe, no runtime/secret, no per-request collection), unsealed: compare it with pith-plaintext for the cost of wiping")
	}
	var llamaLog func() string
	if compare == "llama.cpp" {
		if ok, why := oracle.Available(oracle.Llama); !ok {
			return fmt.Errorf("bench: --compare llama.cpp: %s (install it with 'make oracles')", why)
		}
		startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		ls, err := oracle.StartLlamaServer(startCtx, modelPath, "-t", fmt.Sprint(threads))
		cancel()
		if err != nil {
			return err
		}
		defer ls.Close()
		llamaLog = ls.Log
		targets = append(targets, bench.LlamaServerTarget(ls.URL))
		r.Env.Llama = "llama-server (oracle root, -np 1 -c 4096)"
	}
	prompt := strings.TrimSpace(strings.Repeat("the quick brown fox jumps over the lazy dog and ", (words+9)/10))
	prompt = strings.Join(strings.Fields(prompt)[:words], " ")
	r.Notes = append(r.Notes, fmt.Sprintf("serve: raw prompt of %d words, up to %d tokens generated (fewer when the model stops), temperature 0", words, gen))
	if err := bench.RunServe(ctx, r, bench.ServeOptions{Targets: targets, Concurrency: cs, Requests: requests, Prompt: prompt, Gen: gen, Progress: progress}); err != nil {
		if llamaLog != nil && strings.Contains(err.Error(), bench.SystemLlama) {
			err = fmt.Errorf("%w\nllama-server's log ends:\n%s", err, llamaLog())
		}
		return out.keep(r, os.Stdout, err)
	}
	return out.write(r, os.Stdout)
}

// servedModel asks a server's Ollama API (sealed or not) for its model.
func servedModel(ctx context.Context, hc *http.Client, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/api/tags", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("bench: serve: /api/tags: %w", err)
	}
	defer resp.Body.Close()
	var tags struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("bench: serve: /api/tags: %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tags); err != nil || len(tags.Models) == 0 {
		return "", fmt.Errorf("bench: serve: /api/tags: no model (%v)", err)
	}
	return tags.Models[0].Name, nil
}

type pithServer struct {
	url, manifest string
	cmd           *exec.Cmd
	dir           string
	exited        chan struct{}
}

// startPithServer runs `pith serve` from bin (this binary when "") with the
// development attestation and the plaintext API on a free loopback port.
func startPithServer(ctx context.Context, bin string, env []string, modelPath string, threads, queue int) (*pithServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if bin != "" {
		self = bin
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "pith-bench-serve")
	if err != nil {
		return nil, err
	}
	s := &pithServer{url: "http://" + addr, manifest: filepath.Join(dir, "manifest.json"), dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(self, "serve", "--model", modelPath, "--attest", "dev", "--write-dev-manifest", s.manifest,
		"--plaintext", "--listen", addr, "--allow-unlocked", "--threads", fmt.Sprint(threads), "--queue", fmt.Sprint(queue))
	logf, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = append(os.Environ(), env...)
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: serve: start pith serve: %w", err)
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.exited) }()
	progress("started pith serve on %s (development attestation)", s.url)
	if err := s.waitHealthy(ctx, 2*time.Minute); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
		s.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if log := strings.TrimSpace(string(b)); log != "" {
			err = fmt.Errorf("%w: %s", err, log)
		}
		return nil, err
	}
	return s, nil
}

// waitHealthy waits until s answers /healthz and has written its
// manifest, for at most limit. Each probe has its own short deadline: a
// server that accepts but never answers (stopped, or stuck loading) must
// not hold the wait past limit or past ctx.
func (s *pithServer) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.After(limit)
	for {
		select {
		case <-s.exited:
			return errors.New("bench: serve: pith serve exited")
		case <-deadline:
			return fmt.Errorf("bench: serve: pith serve not healthy after %v", limit)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if s.healthy(ctx) {
			if _, err := os.Stat(s.manifest); err == nil {
				return nil
			}
		}
	}
}

func (s *pithServer) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *pithServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}
