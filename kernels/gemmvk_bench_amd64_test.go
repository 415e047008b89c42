package kernels

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// BenchmarkLanesQ6_K times the avx512 Q6_K row-lane kernels alone, on one
// tile of sixteen rows of the FFN's down matrix (4864 columns, 19 blocks)
// and one group of sixteen tokens, all in L2: gemm (the integer multiply-adds
// per second against the int8 probe, x_int8_peak) and the repack that each
// pass of tokens pays per tile (its time as a share of one gemm call's,
// x_gemm). The whole product (BenchmarkMatMul) adds the activations'
// quantisation, the passes and the threads.
func BenchmarkLanesQ6_K(b *testing.B) {
	if !cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VL {
		b.Skip("no AVX-512 VNNI")
	}
	const cols, nb = 4864, 4864 / QKK
	kl := kLanesAVX512[Q6_K]
	r := rand.New(rand.NewPCG(3, 4))
	wrb := mustRowBytesB(b, Q6_K, cols)
	w := make([]byte, vRows*wrb)
	for i := range vRows {
		QuantizeRow(Q6_K, w[i*wrb:], randRow(r, cols))
	}
	xrb := mustRowBytesB(b, Q8_K, cols)
	xq := make([]byte, vGroup*xrb)
	j := quantJob{xk: make([]byte, vGroup*nb*kRecordQ6), recordK: kl.recordK, recK: kRecordQ6, cols: cols}
	for t := range vGroup {
		row := xq[t*xrb : (t+1)*xrb]
		QuantizeRow(Q8_K, row, randRow(r, cols))
		j.recordsK(t, row)
	}
	tile := make([]byte, nb*kl.block)
	acc := make([]float32, vGroup*vRows)
	out := make([]float32, vGroup*vRows)
	kl.repack(nb, &w[0], wrb, 0xffff, &tile[0])
	// CPU time like the repack's it divides (wall time on a shared machine
	// includes waits); enough calls (some 0.15 s) for getrusage's ticks.
	gemmSec := func() float64 {
		const calls = 50000
		cpu0 := cpuSeconds()
		for range calls {
			kl.gemm(nb, &tile[0], &j.xk[0], &acc[0], &out[0], vRows*4, vGroup, 0xffff)
		}
		return (cpuSeconds() - cpu0) / calls
	}
	peak := int8Peak("avx512")[0]
	b.Run("gemm", func(b *testing.B) {
		cpu0 := cpuSeconds()
		for b.Loop() {
			kl.gemm(nb, &tile[0], &j.xk[0], &acc[0], &out[0], vRows*4, vGroup, 0xffff)
		}
		// CPU time: on a shared machine the wall time includes waits.
		sec := (cpuSeconds() - cpu0) / float64(b.N)
		ops := 2 * float64(vRows*vGroup*cols)
		b.ReportMetric(ops/sec/1e9, "GOP/s")
		if peak > 0 {
			b.ReportMetric(ops/sec/1e9/peak, "x_int8_peak")
		}
	})
	b.Run("repack", func(b *testing.B) {
		cpu0 := cpuSeconds()
		for b.Loop() {
			kl.repack(nb, &w[0], wrb, 0xffff, &tile[0])
		}
		sec := (cpuSeconds() - cpu0) / float64(b.N)
		b.ReportMetric(sec/gemmSec(), "x_gemm")
	})
}
