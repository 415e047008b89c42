package kernels

import (
	"runtime"
	"sync"
)

// The pool splits work over persistent goroutines, one per core, so a
// matrix product costs a hand-off rather than goroutine creation.
type pool struct {
	mu      sync.Mutex // one parallel operation at a time
	workers []chan task
	wg      sync.WaitGroup
}

type task struct {
	fn     func(lo, hi int)
	lo, hi int
}

var thePool = newPool(runtime.GOMAXPROCS(0))

func newPool(n int) *pool {
	p := &pool{}
	for i := 1; i < n; i++ {
		ch := make(chan task)
		p.workers = append(p.workers, ch)
		go func() {
			for t := range ch {
				t.fn(t.lo, t.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// SetThreads sets how many cores the kernels use (at least 1).
func SetThreads(n int) {
	if n < 1 {
		n = 1
	}
	thePool.mu.Lock()
	old := thePool
	thePool = newPool(n)
	old.mu.Unlock()
	for _, ch := range old.workers {
		close(ch)
	}
}

// Threads is the number of cores the kernels use.
func Threads() int { return len(thePool.workers) + 1 }

// parallel runs fn over [0, n) split into contiguous ranges, one per
// thread, each a multiple of grain (except the last).
func parallel(n, grain int, fn func(lo, hi int)) {
	p := thePool
	threads := len(p.workers) + 1
	if threads == 1 || n <= grain {
		fn(0, n)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	chunk := (n + threads - 1) / threads
	chunk = (chunk + grain - 1) / grain * grain
	lo := chunk
	for _, ch := range p.workers {
		if lo >= n {
			break
		}
		hi := min(lo+chunk, n)
		p.wg.Add(1)
		ch <- task{fn, lo, hi}
		lo = hi
	}
	fn(0, min(chunk, n))
	p.wg.Wait()
}
