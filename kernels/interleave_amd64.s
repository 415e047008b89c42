#include "textflag.h"
#include "rows_amd64.h"

// Decode kernels on row-interleaved weights (Interleaved8, interleave.go):
// eight rows' blocks side by side, so one VPMADDUBSW covers four weights
// of each of eight rows and its int32 lanes are the rows. A block's sums
// then need no folding across lanes, its eight scales are one VCVTPH2PS
// of sixteen contiguous bytes, and the activations are broadcast four
// bytes at a time (loads, no ALU work).

// A Q4_0 group's block (144 bytes at W(R9): the eight rows' F16 scales,
// then four chunks of 32 bytes, chunk C holding bytes 4C..4C+3 of each
// row's sixteen nibble bytes, row r at 4r) against its 40-byte record at
// X(DI) (decRecordsX8AVX2): the low nibbles of chunk C are elements
// 4C..4C+3, the high ones 16+4C..16+4C+3. Each word sums eight products
// of at most 15·128, so none saturates (8·2·15·128 = 30720). Y4 0x0001
// words, Y5 0x0f bytes. A Q4_1 group's block (160 bytes) has the rows' m
// after the scales and the chunks at Q = 32, not 16, and its record is
// decRecordsX8_1AVX2's (the values at the same offsets).
#define X8_Q4_CHUNK(W, Q, X, C) \
	VMOVDQU (W+Q+32*C)(R9), Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND Y5, Y8, Y8; \
	VPAND Y5, Y9, Y9; \
	VPBROADCASTD (X+4*C)(DI), Y10; \
	VPBROADCASTD (X+16+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	VPADDW Y8, Y12, Y12; \
	VPADDW Y9, Y12, Y12

// The block's integer sums in Y12's int32 lanes (the rows).
#define X8_Q4_SUMS(W, Q, X) \
	VPXOR Y12, Y12, Y12; \
	X8_Q4_CHUNK(W, Q, X, 0); \
	X8_Q4_CHUNK(W, Q, X, 1); \
	X8_Q4_CHUNK(W, Q, X, 2); \
	X8_Q4_CHUNK(W, Q, X, 3); \
	VPMADDWD Y4, Y12, Y12

#define X8_Q4_BLOCK(W, X, ACC) \
	X8_Q4_SUMS(W, 16, X); \
	X8_BLOCK_END(W, X, ACC)

// Q4_1's block against its record of decRecordsX8_1AVX2.
#define X8_Q41_BLOCK(W, X, ACC) \
	X8_Q4_SUMS(W, 32, X); \
	X8_BLOCK_END_M(W, X, ACC)

// Y4 0x0001 words, Y5 0x0f bytes.
#define X8_Q4_CONSTS \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X5; \
	VPBROADCASTD X5, Y5

// Chunk C of a group's block at SI (nibbles from Q on): its low nibbles
// to register C of the tile at DI, its high ones to register C+4. Y5 0x0f
// bytes.
#define X8_SPLIT(Q, C) \
	VMOVDQU (Q+32*C)(SI), Y0; \
	VPSRLW $4, Y0, Y1; \
	VPAND Y5, Y0, Y0; \
	VPAND Y5, Y1, Y1; \
	VMOVDQU Y0, (32*C)(DI); \
	VMOVDQU Y1, (128+32*C)(DI)

// The body of repackV8Q4_0X8 and repackV8Q4_1X8: per block of BB bytes
// at SI, the eight levels registers from the nibbles at Q, then SCALES.
#define X8_Q4_REPACK(BB, Q, TILE, SCALES) \
	X8_REPACK_ARGS(SI, X5, Y5); \
	TESTQ CX, CX; \
	JZ rx4done; \
rx4loop: \
	X8_SPLIT(Q, 0); \
	X8_SPLIT(Q, 1); \
	X8_SPLIT(Q, 2); \
	X8_SPLIT(Q, 3); \
	SCALES; \
	ADDQ $BB, SI; \
	ADDQ $TILE, DI; \
	DECQ CX; \
	JNZ rx4loop; \
rx4done: \
	VZEROUPPER; \
	RET

// The rows' d (and m) as float32 after the levels.
#define X8_Q4_D \
	VCVTPH2PS (SI), Y2; \
	VMOVUPS Y2, 256(DI)
#define X8_Q41_DM \
	X8_Q4_D; \
	VCVTPH2PS 16(SI), Y2; \
	VMOVUPS Y2, 288(DI)

// func decQ4_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ4_0X8AVX2(SB), NOSPLIT, $0-48
	X8_KERNEL(X8_Q4_CONSTS, X8_PF5, X8_Q4_BLOCK, 144)

// func decQ4_1X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ4_1X8AVX2(SB), NOSPLIT, $0-48
	X8_KERNEL(X8_Q4_CONSTS, X8_PF5, X8_Q41_BLOCK, 160)

// func decRecordsX8AVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of the Interleaved8 decode kernels, 40 bytes per Q8_0
// block: its 32 values, the int32 correction -off·sum(x) and the float32
// scale dx.
//
// Register plan: CX blocks left, SI the Q8_0 block, DI the record, X6
// -off, Y4 0x01 bytes, Y5 0x0001 words.
TEXT ·decRecordsX8AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVQ off+24(FP), AX
	NEGL AX
	VMOVD AX, X6
	VPCMPEQW Y5, Y5, Y5
	VPSRLW $15, Y5, Y5
	VPACKUSWB Y5, Y5, Y4
	TESTQ CX, CX
	JZ rx8done
rx8loop:
	VMOVDQU 2(SI), Y0
	VMOVDQU Y0, (DI)
	VPMADDUBSW Y0, Y4, Y1
	VPMADDWD Y5, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD X2, X1, X1
	VPSHUFD $0x4e, X1, X2
	VPADDD X2, X1, X1
	VPSHUFD $0xb1, X1, X2
	VPADDD X2, X1, X1
	VPMULLD X6, X1, X1
	VMOVD X1, 32(DI)
	VPBROADCASTW (SI), X2
	VCVTPH2PS X2, X2
	VMOVSS X2, 36(DI)
	ADDQ $34, SI
	ADDQ $40, DI
	DECQ CX
	JNZ rx8loop
rx8done:
	VZEROUPPER
	RET

// func repackV8Q4_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q4_0's tile (gemmv2_amd64.s: per block eight registers of
// unsigned levels, register g elements 4g..4g+3 of rows 0-7, then the
// rows' scales as float32) from an Interleaved8 group at w: chunk c of the
// group is what repackV8Q4_0 gathers for registers c and c+4, so a block
// is four loads instead of five gathers. wrb and rmask are unused: a
// group always has its eight rows.
TEXT ·repackV8Q4_0X8(SB), NOSPLIT, $0-40
	X8_Q4_REPACK(144, 16, 288, X8_Q4_D)

// func repackV8Q4_1X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// The same for repackV8Q4_1's tile: the levels, then the rows' d and m
// as float32.
TEXT ·repackV8Q4_1X8(SB), NOSPLIT, $0-40
	X8_Q4_REPACK(160, 32, 320, X8_Q41_DM)
