package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// packQ6K writes a Q6_K block of levels q (0..63), scales sc and d, in
// quantizeQ6_K's packing.
func packQ6K(dst []byte, q *[QKK]uint8, sc *[16]int8, d float32) {
	ql, qh := dst[0:128], dst[128:192]
	for j := 0; j < QKK; j += 128 {
		for l := range 32 {
			a, b, c, e := q[j+l], q[j+l+32], q[j+l+64], q[j+l+96]
			ql[l] = a&0xf | (c&0xf)<<4
			ql[l+32] = b&0xf | (e&0xf)<<4
			qh[l] = a>>4 | (b>>4)<<2 | (c>>4)<<4 | (e>>4)<<6
		}
		ql, qh = ql[64:], qh[32:]
	}
	for i, s := range sc {
		dst[192+i] = byte(s)
	}
	putF16(dst[208:], d)
}

// decQ6_KX8AVX2 with its records equals the exact product bit for bit
// where every float step is exact: powers of two for d and dy, and sums
// of integers well inside float32's 24 bits. Levels 0 and 63, scales -128
// and 127 and activations -128 and 127 all occur; three groups of three
// super-blocks, the output poisoned around its 24 floats.
func TestInterleavedQ6_KExact(t *testing.T) {
	if _, err := paths["avx2"](); err != nil {
		t.Skip("no avx2:", err)
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 61))
	const nb, groups, rows = 3, 3, 3 * interleaveRows
	rb := nb * q6KBytes
	w := make([]byte, rows*rb)
	var levels [rows][nb][QKK]uint8
	var scales [rows][nb][16]int8
	var ds [rows][nb]float32
	// Small scales with any activation, large ones with small activations.
	big := [16]bool{1: true, 6: true, 11: true, 14: true}
	for row := range rows {
		for b := range nb {
			q, sc := &levels[row][b], &scales[row][b]
			for k := range q {
				q[k] = uint8(r.IntN(64))
			}
			q[r.IntN(QKK)], q[r.IntN(QKK)] = 0, 63
			for g := range sc {
				if big[g] {
					sc[g] = int8(r.IntN(256) - 128)
				} else {
					sc[g] = int8(r.IntN(5) - 2)
				}
			}
			sc[1], sc[6] = -128, 127
			ds[row][b] = float32(math.Ldexp(1, r.IntN(3)-1))
			packQ6K(w[row*rb+b*q6KBytes:], q, sc, ds[row][b])
		}
	}
	xq := make([]byte, nb*q8KBytes)
	var xs [nb][QKK]int8
	var dys [nb]float32
	for b := range nb {
		x := &xs[b]
		for k := range x {
			if big[k/16] {
				x[k] = int8(r.IntN(5) - 2)
			} else {
				x[k] = int8(r.IntN(256) - 128)
			}
		}
		x[r.IntN(16)], x[32+r.IntN(16)] = -128, 127
		dys[b] = float32(math.Ldexp(1, -r.IntN(2)))
		blk := xq[b*q8KBytes:]
		putF32le(blk, dys[b])
		for g := range 16 {
			var s int
			for k := range 16 {
				blk[4+16*g+k] = byte(x[16*g+k])
				s += int(x[16*g+k])
			}
			binary.LittleEndian.PutUint16(blk[260+2*g:], uint16(int16(s)))
		}
	}
	want := make([]float64, rows)
	const unit = 0.25 // the least d·dy
	for row := range rows {
		var bound float64
		for b := range nb {
			var sum, mag int
			for k := range QKK {
				p := int(scales[row][b][k/16]) * (int(levels[row][b][k]) - 32) * int(xs[b][k])
				sum += p
				mag += max(p, -p)
			}
			if mag >= 1<<24 {
				t.Fatalf("row %d block %d: integer sum of magnitude %d is not exact in float32", row, b, mag)
			}
			dd := float64(ds[row][b]) * float64(dys[b])
			want[row] += dd * float64(sum)
			bound += dd / unit * float64(mag)
		}
		if bound >= 1<<24 {
			t.Fatalf("row %d: sums of magnitude %g units are not exact in float32", row, bound)
		}
	}
	il, err := interleave(Matrix{Type: Q6_K, Rows: rows, Cols: nb * QKK, Data: w})
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, nb*q8KBytes)
	decRecordsQ6_KX8AVX2(nb, &xq[0], &rec[0], 0)
	out := make([]float32, rows+2)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	out[0], out[rows+1] = 12345, 54321
	decQ6_KX8AVX2(nb, &il.Data[0], interleaveRows*rb, &rec[0], &out[1], groups)
	if out[0] != 12345 || out[rows+1] != 54321 {
		t.Fatal("wrote outside the output")
	}
	for row := range rows {
		if got := out[1+row]; math.Float32bits(got) != math.Float32bits(float32(want[row])) {
			t.Errorf("row %d: %v, exact %v", row, got, want[row])
		}
	}
	decQ6_KX8AVX2(nb, &il.Data[0], interleaveRows*rb, &rec[0], &out[1], 0)
}

// repackV8Q6_KX8 lays out from a group the very tile repackV8Q6_K lays
// out from its eight rows, for one to five super-blocks of random bytes.
func TestRepackV8Q6_KX8(t *testing.T) {
	if _, err := paths["avx2"](); err != nil {
		t.Skip("no avx2:", err)
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 62))
	const tile = 2848 // kLanesAVX2[Q6_K].block
	for nb := 1; nb <= 5; nb++ {
		rb := nb * q6KBytes
		rows := make([]byte, interleaveRows*rb)
		for i := range rows {
			rows[i] = byte(r.Uint32())
		}
		group := make([]byte, len(rows))
		interleavers[Q6_K].interleave(group, rows, nb)
		want := make([]byte, nb*tile)
		repackV8Q6_K(nb, &rows[0], rb, 0xff, &want[0])
		got := make([]byte, nb*tile+1)
		got[nb*tile] = 0x5a
		repackV8Q6_KX8(nb, &group[0], rb, 0xff, &got[0])
		if got[nb*tile] != 0x5a {
			t.Fatalf("%d super-blocks: wrote past the tile", nb)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%d super-blocks: tile byte %d (block %d, offset %d) is %#x, repackV8Q6_K's %#x", nb, i, i/tile, i%tile, got[i], want[i])
			}
		}
	}
}
