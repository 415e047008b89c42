// Package probe measures this machine's roofline: how fast it can stream
// memory (read bandwidth, one thread and all) and how fast it can compute
// (FP32 FMA peak). Kernel benchmarks divide their figures by these, measured
// in the same run, because the machines here are shared and drift from run
// to run: a ratio survives that, an absolute number does not.
package probe

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pith-project/pith/internal/hugemem"
)

// Options sets the size and number of measurements.
type Options struct {
	Threads int // all-core figures use this many threads (default GOMAXPROCS)
	Bytes   int // buffer streamed by the read probe (default 256 MiB)
	Repeats int // best of this many runs (default 5)
	// Path is the kernel path whose int8 instructions Int8Peak runs:
	// "" (or "avx512") the widest the CPU has, "avx2" AVX2's even on a CPU
	// with AVX-512 VNNI, whose instruction the avx2 path's kernels cannot
	// use, so that each path's prefill is judged against its own ceiling;
	// "portable" none (Int8Peak returns 0).
	Path string
	// MinTime is how long one read sample streams at least, going round
	// the buffer as often as it takes (default 100 ms). A benchmark that
	// times its kernels over samples of d should probe over samples of d
	// too: see readBandwidth.
	MinTime time.Duration
}

// readStep is the length of a step of readSum's loops.
const readStep = 256

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
	if o.MinTime <= 0 {
		o.MinTime = 100 * time.Millisecond
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
	r.Read1GBps = readBandwidth(buf, 1, o.Repeats, o.MinTime)
	r.FMA1GFlops = fmaPeak(1, o.Repeats)
	if o.Threads > 1 {
		r.ReadNGBps = readBandwidth(buf, o.Threads, o.Repeats, o.MinTime)
		r.FMANGFlops = fmaPeak(o.Threads, o.Repeats)
	} else {
		r.ReadNGBps, r.FMANGFlops = r.Read1GBps, r.FMA1GFlops
	}
	return r
}

// ReadBandwidth streams a buffer of o.Bytes with o.Threads threads (each its
// own contiguous share, for o.MinTime) and returns the best rate in GB/s.
func ReadBandwidth(o Options) float64 {
	o = o.withDefaults()
	return readBandwidth(touched(o.Bytes), o.Threads, o.Repeats, o.MinTime)
}

// The buffer of the last touched call, kept so that a benchmark sampling
// the probe between its kernel runs does not allocate and fault in
// hundreds of MiB for every sample.
var buffer struct {
	sync.Mutex
	b []byte
}

// touched is a buffer of n bytes with every page written, so that a probe
// reads memory, not the shared zero page. It is on huge pages where the
// kernel offers them, as the model's weights are (internal/hugemem): the
// probes measure the memory, and on 4 KiB pages they read 7% (one
// thread) and 11% (two) slower here.
func touched(n int) []byte {
	buffer.Lock()
	defer buffer.Unlock()
	if len(buffer.b) != n {
		buffer.b = nil // let the old one go before the new one is made
		b := hugemem.Make(n)
		for i := range b {
			b[i] = byte(i)
		}
		buffer.b = b
	}
	return buffer.b
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

// readBandwidth is the best of repeats samples of streaming reads of buf
// on threads threads, each reading its own contiguous share from start to
// end, round and round until minTime has passed, in pieces of 4 MiB so
// that every thread stops within a piece of the deadline.
//
// Why this is the peak that decode's kernels are judged against: a decode
// step streams every weight once, each thread a contiguous range of rows,
// and so does this, with the widest loads the CPU has, four 64-byte loads
// a step and nothing else in the loop (see readSum512), so it reads at
// least as fast as any kernel can; the buffer (256 MiB) is eight times the
// last-level cache, so none of it is served from there, as in decode.
// Samples as long as the kernels' (MinTime), rather than one pass: a pass
// at two threads is 3 ms, in which the threads' start (a wake-up each) and
// their uneven finish cost a fifth of the rate (best of seven: 76 GB/s by
// single passes, 92 by 100 ms samples, taken alternately), so the single
// pass understated the peak, and decode shares above 100% were possible.
// On a shared machine, a benchmark should take these samples between its
// kernel samples, so that the best of them is the best the memory system
// gave over a window as long as a kernel sample while the kernels ran.
func readBandwidth(buf []byte, threads, repeats int, minTime time.Duration) float64 {
	const piece = 4 << 20
	share := len(buf) / threads &^ (readStep - 1)
	if share == 0 {
		return 0
	}
	best := 0.0
	for range repeats {
		var total atomic.Int64
		deadline := time.Now().Add(minTime)
		sec := timeThreads(threads, func(i int) {
			mine := buf[i*share : (i+1)*share]
			var v uint64
			n := 0
			// At least one piece: a thread that started late still
			// counts what it read.
			for off := 0; ; off = (off + piece) % len(mine) {
				b := mine[off:min(off+piece, len(mine))]
				v ^= readSum(b)
				n += len(b)
				if time.Now().After(deadline) {
					break
				}
			}
			total.Add(int64(n))
			sink.Lock()
			sink.v += v
			sink.Unlock()
		})
		best = max(best, float64(total.Load())/sec/1e9)
	}
	return best
}

// fmaIters is long enough (tens of milliseconds) to hide start-up costs and
// the frequency ramp.
const fmaIters = 4 << 20

// Int8Peak runs independent int8 multiply-adds (AVX-512 VNNI's VPDPBUSD
// where the CPU has it, else AVX2's VPMADDUBSW; o.Path chooses a narrower
// one) on o.Threads threads and returns the best rate in GOP/s (a
// multiply-add counting 2), or 0 where there is none. The prefill kernels
// multiply int8 weights by int8 activations, so this, not the FP32 FMA
// peak, is what they could reach at most.
func Int8Peak(o Options) float64 {
	o = o.withDefaults()
	return peak(o.Threads, o.Repeats, func() float64 {
		v, n := int8Loop(o.Path, fmaIters)
		sink.Lock()
		sink.v += uint64(v)
		sink.Unlock()
		return n
	})
}

// The int8 instructions Int8Instructions names.
const (
	int8VNNI = "vpdpbusd-zmm"
	int8AVX2 = "vpmaddubsw-ymm"
)

// Int8Instructions names the int8 instructions Int8Peak runs for kernel
// path path on this CPU ("vpdpbusd-zmm" or "vpmaddubsw-ymm"), or "" where
// it has none; paths with the same name share a ceiling.
func Int8Instructions(path string) string { return int8Instructions(path) }

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
