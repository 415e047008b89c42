package bench

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// A Probe measures the machine's limits that the kernels are judged
// against: streaming read bandwidth and FP32 fused multiply-add throughput,
// with a given number of threads. Each call is one sample.
type Probe interface {
	Name() string
	Bandwidth(threads int) (gbPerSec float64, err error)
	FMA(threads int) (gflops float64, err error)
}

// BuiltinProbe is bench's own probe: it reads a buffer far larger than the
// last-level cache with the widest loads this build can issue, and runs
// independent FMA chains in registers. It stands in until the kernels'
// probe exists; both aim at the same question, so ratios stay comparable.
type BuiltinProbe struct {
	// Bytes is the buffer read per thread set; 0 means 256 MiB.
	Bytes int
	once  sync.Once
	buf   []uint64
}

// Name says which loads and FMA width this build uses.
func (p *BuiltinProbe) Name() string { return "builtin " + probeKind() }

func (p *BuiltinProbe) buffer() []uint64 {
	p.once.Do(func() {
		n := p.Bytes
		if n <= 0 {
			n = 256 << 20
		}
		p.buf = make([]uint64, n/8)
		for i := range p.buf { // touch every page so first use is not page faults
			p.buf[i] = uint64(i)
		}
	})
	return p.buf
}

// Bandwidth reads the whole buffer, split across threads, repeatedly for
// at least 150 ms and returns the best pass's bytes per second: like
// STREAM, the best pass is the machine's capability, and the others saw
// interference from the other tenants.
func (p *BuiltinProbe) Bandwidth(threads int) (float64, error) {
	if threads < 1 {
		return 0, fmt.Errorf("bench: probe threads %d", threads)
	}
	buf := p.buffer()
	chunk := len(buf) / threads / 64 * 64
	var sink [64]uint64
	var best time.Duration
	for start := time.Now(); time.Since(start) < 150*time.Millisecond; {
		d := parallel(threads, func(i int) {
			sink[i%64] += readSum(buf[i*chunk : (i+1)*chunk])
		})
		if best == 0 || d < best {
			best = d
		}
	}
	runtime.KeepAlive(sink)
	return float64(chunk*threads*8) / best.Seconds() / 1e9, nil
}

// FMA runs independent FMA chains on every thread, repeatedly for at least
// 100 ms, and returns the best pass's floating-point operations per second
// (an FMA counts as two).
func (p *BuiltinProbe) FMA(threads int) (float64, error) {
	if threads < 1 {
		return 0, fmt.Errorf("bench: probe threads %d", threads)
	}
	const iters = 1 << 20
	var sink [64]float32
	var best time.Duration
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		d := parallel(threads, func(i int) {
			sink[i%64] += fmaLoop(iters)
		})
		if best == 0 || d < best {
			best = d
		}
	}
	runtime.KeepAlive(sink)
	return float64(threads) * float64(iters) * fmaFlopsPerIter() / best.Seconds() / 1e9, nil
}

// parallel runs f(0..threads-1) on locked OS threads, started together,
// and returns the wall time until the last one finishes.
func parallel(threads int, f func(i int)) time.Duration {
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
			f(i)
			done.Done()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0)
}

// readSumPortable adds 64-bit words with eight independent accumulators, so
// the loads, not the adds, are the bottleneck.
func readSumPortable(b []uint64) uint64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 uint64
	for len(b) >= 8 {
		c := (*[8]uint64)(b)
		s0 += c[0]
		s1 += c[1]
		s2 += c[2]
		s3 += c[3]
		s4 += c[4]
		s5 += c[5]
		s6 += c[6]
		s7 += c[7]
		b = b[8:]
	}
	for _, v := range b {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}

// fmaLoopPortable runs ten independent chains of x = x*a + b in float64 with
// math.FMA semantics left to the compiler: scalar, so far below a SIMD
// peak; it is only used when the build has no SIMD.
func fmaLoopPortable(iters int) float32 {
	const a, b = 0.99999, 1e-6
	x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 := 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9
	for range iters {
		x0 = x0*a + b
		x1 = x1*a + b
		x2 = x2*a + b
		x3 = x3*a + b
		x4 = x4*a + b
		x5 = x5*a + b
		x6 = x6*a + b
		x7 = x7*a + b
		x8 = x8*a + b
		x9 = x9*a + b
	}
	return float32(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9)
}
