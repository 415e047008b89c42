package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pith-project/pith/internal/wipe"
)

// The pool splits one operation over persistent worker goroutines, one per
// core beyond the caller's. A decode step has a few hundred hand-offs, so the
// hand-off must cost tens of nanoseconds: a channel round trip costs about
// 250 ns here and waking a parked goroutine microseconds, while a spin on an
// atomic generation counter costs about 50 ns. Workers therefore spin for a
// bounded time after each job and only then park on a channel, so an idle
// process does not burn its cores (the machine is shared).
//
// Between two of a decode step's products the memory system idles for 2-5 µs
// here (Zen 5, two vCPUs, Qwen2.5-0.5B's layers, traced): the caller
// converts the token (0.3-2.5 µs, most for the FFN's 4864-wide down input),
// posts the job (about 1 µs: each cache line the other core last touched
// costs 0.2-0.5 µs to take back) and waits for the last worker to leave
// (about 1 µs, the state's line going there and back). Two ways to hide or
// shorten that were measured and left out. A thread that had finished its
// share asked for the start of its share of the next product (the caller
// naming the next matrices) while it waited: 2-5% faster on bench's stack of
// layers (64-512 KiB, four formats), and no faster on the model's own decode
// (Q4_0 and Q4_K_M, 16-token rounds alternated in one process, median ratios
// 1.001 and 1.004). And the job's fields, generation and state on one cache
// line, away from the chunk counter, which a split job does not reset:
// posting took 0.7-1.0 µs against 0.9-1.4 in some runs and no less in
// others.
//
// Work is handed out in chunks from an atomic counter (or, for decode,
// from per-thread ranges that the other threads steal the ends of: see
// parallelSplit) rather than split statically, and a worker must join a
// job before its end to take part, so a thread the OS has descheduled (the
// machines here are shared and often oversubscribed) never holds up the
// caller: the caller runs the chunks nobody claimed and waits only for
// workers already inside a chunk.
//
// Nothing here allocates per call: the job is an interface holding a pointer
// to a job struct that lives in package state (see opMu), and the workers and
// their wake channels are made once by SetThreads.
//
// A worker runs its share of each job inside wipe.Do (runtime/secret.Do),
// so that what the share spilled to the worker's stack (the Go code's
// locals, the frames of assembly kernels) and left in its vector registers
// (activations, until something overwrites them; a signal handler's saved
// context, on the thread's signal stack, would hold them) is erased when
// the share ends. The caller's share needs nothing here: a request runs
// inside its own wipe.Do, but that covers only its goroutine, never the
// workers (runtime/secret says so), which live for the whole process.
// The cost is about 80 ns a share on a worker's small stack (secret.Do
// clears from the stack's bottom to its pointer, so a grown stack costs
// more until the collector shrinks it): a few hundred shares a decode
// step, within the noise of its tokens per second.
//
// A panic in a worker's share is the caller's: the worker keeps it and
// the caller raises it again once no worker is inside the job. Left on
// the worker's goroutine, which nothing recovers, it would end the
// process, and the runtime would print its value (an index, an error's
// text, possibly derived from a request) on the console, which the host
// reads; on the caller's goroutine it meets what every request's panic
// meets (the server's recoverPanic, pith-init's pid1.Guard), which
// withholds the value. Likewise a panic in the caller's own share waits
// for the workers inside the job before it goes on, so that the next
// operation (opMu is released as the panic passes) never finds them still
// running the last one; a worker's panic in the same job is then dropped
// for the caller's.
type pool struct {
	workers int  // goroutines besides the caller
	wipe    bool // workers run their shares inside wipe.Do (the memory-scan test's control run turns it off)

	gen  atomic.Uint32 // bumped once per job; workers wait for a change
	quit atomic.Bool

	job      runner
	n, chunk int
	split    bool         // chunk is the grain of split ranges (parallelSplit)
	next     atomic.Int64 // next unclaimed index of the job
	// ranges are the threads' ranges of a split job (caller 0, worker i
	// at i+1), each its lo (low 32 bits) and hi, on a cache line of its
	// own so an owner's claims do not contend with the other threads'.
	ranges []splitRange

	// state is the job's generation (high 32 bits), whether it is closed
	// to joiners (closedBit) and how many workers are inside (the rest).
	state        atomic.Uint64
	parked       []atomic.Bool
	wake         []chan struct{}
	callerParked atomic.Bool
	done         chan struct{}
	// panicked is the first panic of the job's workers, for run to
	// raise again on the caller's goroutine.
	panicked atomic.Pointer[workerPanic]
}

// workerPanic is a worker's recovered panic value.
type workerPanic struct{ v any }

const (
	closedBit = 1 << 31
	countMask = closedBit - 1
)

type splitRange struct {
	lohi atomic.Uint64
	_    [56]byte
}

// A runner is one parallel operation: run covers indices [lo, hi).
type runner interface{ run(lo, hi int) }

// A postHook is a runner with work for the caller to start once the job
// is posted, before it takes its share (groupJob's).
type postHook interface{ posted() }

// spinFor is how long an idle worker (or a waiting caller) spins before it
// parks. Long enough to bridge the gap between two matrix products of one
// forward pass, short enough not to matter to other processes.
const spinFor = 100 * time.Microsecond

var (
	// opMu serialises parallel operations: the job structs below are
	// reused, so that starting an operation allocates nothing.
	opMu    sync.Mutex
	thePool = newPool(runtime.GOMAXPROCS(0))
)

func newPool(threads int) *pool {
	p := &pool{workers: max(threads, 1) - 1, wipe: wipe.Enabled, done: make(chan struct{}, 1)}
	p.ranges = make([]splitRange, p.workers+1)
	p.parked = make([]atomic.Bool, p.workers)
	p.wake = make([]chan struct{}, p.workers)
	for i := range p.workers {
		p.wake[i] = make(chan struct{}, 1)
		go p.work(i)
	}
	return p
}

// SetThreads sets how many cores the kernels use (at least 1).
func SetThreads(n int) {
	opMu.Lock()
	defer opMu.Unlock()
	old := thePool
	thePool = newPool(n)
	old.quit.Store(true)
	old.gen.Add(1)
	old.wakeAll()
}

// Threads is the number of cores the kernels use.
func Threads() int { return thePool.workers + 1 }

func (p *pool) wakeAll() {
	for i := range p.parked {
		if p.parked[i].CompareAndSwap(true, false) {
			p.wake[i] <- struct{}{}
		}
	}
}

// work is worker i's loop.
func (p *pool) work(i int) {
	// Not p.gen.Load(): the first job may already have been posted by the
	// time this goroutine starts.
	var seen uint32
	for {
		// Wait for the next job: spin, then park.
		start := time.Now()
		for spins := 0; p.gen.Load() == seen; spins++ {
			if spins&255 != 255 || time.Since(start) < spinFor {
				continue
			}
			p.parked[i].Store(true)
			if p.gen.Load() != seen && p.parked[i].CompareAndSwap(true, false) {
				break // a job arrived before anyone saw us park
			}
			// Either nobody has seen the flag yet (the dispatcher will
			// clear it and send) or it already did: a token comes.
			<-p.wake[i]
			start = time.Now()
		}
		seen = p.gen.Load()
		if p.quit.Load() {
			return
		}
		if !p.join(seen) {
			continue // too late: the caller has finished that job alone
		}
		p.share(i)
		if s := p.state.Add(^uint64(0)); s&closedBit != 0 && s&countMask == 0 && p.callerParked.CompareAndSwap(true, false) {
			p.done <- struct{}{}
		}
	}
}

// share runs worker i's share of the current job, keeping a panic for
// the caller (see pool). The chunks the worker would have claimed after
// it go to the other threads, so the job still ends.
func (p *pool) share(i int) {
	defer func() {
		if v := recover(); v != nil {
			p.panicked.CompareAndSwap(nil, &workerPanic{v})
		}
	}()
	if p.wipe {
		wipe.Do(func() { p.claim(i + 1) })
	} else {
		p.claim(i + 1)
	}
}

// join enters job gen unless it has closed or been replaced.
func (p *pool) join(gen uint32) bool {
	for {
		s := p.state.Load()
		if uint32(s>>32) != gen || s&closedBit != 0 {
			return false
		}
		if p.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// claim runs chunks of the current job until none are left; t is the
// thread (0 the caller, i+1 worker i).
func (p *pool) claim(t int) {
	if p.split {
		p.claimSplit(t)
		return
	}
	for {
		lo := int(p.next.Add(int64(p.chunk))) - p.chunk
		if lo >= p.n {
			return
		}
		p.job.run(lo, min(lo+p.chunk, p.n))
	}
}

// claimSplit runs thread t's own range front to back, half of what is
// left of it at a time (at least a grain), then steals from the back of
// the other threads' ranges, half of what is left of one at a time, until
// every range is empty. So each thread streams one contiguous range with
// few claims, and the end of a job, or a thread the OS has descheduled,
// is shared out in ever smaller pieces.
func (p *pool) claimSplit(t int) {
	threads := len(p.ranges)
	for v := 0; v < threads; {
		r := &p.ranges[(t+v)%threads].lohi
		s := r.Load()
		lo, hi := int(uint32(s)), int(s>>32)
		if lo >= hi {
			v++ // empty: the next thread's range
			continue
		}
		size := ((hi-lo+1)/2 + p.chunk - 1) / p.chunk * p.chunk
		if v == 0 {
			nlo := min(lo+size, hi)
			if r.CompareAndSwap(s, uint64(hi)<<32|uint64(nlo)) {
				p.job.run(lo, nlo)
			}
		} else {
			nhi := max(hi-size, lo)
			if r.CompareAndSwap(s, uint64(nhi)<<32|uint64(lo)) {
				p.job.run(nhi, hi)
			}
		}
	}
}

// parallel runs j over [0, n) in chunks of a multiple of grain indices (the
// last may be shorter), on every thread. The caller must hold opMu.
func parallel(n, grain int, j runner) {
	p := thePool
	if p.workers == 0 || n <= grain {
		j.run(0, n)
		return
	}
	threads := p.workers + 1
	// About four chunks per thread: enough to balance a thread that was
	// descheduled, few enough that claiming costs nothing.
	chunk := max(grain, (n+4*threads-1)/(4*threads))
	chunk = (chunk + grain - 1) / grain * grain
	p.run(j, n, chunk, false)
}

// parallelSplit is parallel with the indices split into one contiguous
// range per thread (at grain boundaries), each run front to back, and the
// ranges' ends shared out as claimSplit does: for decode's matrix-vector
// products, whose threads each stream their rows' weights from memory and
// lose the stream (the hardware's and the kernels' prefetch, which runs
// 16 KiB ahead) at every jump to another chunk. Shrinking shared chunks
// (a quarter of what was left, and so on) jumped about twenty times per
// product and prefetched 16 KiB past each chunk's end for nothing.
func parallelSplit(n, grain int, j runner) {
	p := thePool
	if p.workers == 0 || n <= grain {
		j.run(0, n)
		return
	}
	p.run(j, n, grain, true)
}

// run posts job j over [0, n), takes part in it and waits for the workers
// that joined; then it raises a worker's panic again (see pool).
func (p *pool) run(j runner, n, chunk int, split bool) {
	p.job, p.n, p.chunk, p.split = j, n, chunk, split
	p.next.Store(0)
	if split {
		threads := len(p.ranges)
		lo := 0
		for t := range threads {
			hi := n
			if t+1 < threads {
				hi = min(n, ((t+1)*n/threads+chunk/2)/chunk*chunk)
			}
			p.ranges[t].lohi.Store(uint64(hi)<<32 | uint64(lo))
			lo = hi
		}
	}
	gen := p.gen.Load() + 1
	p.state.Store(uint64(gen) << 32)
	p.gen.Store(gen)
	p.wakeAll()
	ended := false
	defer func() {
		if !ended { // the caller's share panicked: its panic goes on
			p.end()
			p.panicked.Store(nil)
		}
	}()
	if h, ok := j.(postHook); ok {
		h.posted()
	}
	p.claim(0)
	ended = true
	p.end()
	if w := p.panicked.Swap(nil); w != nil {
		panic(w.v)
	}
}

// end closes the job to joiners once every chunk is claimed (or the
// caller's share panicked) and waits for the workers that joined to
// finish theirs.
func (p *pool) end() {
	for {
		s := p.state.Load()
		if p.state.CompareAndSwap(s, s|closedBit) {
			break
		}
	}
	start := time.Now()
	for spins := 0; p.state.Load()&countMask != 0; spins++ {
		if spins&255 != 255 || time.Since(start) < spinFor {
			continue
		}
		p.callerParked.Store(true)
		if p.state.Load()&countMask == 0 && p.callerParked.CompareAndSwap(true, false) {
			break
		}
		<-p.done
		break
	}
	p.job = nil
}
