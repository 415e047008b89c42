#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q4_K decode kernel (layout in interleave_q4k.go): per
// super-block column of a group (1152 bytes at R9) against its 320-byte
// record at DI (decRecordsQ8_KAVX2: dy at 0, the sub-blocks' sums of 32 as
// words at 16, sub-block s's values at 64, 128, 96, 160, 192, 256, 224,
// 288 for s = 0..7). The int32 lanes of every sum are the eight rows.
//
// One group at a time: taking two a step (each broadcast of activations
// serving sixteen rows) ran 7% faster on L2-resident weights, but streamed
// weights from memory at 70-75% of the read probe against 90-97% (pith
// bench kernels, decode Q4_K, one thread), with the prefetch distance
// either fixed or a whole number of pairs: two streams a group apart read
// worse than one.

// The eight rows' scales and mins of the super-block, unpacked byte-wise
// as getScaleMinK4 does (A = bytes 0-3 of the rows' packing at 32, B = 4-7
// at 64, C = 8-11 at 96, each byte k of the rows at 8k), to the frame:
// scale s of row r at 8s+r (0-63), min s at 64+8s+r. X8K_UNPACK_R takes
// four temporaries and the 0x0f bytes (M, a register or memory);
// X8K_UNPACK takes Y3-Y6 and Y15.
#define X8K_UNPACK_R(A, B, C, T, M) \
	VMOVDQU 32(R9), A; \
	VMOVDQU 64(R9), B; \
	VMOVDQU 96(R9), C; \
	VPAND ·x8kLow6<>(SB), A, T; \
	VMOVDQU T, (SP); \
	VPAND ·x8kLow6<>(SB), B, T; \
	VMOVDQU T, 64(SP); \
	VPSRLW $2, A, A; \
	VPAND ·x8kTop2<>(SB), A, A; \
	VPAND M, C, T; \
	VPOR T, A, A; \
	VMOVDQU A, 32(SP); \
	VPSRLW $2, B, B; \
	VPAND ·x8kTop2<>(SB), B, B; \
	VPSRLW $4, C, C; \
	VPAND M, C, C; \
	VPOR C, B, B; \
	VMOVDQU B, 96(SP)

#define X8K_UNPACK X8K_UNPACK_R(Y3, Y4, Y5, Y6, Y15)

// The mins' pair K (sub-blocks 2K, 2K+1) of the eight rows as word pairs
// in the rows' lanes, times the pair's sums of 32, to Y3.
#define X8K_MINS(K) \
	VBROADCASTI128 (64+16*K)(SP), Y3; \
	VPSHUFB ·x8kMinPair<>(SB), Y3, Y3; \
	VPBROADCASTD (16+4*K)(DI), Y4; \
	VPMADDWD Y4, Y3, Y3

// Chunk C of pair J: four nibble bytes of each row (low nibbles against
// the values at XL+4C, high ones at XH+4C), the words added to Y12 and
// Y13 (ADD) or started there (ADD empty: pass the first chunk as
// X8K_CHUNK0). Each word sums at most eight chunks' two products of at
// most 15·128: 30720, no saturation.
#define X8K_CHUNK0(J, XL, XH) \
	VMOVDQU (128+256*J)(R9), Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND Y15, Y8, Y8; \
	VPAND Y15, Y9, Y9; \
	VPBROADCASTD XL(DI), Y10; \
	VPBROADCASTD XH(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y12; \
	VPMADDUBSW Y11, Y9, Y13

#define X8K_CHUNK(J, C, XL, XH) \
	VMOVDQU (128+256*J+32*C)(R9), Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND Y15, Y8, Y8; \
	VPAND Y15, Y9, Y9; \
	VPBROADCASTD (XL+4*C)(DI), Y10; \
	VPBROADCASTD (XH+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	VPADDW Y8, Y12, Y12; \
	VPADDW Y9, Y13, Y13

// Pair J's two sub-blocks' int32 sums, each times its eight rows' scales
// (the scale bytes at 16J(SP) and 16J+8(SP) spread to word pairs by Y14),
// in Y12 and Y13; four lines of the weights DEC_PFD ahead prefetched.
#define X8K_PAIR(J, XL, XH) \
	X8_PF(128+256*J); \
	X8_PF(192+256*J); \
	X8K_CHUNK0(J, XL, XH); \
	X8K_CHUNK(J, 1, XL, XH); \
	X8K_CHUNK(J, 2, XL, XH); \
	X8K_CHUNK(J, 3, XL, XH); \
	X8_PF(256+256*J); \
	X8_PF(320+256*J); \
	X8K_CHUNK(J, 4, XL, XH); \
	X8K_CHUNK(J, 5, XL, XH); \
	X8K_CHUNK(J, 6, XL, XH); \
	X8K_CHUNK(J, 7, XL, XH); \
	VBROADCASTI128 (16*J)(SP), Y10; \
	VPSHUFB Y14, Y10, Y10; \
	VPMADDWD Y10, Y12, Y12; \
	VBROADCASTI128 (16*J+8)(SP), Y11; \
	VPSHUFB Y14, Y11, Y11; \
	VPMADDWD Y11, Y13, Y13

// The end of a super-block (decQ4_KX8AVX2, decQ5_KX8AVX2): d·dy times
// the scaled sums (Y1), less dmin·dy times the mins' sums (Y2), to Y0.
// X8K_FLOATS_R takes three temporaries, X8K_FLOATS Y4-Y6.
#define X8K_FLOATS_R(A, B, C) \
	VBROADCASTSS (DI), A; \
	VCVTPH2PS (R9), B; \
	VMULPS A, B, B; \
	VCVTDQ2PS Y1, Y1; \
	VFMADD231PS B, Y1, Y0; \
	VCVTPH2PS 16(R9), C; \
	VMULPS A, C, C; \
	VCVTDQ2PS Y2, Y2; \
	VFNMADD231PS C, Y2, Y0

#define X8K_FLOATS X8K_FLOATS_R(Y4, Y5, Y6)

// The body of repackV8Q4_KX8 and repackV8Q5_KX8: per super-block of BB
// bytes at R9, the head (RK4X8_HEAD) and the levels (LEVELS), to a tile
// of 2496 bytes at DI. Y15 0x0f bytes.
#define RKX8_REPACK(LEVELS, BB) \
	X8_REPACK_ARGS(R9, X15, Y15); \
	TESTQ CX, CX; \
	JZ rkx8done; \
rkx8loop: \
	RK4X8_HEAD; \
	LEVELS; \
	ADDQ $BB, R9; \
	ADDQ $2496, DI; \
	DECQ CX; \
	JNZ rkx8loop; \
rkx8done: \
	VZEROUPPER; \
	RET

// func decQ4_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left; per
// group CX super-blocks left, R9 the super-block, DI its record; Y0 the
// float sums, per super-block Y1 the scaled int32 sums, Y2 the mins'.
// The frame holds the super-block's unpacked scales and mins.
TEXT ·decQ4_KX8AVX2(SB), NOSPLIT, $128-48
	X8_ARGS
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VMOVDQU ·x8kScale<>(SB), Y14
	TESTQ R10, R10
	JZ x8kdone
x8kgroup:
	X8_GROUP
	TESTQ CX, CX
	JZ x8kend
x8kloop:
	X8_PF(0)
	X8_PF(64)
	X8K_UNPACK
	X8K_PAIR(0, 64, 128)
	VPADDD Y12, Y13, Y1
	X8K_MINS(0)
	VMOVDQA Y3, Y2
	X8K_PAIR(1, 96, 160)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	X8K_MINS(1)
	VPADDD Y3, Y2, Y2
	X8K_PAIR(2, 192, 256)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	X8K_MINS(2)
	VPADDD Y3, Y2, Y2
	X8K_PAIR(3, 224, 288)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	X8K_MINS(3)
	VPADDD Y3, Y2, Y2
	X8K_FLOATS
	ADDQ $1152, R9
	ADDQ $320, DI
	DECQ CX
	JNZ x8kloop
x8kend:
	X8_NEXT(x8kgroup)
x8kdone:
	VZEROUPPER
	RET

// Pair P's chunk C of the group's super-block at R9 to repackV8Q4_K's
// registers C of sub-blocks 2P (low nibbles) and 2P+1 (high ones) at DI.
// Y15 0x0f bytes.
#define RK4X8_SPLIT(P, C) \
	VMOVDQU (128+256*P+32*C)(R9), Y0; \
	VPSRLW $4, Y0, Y1; \
	VPAND Y15, Y0, Y0; \
	VPAND Y15, Y1, Y1; \
	VMOVDQU Y0, (512*P+32*C)(DI); \
	VMOVDQU Y1, (512*P+256+32*C)(DI)

#define RK4X8_PAIR(P) \
	RK4X8_SPLIT(P, 0); RK4X8_SPLIT(P, 1); RK4X8_SPLIT(P, 2); RK4X8_SPLIT(P, 3); \
	RK4X8_SPLIT(P, 4); RK4X8_SPLIT(P, 5); RK4X8_SPLIT(P, 6); RK4X8_SPLIT(P, 7)

// Sub-block S's eight scales (frame 8S) as word pairs (sc | sc<<16) to
// 2048+32S, Y1 a temporary.
#define RK4X8_SCALE(S) \
	VPMOVZXBD (8*S)(SP), Y0; \
	VPSLLD $16, Y0, Y1; \
	VPOR Y1, Y0, Y0; \
	VMOVDQU Y0, (2048+32*S)(DI)

// Mins 2I and 2I+1 (frame 64+16I) as word pairs to 2304+32I.
#define RK4X8_MINS(I) \
	VBROADCASTI128 (64+16*I)(SP), Y0; \
	VPSHUFB ·x8kMinPair<>(SB), Y0, Y0; \
	VMOVDQU Y0, (2304+32*I)(DI)

// A repacked tile's scales, mins, d and dmin (repackV8Q4_KX8,
// repackV8Q5_KX8): the group's super-block at R9 unpacked as
// decQ4_KX8AVX2 does, to the tile at DI.
#define RK4X8_HEAD \
	X8K_UNPACK; \
	VCVTPH2PS (R9), Y0; \
	VMOVUPS Y0, 2432(DI); \
	VCVTPH2PS 16(R9), Y0; \
	VMOVUPS Y0, 2464(DI); \
	RK4X8_SCALE(0); \
	RK4X8_SCALE(1); \
	RK4X8_SCALE(2); \
	RK4X8_SCALE(3); \
	RK4X8_SCALE(4); \
	RK4X8_SCALE(5); \
	RK4X8_SCALE(6); \
	RK4X8_SCALE(7); \
	RK4X8_MINS(0); \
	RK4X8_MINS(1); \
	RK4X8_MINS(2); \
	RK4X8_MINS(3)

#define RK4X8_LEVELS \
	RK4X8_PAIR(0); \
	RK4X8_PAIR(1); \
	RK4X8_PAIR(2); \
	RK4X8_PAIR(3)

// func repackV8Q4_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q4_K's tile (gemmv2_amd64.s: per super-block 2496 bytes, sub-block
// j's register g, elements 4g..4g+3 of rows 0-7, at 256j+32g; the scales
// as word pairs at 2048, the mins as word pairs at 2304, d and dmin as float32
// at 2432 and 2464) from an Interleaved8 group at w, for prefill: chunk c
// of pair p is registers c of sub-blocks 2p and 2p+1, and the scales
// unpack as decQ4_KX8AVX2's, so a super-block is 32 loads and a few
// shuffles where repackV8Q4_K gathers 37 times. Without it, prefill on an
// interleaved matrix deinterleaved rows in Go first, and ran at 176
// cpu-GFLOP/s against 290 (1024x4096, 64 tokens, one thread). wrb and
// rmask are unused: a group always has its eight rows.
TEXT ·repackV8Q4_KX8(SB), NOSPLIT, $128-40
	RKX8_REPACK(RK4X8_LEVELS, 1152)

// The low six bits and bits 4-5 of each byte.
DATA ·x8kLow6<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+16(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+24(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL ·x8kLow6<>(SB), RODATA|NOPTR, $32

DATA ·x8kTop2<>+0(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+8(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+16(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+24(SB)/8, $0x3030303030303030
GLOBL ·x8kTop2<>(SB), RODATA|NOPTR, $32

// Eight bytes (rows 0-7, both halves of the register) to the rows' dword
// lanes as word pairs: byte r to words 2r and 2r+1 (x8kScale); bytes r
// and 8+r to words 2r and 2r+1 (x8kMinPair).
DATA ·x8kScale<>+0(SB)/8, $0x8001800180008000
DATA ·x8kScale<>+8(SB)/8, $0x8003800380028002
DATA ·x8kScale<>+16(SB)/8, $0x8005800580048004
DATA ·x8kScale<>+24(SB)/8, $0x8007800780068006
GLOBL ·x8kScale<>(SB), RODATA|NOPTR, $32

DATA ·x8kMinPair<>+0(SB)/8, $0x8009800180088000
DATA ·x8kMinPair<>+8(SB)/8, $0x800b8003800a8002
DATA ·x8kMinPair<>+16(SB)/8, $0x800d8005800c8004
DATA ·x8kMinPair<>+24(SB)/8, $0x800f8007800e8006
GLOBL ·x8kMinPair<>(SB), RODATA|NOPTR, $32

// The Interleaved8 Q5_K decode kernel (layout in interleave_q5k.go):
// decQ4_KX8AVX2 (interleave_q4k_amd64.s) with five-bit levels. Its records
// are the Q4_K kernel's (decRecordsQ8_KAVX2), and it is in the Q4_K
// kernel's file for that kernel's macros and constants (X8K_UNPACK_R,
// X8K_MINS, x8kScale); the chunks differ because a level reaches 31: a
// word of VPMADDUBSW sums then holds at most four chunks (8·31·128 < 2^15,
// Q4_K's take eight), so each sub-block's sums go to int32 by halves.

// Chunk C of pair J's levels, low in L and high in H: the low five bits
// of each byte (mask M1F, 0x1f bytes), and its top three (mask M07, 0x07
// bytes) with the two bits that SHIFT(N) brings from the half's top bits
// (Y7) to bits 3-4 (mask M18, 0x18 bytes): a left word shift by 3-2k or a
// right one by 2k-3 for the half's chunk k (X8K5_SL, X8K5_SR), or
// X8K5_DBL for one left (a byte doubling, on any vector pipe). A word
// shift by at most three moves no bit into bits 3-4 across a byte. T a
// temporary.
#define X8K5_LEVELS(J, C, SHIFT, N, L, H, T, M1F, M07, M18) \
	VMOVDQU (128+256*J+32*C)(R9), L; \
	VPSRLW $5, L, H; \
	VPAND M1F, L, L; \
	VPAND M07, H, H; \
	SHIFT(N, Y7, T); \
	VPAND M18, T, T; \
	VPOR T, H, H

#define X8K5_SL(N, S, D) VPSLLW $N, S, D
#define X8K5_SR(N, S, D) VPSRLW $N, S, D
#define X8K5_DBL(N, S, D) VPADDB S, S, D

// Chunk C of pair J: its levels (X8K5_LEVELS, in Y8 and Y9) times the
// values at XL+4C and XH+4C, the words to Y12 and Y13 by OP (X8K5_ADD,
// or X8K5_SET to start them). Y15 0x1f bytes, Y6 0x07, Y5 0x18.
#define X8K5_CHUNK(J, C, XL, XH, SHIFT, N, OP) \
	X8K5_LEVELS(J, C, SHIFT, N, Y8, Y9, Y10, Y15, Y6, Y5); \
	VPBROADCASTD (XL+4*C)(DI), Y10; \
	VPBROADCASTD (XH+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	OP(Y8, Y12); \
	OP(Y9, Y13)

#define X8K5_ADD(S, D) VPADDW S, D, D
#define X8K5_SET(S, D) VMOVDQA S, D

// The int16 sums in Y12 and Y13 times pair J's scales (as X8K_PAIR), to
// int32 in Y12.
#define X8K5_SCALE(J) \
	VBROADCASTI128 (16*J)(SP), Y10; \
	VPSHUFB Y14, Y10, Y10; \
	VPMADDWD Y10, Y12, Y12; \
	VBROADCASTI128 (16*J+8)(SP), Y11; \
	VPSHUFB Y14, Y11, Y11; \
	VPMADDWD Y11, Y13, Y13; \
	VPADDD Y13, Y12, Y12

// Half H (chunks C0-C3) of pair J, scaled, added to Y1.
#define X8K5_HALF(J, H, C0, C1, C2, C3, XL, XH) \
	VMOVDQU (1152+64*J+32*H)(R9), Y7; \
	X8K5_CHUNK(J, C0, XL, XH, X8K5_SL, 3, X8K5_SET); \
	X8K5_CHUNK(J, C1, XL, XH, X8K5_DBL, 1, X8K5_ADD); \
	X8K5_CHUNK(J, C2, XL, XH, X8K5_SR, 1, X8K5_ADD); \
	X8K5_CHUNK(J, C3, XL, XH, X8K5_SR, 3, X8K5_ADD); \
	X8K5_SCALE(J); \
	VPADDD Y12, Y1, Y1

// Pair J's scaled sums added to Y1 and its mins' to Y2; the four lines of
// its levels DEC_PFD ahead prefetched.
#define X8K5_PAIR(J, XL, XH) \
	X8_PF(128+256*J); \
	X8_PF(192+256*J); \
	X8K5_HALF(J, 0, 0, 1, 2, 3, XL, XH); \
	X8_PF(256+256*J); \
	X8_PF(320+256*J); \
	X8K5_HALF(J, 1, 4, 5, 6, 7, XL, XH); \
	X8K_MINS(J); \
	VPADDD Y3, Y2, Y2

// func decQ5_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
//
// Register plan as decQ4_KX8AVX2's: SI the group, R8 wstride, R11 out,
// R10 groups left; per group CX super-blocks left, R9 the super-block, DI
// its record; Y0 the float sums, per super-block Y1 the scaled int32
// sums, Y2 the mins'. The frame holds the unpacked scales and mins; the
// masks stay in Y5, Y6 and Y15 throughout, so the unpacking and the
// floats take other temporaries (Y8-Y11).
TEXT ·decQ5_KX8AVX2(SB), NOSPLIT, $128-48
	X8_ARGS
	MOVL $0x1f1f1f1f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x07070707, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6
	MOVL $0x18181818, AX
	VMOVD AX, X5
	VPBROADCASTD X5, Y5
	VMOVDQU ·x8kScale<>(SB), Y14
	TESTQ R10, R10
	JZ x5kdone
x5kgroup:
	X8_GROUP
	TESTQ CX, CX
	JZ x5kend
x5kloop:
	X8_PF(0)
	X8_PF(64)
	X8_PF(1152)
	X8_PF(1216)
	X8_PF(1280)
	X8_PF(1344)
	X8K_UNPACK_R(Y8, Y9, Y10, Y11, ·x8kNib<>(SB))
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	X8K5_PAIR(0, 64, 128)
	X8K5_PAIR(1, 96, 160)
	X8K5_PAIR(2, 192, 256)
	X8K5_PAIR(3, 224, 288)
	X8K_FLOATS_R(Y8, Y9, Y10)
	ADDQ $1408, R9
	ADDQ $320, DI
	DECQ CX
	JNZ x5kloop
x5kend:
	X8_NEXT(x5kgroup)
x5kdone:
	VZEROUPPER
	RET

// Pair P's chunk C of a Q5_K group's super-block at R9 (its half's top
// bits in Y7) to repackV8Q5_K's registers C of sub-blocks 2P and 2P+1 at
// DI, the masks read from memory: the tile's head (RK4X8_HEAD) takes most
// registers.
#define RK5X8_SPLIT(P, C, SHIFT, N) \
	X8K5_LEVELS(P, C, SHIFT, N, Y0, Y1, Y2, ·x8k5Low5<>(SB), ·x8k5Low3<>(SB), ·x8k5Top2<>(SB)); \
	VMOVDQU Y0, (512*P+32*C)(DI); \
	VMOVDQU Y1, (512*P+256+32*C)(DI)

#define RK5X8_HALF(P, H, C0, C1, C2, C3) \
	VMOVDQU (1152+64*P+32*H)(R9), Y7; \
	RK5X8_SPLIT(P, C0, X8K5_SL, 3); \
	RK5X8_SPLIT(P, C1, X8K5_DBL, 1); \
	RK5X8_SPLIT(P, C2, X8K5_SR, 1); \
	RK5X8_SPLIT(P, C3, X8K5_SR, 3)

#define RK5X8_PAIR(P) \
	RK5X8_HALF(P, 0, 0, 1, 2, 3); \
	RK5X8_HALF(P, 1, 4, 5, 6, 7)

#define RK5X8_LEVELS \
	RK5X8_PAIR(0); \
	RK5X8_PAIR(1); \
	RK5X8_PAIR(2); \
	RK5X8_PAIR(3)

// func repackV8Q5_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q5_K's tile (repackV8Q4_K's, with levels up to 31) from an
// Interleaved8 Q5_K group, as repackV8Q4_KX8 does for Q4_K. Without it,
// prefill on an interleaved Q5_K matrix deinterleaved rows in Go first:
// 96 cpu-GFLOP/s against 126 on RowMajor rows (BenchmarkInterleavedPrefill,
// one thread).
TEXT ·repackV8Q5_KX8(SB), NOSPLIT, $128-40
	RKX8_REPACK(RK5X8_LEVELS, 1408)

// Byte masks: 0x0f (the unpacking's, for decQ5_KX8AVX2), and the levels'
// 0x1f, 0x07 and 0x18 (for repackV8Q5_KX8).
DATA ·x8kNib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·x8kNib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·x8kNib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·x8kNib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·x8kNib<>(SB), RODATA|NOPTR, $32

DATA ·x8k5Low5<>+0(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ·x8k5Low5<>+8(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ·x8k5Low5<>+16(SB)/8, $0x1f1f1f1f1f1f1f1f
DATA ·x8k5Low5<>+24(SB)/8, $0x1f1f1f1f1f1f1f1f
GLOBL ·x8k5Low5<>(SB), RODATA|NOPTR, $32

DATA ·x8k5Low3<>+0(SB)/8, $0x0707070707070707
DATA ·x8k5Low3<>+8(SB)/8, $0x0707070707070707
DATA ·x8k5Low3<>+16(SB)/8, $0x0707070707070707
DATA ·x8k5Low3<>+24(SB)/8, $0x0707070707070707
GLOBL ·x8k5Low3<>(SB), RODATA|NOPTR, $32

DATA ·x8k5Top2<>+0(SB)/8, $0x1818181818181818
DATA ·x8k5Top2<>+8(SB)/8, $0x1818181818181818
DATA ·x8k5Top2<>+16(SB)/8, $0x1818181818181818
DATA ·x8k5Top2<>+24(SB)/8, $0x1818181818181818
GLOBL ·x8k5Top2<>(SB), RODATA|NOPTR, $32
