package kernels

import (
	"encoding/binary"
	"errors"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The matrix kernels of gemm_amd64.s; see the comment there.

//go:noescape
func tileQ8_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func tileQ4_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func tileQ5_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func tileQ5_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func row1Q5_0AVX2(nb int, w, x *byte, dx *float32) float32

//go:noescape
func row1Q5_0VNNI(nb int, w, x *byte, dx *float32) float32

//go:noescape
func tileQ8_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func tileQ4_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)

//go:noescape
func row1Q8_0AVX2(nb int, w, x *byte, dx *float32) float32

//go:noescape
func row1Q4_0AVX2(nb int, w, x *byte, dx *float32) float32

//go:noescape
func row1Q8_0VNNI(nb int, w, x *byte, dx *float32) float32

//go:noescape
func row1Q4_0VNNI(nb int, w, x *byte, dx *float32) float32

var (
	_ = registerMats("avx2", map[Type]matKernels{
		Q8_0: {tile4: tileQ8_0AVX2, row1: row1Q8_0AVX2, quant: quantQ8_0D, lanes: laneKernels{repack: twoTiles(repackV8Q8_0, v8BlockQ8_0), repackX8: twoTiles(repackV8Q8_0X8, v8BlockQ8_0), gemm: gemmV16Q8_0AVX2, prefetch: prefetchV, block: 2 * v8BlockQ8_0, rows: 16, tokens: 4, record: vRecordQ8AVX2}, recordsV: recordsVQ8AVX2},
		Q4_0: {tile4: tileQ4_0AVX2, row1: row1Q4_0AVX2, quant: quantQ8_0D, zOff: 8, lanes: laneKernels{repack: twoTiles(repackV8Q4_0, v8BlockQ4_0), repackX8: twoTiles(repackV8Q4_0X8, v8BlockQ4_0), gemm: gemmV16Q4_0AVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_0, rows: 16, tokens: 2}, recordsV: recordsVAVX2},
		Q5_0: {tile4: tileQ5_0AVX2, row1: row1Q5_0AVX2, quant: quantQ8_0D, zOff: 16, lanes: laneKernels{repack: twoTiles(repackV8Q5_0, v8BlockQ4_0), repackX8: twoTiles(repackV8Q5_0X8, v8BlockQ4_0), gemm: gemmV16Q5_0AVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_0, rows: 16, tokens: 2}, recordsV: recordsVAVX2},
		// Q4_1 and Q5_1 have only the row-lane prefill here (Q8_1
		// activations); fewer tokens take their dot products.
		Q4_1: {lanes: laneKernels{repack: twoTiles(repackV8Q4_1, v8BlockQ4_1), repackX8: twoTiles(repackV8Q4_1X8, v8BlockQ4_1), gemm: gemmV16Q4_1AVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_1, rows: 16, tokens: 2}, recordsV: recordsV1AVX2},
		Q5_1: {lanes: laneKernels{repack: twoTiles(repackV8Q5_1, v8BlockQ4_1), repackX8: twoTiles(repackV8Q5_1X8, v8BlockQ4_1), gemm: gemmV16Q5_1AVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_1, rows: 16, tokens: 2}, recordsV: recordsV1AVX2},
	})

	// The avx512 path is the avx2 one with VNNI's VPDPBUSD in the matrix
	// kernels: the row-lane prefill on 512-bit registers, the tiles and
	// rows on 256-bit ones (EVEX-encoded, so it needs AVX512VL).
	_ = registerPath("avx512", avx512Path)
	_ = registerMats("avx512", map[Type]matKernels{
		Q8_0: {tile4: tileQ8_0VNNI, row1: row1Q8_0VNNI, zOff: 128, lanes: laneKernels{repack: repackVQ8_0, repackX8: repackVQ8_0X8, gemm: gemmV16, prefetch: prefetchV}, recordsV: recordsVAVX2, quant: quantQ8_0Z},
		Q4_0: {tile4: tileQ4_0VNNI, row1: row1Q4_0VNNI, zOff: 8, lanes: laneKernels{repack: repackVQ4_0, gemm: gemmV16, prefetch: prefetchV}, recordsV: recordsVAVX2, quant: quantQ8_0Z},
		Q5_0: {tile4: tileQ5_0VNNI, row1: row1Q5_0VNNI, zOff: 16, lanes: laneKernels{repack: repackVQ5_0, gemm: gemmV16, prefetch: prefetchV}, recordsV: recordsVAVX2, quant: quantQ8_0Z},
		Q4_1: {lanes: laneKernels{repack: repackVQ4_1, gemm: gemmV16M, prefetch: prefetchV, block: 640}, recordsV: recordsV1AVX2},
		Q5_1: {lanes: laneKernels{repack: repackVQ5_1, gemm: gemmV16M, prefetch: prefetchV, block: 640}, recordsV: recordsV1AVX2},
	})
)

func avx512Path() (map[Type]vecDotFunc, error) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512VL || !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI {
		return nil, errors.New("this CPU lacks AVX-512 F, VL, BW or VNNI")
	}
	return avx2Path()
}

// The row-lane kernels of gemmv_amd64.s (prefill); see the comment there.

//go:noescape
func gemmV16(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func prefetchV(p *byte, n int)

//go:noescape
func prefetchW(p *byte, n int)

//go:noescape
func repackVQ4_0(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackVQ8_0(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackVQ5_0(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func gemmV16M(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func repackVQ4_1(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackVQ5_1(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func gemmVQ4_K(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func repackVQ4_K(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackVQ5_K(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func gemmVQ6_K(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func repackVQ6_K(nb int, w *byte, wrb int, rmask int, dst *byte)

// kLanesAVX512 are the row-lane prefill kernels of gemmvk_amd64.s. They
// take at most kPassAVX512 bytes of token records through a thread's rows
// at a time: 128 tokens of a 4864-wide row (the FFN's down matrix) have
// 0.74 MB of records, which with the repacked tile and the next one
// prefetched overflow the 1 MB L2 per core here; passes of 64 tokens ran
// that matrix at 52-58% of the int8 peak instead of 48-54% (Q6_K, Q4_K),
// though each tile is repacked once per pass. (The legacy formats' lanes
// lost 3 points with passes, so they take all tokens at once.)
var kLanesAVX512 = map[Type]laneKernels{
	Q4_K: {repack: repackVQ4_K, gemm: gemmVQ4_K, prefetch: prefetchV, block: 4992, pairs: pairsQ4_K, passBytes: kPassAVX512},
	Q6_K: {repack: repackVQ6_K, gemm: gemmVQ6_K, prefetch: prefetchV, block: 5184, recordK: recordQ6_K, record: kRecordQ6, passBytes: kPassAVX512},
	Q5_K: {repack: repackVQ5_K, gemm: gemmVQ4_K, prefetch: prefetchV, block: 4992, pairs: pairsQ4_K, passBytes: kPassAVX512},
}

const kPassAVX512 = 448 << 10

// pairsQ4_K writes the sums of Q4_K's eight sub-blocks of 32 (two sums of
// 16 each) as four int16 pairs.
func pairsQ4_K(dst, bsums []byte) {
	for i := range 8 {
		s := int16(binary.LittleEndian.Uint16(bsums[4*i:])) + int16(binary.LittleEndian.Uint16(bsums[4*i+2:]))
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(s))
	}
}

// pairsQ6_K: Q6_K's sub-blocks are the Q8_K sums' own sixteen.
func pairsQ6_K(dst, bsums []byte) { copy(dst, bsums) }

// recordQ6_K lays out a Q8_K block as gemmVQ6_K's record: per sub-block s,
// at s·20, its sixteen values and -32 times their sum as int32 (the
// starting value of the kernel's sub-block sum: its weights are q, not
// q-32); dx at 320.
func recordQ6_K(rec, blk []byte) {
	rec, blk = rec[:kRecordQ6], blk[:q8KBytes]
	for s := range 16 {
		copy(rec[20*s:20*s+16], blk[4+16*s:])
		sum := int32(int16(binary.LittleEndian.Uint16(blk[260+2*s:])))
		binary.LittleEndian.PutUint32(rec[20*s+16:], uint32(-32*sum))
	}
	copy(rec[320:324], blk[:4])
}

// The avx2 path's row-lane kernels of gemmv2_amd64.s.

//go:noescape
func repackV8Q4_0(nb int, w *byte, wrb int, rmask int, dst *byte)

// gemmV16Q4_0AVX2 multiplies two of repackV8Q4_0's tiles (twoTiles) by
// two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q4_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

// gemmV16Q5_0AVX2 multiplies two of repackV8Q5_0's tiles (twoTiles) by
// two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q5_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

// v8BlockQ4_0 is the bytes of a block of repackV8Q4_0's tile of eight
// rows (and of repackV8Q5_0's).
const v8BlockQ4_0 = 288

//go:noescape
func repackV8Q5_0(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func gemmV16Q8_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func repackV8Q8_0(nb int, w *byte, wrb int, rmask int, dst *byte)

// gemmV16Q4_1AVX2 and gemmV16Q5_1AVX2 multiply two of repackV8Q4_1's or
// repackV8Q5_1's tiles (twoTiles) by two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q4_1AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func gemmV16Q5_1AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

// v8BlockQ4_1 is the bytes of a block of repackV8Q4_1's tile of eight rows
// (and of repackV8Q5_1's): the values, then dw and m as float32.
const v8BlockQ4_1 = 320

//go:noescape
func repackV8Q4_1(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func repackV8Q5_1(nb int, w *byte, wrb int, rmask int, dst *byte)

//go:noescape
func recordsV1AVX2(nb int, row, dst *byte, zOff int)

//go:noescape
func recordsVAVX2(nb int, row, dst *byte, zOff int)

// recordsVQ8AVX2 writes the records of gemmV16Q8_0AVX2, whose activations
// are int16 (gemmv2_amd64.s): vRecordQ8AVX2 bytes a block.
//
//go:noescape
func recordsVQ8AVX2(nb int, row, dst *byte, zOff int)

// vRecordQ8AVX2 is a block's record of recordsVQ8AVX2: 32 int16 values,
// dx as float32, four bytes of padding.
const vRecordQ8AVX2 = 72

// v8BlockQ8_0 is the bytes of a block of repackV8Q8_0's tile of eight rows
// (gemmV16Q8_0AVX2 steps by it and finds the second tile nb of them on).
const v8BlockQ8_0 = 544

// twoTiles lays out sixteen rows as two of repack's tiles of eight (block
// bytes a block), rows 8-15 after rows 0-7's nb blocks, as
// gemmV16Q8_0AVX2 reads them. For a last tile of at most eight rows the
// second is left as it was: the kernel computes those rows but does not
// store them.
func twoTiles(repack func(nb int, w *byte, wrb int, rmask int, dst *byte), block int) func(nb int, w *byte, wrb int, rmask int, dst *byte) {
	return func(nb int, w *byte, wrb int, rmask int, dst *byte) {
		repack(nb, w, wrb, rmask&0xff, dst)
		if rmask>>8 != 0 {
			repack(nb, (*byte)(unsafe.Add(unsafe.Pointer(w), 8*wrb)), wrb, rmask>>8, (*byte)(unsafe.Add(unsafe.Pointer(dst), nb*block)))
		}
	}
}

//go:noescape
func repackV8Q4_K(nb int, w *byte, wrb int, rmask int, dst *byte)

// gemmV16Q4_KAVX2 multiplies two of repackV8Q4_K's tiles (twoTiles) by
// two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q4_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

// v8BlockQ4_K is the bytes of a block of repackV8Q4_K's tile of eight
// rows (and of repackV8Q5_K's).
const v8BlockQ4_K = 2496

//go:noescape
func repackV8Q5_K(nb int, w *byte, wrb int, rmask int, dst *byte)

// gemmV16Q5_KAVX2 multiplies two of repackV8Q5_K's tiles (twoTiles) by
// two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q5_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

//go:noescape
func repackV8Q6_K(nb int, w *byte, wrb int, rmask int, dst *byte)

// gemmV16Q6_KAVX2 multiplies two of repackV8Q6_K's tiles (twoTiles) by
// two tokens (gemmv2_amd64.s).
//
//go:noescape
func gemmV16Q6_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)

// v8BlockQ6_K is the bytes of a block of repackV8Q6_K's tile of eight
// rows.
const v8BlockQ6_K = 2848

// kLanesAVX2 are the avx2 path's K-quant row-lane kernels (gemmv2_amd64.s).
var kLanesAVX2 = map[Type]laneKernels{
	Q4_K: {repack: twoTiles(repackV8Q4_K, v8BlockQ4_K), repackX8: twoTiles(repackV8Q4_KX8, v8BlockQ4_K), gemm: gemmV16Q4_KAVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_K, pairs: pairsQ4_K, rows: 16, tokens: 2},
	Q5_K: {repack: twoTiles(repackV8Q5_K, v8BlockQ4_K), repackX8: twoTiles(repackV8Q5_KX8, v8BlockQ4_K), gemm: gemmV16Q5_KAVX2, prefetch: prefetchV, block: 2 * v8BlockQ4_K, pairs: pairsQ4_K, rows: 16, tokens: 2},
	Q6_K: {repack: twoTiles(repackV8Q6_K, v8BlockQ6_K), repackX8: twoTiles(repackV8Q6_KX8, v8BlockQ6_K), gemm: gemmV16Q6_KAVX2, prefetch: prefetchV, block: 2 * v8BlockQ6_K, pairs: pairsQ6_K, rows: 16, tokens: 2},
}
