#include "textflag.h"
#include "hsum_amd64.h"
#include "rows_amd64.h"

// AVX2 dot products of Q4_1 and Q5_1 weight rows with Q8_1 activations,
// one call per row (nb blocks of 32): the unsigned levels (nibble, plus the
// fifth bit for Q5_1) times the signed activations with VPMADDUBSW (at most
// 2·31·127, no saturation) and VPMADDWD, the block's int32 lanes scaled by
// dw·dx into eight float sums, and the min term m·s (s = dx·sum(x), stored
// in the Q8_1 block) summed apart. The integer sums are exact; only the
// float order differs from the portable reference. Assembly for the same
// reasons as the other kernels: archsimd has no VCVTPH2PS, and an archsimd
// loop ran ten times slower.
//
// Register plan: CX blocks, SI w, DI x; Y0 float sums, X1 lane 1: the sum
// of m·s; Y4 0x0001 words, Y5 0x0f bytes; Y8 levels, Y9-Y12 temporaries;
// Q5_1: Y3 all ones, Y6 Y7 the tables named below, Y13 0x10 bytes.

// Q5_1's fifth bits as ggml's bytes_from_bits_32: qh's byte k to bytes
// 8k..8k+7 (q5Shuf in gemm_amd64.s), each OR-ed with all bits but its own
// (q5Bits), equal to 0xff where that bit is set.

// Rows as the K-quant kernels: row r at w + r·wstride, its result to
// out[r]; a dot product is one row. R12 the row, R13 wstride, R11 out, R14
// rows left.
#define D1_ARGS \
	MOVQ w+8(FP), R12; \
	MOVQ wstride+16(FP), R13; \
	MOVQ out+32(FP), R11; \
	MOVQ rows+40(FP), R14; \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X5; \
	VPBROADCASTD X5, Y5

// The nibbles at Q(SI) as unsigned bytes: low ones (elements 0-15) in the
// low lane, high ones (16-31) in the high lane.
#define D1_NIBBLES(Q) \
	VBROADCASTI128 Q(SI), Y8; \
	VPSRLW $4, Y8, Y9; \
	VPBLENDD $0xf0, Y9, Y8, Y8; \
	VPAND Y5, Y8, Y8

// Levels times x, scaled: [dw, m] times [dx, s] from the blocks' first
// four bytes; lane 0 (dw·dx) scales the sums into Y0, lane 1 (m·s) adds up
// in X1.
#define D1_ACC \
	VPMADDUBSW 4(DI), Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VMOVD (SI), X10; \
	VCVTPH2PS X10, X10; \
	VMOVD (DI), X11; \
	VCVTPH2PS X11, X11; \
	VMULPS X11, X10, X10; \
	VADDPS X10, X1, X1; \
	VBROADCASTSS X10, Y10; \
	VFMADD231PS Y10, Y8, Y0

// Y0's lanes and X1's lane 1 summed to out[r]; next row.
#define D1_ROW_END(LOOP) \
	HSUM8(Y0, X0, X2); \
	VMOVSHDUP X1, X1; \
	VADDSS X1, X0, X0; \
	VMOVSS X0, (R11); \
	ADDQ $4, R11; \
	ADDQ R13, R12; \
	DECQ R14; \
	JNZ LOOP

// func rowsQ4_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ4_1AVX2(SB), NOSPLIT, $0-48
	D1_ARGS
	TESTQ R14, R14
	JZ d41done
d41row:
	ROW_START
	TESTQ CX, CX
	JZ d41end
d41loop:
	D1_NIBBLES(4)
	D1_ACC
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ d41loop
d41end:
	D1_ROW_END(d41row)
d41done:
	VZEROUPPER
	RET

// func rowsQ5_1AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ5_1AVX2(SB), NOSPLIT, $0-48
	D1_ARGS
	VMOVDQU ·q5Shuf(SB), Y6
	VMOVDQU ·q5Bits(SB), Y7
	VPCMPEQB Y3, Y3, Y3
	MOVL $0x10101010, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	TESTQ R14, R14
	JZ d51done
d51row:
	ROW_START
	TESTQ CX, CX
	JZ d51end
d51loop:
	D1_NIBBLES(8)
	VPBROADCASTD 4(SI), Y12
	VPSHUFB Y6, Y12, Y12
	VPOR Y7, Y12, Y12
	VPCMPEQB Y3, Y12, Y12
	VPAND Y13, Y12, Y12
	VPOR Y12, Y8, Y8
	D1_ACC
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ d51loop
d51end:
	D1_ROW_END(d51row)
d51done:
	VZEROUPPER
	RET
