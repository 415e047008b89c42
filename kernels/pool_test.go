package kernels

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// goid is the calling goroutine's id, from its stack's header line.
func goid() uint64 {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	buf = bytes.TrimPrefix(buf, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(buf[:bytes.IndexByte(buf, ' ')]), 10, 64)
	return id
}

// funcJob is a runner from a function.
type funcJob func(lo, hi int)

func (f funcJob) run(lo, hi int) { f(lo, hi) }

// twoShares runs a job of two chunks on the pool's two threads (split:
// with parallelSplit's ranges), so that the caller and a worker take one
// each: the caller's chunk runs mine once a worker has started the other
// (or fails the test after a while); the first chunk a worker runs runs
// theirs, which signals the start. Any other chunk runs neither. It
// returns what the job panicked with on the caller's goroutine.
func twoShares(t *testing.T, split bool, mine, theirs func()) (v any) {
	t.Helper()
	caller, started := goid(), make(chan struct{})
	var callerFirst, workerFirst atomic.Bool
	defer func() { v = recover() }()
	opMu.Lock()
	defer opMu.Unlock()
	start := parallel
	if split {
		start = parallelSplit
	}
	start(2, 1, funcJob(func(lo, hi int) {
		if goid() != caller {
			if workerFirst.CompareAndSwap(false, true) {
				close(started)
				theirs()
			}
			return
		}
		if !callerFirst.CompareAndSwap(false, true) {
			return
		}
		select {
		case <-started:
			mine()
		case <-time.After(20 * time.Second):
			t.Error("no worker joined the job")
		}
	}))
	return nil
}

// twoThreads gives the test a pool of two threads, the one every check
// after a panic must look at (SetThreads makes a new pool).
func twoThreads(t *testing.T) *pool {
	n := Threads()
	t.Cleanup(func() { SetThreads(n) })
	SetThreads(2)
	return thePool
}

// A worker's panic is raised again on the caller's goroutine (where the
// server's and pith-init's recovery withhold its value), not left to end
// the process from the worker's, and the pool goes on working.
func TestPoolWorkerPanicReachesCaller(t *testing.T) {
	type sentinel struct{ n int }
	p := twoThreads(t)
	for _, split := range []bool{false, true} {
		v := twoShares(t, split, func() {}, func() { panic(sentinel{7}) })
		if v != (sentinel{7}) {
			t.Fatalf("split=%v: the caller got %v, want the worker's panic", split, v)
		}
		if w := p.panicked.Load(); w != nil {
			t.Errorf("split=%v: the panic is still kept after it was raised: %v", split, w.v)
		}
		checkPoolRuns(t, p)
	}
}

// A panic in the caller's own share goes on only once the workers inside
// the job have left it (the next operation must not find them still at
// work on this one's buffers), and drops a worker's panic of the same job.
func TestPoolCallerPanicWaitsForWorkers(t *testing.T) {
	p := twoThreads(t)
	for _, split := range []bool{false, true} {
		var workerDone atomic.Bool
		v := twoShares(t, split, func() { panic("caller") }, func() {
			time.Sleep(100 * time.Millisecond)
			workerDone.Store(true)
			panic("worker")
		})
		if v != "caller" {
			t.Fatalf("split=%v: the caller got %v, want its own panic", split, v)
		}
		if !workerDone.Load() {
			t.Errorf("split=%v: the caller's panic left the job while a worker was still in it", split)
		}
		if w := p.panicked.Load(); w != nil {
			t.Errorf("split=%v: the worker's panic is kept for the next job: %v", split, w.v)
		}
		checkPoolRuns(t, p)
	}
}

// checkPoolRuns checks that a job on p after a panic runs every index
// once and raises nothing.
func checkPoolRuns(t *testing.T, p *pool) {
	t.Helper()
	if thePool != p {
		t.Fatal("the pool was replaced")
	}
	j := &countJob{hits: make([]atomic.Int32, 4096)}
	func() {
		// Unlocked even when the job panics, so that the test fails
		// rather than hangs in its cleanup's SetThreads.
		opMu.Lock()
		defer opMu.Unlock()
		parallel(len(j.hits), 1, j)
	}()
	for i := range j.hits {
		if h := j.hits[i].Load(); h != 1 {
			t.Fatalf("after the panic, index %d ran %d times", i, h)
		}
	}
}
