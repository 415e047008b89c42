package kernels

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// alignedRecords is k's records of the Q8_K row xq (nb super-blocks) in a
// 64-byte aligned buffer, as decode lays them out; xq itself where k takes
// the row as it is.
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

// packScalesMinsK4 is the inverse of scalesMinsK4 (values below 64).
func packScalesMinsK4(q []byte, sc, mn [8]uint8) {
	for j := range 4 {
		q[j] = sc[j] | sc[j+4]>>4<<6
		q[j+4] = mn[j] | mn[j+4]>>4<<6
		q[j+8] = sc[j+4]&0xf | mn[j+4]&0xf<<4
	}
}

// Every path's Interleaved8 Q4_K kernel gives exactly the integer result
// where every float step is exact: d, dmin and dy powers of two, and the
// sums small enough for float32. "extreme" takes every nibble 15 and every
// activation ±127 (one sign per sub-block), so each sub-block's words
// reach 8·2·15·127 before they are widened; "random" takes random nibbles
// against small activations with scales and mins over their whole six
// bits. Groups of one to three super-blocks, one to four groups a call
// (the kernel takes two groups a step, and an odd last one alone).
func TestInterleavedQ4_KExact(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 41))
	pows := []float32{1, 0.5, 0.25}
	ran := 0
	for path, ks := range interleavedDecodes {
		k, ok := ks[Q4_K]
		if !ok {
			continue
		}
		if _, err := paths[path](); err != nil {
			continue
		}
		for _, extreme := range []bool{false, true} {
			for nb := 1; nb <= 3; nb++ {
				for groups := 1; groups <= 4; groups++ {
					rows := groups * interleaveRows
					cols := nb * QKK
					rb := nb * q4KBytes
					w := make([]byte, rows*rb)
					xq := make([]byte, nb*q8KBytes)
					xs := make([]int8, cols)
					const dy = 1.0 / 128
					for b := range nb {
						blk := xq[b*q8KBytes:]
						putF32le(blk, dy)
						for s := range 8 {
							sign := int8(1 - 2*r.IntN(2))
							for i := range 32 {
								v := int8(r.IntN(9) - 4)
								if extreme {
									v = 127 * sign
								}
								xs[b*QKK+32*s+i] = v
								blk[4+32*s+i] = byte(v)
							}
						}
						for j := range 16 {
							var sum int16
							for _, v := range xs[b*QKK+16*j:][:16] {
								sum += int16(v)
							}
							binary.LittleEndian.PutUint16(blk[260+2*j:], uint16(sum))
						}
					}
					want := make([]float64, rows)
					for row := range rows {
						for b := range nb {
							blk := w[row*rb+b*q4KBytes:][:q4KBytes]
							d, dmin := pows[r.IntN(3)], pows[1+r.IntN(2)]
							binary.LittleEndian.PutUint16(blk[0:], F32ToF16(d))
							binary.LittleEndian.PutUint16(blk[2:], F32ToF16(dmin))
							var sc, mn [8]uint8
							for s := range 8 {
								sc[s], mn[s] = uint8(r.IntN(64)), uint8(r.IntN(64))
								if extreme {
									sc[s], mn[s] = uint8(r.IntN(3)), uint8(r.IntN(16))
								}
							}
							packScalesMinsK4(blk[4:16], sc, mn)
							var sum, mins int64
							for s := range 8 {
								for i := range 32 {
									e := 32*s + i
									p := &blk[16+32*(s/2)+i]
									q := uint8(r.IntN(16))
									if extreme {
										q = 15
									}
									if s%2 == 0 {
										*p = *p&0xf0 | q
									} else {
										*p = *p&0x0f | q<<4
									}
									x := int64(xs[b*QKK+e])
									sum += int64(sc[s]) * int64(q) * x
									mins += int64(mn[s]) * x
								}
							}
							want[row] += float64(d)*dy*float64(sum) - float64(dmin)*dy*float64(mins)
						}
					}
					il, err := interleave(Matrix{Type: Q4_K, Rows: rows, Cols: cols, Data: w})
					if err != nil {
						t.Fatal(err)
					}
					x := alignedRecords(k, xq, nb)
					out := make([]float32, rows+1)
					out[rows] = 12345
					k.rows(nb, &il.Data[0], interleaveRows*rb, &x[0], &out[0], groups)
					if out[rows] != 12345 {
						t.Fatalf("%s: wrote past the groups' results", path)
					}
					for row := range rows {
						if float64(out[row]) != want[row] || float64(float32(want[row])) != want[row] {
							t.Fatalf("%s extreme=%v %d super-blocks, %d groups: row %d = %v, exact %v", path, extreme, nb, groups, row, out[row], want[row])
						}
					}
					ran++
				}
			}
		}
	}
	if ran == 0 {
		t.Skip("no path with an Interleaved8 Q4_K kernel runs here")
	}
}

// BenchmarkInterleavedQ4_KL2 runs each path's Q4_K decode kernels alone,
// row-major and Interleaved8, over the same L2-resident matrix of 4096
// columns (about 192 KiB; as BenchmarkDecodeL2), for the ratio of their
// GFLOP/s at 2 flops per weight.
func BenchmarkInterleavedQ4_KL2(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const cols = 4096
	rb := mustRowBytesB(b, Q4_K, cols)
	rows := (192 << 10) / rb / interleaveRows * interleaveRows
	m := randMatrix(r, Q4_K, rows, cols, rb)
	xq := make([]byte, mustRowBytesB(b, Q8_K, cols))
	QuantizeRow(Q8_K, xq, randRow(r, cols))
	nb := cols / QKK
	il, err := interleave(Matrix{Type: Q4_K, Rows: rows, Cols: cols, Data: append([]byte(nil), m.Data...)})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range Paths() {
		if _, err := paths[path](); err != nil {
			continue
		}
		run := func(name string, k decodeKernel, w []byte, stride, calls int) {
			x := alignedRecords(k, xq, nb)
			y := make([]float32, rows)
			b.Run(name+"/"+path, func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				cpu0 := cpuSeconds()
				for b.Loop() {
					k.rows(nb, &w[0], stride, &x[0], &y[0], calls)
				}
				reportGFLOPS(b, rows*cols, cpu0)
			})
		}
		if k, ok := decodes[path][Q4_K]; ok {
			run("rowmajor", k, m.Data, rb, rows)
		}
		if k, ok := interleavedDecodes[path][Q4_K]; ok {
			run("interleaved8", k, il.Data, interleaveRows*rb, rows/interleaveRows)
		}
	}
}

// FuzzInterleavedQ4_K multiplies Interleaved8 Q4_K matrices of any bytes
// (scales NaN, infinite, subnormal; 8 to 32 rows of one to three
// super-blocks, so the kernels take one to four groups a call) on every
// path, and wants the portable product of the rows as they were, to
// rounding, or both not finite. TestInterleavedProductsEqualRowMajor
// takes only valid quantised rows.
func FuzzInterleavedQ4_K(f *testing.F) {
	f.Add(uint8(0), []byte{0xff, 0x7b, 0x80}, int64(1))
	f.Add(uint8(5), []byte{0x00, 0x3c, 0x88, 0x0f}, int64(2))
	f.Add(uint8(10), bytes.Repeat([]byte{0x00, 0x7c, 0x01}, 50), int64(3))
	// Whole blocks of d = dmin = 1 and every scale and min 63, which takes
	// every bit of the packing.
	f.Add(uint8(11), append(append([]byte{0x00, 0x3c, 0x00, 0x3c}, bytes.Repeat([]byte{0xff}, 12)...), bytes.Repeat([]byte{0x5a}, 128)...), int64(4))
	f.Fuzz(func(t *testing.T, shape uint8, data []byte, seed int64) {
		if len(data) == 0 {
			return
		}
		nb := 1 + int(shape)%3
		rows := interleaveRows * (1 + int(shape/3)%4)
		cols, rb := nb*QKK, nb*q4KBytes
		rm := Matrix{Type: Q4_K, Rows: rows, Cols: cols, Data: bytes.Repeat(data, rows*rb/len(data)+1)[:rows*rb]}
		il, err := interleave(Matrix{Type: Q4_K, Rows: rows, Cols: cols, Data: slices.Clone(rm.Data)})
		if err != nil {
			t.Fatal(err)
		}
		x := randRow(rand.New(rand.NewPCG(uint64(seed), 9)), cols)
		defer SetPath(Path())
		if err := SetPath("portable"); err != nil {
			t.Fatal(err)
		}
		want := make([]float32, rows)
		MatVec(want, rm, x, make([]byte, MatMulWork(rm, 1)))
		mag := fuzzMagnitudes(t, rm, x, 1)
		for _, path := range Paths() {
			if err := SetPath(path); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, rows)
			MatVec(got, il, x, make([]byte, MatMulWork(il, 1)))
			for i := range got {
				if math.IsInf(mag[i], 0) || math.IsNaN(mag[i]) || mag[i] > 1e30 {
					continue // overflow or NaN: only the absence of a crash counts
				}
				bound := float64(cols+16) * 0x1p-24 * mag[i]
				if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= bound+1e-30) {
					t.Fatalf("%s, %d rows of %d super-blocks: y[%d] = %v, portable %v (bound %g)", path, rows, nb, i, got[i], want[i], bound)
				}
			}
		}
	})
}

// BenchmarkInterleavedQ4_KPrefill multiplies a 1024x4096 Q4_K matrix by 64
// tokens on each path with an Interleaved8 Q4_K kernel, row-major and
// interleaved, at one and two threads: the interleaved matrix's tiles come
// from its groups (repackX8) or, without that, from rows deinterleaved
// first, which must not cost prefill what the layout wins in decode.
func BenchmarkInterleavedQ4_KPrefill(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	r := rand.New(rand.NewPCG(1, 2))
	const rows, cols, n = 1024, 4096, 64
	m := randMatrix(r, Q4_K, rows, cols, mustRowBytesB(b, Q4_K, cols))
	il, err := interleave(Matrix{Type: Q4_K, Rows: rows, Cols: cols, Data: slices.Clone(m.Data)})
	if err != nil {
		b.Fatal(err)
	}
	x := randRow(r, cols*n)
	y := make([]float32, rows*n)
	for _, path := range Paths() {
		if _, ok := interleavedDecodes[path][Q4_K]; !ok || SetPath(path) != nil {
			continue
		}
		for _, threads := range []int{1, 2} {
			SetThreads(threads)
			for _, w := range []Matrix{m, il} {
				work := make([]byte, MatMulWork(w, n))
				b.Run(fmt.Sprintf("%v/%s/%dthreads", w.Layout, path, threads), func(b *testing.B) {
					cpu0 := cpuSeconds()
					for b.Loop() {
						MatMul(y, w, x, n, work)
					}
					reportGFLOPS(b, rows*cols*n, cpu0)
				})
			}
		}
	}
}
