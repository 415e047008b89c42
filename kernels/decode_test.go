package kernels

import (
	"bytes"

	"math"
	"math/rand/v2"
	"testing"
)

// Every path's activation quantisers equal the portable ones byte for
// byte: random rows of 1 to 19 blocks, rows with zero blocks, ties between
// +m and -m for the largest magnitude (the first wins), tiny and huge
// scales, and rows with a NaN or infinity (left to the portable code).
func TestQuantizersEqualPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 29))
	compared := 0
	for path, qs := range quantizers {
		if _, err := paths[path](); err != nil {
			continue
		}
		for typ, fast := range qs {
			bs := typ.BlockSize()
			for _, nb := range []int{1, 2, 3, 7, 19} {
				for k := range 12 {
					src := randRow(r, nb*bs)
					scale := float32(math.Pow(10, float64(r.IntN(12)-6)))
					for i := range src {
						src[i] *= scale
					}
					switch k {
					case 1: // a zero block
						clear(src[(nb-1)*bs:])
					case 2: // a tie: +m first, then -m
						src[5], src[9] = 1e3, -1e3
					case 3: // a tie: -m first
						src[5], src[9] = -1e3, 1e3
					case 4:
						src[r.IntN(len(src))] = float32(math.NaN())
					case 5:
						src[r.IntN(len(src))] = float32(math.Inf(1 - 2*r.IntN(2)))
					case 6: // halves, scaled by a power of two
						for i := range src {
							src[i] = float32(r.IntN(255)-127) / 2
						}
					case 8: // scale 1, values at and just below a half
						below := math.Nextafter32(0.5, 0)
						for i := range src {
							src[i] = [...]float32{below, -below, 0.5, -0.5, 1 + below, 1.5}[r.IntN(6)]
							if i%bs == 0 {
								src[i] = 127
							}
						}
					case 7: // scale 1 (a ±127 per block), the rest half-way
						for i := range src {
							src[i] = float32(r.IntN(252)-126) + 0.5
							if i%bs == 0 {
								src[i] = float32(127 * (1 - 2*r.IntN(2)))
							}
						}
					}
					rb := mustRowBytes(t, typ, len(src))
					want := make([]byte, rb)
					portable[typ].quantize(want, src)
					got := bytes.Repeat([]byte{0xa5}, rb+1)
					fast(got[:rb], src)
					if got[rb] != 0xa5 {
						t.Fatalf("%s %v: wrote past the row", path, typ)
					}
					if !bytes.Equal(got[:rb], want) {
						i := 0
						for got[i] == want[i] {
							i++
						}
						t.Fatalf("%s %v nb=%d case %d: byte %d is %#x, portable %#x", path, typ, nb, k, i, got[i], want[i])
					}
					compared++
				}
			}
		}
	}
	if compared == 0 && len(Paths()) > 1 {
		t.Error("no fast quantiser compared")
	}
	t.Logf("%d rows compared", compared)
}

// Decode of the K-quants (their own kernels, Q8_K activations), of Q5_0
// and of the formats with Q8_1 activations allocates nothing either, at 2
// threads.
func TestKQuantDecodeDoesNotAllocate(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(2)
	r := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 256, 1024
	for _, path := range Paths() {
		SetPath(path)
		for _, typ := range []Type{Q4_K, Q5_K, Q6_K, Q5_0, Q4_1, Q5_1} {
			rb := mustRowBytes(t, typ, cols)
			w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rb*rows)}
			for i := range rows {
				QuantizeRow(typ, w.Data[i*rb:], randRow(r, cols))
			}
			x := randRow(r, cols)
			y := make([]float32, rows)
			work := make([]byte, MatMulWork(w, 1))
			if a := testing.AllocsPerRun(20, func() { MatVec(y, w, x, work) }); a != 0 {
				t.Errorf("%s %v MatVec: %v allocations", path, typ, a)
			}
		}
	}
}
