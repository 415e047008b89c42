package kernels

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

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
// bits. Groups of one to three super-blocks, one to four groups a call.
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
