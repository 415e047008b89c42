#include "textflag.h"
#include "rows_amd64.h"

// The avx512 path's Interleaved8 Q8_0 kernels (interleave_q8.go lays out
// the groups in runs of four blocks; the avx2 kernels read the same).
//
// Decode. A block's values are eight chunks of 32 bytes, chunk c being
// values 4c..4c+3 of each of the eight rows, row r at 4r. One 64-byte
// load takes two chunks, c and c+1: lanes 0-7 are the rows' four values
// of chunk c, lanes 8-15 those of chunk c+1. VPDPBUSD multiplies them by
// the token's activations spread to match: VPERMD puts the record's dword
// of chunk c in lanes 0-7 and that of c+1 in lanes 8-15. So a block is
// four VPDPBUSD, and one convert, scale and FMA serve its sixteen lanes.
// A row's sum is its two lanes r and r+8, added once at the group's end.
// A run's lines hold its values whole, so on a tensor placed on 64 bytes
// (the loader's gguf AlignData) no load straddles two lines.
//
// The records are the avx2 Interleaved8 kernels' (decRecordsX8AVX2), 40
// bytes per Q8_0 block of the token:
//   0    the block's 32 values
//   32   int32 -off·(sum of the block's values)
//   36   float32 dx
// taken with one load masked to their ten dwords. The weights are made
// unsigned for VPDPBUSD as in decode_amd64.s (XOR 0x80, off 128). The
// correction goes to lanes 0-7 alone: lanes r and r+8 share the row's
// scale, so the row's integer sum is exact before the float steps, and
// only the float summation order differs from the portable reference.

// A block against its record at X(DI), to the float sums ACC: its values
// at V(R), made unsigned (Z8-Z11, chunk pairs 0-1 to 6-7), times the
// record's values spread over the lanes by Z16-Z19 (dwordPairs, in
// decode_amd64.s), in Z12 with the correction (Z25's index 8, K1 lanes
// 0-7; K2 the record's ten dwords); converted, times the rows' F16 d at
// S(R9) (in lanes 0-7 and again in 8-15) and the record's dx (Z26's index
// 9). Z5 0x80 bytes; Z13 Z14 Z20-Z24 temporaries.
#define Z8_Q8_BLOCK(S, V, R, X, ACC) \
	VPXORD (V)(R), Z5, Z8; \
	VPXORD (V+64)(R), Z5, Z9; \
	VPXORD (V+128)(R), Z5, Z10; \
	VPXORD (V+192)(R), Z5, Z11; \
	VMOVDQU32.Z (X)(DI), K2, Z24; \
	VPERMD.Z Z24, Z25, K1, Z12; \
	VPERMD Z24, Z16, Z20; \
	VPERMD Z24, Z17, Z21; \
	VPERMD Z24, Z18, Z22; \
	VPERMD Z24, Z19, Z23; \
	VPDPBUSD Z20, Z8, Z12; \
	VPDPBUSD Z21, Z9, Z12; \
	VPDPBUSD Z22, Z10, Z12; \
	VPDPBUSD Z23, Z11, Z12; \
	VCVTDQ2PS Z12, Z12; \
	VBROADCASTI128 (S)(R9), Y13; \
	VCVTPH2PS Y13, Z13; \
	VPERMD Z24, Z26, Z14; \
	VMULPS Z14, Z13, Z13; \
	VFMADD231PS Z13, Z12, ACC

// func decQ8_0Z8(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
//
// A run of four blocks a step, then a last run's blocks one at a time.
//
// No software prefetch: on these aligned runs the hardware's prefetchers
// alone streamed fastest. On Zen 5, decoding bench's 256 MiB stack of
// Qwen2.5-0.5B-shaped Q8_0 layers on huge pages, each way one step in
// turn, 60 rounds a sample, five samples at one thread and six at two,
// the median over RowMajor's decQ8_0VNNI (in the same round) was
// 1.15-1.24 at one thread and 1.20-1.30 at two without; with PREFETCHNTA
// of the run's seventeen lines 16 KiB ahead (as decQ8_0VNNI) it was
// 0.88-0.99 and 0.95-1.06, and with the same prefetches spread over the
// run's four blocks 1.03-1.13 and 1.12-1.30. (Those took 64-byte records;
// on these, without, four samples each: 1.16-1.22 and 1.11-1.28.)
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left; per
// group CX blocks left, R9 the run (in a last run, the block's scales),
// R12 a last run's block's values, DI the block's record; Z0 Z1 the sums
// (two, so consecutive FMAs do not wait for each other).
TEXT ·decQ8_0Z8(SB), NOSPLIT, $0-48
	X8_ARGS
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z5
	VMOVDQU64 ·dwordPairs+0(SB), Z16
	VMOVDQU64 ·dwordPairs+64(SB), Z17
	VMOVDQU64 ·dwordPairs+128(SB), Z18
	VMOVDQU64 ·dwordPairs+192(SB), Z19
	MOVL $8, AX
	VPBROADCASTD AX, Z25
	INCL AX
	VPBROADCASTD AX, Z26
	MOVL $0xff, AX
	KMOVW AX, K1
	MOVL $0x3ff, AX
	KMOVW AX, K2
	TESTQ R10, R10
	JZ z8done
z8group:
	MOVQ nb+0(FP), CX
	MOVQ x+24(FP), DI
	MOVQ SI, R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	CMPQ CX, $4
	JLT z8last
z8run:
	Z8_Q8_BLOCK(0, 64, R9, 0, Z0)
	Z8_Q8_BLOCK(16, 320, R9, 40, Z1)
	Z8_Q8_BLOCK(32, 576, R9, 80, Z0)
	Z8_Q8_BLOCK(48, 832, R9, 120, Z1)
	ADDQ $1088, R9
	ADDQ $160, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE z8run
z8last:
	TESTQ CX, CX
	JZ z8end
	MOVQ CX, R12
	SHLQ $4, R12
	ADDQ R9, R12
z8one:
	Z8_Q8_BLOCK(0, 0, R12, 0, Z0)
	ADDQ $16, R9
	ADDQ $256, R12
	ADDQ $40, DI
	DECQ CX
	JNZ z8one
z8end:
	VADDPS Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VMOVUPS Y0, (R11)
	ADDQ $32, R11
	ADDQ R8, SI
	DECQ R10
	JNZ z8group
z8done:
	VZEROUPPER
	RET

// Chunk C of both groups' block (at 32C(R12) and 32C(R12)(R8)), made
// unsigned, to repackVQ8_0's register C.
#define RZ8_Q8(C) \
	VMOVDQU (32*C)(R12), Y1; \
	VINSERTI64X4 $1, (32*C)(R12)(R8*1), Z1, Z1; \
	VPXORD Z29, Z1, Z1; \
	VMOVDQU32 Z1, (64*C)(DI)

// func repackVQ8_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// Prefill: gemmV16's tile of sixteen rows (gemmv_amd64.s), as repackVQ8_0
// makes it from RowMajor rows, from the two Interleaved8 groups of its
// rows, the first at w and the second wrb·8 bytes on. A block's chunk c
// of the first group is lanes 0-7 of repackVQ8_0's register c, the second
// group's lanes 8-15: a load and an insert instead of a transpose. A tile
// of eight rows (rmask 0xff, the matrix's last) takes the first group
// again for lanes 8-15, which gemmV16 computes but does not store.
//
// Register plan: CX blocks left, BX a run's blocks left, SI the block's
// scales, R12 its values, R8 the second group's offset, DI the
// destination, Z29 0x80 bytes.
TEXT ·repackVQ8_0X8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ wrb+16(FP), R8
	SHLQ $3, R8
	MOVQ rmask+24(FP), AX
	MOVQ dst+32(FP), DI
	SHRQ $8, AX
	JNZ 2(PC)
	XORQ R8, R8
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z29
rz8run:
	TESTQ CX, CX
	JZ rz8done
	X8_Q8_RUN
rz8block:
	VMOVDQU (SI), X0
	VINSERTI128 $1, (SI)(R8*1), Y0, Y0
	VCVTPH2PS Y0, Z0
	VMOVUPS Z0, 512(DI)
	RZ8_Q8(0)
	RZ8_Q8(1)
	RZ8_Q8(2)
	RZ8_Q8(3)
	RZ8_Q8(4)
	RZ8_Q8(5)
	RZ8_Q8(6)
	RZ8_Q8(7)
	ADDQ $16, SI
	ADDQ $256, R12
	ADDQ $576, DI
	DECQ BX
	JNZ rz8block
	MOVQ R12, SI
	JMP rz8run
rz8done:
	VZEROUPPER
	RET
