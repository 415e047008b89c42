package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/pith-project/pith/internal/hugemem"
	"github.com/pith-project/pith/kernels"
)

// KernelTypes are the weight formats RunKernels tries, in this order; those
// the kernels cannot compute with yet are skipped with a note.
var KernelTypes = []string{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"}

// KernelOptions choose what RunKernels measures.
type KernelOptions struct {
	Paths   []string // kernel paths; nil means kernels.Paths()
	Types   []string // nil means KernelTypes
	Threads []int    // thread counts of the memory-bound test; nil means kernels.Threads()
	Reps    int      // samples per figure (after one warm-up)
	// MinTime is how long one sample runs at least; 0 means 100 ms.
	MinTime time.Duration
	// Cols is the row length of the L2-resident matrix; 0 means 4096.
	Cols int
	// Layer is the layer shape of the decode test; zero means Qwen05B.
	Layer LayerShape
	// BigBytes is the least weight bytes the decode test reads per step;
	// 0 means 256 MiB, eight times the largest last-level cache seen here
	// and the size the bandwidth probe streams.
	BigBytes int
	// Probe, when set, takes one sample before each sample of a decode or
	// prefill figure and one after the last (see bracketed), at its
	// thread count: read bandwidth for decode, the int8 peak for prefill,
	// each added to the probe's own figure (ProbeThreads). Its samples
	// should be as long as MinTime. The shares divide by the best probe
	// sample of the run; the machines here are shared, and probe samples
	// taken only at the start met other tenants the kernel samples did
	// not, and the other way round.
	Probe    Probe
	Progress func(format string, args ...any)
}

// RunKernels measures, for every kernel path and weight format, a
// matrix-vector product in two regimes and adds the figures to r:
//
//   - "matvec-l2 TYPE": one thread, a matrix small enough to stay in L2, so
//     the dot product's arithmetic is the limit (GFLOP/s, judged against
//     the one-thread FMA probe);
//   - "decode TYPE": at each of opts.Threads, one decode step's matrix-
//     vector products over a stack of opts.Layer layers (GB/s of weights,
//     judged against the bandwidth probe); see decodeStack for why a stack
//     rather than one large matrix;
//   - "prefill TYPE" (PrefillTypes only): at one thread and each of
//     opts.Threads, one layer of opts.Layer times PrefillTokens tokens
//     (GFLOP/s, judged against the FMA probe and, as the kernels multiply
//     int8, the int8 probe).
//
// Where opts.Probe is a LayerProbe, each format also adds the probe figure
// "layer-read TYPE" at each of opts.Threads, decode's ceiling (layerReads).
//
// The kernel path and thread count in force before the call are restored.
func RunKernels(ctx context.Context, r *Report, opts KernelOptions) error {
	if opts.Paths == nil {
		opts.Paths = kernels.Paths()
	}
	if opts.Types == nil {
		opts.Types = KernelTypes
	}
	if len(opts.Threads) == 0 {
		opts.Threads = []int{kernels.Threads()}
	}
	if opts.Reps <= 0 {
		opts.Reps = 1
	}
	if opts.MinTime <= 0 {
		opts.MinTime = 100 * time.Millisecond
	}
	if opts.Cols <= 0 {
		opts.Cols = 4096
	}
	if opts.BigBytes <= 0 {
		opts.BigBytes = 256 << 20
	}
	if opts.Layer == (LayerShape{}) {
		opts.Layer = Qwen05B
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	oldPath, oldThreads := kernels.Path(), kernels.Threads()
	defer func() {
		kernels.SetPath(oldPath)
		kernels.SetThreads(oldThreads)
	}()

	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, opts.Cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, arg := range opts.Types {
		t, err := kernels.ParseType(arg)
		if err != nil {
			return fmt.Errorf("bench: kernel type %q: %w", arg, err)
		}
		// The canonical name ("Q4_0", not "q4_0"), so that the prefill
		// test is not skipped for a lower-case name and the figures of
		// any two runs compare by name (bench diff).
		name := t.String()
		small, err := testMatrix(t, opts.Cols, rng)
		var stack *decodeStack
		if err == nil {
			stack, err = newDecodeStack(t, opts.Layer, opts.BigBytes, rng)
		}
		var pre *prefillLayer
		if err == nil && PrefillTypes[name] {
			pre, err = newPrefillLayer(t, opts.Layer, PrefillTokens, rng)
		}
		if err != nil {
			r.Notes = appendOnce(r.Notes, fmt.Sprintf("kernels: %s skipped: %v", name, err))
			continue
		}
		if err := layerReads(ctx, r, opts, name, stack, progress); err != nil {
			return err
		}
		for _, path := range opts.Paths {
			if err := kernels.SetPath(path); err != nil {
				return fmt.Errorf("bench: kernel path %q: %w", path, err)
			}
			type kcase struct {
				test    string
				one     func()
				per     float64 // weight bytes (GB/s) or flops (GFLOP/s) of one call
				threads int
				unit    string
			}
			// The matrices as the model lays them out for this path.
			small, err := laidOut(small)
			if err != nil {
				return err
			}
			stack, pre := stack, pre
			if stack != nil {
				if stack, err = stack.laidOut(); err != nil {
					return err
				}
			}
			if pre != nil {
				if pre, err = pre.laidOut(); err != nil {
					return err
				}
			}
			y := make([]float32, small.Rows)
			work := make([]byte, kernels.MatMulWork(small, 1))
			cases := []kcase{{"matvec-l2 " + name, func() { kernels.MatVec(y, small, x, work) },
				2 * float64(small.Rows) * float64(small.Cols), 1, UnitGFLOPS}}
			for _, t := range opts.Threads {
				if t < 1 {
					return fmt.Errorf("bench: kernel threads %d", t)
				}
				cases = append(cases, kcase{"decode " + name, stack.step, float64(stack.bytes), t, UnitGBPerSec})
			}
			if pre != nil {
				for _, t := range prefillThreads(opts.Threads) {
					cases = append(cases, kcase{"prefill " + name, pre.step, pre.flops, t, UnitGFLOPS})
				}
			}
			for _, c := range cases {
				kernels.SetThreads(c.threads)
				one := c.one
				timeLoop(one, opts.MinTime/4) // warm-up: caches, pool threads, clocks
				samples := make([]float64, 0, opts.Reps)
				// Decode is paired with read-bandwidth samples, prefill
				// with int8 ones (its own arithmetic's ceiling).
				pair := pairProbe(opts.Probe, c.test, path)
				var around []float64 // probe samples around the kernel's
				sampleProbe := func() error {
					v, err := pair.sample(r, c.threads)
					around = append(around, v)
					return err
				}
				for range opts.Reps {
					if err := ctx.Err(); err != nil {
						return err
					}
					if pair.f != nil {
						if err := sampleProbe(); err != nil {
							return err
						}
					}
					calls, d := timeLoop(one, opts.MinTime)
					samples = append(samples, c.per*float64(calls)/d.Seconds()/1e9)
				}
				var paired []float64
				if pair.f != nil {
					if err := sampleProbe(); err != nil {
						return err
					}
					paired = bracketed(samples, around)
				}
				f := Figure{Suite: SuiteKernels, System: SystemPith, Test: c.test, Threads: c.threads, Path: path, Unit: c.unit, Samples: samples, Paired: paired}
				r.Add(f)
				_, med, _ := Summary(samples)
				progress("kernels %-6s %-16s t=%d  %8.1f %s", path, c.test, c.threads, med, c.unit)
			}
		}
	}
	return nil
}

// layerReads adds the figure "layer-read TYPE" at each of opts.Threads,
// where opts.Probe is a LayerProbe: the ceiling of the decode test, its
// stack's products read with nothing else (probe.LayerRead). It is the same
// for every kernel path, so it is measured once per format.
func layerReads(ctx context.Context, r *Report, opts KernelOptions, name string, stack *decodeStack, progress func(string, ...any)) error {
	lp, ok := opts.Probe.(LayerProbe)
	if !ok || stack == nil {
		return nil
	}
threads:
	for _, t := range opts.Threads {
		var samples []float64
		for i := range opts.Reps + 1 {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := lp.LayerRead(t, stack.products)
			if err != nil {
				// Products the probe cannot read (a layer too small for
				// the threads, or larger than its buffer) leave the
				// ceiling out; the kernels' figures stand without it.
				r.Notes = appendOnce(r.Notes, fmt.Sprintf("kernels: layer-read %s at %d threads skipped: %v", name, t, err))
				continue threads
			}
			if i > 0 { // the first is a warm-up
				samples = append(samples, v)
			}
		}
		r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: "layer-read " + name, Threads: t, Path: lp.Name(), Unit: UnitGBPerSec, Samples: samples})
		_, med, _ := Summary(samples)
		progress("probe  %-16s t=%d  %8.1f %s", "layer-read "+name, t, med, UnitGBPerSec)
	}
	return nil
}

// pairedProbe is the probe whose samples a kernel figure's are taken
// between: f takes one, added to the figure test (unit) of the report.
type pairedProbe struct {
	name, test, unit string
	f                func(threads int) (float64, error)
}

// pairProbe is the probe paired with the kernel test on path: read
// bandwidth for decode, the int8 peak of the path's instructions for
// prefill (see int8Probe), none for the rest or without p.
func pairProbe(p Probe, test, path string) pairedProbe {
	switch {
	case p == nil:
		return pairedProbe{}
	case strings.HasPrefix(test, "decode "):
		return pairedProbe{p.Name(), "read-bandwidth", UnitGBPerSec, p.Bandwidth}
	case strings.HasPrefix(test, "prefill "):
		i8, on := int8Probe(path)
		return pairedProbe{p.Name(), i8, UnitGOPS, func(threads int) (float64, error) { return p.Int8(on, threads) }}
	}
	return pairedProbe{}
}

// sample adds one sample of the probe at threads to r and returns it; a
// CPU without the probe's instruction (0) adds nothing.
func (pp pairedProbe) sample(r *Report, threads int) (float64, error) {
	v, err := pp.f(threads)
	if err != nil || v == 0 {
		return v, err
	}
	r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: pp.test, Threads: threads, Path: pp.name, Unit: pp.unit, Samples: []float64{v}})
	return v, nil
}

// bracketed divides each sample by the larger of the probe samples taken
// just before and just after it (bws holds one more than samples): the
// machines here switch between memory systems of 35–40 and 75–85 GB/s
// within seconds, and their cores' arithmetic by a third as other tenants
// come and go, and a pair whose window changed midway is then judged
// against the faster one, never flattered by the slower.
func bracketed(samples, bws []float64) []float64 {
	if len(bws) != len(samples)+1 {
		return nil
	}
	out := make([]float64, 0, len(samples))
	for i, v := range samples {
		if bw := max(bws[i], bws[i+1]); bw > 0 {
			out = append(out, v/bw)
		}
	}
	return out
}

// timeLoop calls f until at least d has passed and returns the number of
// calls and the time they took.
func timeLoop(f func(), d time.Duration) (int, time.Duration) {
	start := time.Now()
	n := 0
	for {
		f()
		n++
		if el := time.Since(start); el >= d {
			return n, el
		}
	}
}

// testMatrix builds a matrix of type t small enough (192 KiB) to stay in
// the L2 cache, from distinctRows random rows repeated.
func testMatrix(t kernels.Type, cols int, rng *rand.Rand) (kernels.Matrix, error) {
	rows, err := randomRows(t, cols, rng)
	if err != nil {
		return kernels.Matrix{}, err
	}
	rb := len(rows) / distinctRows
	n := max(distinctRows, (192<<10)/rb/distinctRows*distinctRows)
	data := make([]byte, n*rb)
	for off := 0; off < len(data); off += len(rows) {
		copy(data[off:], rows)
	}
	m := kernels.Matrix{Type: t, Rows: n, Cols: cols, Data: data}
	return m, m.Check()
}

// laidOut is m as model.Load lays it out for the active kernel path: m
// itself, or an interleaved copy (kernels.Interleave).
func laidOut(m kernels.Matrix) (kernels.Matrix, error) {
	if kernels.PathLayout(m.Type, m.Rows, m.Cols) == m.Layout {
		return m, nil
	}
	c := m
	c.Data = slices.Clone(m.Data)
	return kernels.Interleave(c)
}

// laidOutAll is laidOut of each of ms, in a slice of its own: the decode
// stack's and the prefill layer's matrices. The copies it makes share one
// buffer on huge pages, as the model's weights (see newDecodeStack).
func laidOutAll(ms []kernels.Matrix) ([]kernels.Matrix, error) {
	out := slices.Clone(ms)
	var moved []int
	total := 0
	for i, m := range ms {
		if kernels.PathLayout(m.Type, m.Rows, m.Cols) != m.Layout {
			moved = append(moved, i)
			total += align64(len(m.Data))
		}
	}
	arena := hugemem.Make(total)
	for _, i := range moved {
		c := ms[i]
		c.Data = carve(&arena, len(c.Data))
		copy(c.Data, ms[i].Data)
		var err error
		if out[i], err = kernels.Interleave(c); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// align64 rounds n up to a whole number of cache lines, where the next
// matrix of a shared buffer starts (GGUF aligns tensors to 32 bytes).
func align64(n int) int { return (n + 63) &^ 63 }

// carve takes the next n bytes of *arena for one matrix (capped, so that
// no append runs into the next) and moves *arena on to a cache line.
func carve(arena *[]byte, n int) []byte {
	b := (*arena)[:n:n]
	*arena = (*arena)[align64(n):]
	return b
}

func appendOnce(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}

// ProbeThreads measures the probe at each thread count (one warm-up, then
// reps samples each) and adds the figures to r.
func ProbeThreads(ctx context.Context, r *Report, p Probe, threads []int, reps int, progress func(string, ...any)) error {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	for _, t := range threads {
		for _, c := range []struct {
			test, unit string
			f          func(int) (float64, error)
		}{
			{"read-bandwidth", UnitGBPerSec, p.Bandwidth},
			{"fma-f32", UnitGFLOPS, p.FMA},
			{"int8-dot", UnitGOPS, func(t int) (float64, error) { return p.Int8("", t) }},
		} {
			if v, err := c.f(t); err != nil {
				return err
			} else if v == 0 {
				continue // a probe this CPU has no instruction for
			}
			var samples []float64
			for range max(reps, 1) {
				if err := ctx.Err(); err != nil {
					return err
				}
				v, err := c.f(t)
				if err != nil {
					return err
				}
				samples = append(samples, v)
			}
			r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: c.test, Threads: t, Path: p.Name(), Unit: c.unit, Samples: samples})
			_, med, _ := Summary(samples)
			progress("probe %-15s t=%d  %8.1f %s", c.test, t, med, c.unit)
		}
	}
	return nil
}

// prefillThreads is one thread, then each of threads: prefill is arithmetic,
// so the one-thread figure says how close a core comes to its peak.
func prefillThreads(threads []int) []int {
	out := []int{1}
	for _, t := range threads {
		if t != 1 {
			out = append(out, t)
		}
	}
	return out
}
