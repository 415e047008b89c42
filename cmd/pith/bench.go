package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/pith-project/pith/bench"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels"
)

// benchSub is one "pith bench" sub-command.
type benchSub struct {
	usage, short, help string
	run                func(ctx context.Context, args []string) error
}

var benchOrder = []string{"kernels", "model", "diff"}

var benchSubs = map[string]*benchSub{
	"kernels": {"pith bench kernels [-t N] [-r N] [--paths P,..] [--types T,..] [--json FILE] [--markdown]",
		"GB/s and GFLOP/s of every kernel path and weight format, against this run's probes",
		`Measure the matrix-vector product of every kernel path this build and CPU
can run, for every weight format the kernels compute with: one thread on an
L2-resident matrix (GFLOP/s, against the FMA probe) and -t threads on a
64 MiB matrix (GB/s of weights, against the read-bandwidth probe). The
probes run in the same process first.

Example:
  pith bench kernels -r 5 --json kernels.json`, benchKernels},
	"model": {"pith bench model --model FILE [--model FILE2] [-p 128,512] [-n 128] [-t 1,2] [-r 5] [--compare llama.cpp | --llama-bench PATH] [--kernels] [--json FILE] [--markdown] [--plot FILE.svg]",
		"prompt and generation tokens/s, time to first token and peak memory, optionally against llama-bench",
		`Measure prompt processing (-p lengths) and generation (-n lengths) tokens/s
at each thread count (-t), like llama-bench's table, with time to first
token and the peak resident memory of each run. Every repetition (-r) is a
fresh worker process that warms up first; the table shows median (min–max).

--compare llama.cpp runs llama.cpp's llama-bench (from the oracle root that
scripts/install-oracles.sh installs, or --llama-bench PATH) on the same file
with the same threads, interleaved with pith's runs, and prints the ratios.
Generation speed is also shown as GB/s of weights read, against the
read-bandwidth probe measured in the same run. --kernels adds the kernel
suite to the same report. Progress goes to stderr.

Example:
  pith model synth --shape qwen2.5-0.5b --type q4_0 -o qwen-q4_0.gguf
  pith bench model --model qwen-q4_0.gguf -p 128 -n 64 -t 1,2 -r 5 --compare llama.cpp --plot bench.svg`, benchModel},
	"diff": {"pith bench diff OLD.json NEW.json",
		"change of every figure between two reports, and whether it exceeds the noise",
		`Compare two reports written by --json: the change of each figure's median
and whether it is beyond the run-to-run noise (two-sided Mann-Whitney U test
at p < 0.05, or non-overlapping min..max ranges when there are too few
repetitions for the test; the rule is printed with the table).

Example:
  pith bench diff before.json after.json`, benchDiff},
}

func init() {
	var list strings.Builder
	for _, n := range benchOrder {
		fmt.Fprintf(&list, "  %s\n      %s\n", benchSubs[n].usage, benchSubs[n].short)
	}
	register(&command{
		Name:  "bench",
		Short: "benchmark kernels and models on this machine, against llama.cpp",
		Usage: "pith bench (" + strings.Join(benchOrder, " | ") + ") [flags] [args]",
		Help: `Measure how fast pith is on this machine, how close to the machine's
limits (bandwidth and FMA probes measured in the same run), and how it
compares with llama.cpp on the same file in the same run.
'pith bench COMMAND --help' explains each command.

` + list.String() + `
Example:
  pith bench kernels
  pith bench model --model qwen-q4_0.gguf --compare llama.cpp --json a.json
  pith bench diff a.json b.json`,
		Run: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usagef("which one: %s?", strings.Join(benchOrder, ", "))
			}
			sub, ok := benchSubs[args[0]]
			if !ok {
				return usagef("unknown bench command %q (%s)", args[0], strings.Join(benchOrder, ", "))
			}
			for _, a := range args[1:] {
				if a == "-h" || a == "--help" || a == "-help" {
					fmt.Printf("Usage: %s\n\n%s\n", sub.usage, sub.help)
					return nil
				}
			}
			return sub.run(ctx, args[1:])
		},
	})
}

func parseBench(name string, args []string, define func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("pith bench "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return nil, usagef("%v (see 'pith bench %s --help')", err, name)
	}
	return fs, nil
}

// benchOutput holds the output flags every report-writing command shares.
type benchOutput struct {
	json, plot string
	markdown   bool
}

func (o *benchOutput) define(fs *flag.FlagSet) {
	fs.StringVar(&o.json, "json", "", "also write the report as JSON ("+bench.Format+") to FILE")
	fs.BoolVar(&o.markdown, "markdown", false, "print Markdown tables instead of the terminal table")
	fs.StringVar(&o.plot, "plot", "", "also draw the model figures as an SVG plot in FILE")
}

func (o *benchOutput) write(r *bench.Report, stdout io.Writer) error {
	if o.json != "" {
		if err := writeFileWith(o.json, r.WriteJSON); err != nil {
			return err
		}
	}
	if o.plot != "" {
		if err := writeFileWith(o.plot, r.WriteSVG); err != nil {
			return err
		}
	}
	if o.markdown {
		return r.WriteMarkdown(stdout)
	}
	return r.WriteText(stdout)
}

// writeFileWith writes a file through a temporary name, so a failed run
// never leaves half a report where a good one was.
func writeFileWith(path string, write func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
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
	return ts, nil
}

func benchKernels(ctx context.Context, args []string) error {
	var out benchOutput
	var threads, paths, types string
	var reps int
	var minTime time.Duration
	fs, err := parseBench("kernels", args, func(fs *flag.FlagSet) {
		fs.StringVar(&threads, "t", "", "threads of the memory-bound test and the probes, comma-separated (default all cores)")
		fs.IntVar(&reps, "r", 5, "repetitions of each figure")
		fs.StringVar(&paths, "paths", "", "kernel paths, comma-separated (default every one this CPU runs: "+strings.Join(kernels.Paths(), ", ")+")")
		fs.StringVar(&types, "types", "", "weight formats, comma-separated (default "+strings.Join(bench.KernelTypes, ",")+")")
		fs.DurationVar(&minTime, "min-time", 100*time.Millisecond, "time of one repetition")
		out.define(fs)
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 || reps < 1 {
		return usagef("kernels takes flags only, and -r at least 1")
	}
	ts, err := parseThreads(threads)
	if err != nil {
		return err
	}
	r := bench.NewReport(bench.CollectEnv(version, commit))
	r.Command = append([]string{"pith", "bench", "kernels"}, args...)
	if err := runKernelSuite(ctx, r, ts, reps, splitList(paths), splitList(types), minTime); err != nil {
		return err
	}
	out.plot = "" // kernels have no plot of their own
	return out.write(r, os.Stdout)
}

func runKernelSuite(ctx context.Context, r *bench.Report, threads []int, reps int, paths, types []string, minTime time.Duration) error {
	probeThreads := threads
	if !contains(probeThreads, 1) {
		probeThreads = append([]int{1}, threads...) // the L2 test is judged against one thread
	}
	if err := bench.ProbeThreads(ctx, r, &bench.BuiltinProbe{}, probeThreads, reps, progress); err != nil {
		return err
	}
	return bench.RunKernels(ctx, r, bench.KernelOptions{Paths: paths, Types: types, Threads: threads, Reps: reps, MinTime: minTime, Progress: progress})
}

func benchModel(ctx context.Context, args []string) error {
	var out benchOutput
	var models []string
	var prompts, gens, threads, compare, llamaBench string
	var reps int
	var worker, withKernels bool
	fs, err := parseBench("model", args, func(fs *flag.FlagSet) {
		fs.Func("model", "GGUF model file (repeat for several)", func(s string) error { models = append(models, s); return nil })
		fs.StringVar(&prompts, "p", "512", "prompt lengths, comma-separated")
		fs.StringVar(&gens, "n", "128", "generation lengths, comma-separated")
		fs.StringVar(&threads, "t", "", "thread counts, comma-separated (default all cores)")
		fs.IntVar(&reps, "r", 5, "repetitions")
		fs.StringVar(&compare, "compare", "", `"llama.cpp" to run llama-bench on the same file, interleaved`)
		fs.StringVar(&llamaBench, "llama-bench", "", "llama-bench binary to compare with (instead of the oracle root)")
		fs.BoolVar(&withKernels, "kernels", false, "also run the kernel suite into the same report")
		fs.BoolVar(&worker, "worker", false, "internal: measure once in this process and print JSON (used by the runs)")
		out.define(fs)
	})
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("model takes flags only (got %q)", fs.Arg(0))
	}
	if len(models) == 0 {
		return usagef("--model FILE is required")
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
		return bench.RunWorker(ctx, bench.WorkerRequest{Model: models[0], Prompts: ps, Gens: ns, Threads: ts[0]}, os.Stdout)
	}
	if reps < 1 {
		return usagef("-r must be at least 1")
	}
	var llama *bench.LlamaBench
	switch {
	case llamaBench != "":
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
	case compare != "":
		return usagef("--compare knows only llama.cpp, not %q", compare)
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
	r := bench.NewReport(env)
	r.Command = append([]string{"pith", "bench", "model"}, args...)
	if withKernels {
		if err := runKernelSuite(ctx, r, ts, reps, nil, nil, 100*time.Millisecond); err != nil {
			return err
		}
	} else if err := bench.ProbeThreads(ctx, r, &bench.BuiltinProbe{}, ts, reps, progress); err != nil {
		return err
	}
	for _, m := range models {
		err := bench.RunModel(ctx, r, bench.ModelOptions{
			Model: m, Prompts: ps, Gens: ns, Threads: ts, Reps: reps, Llama: llama, Progress: progress,
			PithCommand: func(ctx context.Context, args []string) *exec.Cmd {
				return exec.CommandContext(ctx, self, append([]string{"bench", "model", "--worker"}, args...)...)
			},
		})
		if err != nil {
			return err
		}
	}
	return out.write(r, os.Stdout)
}

func benchDiff(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return usagef("diff takes two report files: OLD.json NEW.json")
	}
	var reps [2]*bench.Report
	for i, p := range args {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		reps[i], err = bench.ReadReport(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
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
