// Package probe measures this machine's roofline: how fast it can stream
// memory (read bandwidth, one thread and all) and how fast it can compute
// (FP32 FMA peak). Kernel benchmarks divide their figures by these, measured
// in the same run, because the machines here are shared and drift from run
// to run: a ratio survives that, an absolute number does not.
package probe

import (
	"runtime"
	"sync"
	"time"
)

// Options sets the size and number of measurements.
type Options struct {
	Threads int // all-core figures use this many threads (default GOMAXPROCS)
	Bytes   int // buffer streamed by the read probe (default 256 MiB)
	Repeats int // best of this many runs (default 5)
}

func (o Options) withDefaults() Options {
	if o.Threads < 1 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.Bytes < 1<<20 {
		o.Bytes = 256 << 20
	}
	if o.Repeats < 1 {
		o.Repeats = 5
	}
	return o
}

// Roofline is one machine's limits, measured with Measure.
type Roofline struct {
	Threads    int     // the thread count of the N figures
	Read1GBps  float64 // streaming read, one thread, GB/s (1e9 bytes)
	ReadNGBps  float64 // streaming read, Threads threads
	FMA1GFlops float64 // FP32 FMA peak, one thread, GFLOP/s (an FMA is 2)
	FMANGFlops float64 // FP32 FMA peak, Threads threads
	Kernel     string  // which probe loops ran ("avx512", "avx2", "portable")
}

// ReadGBps is the read bandwidth at threads (the one-thread or the
// all-thread figure, whichever threads matches; others interpolate
// linearly, which is what bandwidth does until it saturates).
func (r Roofline) ReadGBps(threads int) float64 { return r.pick(threads, r.Read1GBps, r.ReadNGBps) }

// FMAGFlops is the FMA peak at threads, as ReadGBps.
func (r Roofline) FMAGFlops(threads int) float64 { return r.pick(threads, r.FMA1GFlops, r.FMANGFlops) }

func (r Roofline) pick(threads int, one, all float64) float64 {
	switch {
	case threads <= 1 || r.Threads <= 1:
		return one
	case threads >= r.Threads:
		return all
	}
	return one + (all-one)*float64(threads-1)/float64(r.Threads-1)
}

// Measure runs both probes at 1 and o.Threads threads.
func Measure(o Options) Roofline {
	o = o.withDefaults()
	buf := touched(o.Bytes)
	r := Roofline{Threads: o.Threads, Kernel: kernel()}
	r.Read1GBps = readBandwidth(buf, 1, o.Repeats)
	r.FMA1GFlops = fmaPeak(1, o.Repeats)
	if o.Threads > 1 {
		r.ReadNGBps = readBandwidth(buf, o.Threads, o.Repeats)
		r.FMANGFlops = fmaPeak(o.Threads, o.Repeats)
	} else {
		r.ReadNGBps, r.FMANGFlops = r.Read1GBps, r.FMA1GFlops
	}
	return r
}

// ReadBandwidth streams a buffer of o.Bytes with o.Threads threads (each its
// own contiguous share) and returns the best rate in GB/s.
func ReadBandwidth(o Options) float64 {
	o = o.withDefaults()
	return readBandwidth(touched(o.Bytes), o.Threads, o.Repeats)
}

// touched is a buffer of n bytes with every page written, so that a probe
// reads memory, not the shared zero page.
func touched(n int) []byte {
	buf := make([]byte, n)
	for i := range buf {
		buf[i] = byte(i)
	}
	return buf
}

// FMAPeak runs independent FP32 FMA chains on o.Threads threads and returns
// the best rate in GFLOP/s.
func FMAPeak(o Options) float64 {
	o = o.withDefaults()
	return fmaPeak(o.Threads, o.Repeats)
}

// sink keeps the probes' results alive so no compiler can drop the work.
var sink struct {
	sync.Mutex
	v uint64
	f float32
}

func readBandwidth(buf []byte, threads, repeats int) float64 {
	share := len(buf) / threads &^ 127 // the kernels read 128 bytes a step
	best := 0.0
	for range repeats {
		sec := timeThreads(threads, func(i int) {
			v := readSum(buf[i*share : (i+1)*share])
			sink.Lock()
			sink.v += v
			sink.Unlock()
		})
		best = max(best, float64(share*threads)/sec/1e9)
	}
	return best
}

// fmaIters is long enough (tens of milliseconds) to hide start-up costs and
// the frequency ramp.
const fmaIters = 4 << 20

// Int8Peak runs independent int8 multiply-add chains (AVX-512 VNNI's
// VPDPBUSD where the CPU has it, else AVX2's VPMADDUBSW with the widening
// and add the avx2 kernels need) on o.Threads threads and returns the best
// rate in GOP/s (a multiply-add counting 2), or 0 where there is none. The
// prefill kernels multiply int8 weights by int8 activations, so this, not
// the FP32 FMA peak, is what they could reach at most.
func Int8Peak(o Options) float64 {
	o = o.withDefaults()
	return peak(o.Threads, o.Repeats, func() float64 {
		v, n := int8Loop(fmaIters)
		sink.Lock()
		sink.v += uint64(v)
		sink.Unlock()
		return n
	})
}

func fmaPeak(threads, repeats int) float64 {
	return peak(threads, repeats, func() float64 {
		f, n := fmaLoop(fmaIters)
		sink.Lock()
		sink.f += f
		sink.Unlock()
		return n
	})
}

// peak runs loop on threads threads at once, repeats times, and returns the
// best rate of the operations they report, in billions per second.
func peak(threads, repeats int, loop func() (ops float64)) float64 {
	best := 0.0
	for range repeats {
		var mu sync.Mutex
		var ops float64
		sec := timeThreads(threads, func(int) {
			n := loop()
			mu.Lock()
			ops += n
			mu.Unlock()
		})
		best = max(best, ops/sec/1e9)
	}
	return best
}

// timeThreads runs fn on threads goroutines, each locked to an OS thread,
// released together, and returns the wall time until the last finishes.
func timeThreads(threads int, fn func(i int)) float64 {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(threads)
	done.Add(threads)
	for i := range threads {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			fn(i)
			done.Done()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0).Seconds()
}
