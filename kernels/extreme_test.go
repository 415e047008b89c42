package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// extremeBlock fills a block of typ with every quant at the end of its
// range that makes the kernels' integer sums largest (15, 31 or 63, and
// -128 for Q8_0's signed bytes), every scale and min at its largest and
// every F16 factor 1: where a kernel adds more products in int16 than fit,
// such blocks overflow it, which random ones almost never do.
func extremeBlock(typ Type, b []byte) {
	const one = 0x3c00 // F16 1.0
	for i := range b {
		b[i] = 0xff
	}
	switch typ {
	case Q8_0:
		for i := range b {
			b[i] = 0x80
		}
		binary.LittleEndian.PutUint16(b, one)
	case Q4_0, Q5_0:
		binary.LittleEndian.PutUint16(b, one)
	case Q4_1, Q5_1, Q4_K, Q5_K: // d and m (dmin)
		binary.LittleEndian.PutUint16(b, one)
		binary.LittleEndian.PutUint16(b[2:], one)
	case Q6_K: // ql, qh, then int8 scales and d
		for i := 192; i < 208; i++ {
			b[i] = 0x7f
		}
		binary.LittleEndian.PutUint16(b[208:], one)
	}
}

// Every path's products of extreme blocks (extremeBlock) by activations
// that quantise to the largest magnitudes (all of one sign: Q8_0's ±127,
// Q8_K's -128) equal the portable ones, for prefill's batches (whose
// row-lane kernels add the most in int16) and decode, on whole and partial
// tiles of rows.
func TestMatMulExtremeBlocks(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	types := []Type{Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K}
	const cols = 512
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, typ := range types {
				for _, s := range []struct{ rows, n int }{{16, 5}, {21, 4}, {9, 1}} {
					for _, sign := range []float32{1, -1} {
						name := fmt.Sprintf("%s/%dthreads/%v/%dx%dx%d/sign%v", path, threads, typ, s.rows, cols, s.n, sign)
						wrb := mustRowBytes(t, typ, cols)
						xrb := mustRowBytes(t, typ.VecDotType(), cols)
						w := Matrix{Type: typ, Rows: s.rows, Cols: cols, Data: make([]byte, wrb*s.rows)}
						bb := typ.BlockBytes()
						for off := 0; off < len(w.Data); off += bb {
							extremeBlock(typ, w.Data[off:off+bb])
						}
						x := make([]float32, cols*s.n)
						for i := range x {
							x[i] = sign
						}
						y := make([]float32, s.rows*s.n)
						for i := range y {
							y[i] = float32(math.NaN())
						}
						MatMul(y, w, x, s.n, make([]byte, MatMulWork(w, s.n)))
						xq := make([]byte, xrb)
						QuantizeRow(typ.VecDotType(), xq, x[:cols])
						for i := range s.n {
							for j := range s.rows {
								ref, _ := DotRow(typ, w.Data[j*wrb:], xq, cols)
								_, mag := exactDot(t, typ, w.Data[j*wrb:], xq, cols)
								got := y[i*s.rows+j]
								if d := math.Abs(float64(got - ref)); !(d <= float64(cols+16)*0x1p-24*mag) {
									t.Fatalf("%s: y[%d][%d] = %v, portable %v", name, i, j, got, ref)
								}
							}
						}
					}
				}
			}
		}
	}
}
