#include "textflag.h"

// ---------------------------------------------------------------------------
// The row-lane prefill of gemmv_amd64.s for the avx2 path: eight weight rows
// in the lanes of a Y register, four tokens per call, Q4_0 and Q5_0.
//
// Without VNNI a VPDPBUSD is VPMADDUBSW (unsigned weight bytes by signed
// activation bytes, adjacent products summed to int16) then VPMADDWD by
// ones. The int16 sums of four groups are added with VPADDW before one
// VPMADDWD: a pair is at most 2·31·127 for Q5_0 (Q4_0: 2·15·127), so four
// stay below 2^15 and nothing saturates or wraps. Q8_0's unsigned weights
// (up to 255) would saturate VPMADDUBSW, so Q8_0 keeps the tile kernels.
//
// Repacked weights, per block and eight rows (288 bytes): eight Y registers
// of unsigned bytes, register g holding k = 4g..4g+3 of rows 0-7, then the
// rows' scales as float32. Activations: the 40-byte records of
// gemmv_amd64.s, a block of a group of sixteen tokens 640 bytes apart; x
// points at the call's first token.
//
// Register plan (gemmV8AVX2): CX blocks left, SI weights, DI records;
//   Y0-Y7 a block's weights   Y8-Y11 float accumulators, tokens 0-3
//   Y12, Y13 int16 sums of groups 0-3 and 4-7   Y14 temporary
//   Y15 a broadcast group of activations

DATA ·v2Ones+0(SB)/8, $0x0001000100010001
DATA ·v2Ones+8(SB)/8, $0x0001000100010001
DATA ·v2Ones+16(SB)/8, $0x0001000100010001
DATA ·v2Ones+24(SB)/8, $0x0001000100010001
GLOBL ·v2Ones(SB), RODATA|NOPTR, $32

DATA ·v2Bits+0(SB)/8, $0x0000000200000001
DATA ·v2Bits+8(SB)/8, $0x0000000800000004
DATA ·v2Bits+16(SB)/8, $0x0000002000000010
DATA ·v2Bits+24(SB)/8, $0x0000008000000040
GLOBL ·v2Bits(SB), RODATA|NOPTR, $32

// Group G of token T (record offset T·40) times weight register W, its
// int16 sums added to S.
#define MADD2(T, G, W, S) \
	VPBROADCASTD T*40+G*4(DI), Y15; \
	VPMADDUBSW Y15, W, Y14; \
	VPADDW Y14, S, S

// Token T through the block into ACC.
#define TOKV2(T, ACC) \
	VPBROADCASTD T*40(DI), Y15; \
	VPMADDUBSW Y15, Y0, Y12; \
	MADD2(T, 1, Y1, Y12); \
	MADD2(T, 2, Y2, Y12); \
	MADD2(T, 3, Y3, Y12); \
	VPBROADCASTD T*40+16(DI), Y15; \
	VPMADDUBSW Y15, Y4, Y13; \
	MADD2(T, 5, Y5, Y13); \
	MADD2(T, 6, Y6, Y13); \
	MADD2(T, 7, Y7, Y13); \
	VPMADDWD ·v2Ones(SB), Y12, Y12; \
	VPMADDWD ·v2Ones(SB), Y13, Y13; \
	VPADDD Y13, Y12, Y12; \
	VPBROADCASTD T*40+32(DI), Y14; \
	VPADDD Y14, Y12, Y12; \
	VCVTDQ2PS Y12, Y12; \
	VMULPS 256(SI), Y12, Y12; \
	VBROADCASTSS T*40+36(DI), Y14; \
	VFMADD231PS Y14, Y12, ACC

// Y13 = all ones in the lanes of the rows set in rmask (AX).
#define ROWMASK2 \
	VMOVD AX, X13; \
	VPBROADCASTD X13, Y13; \
	VPAND ·v2Bits(SB), Y13, Y13; \
	VPCMPEQD ·v2Bits(SB), Y13, Y13

// Token T's rows to R11 (masked) unless the call has only T tokens.
#define STOREV2(T, ACC) \
	CMPQ BX, $T; \
	JLE v2done; \
	VMASKMOVPS ACC, Y13, (R11); \
	ADDQ R14, R11

// ---------------------------------------------------------------------------
// Repacking eight rows with AVX2's VPGATHERDD (its mask, Y12, is consumed,
// so it is copied from Y13 each time). Register plan: CX blocks left, SI
// the first row's block, DI the destination, Y14 the row offsets r·wrb,
// Y13 the valid rows, Y11 0x0f bytes.

#define GATHER2(OFF, Y) \
	VMOVDQA Y13, Y12; \
	VPXOR Y, Y, Y; \
	VPGATHERDD Y12, OFF(SI)(Y14*1), Y

#define REPACK2_PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ wrb+16(FP), AX; \
	VMOVD AX, X14; \
	VPBROADCASTD X14, Y14; \
	VPMULLD ·vLanes(SB), Y14, Y14; \
	MOVQ rmask+24(FP), AX; \
	ROWMASK2; \
	MOVQ dst+32(FP), DI; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X11; \
	VPBROADCASTD X11, Y11

// The F16 scales (low half of the dword at 0) as float32 to 256(DI):
// VPACKUSDW packs each 128-bit lane's four, VPERMQ joins the two lanes.
#define SCALES2 \
	GATHER2(0, Y0); \
	VPSLLD $16, Y0, Y0; \
	VPSRLD $16, Y0, Y0; \
	VPACKUSDW Y0, Y0, Y0; \
	VPERMQ $0x08, Y0, Y0; \
	VCVTPH2PS X0, Y0; \
	VMOVUPS Y0, 256(DI)

// Nibbles in Y (k = 4G.. low, 16+4G.. high) to registers G and G+4.
#define NIBBLES2(Y, G) \
	VPAND Y11, Y, Y1; \
	VMOVDQU Y1, G*32(DI); \
	VPSRLD $4, Y, Y; \
	VPAND Y11, Y, Y; \
	VMOVDQU Y, G*32+128(DI)

// func gemmV8AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
// acc is unused.
TEXT ·gemmV8AVX2(SB), NOSPLIT, $0-64
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ CX, CX
	JZ v2store
v2loop:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3
	VMOVDQU 128(SI), Y4
	VMOVDQU 160(SI), Y5
	VMOVDQU 192(SI), Y6
	VMOVDQU 224(SI), Y7
	TOKV2(0, Y8)
	TOKV2(1, Y9)
	TOKV2(2, Y10)
	TOKV2(3, Y11)
	ADDQ $288, SI
	ADDQ $640, DI
	DECQ CX
	JNZ v2loop
v2store:
	MOVQ out+32(FP), R11
	MOVQ ostride+40(FP), R14
	MOVQ ntok+48(FP), BX
	MOVQ rmask+56(FP), AX
	ROWMASK2
	STOREV2(0, Y8)
	STOREV2(1, Y9)
	STOREV2(2, Y10)
	STOREV2(3, Y11)
v2done:
	VZEROUPPER
	RET

// func repackV8Q4_0(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q4_0(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	TESTQ CX, CX
	JZ r24done
r24loop:
	SCALES2
	GATHER2(2, Y2)
	GATHER2(6, Y3)
	GATHER2(10, Y4)
	GATHER2(14, Y5)
	NIBBLES2(Y2, 0)
	NIBBLES2(Y3, 1)
	NIBBLES2(Y4, 2)
	NIBBLES2(Y5, 3)
	ADDQ $18, SI
	ADDQ $288, DI
	DECQ CX
	JNZ r24loop
r24done:
	VZEROUPPER
	RET

// Q5_0's fifth bits, as QHBITSV of gemmv_amd64.s: bits S..S+3 of qh (Y6)
// to bit 4 of four bytes, ORed into Y. Y7 15, Y8 0x00204081, Y9 0x01010101.
#define QHBITS2(S, Y) \
	VPSRLD $S, Y6, Y10; \
	VPAND Y7, Y10, Y10; \
	VPMULLD Y8, Y10, Y10; \
	VPAND Y9, Y10, Y10; \
	VPSLLD $4, Y10, Y10; \
	VPOR Y10, Y, Y

#define NIBBLES52(Y, G) \
	VPAND Y11, Y, Y1; \
	QHBITS2(4*G, Y1); \
	VMOVDQU Y1, G*32(DI); \
	VPSRLD $4, Y, Y; \
	VPAND Y11, Y, Y; \
	QHBITS2(16+4*G, Y); \
	VMOVDQU Y, G*32+128(DI)

// func repackV8Q5_0(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q5_0(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	MOVL $0x0f, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	MOVL $0x00204081, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x01010101, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	TESTQ CX, CX
	JZ r25done
r25loop:
	SCALES2
	GATHER2(2, Y6)
	GATHER2(6, Y2)
	GATHER2(10, Y3)
	GATHER2(14, Y4)
	GATHER2(18, Y5)
	NIBBLES52(Y2, 0)
	NIBBLES52(Y3, 1)
	NIBBLES52(Y4, 2)
	NIBBLES52(Y5, 3)
	ADDQ $22, SI
	ADDQ $288, DI
	DECQ CX
	JNZ r25loop
r25done:
	VZEROUPPER
	RET

// func recordsVAVX2(nb int, row, dst *byte, zOff int)
// One token's Q8_0 row (nb 34-byte blocks at row) as its records of
// gemmv_amd64.s, block b at dst + b·640: the 32 values, -zOff·sum(x) (the
// sum by VPSADBW of x+128, less 32·128) and the scale as float32; byte for
// byte what quantJob.recordsV writes.
TEXT ·recordsVAVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ row+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVQ zOff+24(FP), R8
	NEGQ R8
	MOVL $0x80808080, AX
	VMOVD AX, X3
	VPBROADCASTD X3, Y3
	VPXOR Y4, Y4, Y4
	TESTQ CX, CX
	JZ rvdone
rvloop:
	VMOVDQU 2(SI), Y0
	VMOVDQU Y0, (DI)
	VPXOR Y3, Y0, Y1
	VPSADBW Y4, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDQ X2, X1, X1
	VPSHUFD $0x4e, X1, X2
	VPADDQ X2, X1, X1
	VMOVQ X1, AX
	SUBQ $4096, AX
	IMULQ R8, AX
	MOVL AX, 32(DI)
	MOVWLZX (SI), AX
	VMOVD AX, X5
	VCVTPH2PS X5, X5
	VMOVSS X5, 36(DI)
	ADDQ $34, SI
	ADDQ $640, DI
	DECQ CX
	JNZ rvloop
rvdone:
	VZEROUPPER
	RET
