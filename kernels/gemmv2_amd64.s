#include "textflag.h"
#include "rows_amd64.h"

// ---------------------------------------------------------------------------
// The row-lane prefill of gemmv_amd64.s for the avx2 path: eight weight rows
// in the lanes of a Y register, and each kernel takes two such tiles of
// eight rows, sixteen rows, by two tokens a call (four for Q8_0).
//
// Without VNNI a VPDPBUSD is VPMADDUBSW (unsigned weight bytes by signed
// activation bytes, adjacent products summed to int16) then VPMADDWD by
// ones. The int16 sums of several groups are added with VPADDW before one
// VPMADDWD: a pair is at most 2·31·127 for Q5_0 and Q5_1 (Q4_0 and Q4_1:
// 2·15·127), so four stay below 2^15 (eight for the four-bit formats) and
// nothing saturates or wraps. Q8_0's offset weights (up to 255) would
// saturate VPMADDUBSW: gemmV16Q8_0AVX2 widens weights and activations to
// int16 instead (see there).
//
// Repacked weights, per block and eight rows (288 bytes; Q4_1 and Q5_1
// 320): eight Y registers of unsigned bytes, register g holding k =
// 4g..4g+3 of rows 0-7, then the rows' scales as float32 (and their m).
// Activations: the 40-byte records of gemmv_amd64.s, a block of a group
// of sixteen tokens 640 bytes apart; x points at the call's first token.

DATA ·v2Bits+0(SB)/8, $0x0000000200000001
DATA ·v2Bits+8(SB)/8, $0x0000000800000004
DATA ·v2Bits+16(SB)/8, $0x0000002000000010
DATA ·v2Bits+24(SB)/8, $0x0000008000000040
GLOBL ·v2Bits(SB), RODATA|NOPTR, $32

// Y13 = all ones in the lanes of the rows set in rmask (AX).
#define ROWMASK2 \
	VMOVD AX, X13; \
	VPBROADCASTD X13, Y13; \
	VPAND ·v2Bits(SB), Y13, Y13; \
	VPCMPEQD ·v2Bits(SB), Y13, Y13

// The sixteen-row kernels' epilogue registers: R11 out, R14 ostride, BX
// ntok, AX rmask, Y13 and Y14 the valid rows of the two tiles of eight.
#define ROWS16 \
	MOVQ out+32(FP), R11; \
	MOVQ ostride+40(FP), R14; \
	MOVQ ntok+48(FP), BX; \
	MOVQ rmask+56(FP), AX; \
	MOVQ AX, DX; \
	SHRQ $8, DX; \
	ROWMASK2; \
	VMOVD DX, X14; \
	VPBROADCASTD X14, Y14; \
	VPAND ·v2Bits(SB), Y14, Y14; \
	VPCMPEQD ·v2Bits(SB), Y14, Y14

// The arguments of a sixteen-row kernel whose acc is R9 (gemmV16Q8_0AVX2,
// gemmV16Q5_0AVX2): R8 the second tile, nb blocks of BLOCK bytes on.
#define V16PROLOGUE(BLOCK) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ acc+24(FP), R9; \
	IMUL3Q $BLOCK, CX, R8; \
	ADDQ SI, R8

// Token T's sixteen rows from acc (at ACC) to R11 (masked), unless the
// call has only T tokens.
#define STOREACC16(T, ACC, DONE) \
	CMPQ BX, $T; \
	JLE DONE; \
	VMOVUPS T*64(ACC), Y0; \
	STOREROWS(Y0, 0, 0xffff, Y13); \
	VMOVUPS T*64+32(ACC), Y1; \
	STOREROWS(Y1, 32, 0xffff, Y14); \
	ADDQ R14, R11

// Y (eight floats) to OFF(R11), or only the rows set in rmask (AX, mask
// MASK) where it lacks some of FULL (runRowLanes passes exactly
// 1<<rows-1 for a whole tile). Why not always VMASKMOVPS: on Zen 3 four
// of them took a call 20 ns longer than four VMOVUPS (33 against 13 ns an
// empty call with its stores, best of five runs of a million calls), a
// tenth of a four-block call; every tile of a matrix but its last has all
// its rows. The jumps count instructions (n(PC)): a macro cannot hold
// labels.
#define STOREROWS(Y, OFF, FULL, MASK) \
	CMPQ AX, $FULL; \
	JNE 3(PC); \
	VMOVUPS Y, OFF(R11); \
	JMP 2(PC); \
	VMASKMOVPS Y, MASK, OFF(R11)

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

// The F16 in the low (F16LO2) or high (F16HI2) halves of Y0's dwords as
// float32 to OFF(DI), Y1 a temporary: VPACKUSDW packs each 128-bit lane's
// four, VPERMQ joins the two lanes.
#define F16LO2(OFF) \
	VPSLLD $16, Y0, Y1; \
	VPSRLD $16, Y1, Y1; \
	PACKCVT2(OFF)
#define F16HI2(OFF) \
	VPSRLD $16, Y0, Y1; \
	PACKCVT2(OFF)
#define PACKCVT2(OFF) \
	VPACKUSDW Y1, Y1, Y1; \
	VPERMQ $0x08, Y1, Y1; \
	VCVTPH2PS X1, Y1; \
	VMOVUPS Y1, OFF(DI)

// The F16 scales (low half of the dword at 0) as float32 to 256(DI).
#define SCALES2 \
	GATHER2(0, Y0); \
	F16LO2(256)

// Nibbles in Y (k = 4G.. low, 16+4G.. high) to registers G and G+4.
#define NIBBLES2(Y, G) \
	VPAND Y11, Y, Y1; \
	VMOVDQU Y1, G*32(DI); \
	VPSRLD $4, Y, Y; \
	VPAND Y11, Y, Y; \
	VMOVDQU Y, G*32+128(DI)

// The 16 bytes of nibbles at OFF of the eight rows' blocks to registers
// 0-7.
#define NIB4_2(OFF) \
	GATHER2(OFF, Y2); \
	GATHER2(OFF+4, Y3); \
	GATHER2(OFF+8, Y4); \
	GATHER2(OFF+12, Y5); \
	NIBBLES2(Y2, 0); \
	NIBBLES2(Y3, 1); \
	NIBBLES2(Y4, 2); \
	NIBBLES2(Y5, 3)

// The sixteen-row K kernels' arguments (R9 the bytes from the first
// tile's blocks to the second's, BLOCK a block of one), their int32 sums
// Y8-Y11 and acc cleared.
#define K16PROLOGUE(BLOCK) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ acc+24(FP), R8; \
	IMUL3Q $BLOCK, CX, R9; \
	VPXOR Y8, Y8, Y8; \
	VPXOR Y9, Y9, Y9; \
	VPXOR Y10, Y10, Y10; \
	VPXOR Y11, Y11, Y11; \
	VMOVDQU Y8, (R8); \
	VMOVDQU Y8, 32(R8); \
	VMOVDQU Y8, 64(R8); \
	VMOVDQU Y8, 96(R8)

// A block's N sub-blocks from the first: DX counts them, R10 their
// weights, R13 their scale pairs, R12 their records.
#define K16SUBS(N) \
	MOVQ $N, DX; \
	MOVQ SI, R10; \
	LEAQ 2048(SI), R13; \
	MOVQ DI, R12

// The sub-block's scale pairs of both tiles to Y12 and Y13.
#define K16SCALES \
	VMOVDQU (R13), Y12; \
	VMOVDQU (R13)(R9*1), Y13

// The next sub-block (WSTEP bytes of weights, RSTEP of records on).
#define K16NEXT(WSTEP, RSTEP) \
	ADDQ $WSTEP, R10; \
	ADDQ $32, R13; \
	ADDQ $RSTEP, R12; \
	DECQ DX

// A block's end: FIN (Q6FIN16 or QKFIN16) for both tokens, then the next
// block (BLOCK bytes of a tile on).
#define K16BLOCKEND(FIN, BLOCK) \
	FIN(0, Y8, Y9); \
	FIN(1, Y10, Y11); \
	ADDQ $BLOCK, SI; \
	ADDQ $4864, DI; \
	DECQ CX

// The two tokens' acc to their output rows (DONE the kernel's end).
#define K16EPILOGUE(DONE) \
	ROWS16; \
	STOREACC16(0, R8, DONE); \
	STOREACC16(1, R8, DONE)

// The legacy row-lane kernels' arguments, the four float accumulators
// Y8-Y11 cleared.
#define V2PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// ---------------------------------------------------------------------------
// Q4_0 on the avx2 path, sixteen rows by two tokens a call: each broadcast
// of four activations serves two weight registers (both of repackV8Q4_0's
// tiles, twoTiles), where the eight-row, four-token kernel this replaced
// (the eight-row Q4_1 kernel's loop without the m term) used one for each. Zen 3 loads
// vector registers (broadcasts and memory operands too) on two pipes, and
// that kernel spent 60 loads a block of four tokens by eight rows, 1024
// products; this spends 36 on as many (llvm-mca -mcpu=znver3: 36 cycles a
// loop for that kernel, 27 for this). A Q4_0 weight is at most 15, so a pair of products
// at most 2·15·128 and the eight groups' int16 sums at most 30720: one
// VPMADDWD a block instead of two (Q5_0's weights, up to 31, would
// overflow: gemmV16Q5_0AVX2). Each (row, token) result is bit for bit
// that kernel's: the same exact integer sum, then the same float steps in
// the same order.
//
// Measured on a Zen 3 (family 25, model 1), one core: a call over tiles
// of 16, 28 and 152 blocks, both kernels alternated in one process,
// reached 0.58-0.81 of the int8 probe with that kernel and 0.82-1.26 with
// this. BenchmarkMatMul's Q4_0 layer by 128 tokens, five runs of each
// build alternated, medians: 47.7 → 51.4 GMAC/s at one thread, 81.4 →
// 94.2 at two. pith bench model, pp512 of a synthetic Qwen2.5-0.5B Q4_0,
// two runs of each: 117-120 → 133-148 tok/s at one thread, 202-217 →
// 230-253 at two.
//
// Register plan (gemmV16Q4_0AVX2): CX blocks left, SI rows 0-7, R8 rows
// 8-15, DI records;
//   Y0-Y3 int16 sums (token 0 rows 0-7, 8-15, token 1 rows 0-7, 8-15)
//   Y4, Y5 a group's weights of each tile   Y6 a broadcast group of
//   activations   Y7 products   Y8-Y11 float accumulators as Y0-Y3
//   Y12 0x0001 words   Y13, Y14 a token's offset sum and dx (then the
//   valid rows of each tile)

// Products of the broadcast group (Y6) and weights W added to S.
#define Q4P16(W, S) \
	VPMADDUBSW Y6, W, Y7; \
	VPADDW Y7, S, S

// A group of four values of both tiles (weights at WA and WB) against
// both tokens (activations at XA and XB), added to the int16 sums.
#define G16(WA, WB, XA, XB) \
	VMOVDQU WA, Y4; \
	VMOVDQU WB, Y5; \
	VPBROADCASTD XA, Y6; \
	Q4P16(Y4, Y0); \
	Q4P16(Y5, Y1); \
	VPBROADCASTD XB, Y6; \
	Q4P16(Y4, Y2); \
	Q4P16(Y5, Y3)

// G16 replacing the int16 sums.
#define G16SET(WA, WB, XA, XB) \
	VMOVDQU WA, Y4; \
	VMOVDQU WB, Y5; \
	VPBROADCASTD XA, Y6; \
	VPMADDUBSW Y6, Y4, Y0; \
	VPMADDUBSW Y6, Y5, Y1; \
	VPBROADCASTD XB, Y6; \
	VPMADDUBSW Y6, Y4, Y2; \
	VPMADDUBSW Y6, Y5, Y3

// Group G (k = 4G..4G+3) of a Q4_0 block (Q4G16SET: the first).
#define Q4G16(G) G16(G*32(SI), G*32(R8), G*4(DI), 40+G*4(DI))
#define Q4G16SET(G) G16SET(G*32(SI), G*32(R8), G*4(DI), 40+G*4(DI))

// A four-bit block's eight groups of both tiles against both tokens, to
// the int16 sums Y0-Y3.
#define Q4SUMS16 \
	Q4G16SET(0); \
	Q4G16(1); \
	Q4G16(2); \
	Q4G16(3); \
	Q4G16(4); \
	Q4G16(5); \
	Q4G16(6); \
	Q4G16(7)

// ACC += float(int32(S) + offset)·dw·dx, the tile's dw at 256(W), the
// offset sum in Y13, dx in Y14.
#define Q4F16(S, W, ACC) \
	VPMADDWD Y12, S, S; \
	VPADDD Y13, S, S; \
	VCVTDQ2PS S, S; \
	VMULPS 256(W), S, S; \
	VFMADD231PS Y14, S, ACC

#define Q4TOK16(T, S0, S1, A0, A1) \
	VPBROADCASTD T*40+32(DI), Y13; \
	VBROADCASTSS T*40+36(DI), Y14; \
	Q4F16(S0, SI, A0); \
	Q4F16(S1, R8, A1)

// Token T's sixteen rows (A0 rows 0-7, A1 rows 8-15) to R11 (masked)
// unless the call has only T tokens.
#define STOREV16(T, A0, A1, DONE) \
	CMPQ BX, $T; \
	JLE DONE; \
	STOREROWS(A0, 0, 0xffff, Y13); \
	STOREROWS(A1, 32, 0xffff, Y14); \
	ADDQ R14, R11

// A four-bit kernel's body (gemmV16Q4_0AVX2, gemmV16Q4_1AVX2): blocks of
// BLOCK bytes a tile, TOK(T, S0, S1, A0, A1) taking token T's int16 sums
// of the two tiles into its float accumulators.
#define GEMM16Q4(BLOCK, TOK) \
	V2PROLOGUE; \
	IMUL3Q $BLOCK, CX, R8; \
	ADDQ SI, R8; \
	VPCMPEQW Y12, Y12, Y12; \
	VPSRLW $15, Y12, Y12; \
	TESTQ CX, CX; \
	JZ g4store; \
g4loop: \
	Q4SUMS16; \
	TOK(0, Y0, Y1, Y8, Y9); \
	TOK(1, Y2, Y3, Y10, Y11); \
	ADDQ $BLOCK, SI; \
	ADDQ $BLOCK, R8; \
	ADDQ $640, DI; \
	DECQ CX; \
	JNZ g4loop; \
g4store: \
	ROWS16; \
	STOREV16(0, Y8, Y9, g4done); \
	STOREV16(1, Y10, Y11, g4done); \
g4done: \
	VZEROUPPER; \
	RET

// func gemmV16Q4_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
// acc is unused.
TEXT ·gemmV16Q4_0AVX2(SB), NOSPLIT, $0-64
	GEMM16Q4(288, Q4TOK16)

// Q5_0 sixteen rows by two tokens a call (gemmV16Q5_0AVX2), as
// gemmV16Q4_0AVX2 (its registers Y0-Y7 and Y12, its records), but Q5_0's
// values reach 31, so only four groups' int16 sums stay below 2^15
// (4·2·31·128 = 31744): each half's go to int32 apart, into Y8-Y11 (as
// Y0-Y3), and the float accumulators live in acc (token t's rows 0-7 at
// t·64, rows 8-15 at t·64+32; R9). Each (row, token) result is bit for
// bit the eight-row kernel's it replaced. BenchmarkMatMul's Q5_0 layer by
// 128 tokens, five runs of each build alternated, medians: 47.1 → 52.8
// GMAC/s at one thread, 85.5 → 91.8 at two.

// The int16 sums to int32 (by ones), replacing (Q5I16SET) or added to
// Y8-Y11.
#define Q5I16SET \
	VPMADDWD Y12, Y0, Y8; \
	VPMADDWD Y12, Y1, Y9; \
	VPMADDWD Y12, Y2, Y10; \
	VPMADDWD Y12, Y3, Y11

#define Q5I16 SUMS16(Y12, Y12)

// A five-bit block's eight groups of both tiles against both tokens, four
// at a time to the int32 sums Y8-Y11.
#define Q5SUMS16 \
	Q4G16SET(0); \
	Q4G16(1); \
	Q4G16(2); \
	Q4G16(3); \
	Q5I16SET; \
	Q4G16SET(4); \
	Q4G16(5); \
	Q4G16(6); \
	Q4G16(7); \
	Q5I16

// The five-bit kernels' arguments (blocks of BLOCK bytes a tile), Y12
// 0x0001 words and the two tokens' float accumulators in acc cleared.
#define Q5PROLOGUE16(BLOCK) \
	V16PROLOGUE(BLOCK); \
	VPCMPEQW Y12, Y12, Y12; \
	VPSRLW $15, Y12, Y12; \
	VPXOR Y0, Y0, Y0; \
	VMOVDQU Y0, (R9); \
	VMOVDQU Y0, 32(R9); \
	VMOVDQU Y0, 64(R9); \
	VMOVDQU Y0, 96(R9)

// The int16 sums Y0-Y3 times word pairs (rows 0-7's SA, rows 8-15's SB),
// added to the int32 sums Y8-Y11.
#define SUMS16(SA, SB) \
	VPMADDWD SA, Y0, Y0; \
	VPMADDWD SB, Y1, Y1; \
	VPMADDWD SA, Y2, Y2; \
	VPMADDWD SB, Y3, Y3; \
	VPADDD Y0, Y8, Y8; \
	VPADDD Y1, Y9, Y9; \
	VPADDD Y2, Y10, Y10; \
	VPADDD Y3, Y11, Y11

// acc at OFF += float(I + offset)·dw·dx, the tile's dw at 256(W), the
// offset sum in Y13, dx in Y14.
#define Q5F16(I, W, OFF) \
	VPADDD Y13, I, I; \
	VCVTDQ2PS I, I; \
	VMULPS 256(W), I, I; \
	VMOVUPS OFF(R9), Y7; \
	VFMADD231PS Y14, I, Y7; \
	VMOVUPS Y7, OFF(R9)

#define Q5TOK16(T, I0, I1) \
	VPBROADCASTD T*40+32(DI), Y13; \
	VBROADCASTSS T*40+36(DI), Y14; \
	Q5F16(I0, SI, T*64); \
	Q5F16(I1, R8, T*64+32)

// A five-bit kernel's body (gemmV16Q5_0AVX2, gemmV16Q5_1AVX2): blocks of
// BLOCK bytes a tile, TOK(T, I0, I1) taking token T's int32 sums of the
// two tiles into its float accumulators in acc.
#define GEMM16Q5(BLOCK, TOK) \
	Q5PROLOGUE16(BLOCK); \
	TESTQ CX, CX; \
	JZ g5store; \
g5loop: \
	Q5SUMS16; \
	TOK(0, Y8, Y9); \
	TOK(1, Y10, Y11); \
	ADDQ $BLOCK, SI; \
	ADDQ $BLOCK, R8; \
	ADDQ $640, DI; \
	DECQ CX; \
	JNZ g5loop; \
g5store: \
	ROWS16; \
	STOREACC16(0, R9, g5done); \
	STOREACC16(1, R9, g5done); \
g5done: \
	VZEROUPPER; \
	RET

// func gemmV16Q5_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q5_0AVX2(SB), NOSPLIT, $0-64
	GEMM16Q5(288, Q5TOK16)

// Q4_1 and Q5_1 sixteen rows by two tokens a call (gemmV16Q4_1AVX2 and
// gemmV16Q5_1AVX2), as gemmV16Q4_0AVX2 and gemmV16Q5_0AVX2 take Q4_0 and
// Q5_0 (their registers; Q4_1's values are at most 15 and Q5_1's 31, as
// theirs), from two of repackV8Q4_1's or repackV8Q5_1's tiles of 320-byte
// blocks (twoTiles) and the records of the eight-row, four-token kernel
// they replace: no offset, and after a block's dw·dx step the rows' m (at
// 288) times the token's s (Y13). Each (row, token) result is bit for bit
// that kernel's: the same exact integer sum, then the same float steps in
// the same order. That kernel broadcast each group of activations for one
// weight register, as gemmV16Q4_0AVX2's predecessor did. BenchmarkMatMul's
// layer by 128 tokens (Zen 5, path avx2), three runs of each build
// alternated, GMAC/s: Q4_1 74-91 → 99-111 at one thread and 128-163 →
// 163-203 at two; Q5_1 82-88 → 88-101 and 127-167 → 148-184.

// ACC += float(S)·dw·dx + m·s, S Q4_1's int16 sums, the tile's dw at
// 256(W) and m at 288(W), s in Y13, dx in Y14.
#define Q41F16(S, W, ACC) \
	VPMADDWD Y12, S, S; \
	VCVTDQ2PS S, S; \
	VMULPS 256(W), S, S; \
	VFMADD231PS Y14, S, ACC; \
	VFMADD231PS 288(W), Y13, ACC

// Token T's s and dx to Y13 and Y14.
#define M16SD(T) \
	VBROADCASTSS T*40+32(DI), Y13; \
	VBROADCASTSS T*40+36(DI), Y14

// Token T's Q4_1 sums S0 and S1 (rows 0-7 and 8-15) into A0 and A1.
#define Q41TOK16(T, S0, S1, A0, A1) \
	M16SD(T); \
	Q41F16(S0, SI, A0); \
	Q41F16(S1, R8, A1)

// func gemmV16Q4_1AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
// acc is unused.
TEXT ·gemmV16Q4_1AVX2(SB), NOSPLIT, $0-64
	GEMM16Q4(320, Q41TOK16)

// acc at OFF += float(I)·dw·dx + m·s, I Q5_1's int32 sums, the tile's dw
// at 256(W) and m at 288(W), s in Y13, dx in Y14.
#define Q51F16(I, W, OFF) \
	VCVTDQ2PS I, I; \
	VMULPS 256(W), I, I; \
	VMOVUPS OFF(R9), Y7; \
	VFMADD231PS Y14, I, Y7; \
	VFMADD231PS 288(W), Y13, Y7; \
	VMOVUPS Y7, OFF(R9)

// Token T's Q5_1 sums I0 and I1 (rows 0-7 and 8-15) into acc.
#define Q51TOK16(T, I0, I1) \
	M16SD(T); \
	Q51F16(I0, SI, T*64); \
	Q51F16(I1, R8, T*64+32)

// func gemmV16Q5_1AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q5_1AVX2(SB), NOSPLIT, $0-64
	GEMM16Q5(320, Q51TOK16)

// func repackV8Q4_1(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q4_1(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	TESTQ CX, CX
	JZ r241done
r241loop:
	GATHER2(0, Y0)
	F16LO2(256)
	F16HI2(288)
	NIB4_2(4)
	ADDQ $20, SI
	ADDQ $320, DI
	DECQ CX
	JNZ r241loop
r241done:
	VZEROUPPER
	RET

// func repackV8Q4_0(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q4_0(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	TESTQ CX, CX
	JZ r24done
r24loop:
	SCALES2
	NIB4_2(2)
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

#define Q5CONSTS2 \
	MOVL $0x0f, AX; \
	VMOVD AX, X7; \
	VPBROADCASTD X7, Y7; \
	MOVL $0x00204081, AX; \
	VMOVD AX, X8; \
	VPBROADCASTD X8, Y8; \
	MOVL $0x01010101, AX; \
	VMOVD AX, X9; \
	VPBROADCASTD X9, Y9

#define NIBBLES52(Y, G) \
	VPAND Y11, Y, Y1; \
	QHBITS2(4*G, Y1); \
	VMOVDQU Y1, G*32(DI); \
	VPSRLD $4, Y, Y; \
	VPAND Y11, Y, Y; \
	QHBITS2(16+4*G, Y); \
	VMOVDQU Y, G*32+128(DI)

// The 32 fifth bits at OFF and the 16 bytes of nibbles after them to
// registers 0-7 (Q5_0 and Q5_1).
#define NIB54_2(OFF) \
	GATHER2(OFF, Y6); \
	GATHER2(OFF+4, Y2); \
	GATHER2(OFF+8, Y3); \
	GATHER2(OFF+12, Y4); \
	GATHER2(OFF+16, Y5); \
	NIBBLES52(Y2, 0); \
	NIBBLES52(Y3, 1); \
	NIBBLES52(Y4, 2); \
	NIBBLES52(Y5, 3)

// func repackV8Q5_0(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q5_0(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	Q5CONSTS2
	TESTQ CX, CX
	JZ r25done
r25loop:
	SCALES2
	NIB54_2(2)
	ADDQ $22, SI
	ADDQ $288, DI
	DECQ CX
	JNZ r25loop
r25done:
	VZEROUPPER
	RET

// func repackV8Q5_1(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q5_1(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	Q5CONSTS2
	TESTQ CX, CX
	JZ r251done
r251loop:
	GATHER2(0, Y0)
	F16LO2(256)
	F16HI2(288)
	NIB54_2(4)
	ADDQ $24, SI
	ADDQ $320, DI
	DECQ CX
	JNZ r251loop
r251done:
	VZEROUPPER
	RET

// func recordsV1AVX2(nb int, row, dst *byte, zOff int)
// One token's Q8_1 row (nb 36-byte blocks: F16 d, F16 s, 32 values) as
// its records of gemmV16M and gemmV16Q4_1AVX2 (and Q5_1's), block b at
// dst + b·640: the 32 values, s and d as float32. zOff is unused (Q4_1 and Q5_1 need none).
TEXT ·recordsV1AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ row+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JZ rv1done
rv1loop:
	VMOVDQU 4(SI), Y0
	VMOVDQU Y0, (DI)
	MOVWLZX 2(SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMOVSS X1, 32(DI)
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMOVSS X1, 36(DI)
	ADDQ $36, SI
	ADDQ $640, DI
	DECQ CX
	JNZ rv1loop
rv1done:
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

// ---------------------------------------------------------------------------
// Q4_K on the avx2 path: gemmvk_amd64.s's scheme on two tiles of eight
// rows (Y lanes), two tokens per call (gemmV16Q4_KAVX2, below Q6_K's,
// whose macros it shares), VPMADDUBSW for VPDPBUSD: a sub-block's eight
// groups' int16 sums (each at most 2·15·128) add up below 2^15 before one
// VPMADDWD. Block sums and mins as in gemmVQ4_K, float accumulators in acc.
//
// That VPMADDWD multiplies by the sub-block's scales, laid out as word
// pairs (sc | sc<<16), not by ones: it sums the word pairs and scales
// them at once, where VPMADDWD by ones then VPMULLD took two multiplies
// (the pipes' scarce work; Q5_K and Q6_K below likewise). sc·(a+b) with
// sc < 64 and |a|, |b| < 2^15 fits int32. One core, 896x4864, 1024x1024
// and 4096x1024 interleaved matrices times 128 tokens, medians of nine
// samples alternated in one process, GOP/s with VPMULLD and with pairs:
// Q4_K 155.6 and 164.5, Q5_K 128.5 and 139.4, Q6_K 134.6 and 148.0 (with
// the eight-row, four-token kernels of then).
//
// Repacked weights, per block of 256 and eight rows (2496 bytes; Q5_K's
// the same, its values up to 31):
//   0     sub-block j, register g (j·256 + g·32)
//   2048  (sc_j | sc_j<<16) pairs (j·32)   2304 (m_2i | m_2i+1<<16) pairs (i·32)
//   2432  d   2464 dmin (float32)

// Q5_K's nibbles (at 48) of bytes 4G.. of pair P with the fifth bits of
// sub-blocks 2P and 2P+1 from bits 2P and 2P+1 of the qh dword QH; Y7
// 0x01 bytes.
#define NIB5K2(P, G, QH) \
	GATHER2(48+P*32+G*4, Y0); \
	VPAND Y11, Y0, Y1; \
	VPSRLD $(2*P), QH, Y5; \
	VPAND Y7, Y5, Y5; \
	VPSLLD $4, Y5, Y5; \
	VPOR Y5, Y1, Y1; \
	VMOVDQU Y1, 2*P*256+G*32(DI); \
	VPSRLD $4, Y0, Y0; \
	VPAND Y11, Y0, Y0; \
	VPSRLD $(2*P+1), QH, Y5; \
	VPAND Y7, Y5, Y5; \
	VPSLLD $4, Y5, Y5; \
	VPOR Y5, Y0, Y0; \
	VMOVDQU Y0, 2*P*256+256+G*32(DI)

// Group G's qh dword gathered into Y6, then its four pairs.
#define NIB5G2(G) \
	GATHER2(16+G*4, Y6); \
	NIB5K2(0, G, Y6); NIB5K2(1, G, Y6); NIB5K2(2, G, Y6); NIB5K2(3, G, Y6)

// K2SCALES' constants: Y9 15, Y10 63, Y8 3 in each dword.
#define K2CONSTS \
	MOVL $15, AX; \
	VMOVD AX, X9; \
	VPBROADCASTD X9, Y9; \
	MOVL $63, AX; \
	VMOVD AX, X10; \
	VPBROADCASTD X10, Y10; \
	MOVL $3, AX; \
	VMOVD AX, X8; \
	VPBROADCASTD X8, Y8

// A block's d, dmin, scales and mins for eight rows (Q4_K and Q5_K).
#define K2SCALES \
	GATHER2(0, Y0); \
	F16LO2(2432); \
	F16HI2(2464); \
	GATHER2(4, Y2); \
	GATHER2(8, Y3); \
	GATHER2(12, Y4); \
	SCPAIR2(SCLO2, 0, 1, 2048, 2304); \
	SCPAIR2(SCLO2, 2, 3, 2112, 2336); \
	SCPAIR2(SCHI2, 0, 1, 2176, 2368); \
	SCPAIR2(SCHI2, 2, 3, 2240, 2400)

// Scales and mins of sub-blocks J < 4 and J+4, as SCLO and SCHI of
// gemmvk_amd64.s on eight lanes: S0 Y2, S1 Y3, S2 Y4; Y9 15, Y10 63, Y8 3.
#define SCLO2(J, SC, M) \
	VPSRLD $(8*J), Y2, SC; \
	VPAND Y10, SC, SC; \
	VPSRLD $(8*J), Y3, M; \
	VPAND Y10, M, M

#define SCHI2(J, SC, M) \
	VPSRLD $(8*J), Y4, SC; \
	VPAND Y9, SC, SC; \
	VPSRLD $(8*J+6), Y2, Y5; \
	VPAND Y8, Y5, Y5; \
	VPSLLD $4, Y5, Y5; \
	VPOR Y5, SC, SC; \
	VPSRLD $(8*J+4), Y4, M; \
	VPAND Y9, M, M; \
	VPSRLD $(8*J+6), Y3, Y5; \
	VPAND Y8, Y5, Y5; \
	VPSLLD $4, Y5, Y5; \
	VPOR Y5, M, M

// Two sub-blocks' scales (SCM: SCLO2 or SCHI2, bytes JA and JB) as word
// pairs to OFF and OFF+32, their mins as a pair to OFFP.
#define SCPAIR2(SCM, JA, JB, OFF, OFFP) \
	SCM(JA, Y0, Y1); \
	SCWORDS2(OFF); \
	SCM(JB, Y0, Y6); \
	SCWORDS2(OFF+32); \
	PAIR2(Y1, Y6, OFFP)

// The scales in Y0 (below 64) as (sc | sc<<16) to OFF(DI), Y5 a temporary.
#define SCWORDS2(OFF) \
	VPSLLD $16, Y0, Y5; \
	VPOR Y5, Y0, Y0; \
	VMOVDQU Y0, OFF(DI)

// (MA & 0xffff) | MB << 16 to OFF (mins fit in 6 bits).
#define PAIR2(MA, MB, OFF) \
	VPSLLD $16, MB, MB; \
	VPOR MB, MA, MA; \
	VMOVDQU MA, OFF(DI)

// Nibbles of bytes 4G.. of pair P to sub-blocks 2P and 2P+1, register G.
#define NIBK2(P, G) \
	GATHER2(16+P*32+G*4, Y0); \
	VPAND Y11, Y0, Y1; \
	VMOVDQU Y1, 2*P*256+G*32(DI); \
	VPSRLD $4, Y0, Y0; \
	VPAND Y11, Y0, Y0; \
	VMOVDQU Y0, 2*P*256+256+G*32(DI)

#define NIBPAIR2(P) \
	NIBK2(P, 0); NIBK2(P, 1); NIBK2(P, 2); NIBK2(P, 3); \
	NIBK2(P, 4); NIBK2(P, 5); NIBK2(P, 6); NIBK2(P, 7)

// func repackV8Q4_K(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q4_K(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	K2CONSTS
	TESTQ CX, CX
	JZ rk2done
rk2loop:
	K2SCALES
	NIBPAIR2(0)
	NIBPAIR2(1)
	NIBPAIR2(2)
	NIBPAIR2(3)
	ADDQ $144, SI
	ADDQ $2496, DI
	DECQ CX
	JNZ rk2loop
rk2done:
	VZEROUPPER
	RET

// func repackV8Q5_K(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q5_K(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	K2CONSTS
	MOVL $0x01010101, AX
	VMOVD AX, X7
	VPBROADCASTD X7, Y7
	TESTQ CX, CX
	JZ rk52done
rk52loop:
	K2SCALES
	NIB5G2(0)
	NIB5G2(1)
	NIB5G2(2)
	NIB5G2(3)
	NIB5G2(4)
	NIB5G2(5)
	NIB5G2(6)
	NIB5G2(7)
	ADDQ $176, SI
	ADDQ $2496, DI
	DECQ CX
	JNZ rk52loop
rk52done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Q6_K on the avx2 path, as gemmVQ6_K: a pair of 6-bit products sums to
// at most 2·63·128, so two groups' int16 sums add without overflow before
// each VPMADDWD, which multiplies by the sub-block's signed scale pairs (as
// Q4_K's above; |sc·(a+b)| < 2^23).
//
// Repacked weights, per block and eight rows (2848 bytes):
//   0     sub-block s, register g (s·128 + g·32)
//   2048  (sc_s | sc_s<<16) word pairs (s·32)
//   2560  (32·sc_2i, 32·sc_2i+1) pairs (i·32)
//   2816  d as float32
//
// Sixteen rows by two tokens a call (gemmV16Q6_KAVX2), for the reason
// gemmV16Q4_0AVX2 takes them: a broadcast serves both tiles (twoTiles),
// where the eight-row, four-token kernel this replaced used one for each.
// A sub-block is a loop's body, not sixteen copies. One core, a call over
// L1- and L2-resident tiles, against the int8 probe, on a Zen 3: that
// kernel 0.44-0.68; it with its sub-blocks in a loop 0.62-0.78; this
// 0.72-0.85. BenchmarkMatMul's Q6_K layer (896x4864) by 128 tokens, two
// sets of five runs of each build alternated, medians: 40.1 and 41.8 →
// 51.2 and 48.7 GMAC/s at one thread, 67.0 and 75.6 → 79.4 and 86.2 at
// two. Each (row, token) result is bit for bit
// that kernel's: the same exact integer sums, then the same float steps
// in the same order.
//
// Register plan: CX blocks left, SI rows 0-7, R9 the bytes from there to
// rows 8-15 (nb·2848), DI records, R8 acc (token t's rows 0-7 at t·64,
// rows 8-15 at t·64+32); in a block, DX sub-blocks left, R10 the
// sub-block's weights, R13 its scale pairs and R12 its records;
//   Y0-Y3 int16 sums (token 0 rows 0-7, 8-15, token 1 rows 0-7, 8-15)
//   Y4, Y5 a group's weights of each tile   Y6 a broadcast   Y7 products
//   Y8-Y11 int32 sums as Y0-Y3   Y12, Y13 the scale pairs of each tile

// Group G of a sub-block (Q6_K's four, Q4_K's eight), both tiles against
// both tokens, to the int16 sums (KG16SET: replacing them).
#define KG16SET(G) G16SET(G*32(R10), G*32(R10)(R9*1), G*4(R12), 304+G*4(R12))

#define KG16(G) G16(G*32(R10), G*32(R10)(R9*1), G*4(R12), 304+G*4(R12))

// Two groups' int16 sums times the scales, added to the int32 sums.
#define Q6SC16 SUMS16(Y12, Y13)

// Pair I of token T's offset sums of both tiles (32·sc times the
// activations' sums of sixteen: the values are stored as q+32), added to
// Y0 (rows 0-7) and Y1 (8-15).
#define Q6MIN16(T, I) MIN16(T, I, 2560)

// MIN16's first pair, replacing Y0 and Y1.
#define MIN16SET(T, OFF) \
	VPBROADCASTD T*304+256(DI), Y6; \
	VPMADDWD OFF(SI), Y6, Y0; \
	VPMADDWD OFF(SI)(R9*1), Y6, Y1

// Pair I of token T's record sums (at 256) times both tiles' pairs at
// OFF, added to Y0 (rows 0-7) and Y1 (8-15).
#define MIN16(T, I, OFF) \
	VPBROADCASTD T*304+256+I*4(DI), Y6; \
	VPMADDWD OFF+I*32(SI), Y6, Y7; \
	VPADDD Y7, Y0, Y0; \
	VPMADDWD OFF+I*32(SI)(R9*1), Y6, Y7; \
	VPADDD Y7, Y1, Y1

// acc at OFF += float(A)·d·dx (d at D, dx in Y6), A cleared.
#define Q6F16(A, D, OFF) \
	VCVTDQ2PS A, A; \
	VMULPS D, A, A; \
	ACC16(A, OFF)

// acc at OFF += A·dx (dx in Y6), A cleared.
#define ACC16(A, OFF) \
	VMOVUPS OFF(R8), Y7; \
	VFMADD231PS Y6, A, Y7; \
	VMOVUPS Y7, OFF(R8); \
	VPXOR A, A, A

// Token T's offset sums subtracted from A0 (rows 0-7) and A1 (8-15), the
// float step into acc.
#define Q6FIN16(T, A0, A1) \
	MIN16SET(T, 2560); \
	Q6MIN16(T, 1); \
	Q6MIN16(T, 2); \
	Q6MIN16(T, 3); \
	Q6MIN16(T, 4); \
	Q6MIN16(T, 5); \
	Q6MIN16(T, 6); \
	Q6MIN16(T, 7); \
	VPSUBD Y0, A0, A0; \
	VPSUBD Y1, A1, A1; \
	VBROADCASTSS T*304+288(DI), Y6; \
	Q6F16(A0, 2816(SI), T*64); \
	Q6F16(A1, 2816(SI)(R9*1), T*64+32)

// func gemmV16Q6_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q6_KAVX2(SB), NOSPLIT, $0-64
	K16PROLOGUE(2848)
	TESTQ CX, CX
	JZ q6k16store
q6k16loop:
	K16SUBS(16)
q6k16sub:
	K16SCALES
	KG16SET(0)
	KG16(1)
	Q6SC16
	KG16SET(2)
	KG16(3)
	Q6SC16
	K16NEXT(128, 16)
	JNZ q6k16sub
	K16BLOCKEND(Q6FIN16, 2848)
	JNZ q6k16loop
q6k16store:
	K16EPILOGUE(q6k16done)
q6k16done:
	VZEROUPPER
	RET

// Q4_K sixteen rows by two tokens a call (gemmV16Q4_KAVX2), as
// gemmV16Q6_KAVX2 (its register plan, with eight sub-blocks of eight
// groups); each (row, token) result is bit for bit the eight-row kernel's
// it replaced. BenchmarkMatMul's Q4_K layer (896x4864) by 128 tokens, two
// sets of five runs of each build alternated, medians: 47.5 and 46.8 →
// 55.1 and 63.7 GMAC/s at one thread, 86.5 and 78.3 → 92.3 and 99.6 at
// two.

// Pair I of token T's mins of both tiles (m times the activations' sums
// of 32), added to Y0 (rows 0-7) and Y1 (8-15).
#define QKMIN16(T, I) MIN16(T, I, 2304)

// acc at OFF += (float(A)·d - float(M)·dmin)·dx (d at D, dmin at DMIN, dx
// in Y6), A cleared.
#define QKF16(A, M, D, DMIN, OFF) \
	VCVTDQ2PS A, A; \
	VMULPS D, A, A; \
	VCVTDQ2PS M, M; \
	VFNMADD231PS DMIN, M, A; \
	ACC16(A, OFF)

// Token T's mins subtracted from A0 (rows 0-7) and A1 (8-15), the float
// step into acc.
#define QKFIN16(T, A0, A1) \
	MIN16SET(T, 2304); \
	QKMIN16(T, 1); \
	QKMIN16(T, 2); \
	QKMIN16(T, 3); \
	VBROADCASTSS T*304+288(DI), Y6; \
	QKF16(A0, Y0, 2432(SI), 2464(SI), T*64); \
	QKF16(A1, Y1, 2432(SI)(R9*1), 2464(SI)(R9*1), T*64+32)

// A sub-block of Q4_K or Q5_K: its scale pairs, its eight groups, with
// MID between groups 3 and 4 (Q4_K: KG16(4), the int16 sums going on;
// Q5_K: scaling the first half's, then KG16SET(4)).
#define K16SUB(MID) \
	K16SCALES; \
	KG16SET(0); \
	KG16(1); \
	KG16(2); \
	KG16(3); \
	MID; \
	KG16(5); \
	KG16(6); \
	KG16(7); \
	Q6SC16
#define Q4KMID KG16(4)
#define Q5KMID Q6SC16; KG16SET(4)

// func gemmV16Q4_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q4_KAVX2(SB), NOSPLIT, $0-64
	K16PROLOGUE(2496)
	TESTQ CX, CX
	JZ q4k16store
q4k16loop:
	K16SUBS(8)
q4k16sub:
	K16SUB(Q4KMID)
	K16NEXT(256, 32)
	JNZ q4k16sub
	K16BLOCKEND(QKFIN16, 2496)
	JNZ q4k16loop
q4k16store:
	K16EPILOGUE(q4k16done)
q4k16done:
	VZEROUPPER
	RET

// Q5_K as gemmV16Q4_KAVX2 (the same repacked layout, repackV8Q5_K's), but
// with values up to 31 a pair of products reaches 2·31·128 and only four
// groups' int16 sums stay below 2^15: each half of a sub-block is scaled
// and added apart.

// func gemmV16Q5_KAVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q5_KAVX2(SB), NOSPLIT, $0-64
	K16PROLOGUE(2496)
	TESTQ CX, CX
	JZ q5k16store
q5k16loop:
	K16SUBS(8)
q5k16sub:
	K16SUB(Q5KMID)
	K16NEXT(256, 32)
	JNZ q5k16sub
	K16BLOCKEND(QKFIN16, 2496)
	JNZ q5k16loop
q5k16store:
	K16EPILOGUE(q5k16done)
q5k16done:
	VZEROUPPER
	RET

// Repacking Q6_K for eight rows, as repackVQ6_K: Y11 0x0f bytes, Y10 0x03
// bytes, Y9 0xffff.

// (L & 0x0f) | ((Q (Y2) >> SH) & 3) << 4, to OFF(DI).
#define Q6PUT2(L, SH, OFF) \
	VPAND Y11, L, Y3; \
	VPSRLD $SH, Y2, Y4; \
	VPAND Y10, Y4, Y4; \
	VPSLLD $4, Y4, Y4; \
	VPOR Y4, Y3, Y3; \
	VMOVDQU Y3, OFF(DI)

#define Q6GROUP2(H, G, GD, GM) \
	GATHER2(64*H+4*G, Y0); \
	GATHER2(64*H+32+4*G, Y1); \
	GATHER2(128+32*H+4*G, Y2); \
	Q6PUT2(Y0, 0, 1024*H+128*GD+32*GM); \
	Q6PUT2(Y1, 2, 1024*H+256+128*GD+32*GM); \
	VPSRLD $4, Y0, Y0; \
	VPSRLD $4, Y1, Y1; \
	Q6PUT2(Y0, 4, 1024*H+512+128*GD+32*GM); \
	Q6PUT2(Y1, 6, 1024*H+768+128*GD+32*GM)

#define Q6HALF2(H) \
	Q6GROUP2(H, 0, 0, 0); Q6GROUP2(H, 1, 0, 1); Q6GROUP2(H, 2, 0, 2); Q6GROUP2(H, 3, 0, 3); \
	Q6GROUP2(H, 4, 1, 0); Q6GROUP2(H, 5, 1, 1); Q6GROUP2(H, 6, 1, 2); Q6GROUP2(H, 7, 1, 3)

// (32·A & 0xffff) | 32·B << 16, to OFF(DI).
#define Q6PAIR2(A, B, OFF) \
	VPSLLD $5, A, A; \
	VPAND Y9, A, A; \
	VPSLLD $21, B, B; \
	VPOR B, A, A; \
	VMOVDQU A, OFF(DI)

// Sign-extended scales S as word pairs (sc | sc<<16) to OFF(DI), Y1 a
// temporary.
#define Q6WORDS2(S, OFF) \
	VPSLLD $16, S, Y1; \
	VPBLENDW $0xaa, Y1, S, Y1; \
	VMOVDQU Y1, OFF(DI)

// Scales 4I..4I+3 of sub-blocks 4I+j as word pairs, and their pairs of
// 32·sc.
#define Q6SCALES2(I) \
	GATHER2(192+4*I, Y0); \
	VPSLLD $24, Y0, Y1; \
	VPSRAD $24, Y1, Y4; \
	VPSLLD $16, Y0, Y1; \
	VPSRAD $24, Y1, Y5; \
	VPSLLD $8, Y0, Y1; \
	VPSRAD $24, Y1, Y6; \
	VPSRAD $24, Y0, Y7; \
	Q6WORDS2(Y4, 2048+128*I); \
	Q6WORDS2(Y5, 2048+128*I+32); \
	Q6WORDS2(Y6, 2048+128*I+64); \
	Q6WORDS2(Y7, 2048+128*I+96); \
	Q6PAIR2(Y4, Y5, 2560+64*I); \
	Q6PAIR2(Y6, Y7, 2560+64*I+32)

// func repackV8Q6_K(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q6_K(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	MOVL $0x03030303, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0xffff, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	TESTQ CX, CX
	JZ r62done
r62loop:
	// d: the high half of the dword at 206
	GATHER2(206, Y0)
	F16HI2(2816)
	Q6SCALES2(0)
	Q6SCALES2(1)
	Q6SCALES2(2)
	Q6SCALES2(3)
	Q6HALF2(0)
	Q6HALF2(1)
	ADDQ $210, SI
	ADDQ $2848, DI
	DECQ CX
	JNZ r62loop
r62done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Q8_0 on the avx2 path. Its weights span all of int8, so the offset that
// makes Q4_0 and Q5_0 unsigned (128 here) would let VPMADDUBSW saturate
// (2·255·127 > 2^15). ggml's mul_sum_i8_pairs moves the weights' sign to
// the activations (VPSIGNB) instead, but that costs a third instruction a
// group of 32 products on the two pipes that multiply (on Zen 4 VPSIGNB,
// VPMADDUBSW and VPMADDWD share them), with the VPMADDWD that each group
// needs anyway because two pairs of such products overflow int16. So
// both sides are widened to int16 once, the weights when a tile is
// repacked and the activations when their records are written, and
// VPMADDWD multiplies them: two multiplies a group, nothing else on those
// pipes. Products of at most 128·127, two to an int32: exact. One core,
// four tokens by eight rows of 28 and 152 blocks, the best of twelve
// samples alternated in one process: 48 and 49 GMAC/s with VPSIGNB, 52
// and 55 this way.
//
// What bounds that is the activations' broadcasts (two a cycle here), one
// per VPMADDWD; one 8-byte broadcast per four columns against registers
// of four rows each (VPHADDD folding them at the block's end) ran no
// faster. So a call takes sixteen rows, two tiles of eight, and each
// broadcast serves both: 32 products a broadcast instead of 16. The
// float accumulators of four tokens by sixteen rows no longer fit in
// registers beside the int32 sums, so they live in acc, one FMA with a
// memory addend and one store a block each. MatMul of 128 tokens on
// interleaved Qwen2.5-0.5B shapes (896×896, 4864×896, 896×4864),
// alternated with the eight-row kernel in one process, three runs: one
// thread 47-52 → 54-60 GMAC/s, two threads 65-99 → 74-115.
//
// Repacked weights, per block and eight rows (544 bytes): sixteen Y
// registers of int16 pairs, register p holding k = 2p, 2p+1 of rows 0-7
// (row r in dword lane r), then the rows' scales as float32 at 512; rows
// 8-15 are a second such tile, nb blocks on (twoTiles). Activations:
// records of 72 bytes (vRecordQ8AVX2, recordsVQ8AVX2), the block's 32
// values as int16 then dx as float32 at 64, a group of sixteen tokens
// 1152 bytes apart.
//
// Register plan (gemmV16Q8_0AVX2): CX blocks left, SI rows 0-7, R8 rows
// 8-15, DI records, R9 acc (token t's rows 0-7 at t·64, rows 8-15 at
// t·64+32);
//   Y0, Y1 a pair register of each tile   Y2, Y3 a broadcast pair, products
//   Y4-Y11 int32 sums, token t's two tiles in Y4+2t and Y5+2t
//   Y12 a token's dx   Y13, Y14 the valid rows of each tile, at the end

// Pair P of token T times both tiles, added to S0 and S1.
#define Q16P(T, P, S0, S1) \
	VPBROADCASTD T*72+P*4(DI), Y2; \
	VPMADDWD Y2, Y1, Y3; \
	VPMADDWD Y2, Y0, Y2; \
	VPADDD Y2, S0, S0; \
	VPADDD Y3, S1, S1

// Pair register P of both tiles against the four tokens.
#define Q16PAIR(P) \
	VMOVDQU P*32(SI), Y0; \
	VMOVDQU P*32(R8), Y1; \
	Q16P(0, P, Y4, Y5); \
	Q16P(1, P, Y6, Y7); \
	Q16P(2, P, Y8, Y9); \
	Q16P(3, P, Y10, Y11)

// acc[OFF] += float(S)·dw·dx, the tile's dw at 512(W), dx in Y12.
#define Q16F(S, W, OFF) \
	VCVTDQ2PS S, S; \
	VMULPS 512(W), S, S; \
	VFMADD213PS OFF(R9), Y12, S; \
	VMOVUPS S, OFF(R9)

// Token T's sums S0 (rows 0-7) and S1 (rows 8-15) into acc.
#define Q16TOK(T, S0, S1) \
	VBROADCASTSS T*72+64(DI), Y12; \
	Q16F(S0, SI, T*64); \
	Q16F(S1, R8, T*64+32)

// Token T's sixteen rows from acc to R11 (masked) unless the call has
// only T tokens.
#define STORE16(T) STOREACC16(T, R9, v16done)

// Group G of the block's 32 signed bytes (at 2), k = 4G..4G+3 of each
// row, widened to pair registers 2G (k = 4G, 4G+1) and 2G+1
// (WIDEN_PAIRS, rows_amd64.h).
#define WIDEN82(G) \
	GATHER2(2+G*4, Y2); \
	WIDEN_PAIRS(G)

// func repackV8Q8_0(nb int, w *byte, wrb int, rmask int, dst *byte)
TEXT ·repackV8Q8_0(SB), NOSPLIT, $0-40
	REPACK2_PROLOGUE
	TESTQ CX, CX
	JZ r82done
r82loop:
	GATHER2(0, Y0)
	F16LO2(512)
	WIDEN82(0)
	WIDEN82(1)
	WIDEN82(2)
	WIDEN82(3)
	WIDEN82(4)
	WIDEN82(5)
	WIDEN82(6)
	WIDEN82(7)
	ADDQ $34, SI
	ADDQ $544, DI
	DECQ CX
	JNZ r82loop
r82done:
	VZEROUPPER
	RET

// func recordsVQ8AVX2(nb int, row, dst *byte, zOff int)
//
// Token records for gemmV16Q8_0AVX2 from its Q8_0 row: per block, the 32
// values as int16, then dx as float32; block b's record at dst +
// b·vGroup·72. zOff is unused (no offset, no correction).
TEXT ·recordsVQ8AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ row+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JZ rq8done
rq8loop:
	VPMOVSXBW 2(SI), Y0
	VPMOVSXBW 18(SI), Y1
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	MOVWLZX (SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMOVSS X2, 64(DI)
	ADDQ $34, SI
	ADDQ $1152, DI
	DECQ CX
	JNZ rq8loop
rq8done:
	VZEROUPPER
	RET

// func gemmV16Q8_0AVX2(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmV16Q8_0AVX2(SB), NOSPLIT, $0-64
	V16PROLOGUE(544)
	VXORPS Y0, Y0, Y0
	VMOVUPS Y0, (R9)
	VMOVUPS Y0, 32(R9)
	VMOVUPS Y0, 64(R9)
	VMOVUPS Y0, 96(R9)
	VMOVUPS Y0, 128(R9)
	VMOVUPS Y0, 160(R9)
	VMOVUPS Y0, 192(R9)
	VMOVUPS Y0, 224(R9)
	TESTQ CX, CX
	JZ v16store
v16loop:
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	Q16PAIR(0)
	Q16PAIR(1)
	Q16PAIR(2)
	Q16PAIR(3)
	Q16PAIR(4)
	Q16PAIR(5)
	Q16PAIR(6)
	Q16PAIR(7)
	Q16PAIR(8)
	Q16PAIR(9)
	Q16PAIR(10)
	Q16PAIR(11)
	Q16PAIR(12)
	Q16PAIR(13)
	Q16PAIR(14)
	Q16PAIR(15)
	Q16TOK(0, Y4, Y5)
	Q16TOK(1, Y6, Y7)
	Q16TOK(2, Y8, Y9)
	Q16TOK(3, Y10, Y11)
	ADDQ $544, SI
	ADDQ $544, R8
	ADDQ $1152, DI
	DECQ CX
	JNZ v16loop
v16store:
	ROWS16
	STORE16(0)
	STORE16(1)
	STORE16(2)
	STORE16(3)
v16done:
	VZEROUPPER
	RET

