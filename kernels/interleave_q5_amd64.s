#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q5_0 and Q5_1 kernels (interleave_q5.go lays out the
// groups): decode as decQ4_0X8AVX2 (interleave_amd64.s) with five-bit
// levels, and the prefill tile from a group.

// Chunk C of the block at W(R9), its levels from Q on and the high
// levels' top bits in Y15 (interleave_q5.go), to levels registers C (Y8)
// and C+4 (Y9): the low five bits of each byte, and its top three with
// the two bits that SHIFT(N) brings to bits 3-4: a left word shift by
// 3-2C or a right one by 2C-3 (X8_Q5_SL, X8_Q5_SR), or X8_Q5_DBL for one
// left (a byte doubling, on any vector pipe). A word shift by at most
// three moves no bit into bits 3-4 across a byte.
// Y3 0x18 bytes, Y5 0x1f bytes, Y6 0x07 bytes.
#define X8_Q5_LEVELS(W, Q, C, SHIFT, N) \
	VMOVDQU (W+Q+32*C)(R9), Y8; \
	VPSRLW $5, Y8, Y9; \
	VPAND Y5, Y8, Y8; \
	VPAND Y6, Y9, Y9; \
	SHIFT(N, Y15, Y10); \
	VPAND Y3, Y10, Y10; \
	VPOR Y10, Y9, Y9

#define X8_Q5_SL(N, S, D) VPSLLW $N, S, D
#define X8_Q5_SR(N, S, D) VPSRLW $N, S, D
#define X8_Q5_DBL(N, S, D) VPADDB S, S, D

// Chunk C times its activations (the block's 40-byte record at X(DI),
// decRecordsX8AVX2's) added to the int16 sums S: four products a word a
// chunk, at most 4·31·127, so a word takes two chunks before VPMADDWD
// (8·31·127 < 2^15; Q4_0's take all four).
#define X8_Q5_CHUNK(W, Q, X, C, S, SHIFT, N) \
	X8_Q5_LEVELS(W, Q, C, SHIFT, N); \
	VPBROADCASTD (X+4*C)(DI), Y10; \
	VPBROADCASTD (X+16+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	VPADDW Y8, S, S; \
	VPADDW Y9, S, S

// The integer sums of a block (top bits at W+H, levels at W+Q) with
// its record at X(DI), in Y12's int32 lanes (the rows). Y4 0x0001 words.
#define X8_Q5_SUMS(W, H, Q, X) \
	VMOVDQU (W+H)(R9), Y15; \
	VPXOR Y12, Y12, Y12; \
	VPXOR Y13, Y13, Y13; \
	X8_Q5_CHUNK(W, Q, X, 0, Y12, X8_Q5_SL, 3); \
	X8_Q5_CHUNK(W, Q, X, 1, Y12, X8_Q5_DBL, 1); \
	X8_Q5_CHUNK(W, Q, X, 2, Y13, X8_Q5_SR, 1); \
	X8_Q5_CHUNK(W, Q, X, 3, Y13, X8_Q5_SR, 3); \
	VPMADDWD Y4, Y12, Y12; \
	VPMADDWD Y4, Y13, Y13; \
	VPADDD Y13, Y12, Y12

// One Q5_0 block of a group against its record, to ACC.
#define X8_Q5_BLOCK(W, X, ACC) \
	X8_Q5_SUMS(W, 16, 48, X); \
	X8_BLOCK_END(W, X, ACC)

// One Q5_1 block of a group (its d at W, m at W+16) against its record.
#define X8_Q51_BLOCK(W, X, ACC) \
	X8_Q5_SUMS(W, 32, 64, X); \
	X8_BLOCK_END_M(W, X, ACC)

// The constants: Y3 0x18 bytes, Y4 0x0001 words, Y5 0x1f bytes, Y6 0x07
// bytes.
#define X8_Q5_CONSTS \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4; \
	MOVL $0x1f1f1f1f, AX; \
	VMOVD AX, X5; \
	VPBROADCASTD X5, Y5; \
	MOVL $0x18181818, AX; \
	VMOVD AX, X3; \
	VPBROADCASTD X3, Y3; \
	MOVL $0x07070707, AX; \
	VMOVD AX, X6; \
	VPBROADCASTD X6, Y6

// Chunk C of the block at R9 (levels from Q on) to registers C and C+4
// of the tile at DI.
#define X8_Q5_SPLIT(Q, C, SHIFT, N) \
	X8_Q5_LEVELS(0, Q, C, SHIFT, N); \
	VMOVDQU Y8, (32*C)(DI); \
	VMOVDQU Y9, (128+32*C)(DI)

// The body of repackV8Q5_0X8 and repackV8Q5_1X8: per block of BB bytes,
// the eight levels registers from the top bits at H and the levels at Q,
// then SCALES.
#define X8_Q5_REPACK(BB, H, Q, TILE, SCALES) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), R9; \
	MOVQ dst+32(FP), DI; \
	X8_Q5_CONSTS; \
	TESTQ CX, CX; \
	JZ rx5done; \
rx5loop: \
	VMOVDQU H(R9), Y15; \
	X8_Q5_SPLIT(Q, 0, X8_Q5_SL, 3); \
	X8_Q5_SPLIT(Q, 1, X8_Q5_DBL, 1); \
	X8_Q5_SPLIT(Q, 2, X8_Q5_SR, 1); \
	X8_Q5_SPLIT(Q, 3, X8_Q5_SR, 3); \
	SCALES; \
	ADDQ $BB, R9; \
	ADDQ $TILE, DI; \
	DECQ CX; \
	JNZ rx5loop; \
rx5done: \
	VZEROUPPER; \
	RET

// The rows' d (and m) as float32 after the levels.
#define X8_Q5_D \
	VCVTPH2PS (R9), Y2; \
	VMOVUPS Y2, 256(DI)
#define X8_Q51_DM \
	X8_Q5_D; \
	VCVTPH2PS 16(R9), Y2; \
	VMOVUPS Y2, 288(DI)

// func decQ5_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ5_0X8AVX2(SB), NOSPLIT, $0-48
	X8_KERNEL(X8_Q5_CONSTS, X8_PF6, X8_Q5_BLOCK, 176)

// func decQ5_1X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ5_1X8AVX2(SB), NOSPLIT, $0-48
	X8_KERNEL(X8_Q5_CONSTS, X8_PF6, X8_Q51_BLOCK, 192)

// func repackV8Q5_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q5_0's tile (gemmv2_amd64.s: per block eight registers of
// unsigned levels, register g elements 4g..4g+3 of rows 0-7, then the
// rows' scales as float32) from an Interleaved8 group at w: the same
// registers decQ5_0X8AVX2 computes, with no gathers. wrb and rmask are
// unused: a group always has its eight rows.
TEXT ·repackV8Q5_0X8(SB), NOSPLIT, $0-40
	X8_Q5_REPACK(176, 16, 48, 288, X8_Q5_D)

// func repackV8Q5_1X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// The same for repackV8Q5_1's tile: the levels, then the rows' d and m.
TEXT ·repackV8Q5_1X8(SB), NOSPLIT, $0-40
	X8_Q5_REPACK(192, 32, 64, 320, X8_Q51_DM)

// func decRecordsX8_1AVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of decQ5_1X8AVX2 and decQ4_1X8AVX2, 40 bytes per Q8_1 block (F16 d, F16 s,
// 32 values): the values, then d and s as float32. off is unused.
TEXT ·decRecordsX8_1AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JZ r81done
r81loop:
	VMOVDQU 4(SI), Y0
	VMOVDQU Y0, (DI)
	VMOVD (SI), X1
	VCVTPH2PS X1, X1
	VMOVQ X1, 32(DI)
	ADDQ $36, SI
	ADDQ $40, DI
	DECQ CX
	JNZ r81loop
r81done:
	VZEROUPPER
	RET
