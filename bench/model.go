package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
)

// Test names, shared by pith's and llama-bench's figures so that they pair.
func ppTest(n int) string   { return "pp" + strconv.Itoa(n) }
func tgTest(n int) string   { return "tg" + strconv.Itoa(n) }
func ttftTest(n int) string { return "ttft-pp" + strconv.Itoa(n) }

const rssTest = "peak-rss"

// ubatch is llama-bench's default micro-batch: prompts longer than this go
// through the model in pieces of this size, and pith does the same.
const ubatch = 512

// WorkerRequest is what one pith worker process measures: every prompt
// and generation length once, at one thread count.
type WorkerRequest struct {
	Model   string
	Prompts []int
	Gens    []int
	Threads int
	// Request, when positive, makes the worker measure only the memory of
	// one request of that many context positions (runRequest).
	Request int
	// Cache is the model's KV cache type.
	Cache model.CacheType
}

// Args are the command-line flags that carry r to a worker.
func (r WorkerRequest) Args() []string {
	args := []string{"--model", r.Model, "-p", joinInts(r.Prompts), "-n", joinInts(r.Gens), "-t", strconv.Itoa(r.Threads)}
	if r.Request > 0 {
		args = append(args, "--request", strconv.Itoa(r.Request))
	}
	if r.Cache != model.CacheF16 {
		args = append(args, "--cache-type", r.Cache.String())
	}
	return args
}

// WorkerResult is what a worker prints on its standard output.
type WorkerResult struct {
	KernelPath string   `json:"kernel_path"`
	Figures    []Figure `json:"figures"`
	// PeakRSS is the worker's VmHWM in MiB: the high-water mark of its own
	// address space, which starts afresh at exec.
	PeakRSS float64 `json:"peak_rss_mib"`
}

// RunWorker loads the model and measures req in this process, warming up
// each test the way llama-bench does (the whole prompt once; one generated
// token), and writes a WorkerResult as JSON to w.
func RunWorker(ctx context.Context, req WorkerRequest, w io.Writer) error {
	if req.Threads < 1 {
		return fmt.Errorf("bench: worker threads %d", req.Threads)
	}
	kernels.SetThreads(req.Threads)
	if req.Request > 0 {
		res := WorkerResult{KernelPath: kernels.Path()}
		if err := runRequest(ctx, req, &res); err != nil {
			return err
		}
		return json.NewEncoder(w).Encode(res)
	}
	// Read whole, as pith-init reads it (on huge pages, which decode
	// streams faster than a mapped file's 4 KiB pages: internal/hugemem).
	f, err := gguf.ReadFile(req.Model, "")
	if err != nil {
		return fmt.Errorf("bench: model %q: %w", req.Model, err)
	}
	m, err := model.Load(f)
	if err != nil {
		return fmt.Errorf("bench: model %q: %w", req.Model, err)
	}
	m.Cache = req.Cache
	res := WorkerResult{KernelPath: kernels.Path()}
	add := func(test, unit string, v float64) {
		res.Figures = append(res.Figures, Figure{Suite: SuiteModel, System: SystemPith, Model: filepath.Base(req.Model), Test: test, Threads: req.Threads, Unit: unit, Samples: []float64{v}})
	}
	tokens := func(n int) []int32 { return benchTokens(n, m.Config.Vocab) }
	for _, p := range req.Prompts {
		if p > m.Config.ContextLen {
			return fmt.Errorf("bench: prompt of %d tokens exceeds the model's context of %d", p, m.Config.ContextLen)
		}
		prompt := tokens(p)
		for warm := 1; warm >= 0; warm-- {
			if err := ctx.Err(); err != nil {
				return err
			}
			runtime.GC() // the last test's State, as below
			start := time.Now()
			st := m.NewState(model.HeapAllocator{}, p+1, min(p, ubatch))
			t0 := time.Now()
			var logits []float32
			for off := 0; off < p; off += ubatch {
				if logits, err = st.Forward(prompt[off:min(off+ubatch, p)]); err != nil {
					return fmt.Errorf("bench: pp%d: %w", p, err)
				}
			}
			pp := time.Since(t0)
			model.Argmax(logits)
			ttft := time.Since(start)
			if warm == 0 {
				add(ppTest(p), UnitTokPerSec, float64(p)/pp.Seconds())
				add(ttftTest(p), UnitMillis, float64(ttft)/float64(time.Millisecond))
			}
		}
	}
	for _, n := range req.Gens {
		if n >= m.Config.ContextLen {
			return fmt.Errorf("bench: generation of %d tokens exceeds the model's context of %d", n, m.Config.ContextLen)
		}
		for _, steps := range []int{1, n} { // warm-up of one token, then the run
			if err := ctx.Err(); err != nil {
				return err
			}
			// The last test's State is garbage now: collected before
			// this one allocates, the peak memory is what the largest
			// test needs (as a server's request arena holds it), not
			// that plus the garbage the collector had not yet reclaimed
			// (760 against 636-673 MiB for pp512 and pp2048 of
			// Qwen2.5-0.5B Q8_0 in one worker).
			runtime.GC()
			st := m.NewState(model.HeapAllocator{}, steps+1, 1)
			tok := int32(100)
			t0 := time.Now()
			for range steps {
				logits, err := st.Forward([]int32{tok})
				if err != nil {
					return fmt.Errorf("bench: tg%d: %w", n, err)
				}
				tok = model.Argmax(logits)
			}
			if steps == n {
				add(tgTest(n), UnitTokPerSec, float64(n)/time.Since(t0).Seconds())
			}
		}
	}
	res.PeakRSS, err = vmHWM(os.Getpid())
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(res)
}

// benchTokens returns n token ids spread over a vocabulary of vocab,
// away from the special tokens at its ends (the first 100 and last 300)
// where it has room for more; the ids do not change the amount of work.
// A vocabulary of 400 or fewer gets ids from all of it: its middle would
// be empty, and a remainder by vocab-400 divides by zero or overruns it.
func benchTokens(n, vocab int) []int32 {
	lo, span := 100, vocab-400
	if span < 1 {
		lo, span = 0, vocab
	}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(lo + (i*7919)%span)
	}
	return ids
}

// ModelOptions choose what RunModel measures.
type ModelOptions struct {
	Model   string
	Prompts []int // prompt lengths (-p)
	Gens    []int // generation lengths (-n)
	Threads []int
	Reps    int
	// Request, when positive, adds the peak memory of one request of that
	// many context positions (a worker of its own per repetition, at the
	// largest thread count) and its budget.
	Request int
	// Cache is pith's KV cache type: with Llama, only f16 (both systems'
	// default), since llama-bench has no f32 cache.
	Cache model.CacheType
	// PithCommand returns the command that runs a pith worker with the
	// given flags (in pith, `pith bench model --worker FLAGS`). Each run is
	// its own process so that its peak resident memory is its own.
	PithCommand func(ctx context.Context, args []string) *exec.Cmd
	// Llama, when set, runs llama-bench on the same file, interleaved.
	Llama    *LlamaBench
	Progress func(format string, args ...any)
}

// RunModel measures the model opts.Reps times at every thread count, each
// repetition a fresh worker process, and, with opts.Llama, a llama-bench
// process right before or after it (alternating, so neither system always
// runs on a machine the other has just warmed). The figures go into r.
func RunModel(ctx context.Context, r *Report, opts ModelOptions) error {
	if opts.PithCommand == nil {
		return errors.New("bench: no command to run pith's worker")
	}
	if len(opts.Threads) == 0 {
		opts.Threads = []int{kernels.Threads()}
	}
	if len(opts.Prompts) == 0 && len(opts.Gens) == 0 {
		return errors.New("bench: nothing to measure (no -p and no -n)")
	}
	for _, v := range slices.Concat(opts.Prompts, opts.Gens, opts.Threads) {
		if v < 1 {
			return fmt.Errorf("bench: lengths and thread counts must be positive, have %d", v)
		}
	}
	if opts.Cache != model.CacheF16 && opts.Llama != nil {
		// Its -ctk takes f16, bf16 and quantised types, not f32
		// (llama-server's does).
		return fmt.Errorf("bench: llama-bench has no %s KV cache: pith's cannot be compared with it", opts.Cache)
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	reps := max(opts.Reps, 1)
	label := filepath.Base(opts.Model)
	var llamaModel string
	if opts.Llama != nil {
		inside, cleanup, err := opts.Llama.stage(opts.Model)
		if err != nil {
			return err
		}
		defer cleanup()
		llamaModel = inside
	}
	step, steps := 0, reps*len(opts.Threads)
	for rep := range reps {
		for _, t := range opts.Threads {
			step++
			runPith := func() error {
				req := WorkerRequest{Model: opts.Model, Prompts: opts.Prompts, Gens: opts.Gens, Threads: t, Cache: opts.Cache}
				figs, rss, err := runWorker(ctx, opts.PithCommand(ctx, req.Args()))
				if err != nil {
					return err
				}
				for _, f := range figs {
					r.Add(f)
				}
				r.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: label, Test: rssTest, Threads: t, Unit: UnitMiB, Samples: []float64{rss}})
				progress("[%d/%d] %s pith      t=%d %s", step, steps, label, t, brief(figs, rss))
				return nil
			}
			runLlama := func() error {
				figs, rss, err := opts.Llama.run(ctx, llamaModel, opts.Prompts, opts.Gens, t)
				if err != nil {
					return err
				}
				for _, f := range figs {
					f.Model = label
					r.Add(f)
				}
				r.Add(Figure{Suite: SuiteModel, System: SystemLlama, Model: label, Test: rssTest, Threads: t, Unit: UnitMiB, Samples: []float64{rss}})
				if r.Env.Llama == "" {
					r.Env.Llama = opts.Llama.build
				}
				progress("[%d/%d] %s llama.cpp t=%d %s", step, steps, label, t, brief(figs, rss))
				return nil
			}
			order := []func() error{runPith}
			if opts.Llama != nil {
				order = append(order, runLlama)
				if rep%2 == 1 {
					order[0], order[1] = order[1], order[0]
				}
			}
			for _, run := range order {
				if err := run(); err != nil {
					return err
				}
			}
		}
		if opts.Request > 0 {
			t := slices.Max(opts.Threads)
			req := WorkerRequest{Model: opts.Model, Threads: t, Request: opts.Request, Cache: opts.Cache}
			figs, _, err := runWorker(ctx, opts.PithCommand(ctx, req.Args()))
			if err != nil {
				return err
			}
			for _, f := range figs {
				r.Add(f)
				progress("%s pith      t=%d %s %.0f MiB", label, t, f.Test, f.Samples[0])
			}
		}
	}
	return nil
}

func brief(figs []Figure, rss float64) string {
	var b strings.Builder
	for _, f := range figs {
		if f.Unit == UnitTokPerSec {
			fmt.Fprintf(&b, " %s %.1f tok/s", f.Test, f.Samples[0])
		}
	}
	fmt.Fprintf(&b, "  peak RSS %.0f MiB", rss)
	return b.String()
}

// runWorker runs a worker process and returns its figures and its peak
// resident set size in MiB, from the kernel's accounting of the child.
func runWorker(ctx context.Context, cmd *exec.Cmd) ([]Figure, float64, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("bench: pith worker: %w: %s", err, tail(stderr.String(), 2000))
	}
	var res WorkerResult
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		return nil, 0, fmt.Errorf("bench: pith worker output: %w", err)
	}
	if res.KernelPath != kernels.Path() {
		return nil, 0, fmt.Errorf("bench: pith worker used kernel path %q, this process %q", res.KernelPath, kernels.Path())
	}
	return res.Figures, res.PeakRSS, nil
}

// The kernel's own per-child accounting (ru_maxrss from wait4) cannot give
// a run's peak memory: exec records the high-water mark of the address
// space it replaces, which for a child started with vfork (as os/exec
// does) is the parent's, so every child would report at least the
// parent's peak. VmHWM in /proc/PID/status belongs to the current address
// space only.

// vmHWM reads a process's VmHWM in MiB.
func vmHWM(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: peak memory: %w", err)
	}
	return parseVmHWM(b)
}

func parseVmHWM(status []byte) (float64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil && kb >= 0 {
					return kb / 1024, nil
				}
			}
			return 0, fmt.Errorf("bench: peak memory: VmHWM line %q", line)
		}
	}
	return 0, errors.New("bench: peak memory: no VmHWM in /proc/PID/status")
}

// runPolled runs cmd and returns the largest VmHWM seen while it ran,
// polled every 10 ms (VmHWM only grows, so the last reading before exit
// misses at most the growth of its final 10 ms).
func runPolled(cmd *exec.Cmd) (float64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak float64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return peak, err
		case <-tick.C:
			if v, err := vmHWM(cmd.Process.Pid); err == nil {
				peak = max(peak, v)
			}
		}
	}
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// ParseInts reads a comma-separated list of distinct positive integers,
// such as "128,512" for -p. A value listed twice is refused: its runs
// would add their samples to the same figure, which would then hold more
// repetitions than -r says, interleaved with itself.
func ParseInts(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 || v > 1<<20 {
			return nil, fmt.Errorf("bench: %q is not a list of positive integers", s)
		}
		if slices.Contains(out, v) {
			return nil, fmt.Errorf("bench: %q lists %d twice", s, v)
		}
		out = append(out, v)
	}
	return out, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
