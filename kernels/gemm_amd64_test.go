package kernels

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// The 512-bit kernels are only reachable on AVX-512 VNNI machines; say so
// rather than pass silently elsewhere.
func TestWideKernelsRan(t *testing.T) {
	if !cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512VL {
		t.Skip("no AVX-512 VNNI here: the avx512 path and its 512-bit kernels are untested on this machine")
	}
	found := false
	for _, p := range Paths() {
		found = found || p == "avx512"
	}
	if !found {
		t.Fatal("AVX-512 VNNI CPU but no avx512 path")
	}
}

// The assembly records of the row-lane kernels are byte for byte
// quantJob.recordsV's, for every weight offset and a few token slots, on
// random rows of several lengths whose first block is all 127.
func TestRecordsVAVX2EqualsGo(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		t.Skip("this CPU lacks AVX2 or F16C")
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 12))
	for _, nb := range []int{1, 2, 7, 28} {
		x := randRow(r, nb*QK)
		for i := range QK {
			x[i] = 3 // block 0: all 127 after quantising
		}
		row := make([]byte, nb*34)
		quantizeQ8_0(row, x)
		dx := make([]float32, nb)
		for b := range dx {
			dx[b] = f16(row[b*34:])
		}
		for _, off := range []int32{8, 16, 128} {
			for _, slot := range []int{0, 5, 15} {
				want := make([]byte, vGroup*nb*vRecord)
				got := make([]byte, len(want))
				(&quantJob{xv: want, zOff: off, cols: nb * QK}).recordsV(slot, row, dx)
				recordsVAVX2(nb, &row[0], &got[slot*vRecord], int(off))
				if !bytes.Equal(got, want) {
					t.Fatalf("nb %d offset %d slot %d: records differ", nb, off, slot)
				}
			}
		}
	}
}

// The Q8_1 records of the Q4_1 and Q5_1 row-lane kernels hold each block's
// 32 values, then its sum s and scale d as float32, 640 bytes apart.
func TestRecordsV1AVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		t.Skip("this CPU lacks AVX2 or F16C")
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 13))
	for _, nb := range []int{1, 2, 7, 28} {
		row := make([]byte, nb*36)
		quantizeQ8_1(row, randRow(r, nb*QK))
		got := make([]byte, (nb-1)*vGroup*vRecord+vRecord+1)
		for i := range got {
			got[i] = 0xa5
		}
		recordsV1AVX2(nb, &row[0], &got[0], 0)
		for b := range nb {
			rec, blk := got[b*vGroup*vRecord:], row[b*36:]
			if !bytes.Equal(rec[:32], blk[4:36]) {
				t.Fatalf("nb %d block %d: values differ", nb, b)
			}
			s, d := math.Float32frombits(binary.LittleEndian.Uint32(rec[32:])), math.Float32frombits(binary.LittleEndian.Uint32(rec[36:]))
			if s != f16(blk[2:]) || d != f16(blk) {
				t.Fatalf("nb %d block %d: s, d = %v, %v, want %v, %v", nb, b, s, d, f16(blk[2:]), f16(blk))
			}
			if b+1 < nb && rec[vRecord] != 0xa5 {
				t.Fatalf("nb %d block %d: wrote past its record", nb, b)
			}
		}
		if got[len(got)-1] != 0xa5 {
			t.Fatalf("nb %d: wrote past the last record", nb)
		}
	}
}

// The records of the avx2 Q8_0 row-lane kernel hold each block's 32 values
// widened to int16, then its scale as float32, vGroup records apart.
func TestRecordsVQ8AVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasF16C {
		t.Skip("this CPU lacks AVX2 or F16C")
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 14))
	const rec = vRecordQ8AVX2
	for _, nb := range []int{1, 2, 7, 28} {
		x := randRow(r, nb*QK)
		x[0], x[1] = 1, -1 // the extremes: 127 and -127
		row := make([]byte, nb*34)
		quantizeQ8_0(row, x)
		got := make([]byte, (nb-1)*vGroup*rec+68+1)
		for i := range got {
			got[i] = 0xa5
		}
		recordsVQ8AVX2(nb, &row[0], &got[0], 0)
		for b := range nb {
			rc, blk := got[b*vGroup*rec:], row[b*34:]
			for i := range QK {
				if v := int16(binary.LittleEndian.Uint16(rc[2*i:])); v != int16(int8(blk[2+i])) {
					t.Fatalf("nb %d block %d value %d: %d, want %d", nb, b, i, v, int8(blk[2+i]))
				}
			}
			if d := math.Float32frombits(binary.LittleEndian.Uint32(rc[64:])); d != f16(blk) {
				t.Fatalf("nb %d block %d: d = %v, want %v", nb, b, d, f16(blk))
			}
		}
		if got[len(got)-1] != 0xa5 {
			t.Fatalf("nb %d: wrote past the last record", nb)
		}
	}
}

// The avx512 K-quant lanes take long rows' tokens in passes (kPassAVX512):
// a row of 48 blocks takes one group of sixteen tokens per pass, so 37
// tokens make three passes, the last a partial group, over a full tile of
// rows and a partial one; every output equals the portable dot product to
// float32 rounding, and none outside y is written.
func TestKQuantLanesInPasses(t *testing.T) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	const rows, cols, n = 17, 48 * QKK, 37
	if chunk := max(1, kPassAVX512/(vGroup*(cols/QKK)*kRecord)) * vGroup; chunk >= n {
		t.Fatalf("passes of %d tokens: the shape no longer splits", chunk)
	}
	r := rand.New(rand.NewPCG(rand.Uint64(), 14))
	x := randRow(r, cols*n)
	for _, typ := range []Type{Q4_K, Q5_K, Q6_K} {
		wrb := mustRowBytes(t, typ, cols)
		w := Matrix{Type: typ, Rows: rows, Cols: cols, Data: make([]byte, rows*wrb)}
		for i := range rows {
			QuantizeRow(typ, w.Data[i*wrb:(i+1)*wrb], randRow(r, cols))
		}
		xrb := mustRowBytes(t, typ.VecDotType(), cols)
		xq := make([]byte, n*xrb)
		for i := range n {
			QuantizeRow(typ.VecDotType(), xq[i*xrb:(i+1)*xrb], x[i*cols:(i+1)*cols])
		}
		ref, bound := make([]float32, n*rows), make([]float64, n*rows)
		for i := range n {
			for j := range rows {
				_, mag := exactDot(t, typ, w.Data[j*wrb:], xq[i*xrb:], cols)
				ref[i*rows+j], _ = DotRow(typ, w.Data[j*wrb:], xq[i*xrb:], cols)
				bound[i*rows+j] = float64(cols+16) * 0x1p-24 * mag
			}
		}
		for _, path := range Paths() {
			SetPath(path)
			for _, threads := range []int{1, 2} {
				SetThreads(threads)
				ybuf := make([]float32, rows*n+2)
				for i := range ybuf {
					ybuf[i] = float32(math.NaN())
				}
				y := ybuf[1 : len(ybuf)-1]
				MatMul(y, w, x, n, make([]byte, MatMulWork(w, n)))
				if !math.IsNaN(float64(ybuf[0])) || !math.IsNaN(float64(ybuf[len(ybuf)-1])) {
					t.Fatalf("%s %v: wrote outside y", path, typ)
				}
				for k, got := range y {
					if d := math.Abs(float64(got - ref[k])); !(d <= bound[k]) {
						t.Fatalf("%s %d threads %v: y[%d][%d] = %v, portable %v", path, threads, typ, k/rows, k%rows, got, ref[k])
					}
				}
			}
		}
	}
}
