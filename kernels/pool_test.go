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

// twoShares runs a job of two chunks on two threads (split: with
// parallelSplit's ranges), so that the caller
// and a worker take one each: the caller's chunk runs mine once the other
// chunk has started (or fails the test after a while); the worker's runs
// theirs, which signals the start. A chunk the caller gets second runs
// neither. It returns what the job panicked with on the caller's
// goroutine.
func twoShares(t *testing.T, split bool, mine, theirs func()) (v any) {
	t.Helper()
	defer SetThreads(Threads())
	SetThreads(2)
	caller, started := goid(), make(chan struct{})
	var first atomic.Bool
	defer func() { v = recover() }()
	opMu.Lock()
	defer opMu.Unlock()
	start := parallel
	if split {
		start = parallelSplit
	}
	start(2, 1, funcJob(func(lo, hi int) {
		if goid() != caller {
			close(started)
			theirs()
			return
		}
		if !first.CompareAndSwap(false, true) {
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

// A worker's panic is raised again on the caller's goroutine (where the
// server's and pith-init's recovery withhold its value), not left to end
// the process from the worker's, and the pool goes on working.
func TestPoolWorkerPanicReachesCaller(t *testing.T) {
	type sentinel struct{ n int }
	for _, split := range []bool{false, true} {
		v := twoShares(t, split, func() {}, func() { panic(sentinel{7}) })
		if v != (sentinel{7}) {
			t.Fatalf("split=%v: the caller got %v, want the worker's panic", split, v)
		}
		if w := thePool.panicked.Load(); w != nil {
			t.Errorf("split=%v: the panic is still kept after it was raised: %v", split, w.v)
		}
		checkPoolRuns(t)
	}
}

// A panic in the caller's own share goes on only once the workers inside
// the job have left it: the next operation must not find them still at
// work on this one's buffers.
func TestPoolCallerPanicWaitsForWorkers(t *testing.T) {
	for _, split := range []bool{false, true} {
		var workerDone atomic.Bool
		v := twoShares(t, split, func() { panic("caller") }, func() {
			time.Sleep(100 * time.Millisecond)
			workerDone.Store(true)
		})
		if v != "caller" {
			t.Fatalf("split=%v: the caller got %v, want its own panic", split, v)
		}
		if !workerDone.Load() {
			t.Errorf("split=%v: the caller's panic left the job while a worker was still in it", split)
		}
		checkPoolRuns(t)
	}
}

// checkPoolRuns checks that a job after a panic runs every index once.
func checkPoolRuns(t *testing.T) {
	t.Helper()
	defer SetThreads(Threads())
	SetThreads(2)
	j := &countJob{hits: make([]atomic.Int32, 4096)}
	opMu.Lock()
	parallel(len(j.hits), 1, j)
	opMu.Unlock()
	for i := range j.hits {
		if h := j.hits[i].Load(); h != 1 {
			t.Fatalf("after the panic, index %d ran %d times", i, h)
		}
	}
}
