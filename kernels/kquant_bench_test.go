package kernels

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatVecL2 runs MatVec (the token's conversion, then the decode
// kernel; BenchmarkDecodeL2 times the kernel alone) at one thread on a
// matrix of 4096-wide rows small enough (192 KiB) to stay in L2, as the
// matvec-l2 line of 'pith bench kernels' does, and reports GFLOP/s (two
// per weight) of the process's CPU time, which on a shared machine leaves
// out the waits for a core that the wall time counts.
func BenchmarkMatVecL2(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(3, 4))
	const cols = 4096
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K, Q6_K} {
		// Eight random rows, repeated, as the bench command's matrix.
		rb := mustRowBytesB(b, typ, cols)
		distinct := make([]byte, 8*rb)
		for i := range 8 {
			QuantizeRow(typ, distinct[i*rb:], randRow(r, cols))
		}
		m := Matrix{Type: typ, Rows: (192 << 10) / rb, Cols: cols}
		m.Data = bytes.Repeat(distinct, m.Rows/8+1)[:m.Rows*rb]
		rows := m.Rows
		x := randRow(r, cols)
		y := make([]float32, rows)
		work := make([]byte, MatMulWork(m, 1))
		for _, path := range Paths() {
			if path == "portable" {
				continue // a hundred times slower: not what this measures
			}
			b.Run(fmt.Sprintf("%v/%s", typ, path), func(b *testing.B) {
				if err := SetPath(path); err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuSeconds()
				for b.Loop() {
					MatVec(y, m, x, work)
				}
				reportGFLOPS(b, rows*cols, cpu0)
			})
		}
	}
}
