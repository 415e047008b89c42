package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/model"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/runtime/server"
)

// Request figures: the peak resident memory of a process that serves one
// request of n context positions the way the enclave does, and the budget
// issue 5 sets for it (the model file, the request's KV cache, and 64 MiB
// for everything else).
func reqRSSTest(n int) string    { return "req" + strconv.Itoa(n) + "-peak-rss" }
func reqBudgetTest(n int) string { return "req" + strconv.Itoa(n) + "-budget" }

// MinRequest is the shortest request runRequest measures: its prompt is
// the request less the 33 positions of the generation.
const MinRequest = 64

// runRequest measures one request of n positions in this process: the
// model read wholly into memory (as pith-init reads it; an mmap'd file
// would count only the pages touched), a server-sized request arena locked
// in memory for a context of n, and a generation filling it: a prompt of
// n-33 tokens, then 32 greedy tokens.
func runRequest(ctx context.Context, req WorkerRequest, res *WorkerResult) error {
	n := req.Request
	f, err := gguf.ReadFile(req.Model, "")
	if err != nil {
		return fmt.Errorf("bench: model %q: %w", req.Model, err)
	}
	m, err := model.Load(f)
	if err != nil {
		return fmt.Errorf("bench: model %q: %w", req.Model, err)
	}
	m.Cache = req.Cache
	c := m.Config
	if n > c.ContextLen || n < MinRequest {
		return fmt.Errorf("bench: a request of %d positions (the model's context is %d; at least %d)", n, c.ContextLen, MinRequest)
	}
	lim := server.DefaultLimits()
	lim.MaxContext = n
	a, err := arena.New(server.ArenaSize(m, lim), arena.Options{AllowUnlocked: true})
	if err != nil {
		return fmt.Errorf("bench: request arena: %w", err)
	}
	defer a.Close()
	if !a.Locked() {
		fmt.Fprintln(os.Stderr, "bench: the request arena could not be locked in memory; its untouched pages do not count")
	}
	prompt := benchTokens(n-33, c.Vocab)
	opts := model.DefaultOptions()
	opts.Temperature, opts.NumCtx, opts.NumPredict = 0, n, 32
	err = a.Do(func(a *arena.Arena) error {
		_, err := m.Generate(ctx, prompt, opts, a, 1, func([]byte) error { return nil })
		return err
	})
	if err != nil {
		return fmt.Errorf("bench: request of %d positions: %w", n, err)
	}
	rss, err := vmHWM(os.Getpid())
	if err != nil {
		return err
	}
	st, err := os.Stat(req.Model)
	if err != nil {
		return err
	}
	kv := 2 * c.Layers * n * c.KVHeads * c.HeadDim * req.Cache.Size()
	res.PeakRSS = rss
	add := func(test string, v float64) {
		res.Figures = append(res.Figures, Figure{Suite: SuiteModel, System: SystemPith, Model: filepath.Base(req.Model), Test: test, Threads: req.Threads, Unit: UnitMiB, Samples: []float64{v}})
	}
	add(reqRSSTest(n), rss)
	add(reqBudgetTest(n), float64(st.Size()+int64(kv))/(1<<20)+64)
	return nil
}
