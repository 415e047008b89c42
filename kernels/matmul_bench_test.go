package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels/probe"
)

// The roofline of this machine, measured once per benchmark run (the
// machine is shared and drifts, so a figure from another run means little).
var roofline = sync.OnceValue(func() probe.Roofline {
	return probe.Measure(probe.Options{Threads: Threads()})
})

// int8Peaks holds int8Peak's figures, measured once per run and path.
var int8Peaks struct {
	sync.Mutex
	m map[string][2]float64
}

// int8Peak is the int8 probe (GOP/s) of kernel path path's instructions at
// one thread and at all, measured once per run as roofline; the prefill
// kernels multiply int8, so this is their own peak (0 where the path has
// no int8 vector instruction).
func int8Peak(path string) [2]float64 {
	int8Peaks.Lock()
	defer int8Peaks.Unlock()
	p, ok := int8Peaks.m[path]
	if !ok {
		p = [2]float64{probe.Int8Peak(probe.Options{Threads: 1, Path: path}), probe.Int8Peak(probe.Options{Threads: Threads(), Path: path})}
		if int8Peaks.m == nil {
			int8Peaks.m = map[string][2]float64{}
		}
		int8Peaks.m[path] = p
	}
	return p
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchThreads is PITH_BENCH_THREADS (comma-free: one number) or 1 and all.
func benchThreads() []int {
	if v, err := strconv.Atoi(os.Getenv("PITH_BENCH_THREADS")); err == nil && v > 0 {
		return []int{v}
	}
	if Threads() == 1 {
		return []int{1}
	}
	return []int{1, Threads()}
}

// BenchmarkMatMul runs the projections of one Qwen2.5-0.5B layer (hidden 896,
// FFN 4864: q/o 896x896, k/v 128x896, gate/up 4864x896, down 896x4864; for
// the K-quants only down, the one whose rows are whole 256-blocks), for
// decode (1 token) and prefill (128 tokens), on every path, and reports
// decode as weight bytes per second against the streaming-read bandwidth
// and prefill as integer multiply-adds per second against the FMA peak and
// the int8 peak (the int8 kernels do a block's 32 multiply-adds per token
// in far less than 32 float FMAs, so a share of the FMA peak above 1 is
// possible; the int8 probe, VPDPBUSD where there is VNNI, is the kernels'
// own ceiling).
func BenchmarkMatMul(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	roof := roofline()
	r := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ rows, cols int }{{896, 896}, {128, 896}, {128, 896}, {896, 896}, {4864, 896}, {4864, 896}, {896, 4864}}
	for _, typ := range []Type{Q4_0, Q8_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K, F16} {
		var ms []Matrix
		var bytes, macs int64
		for _, s := range shapes {
			if _, err := typ.RowBytes(s.cols); err != nil {
				continue // 896 is not a whole number of K-quant blocks
			}
			rb := mustRowBytesB(b, typ, s.cols)
			m := Matrix{Type: typ, Rows: s.rows, Cols: s.cols, Data: make([]byte, rb*s.rows)}
			for i := range s.rows {
				QuantizeRow(typ, m.Data[i*rb:], randRow(r, s.cols))
			}
			ms = append(ms, m)
			bytes += int64(len(m.Data))
			macs += int64(s.rows * s.cols)
		}
		for _, n := range []int{1, 128} {
			x := randRow(r, 4864*n)
			y := make([]float32, 4864*n)
			var work []byte
			for _, m := range ms {
				if len(work) < MatMulWork(m, n) {
					work = make([]byte, MatMulWork(m, n))
				}
			}
			for _, path := range Paths() {
				for _, threads := range benchThreads() {
					b.Run(fmt.Sprintf("%v/n=%d/%s/%dt", typ, n, path, threads), func(b *testing.B) {
						SetPath(path)
						SetThreads(threads)
						b.SetBytes(bytes)
						cpu0 := cpuSeconds()
						for b.Loop() {
							for _, m := range ms {
								MatMul(y, m, x, n, work)
							}
						}
						sec := b.Elapsed().Seconds() / float64(b.N)
						// On a shared machine the wall time includes waits
						// for a core; the process's CPU time per thread
						// does not (workers spin, so at 1 thread only).
						if threads == 1 {
							b.ReportMetric(float64(n)*float64(b.N)/(cpuSeconds()-cpu0), "cpu_tok/s")
						}
						bw := float64(bytes) / sec / 1e9
						gops := float64(macs) * float64(n) / sec / 1e9
						b.ReportMetric(float64(n)/sec, "tok/s")
						if n == 1 {
							b.ReportMetric(bw/roof.ReadGBps(threads), "x_bandwidth")
						} else {
							b.ReportMetric(gops, "GMAC/s")
							b.ReportMetric(2*gops/roof.FMAGFlops(threads), "x_fma_peak")
							if p := int8Peak(path); threads == 1 && p[0] > 0 {
								b.ReportMetric(2*gops/p[0], "x_int8_peak")
							} else if threads == Threads() && p[1] > 0 {
								b.ReportMetric(2*gops/p[1], "x_int8_peak")
							}
						}
					})
				}
			}
		}
	}
}
