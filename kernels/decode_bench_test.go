package kernels

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// BenchmarkDecodeL2 runs each path's decode kernel alone (no activation
// conversion, no dispatch) over an L2-resident matrix of 4096 columns
// (about 192 KiB, as `pith bench kernels`' matvec-l2), so its figure is the
// kernel's own arithmetic rate: GFLOP/s at 2 flops per weight, and
// weight bytes per second through SetBytes. The records are built once,
// as decode builds them per call.
func BenchmarkDecodeL2(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const cols = 4096
	for _, typ := range []Type{Q4_0, Q8_0, Q5_0, Q4_1, Q5_1} {
		rb := mustRowBytesB(b, typ, cols)
		rows := (192 << 10) / rb
		w := randMatrix(r, typ, rows, cols, rb).Data
		xt := typ.VecDotType()
		xq := make([]byte, mustRowBytesB(b, xt, cols))
		QuantizeRow(xt, xq, randRow(r, cols))
		for _, path := range Paths() {
			k, ok := decodes[path][typ]
			if !ok {
				continue
			}
			if _, err := paths[path](); err != nil {
				continue
			}
			nb := cols / typ.BlockSize()
			x := alignedRecords(k, xq, nb)
			y := make([]float32, rows)
			b.Run(typ.String()+"/"+path, func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				cpu0 := cpuSeconds()
				for b.Loop() {
					k.rows(nb, &w[0], rb, &x[0], &y[0], rows)
				}
				reportGFLOPS(b, rows*cols, cpu0)
			})
		}
	}
}

// reportGFLOPS reports b's rate of 2·macs flops per op by the wall clock
// and by the process's CPU time since cpu0 (one thread runs the loop: on a
// shared machine the CPU time leaves out the waits for a core).
func reportGFLOPS(b *testing.B, macs int, cpu0 float64) {
	flops := 2 * float64(macs) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if c := cpuSeconds() - cpu0; c > 0 {
		b.ReportMetric(flops/c/1e9, "cpu_GFLOP/s")
	}
}

// randMatrix is a matrix of random rows quantised to typ (rb bytes a row).
func randMatrix(r *rand.Rand, typ Type, rows, cols, rb int) Matrix {
	m := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rows*rb)}
	for i := range rows {
		QuantizeRow(typ, m.Data[i*rb:], randRow(r, cols))
	}
	return m
}

// BenchmarkDecodeQuant converts a 4096-wide token to Q8_0 with each
// path's activation quantiser (matKernels.quant, which decode and prefill
// use), and with the portable one, in ns per token.
func BenchmarkDecodeQuant(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const cols = 4096
	x := randRow(r, cols)
	dst := make([]byte, mustRowBytesB(b, Q8_0, cols))
	for _, path := range Paths() {
		k, ok := mats[path][Q8_0]
		if _, err := paths[path](); err != nil || !ok || k.quant == nil {
			continue
		}
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				k.quant(cols/QK, &x[0], &dst[0])
			}
		})
	}
	b.Run("portable", func(b *testing.B) {
		for b.Loop() {
			portable[Q8_0].quantize(dst, x)
		}
	})
}

// alignedRecords is k's records of the token's converted row xq (nb
// blocks of the weights) in a 64-byte aligned buffer, as decode lays them
// out; xq itself where k takes the row as it is.
func alignedRecords(k decodeKernel, xq []byte, nb int) []byte {
	if k.records == nil {
		return xq
	}
	buf := make([]byte, k.size(nb)+64)
	off := int(-uintptr(unsafe.Pointer(&buf[0])) & 63)
	x := buf[off : off+k.size(nb)]
	k.records(nb, &xq[0], &x[0], k.off)
	return x
}

// BenchmarkMatVecGroupFixed is the fixed cost of one decode product on the
// caller, for a group of three 8-row matrices of Qwen2.5-0.5B's width
// (its q, k and v are one group): the checks, the token's conversion, the
// dispatch and a few rows of arithmetic. At two threads the other thread
// waits through all but the arithmetic, every product of every token, so
// this is the serial part of decode that the weights' stream cannot hide.
func BenchmarkMatVecGroupFixed(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(7, 8))
	const cols = 896
	for _, typ := range []Type{Q4_0, Q4_K} {
		cols := (cols + typ.BlockSize() - 1) / typ.BlockSize() * typ.BlockSize()
		rb := mustRowBytesB(b, typ, cols)
		for _, path := range Paths() {
			if err := SetPath(path); err != nil {
				b.Fatal(err)
			}
			var ws []Matrix
			var ys [][]float32
			for range 3 {
				ws = append(ws, randMatrix(r, typ, 8, cols, rb))
				ys = append(ys, make([]float32, 8))
			}
			x := randRow(r, cols)
			work := make([]byte, MatMulWork(ws[0], 1))
			b.Run(typ.String()+"/"+path, func(b *testing.B) {
				for b.Loop() {
					MatVecGroup(ys, ws, x, work)
				}
			})
		}
	}
}
