#include "textflag.h"
#include "rows_amd64.h"

// AVX2 dot products of K-quant weight rows with Q8_K activations, one call
// per row (nb super-blocks of 256). Same integer arithmetic as ggml's AVX2
// code; the integer sums are exact and only the order of the float
// additions differs from the portable reference. Assembly because archsimd
// has no VCVTPH2PS for the F16 super-block scales and an archsimd loop ran
// ten times slower than plain Go here.

// Software prefetch DEC_PFD (rows_amd64.h) bytes ahead of the weights, as
// the decode kernels of decode_amd64.s do: K_PF for the avx2 kernels,
// K_PFZ (PREFETCHNTA) for the avx512 ones.
#define K_PF(N) DEC_PFT(N, SI)
#define K_PFZ(N) DEC_PFZ(N, SI)

// Byte-shuffle controls that spread one 16-bit scale over a register.
// q4kShuf j: word j to every word. q6kShuf k: word 2k to the low 128-bit
// lane, word 2k+1 to the high one.
DATA ·q4kShuf<>+0(SB)/8, $0x0100010001000100
DATA ·q4kShuf<>+8(SB)/8, $0x0100010001000100
DATA ·q4kShuf<>+16(SB)/8, $0x0100010001000100
DATA ·q4kShuf<>+24(SB)/8, $0x0100010001000100
DATA ·q4kShuf<>+32(SB)/8, $0x0302030203020302
DATA ·q4kShuf<>+40(SB)/8, $0x0302030203020302
DATA ·q4kShuf<>+48(SB)/8, $0x0302030203020302
DATA ·q4kShuf<>+56(SB)/8, $0x0302030203020302
DATA ·q4kShuf<>+64(SB)/8, $0x0504050405040504
DATA ·q4kShuf<>+72(SB)/8, $0x0504050405040504
DATA ·q4kShuf<>+80(SB)/8, $0x0504050405040504
DATA ·q4kShuf<>+88(SB)/8, $0x0504050405040504
DATA ·q4kShuf<>+96(SB)/8, $0x0706070607060706
DATA ·q4kShuf<>+104(SB)/8, $0x0706070607060706
DATA ·q4kShuf<>+112(SB)/8, $0x0706070607060706
DATA ·q4kShuf<>+120(SB)/8, $0x0706070607060706
DATA ·q4kShuf<>+128(SB)/8, $0x0908090809080908
DATA ·q4kShuf<>+136(SB)/8, $0x0908090809080908
DATA ·q4kShuf<>+144(SB)/8, $0x0908090809080908
DATA ·q4kShuf<>+152(SB)/8, $0x0908090809080908
DATA ·q4kShuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q4kShuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q4kShuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q4kShuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q4kShuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q4kShuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q4kShuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q4kShuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q4kShuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA ·q4kShuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA ·q4kShuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA ·q4kShuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL ·q4kShuf<>(SB), RODATA|NOPTR, $256

DATA ·q6kShuf<>+0(SB)/8, $0x0100010001000100
DATA ·q6kShuf<>+8(SB)/8, $0x0100010001000100
DATA ·q6kShuf<>+16(SB)/8, $0x0302030203020302
DATA ·q6kShuf<>+24(SB)/8, $0x0302030203020302
DATA ·q6kShuf<>+32(SB)/8, $0x0504050405040504
DATA ·q6kShuf<>+40(SB)/8, $0x0504050405040504
DATA ·q6kShuf<>+48(SB)/8, $0x0706070607060706
DATA ·q6kShuf<>+56(SB)/8, $0x0706070607060706
DATA ·q6kShuf<>+64(SB)/8, $0x0908090809080908
DATA ·q6kShuf<>+72(SB)/8, $0x0908090809080908
DATA ·q6kShuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q6kShuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA ·q6kShuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q6kShuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA ·q6kShuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA ·q6kShuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL ·q6kShuf<>(SB), RODATA|NOPTR, $128

DATA ·q4kLow<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·q4kLow<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·q4kLow<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA ·q4kLow<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·q4kLow<>(SB), RODATA|NOPTR, $32

DATA ·q6kHigh<>+0(SB)/8, $0x3030303030303030
DATA ·q6kHigh<>+8(SB)/8, $0x3030303030303030
DATA ·q6kHigh<>+16(SB)/8, $0x3030303030303030
DATA ·q6kHigh<>+24(SB)/8, $0x3030303030303030
GLOBL ·q6kHigh<>(SB), RODATA|NOPTR, $32

// d·dy and (for Q4_K) dmin·dy of a super-block into X12 and X13, as ggml
// computes them: the F16 weight scale times the F32 activation scale.
#define SCALE(OFF, DST) \
	MOVWLZX OFF(SI), AX; \
	VMOVD AX, DST; \
	VCVTPH2PS DST, DST; \
	VMULSS (DI), DST, DST

// Q4_K, 144-byte blocks: F16 d, F16 dmin, 12 bytes of 6-bit scales and
// mins, 128 bytes of nibbles (64 elements per 32 bytes: low nibbles the
// first 32, high the next). Q8_K, 292 bytes: F32 d, 256 int8, 16 int16
// sums of 16. The mins' share, dmin·sum(min_j·bsum_j), is one VPMADDWD.
//
// Register plan: CX blocks, SI w, DI x, AX BX DX R8 R9 scale unpacking;
//   Y0 float sums   X1 float min sums   Y6 the 8 scales as words, twice
//   Y11 int32 sums of the block   Y15 0x0f bytes   Y7-Y10 temporaries
//   X12 d·dy   X13 dmin·dy   X2-X5 min temporaries

// Pair J's 64 levels (Y8 the low nibbles, Y9 the high) times the Q8_K
// values, scaled per sub-block and added to Y11's int32 sums.
#define K4_MULADD(J) \
	VPMADDUBSW (4+64*J)(DI), Y8, Y8; \
	VPMADDUBSW (36+64*J)(DI), Y9, Y9; \
	VPSHUFB (64*J)(R10), Y6, Y10; \
	VPMADDWD Y10, Y8, Y8; \
	VPSHUFB (32+64*J)(R10), Y6, Y10; \
	VPMADDWD Y10, Y9, Y9; \
	VPADDD Y8, Y11, Y11; \
	VPADDD Y9, Y11, Y11

#define Q4K_PAIR(J) \
	VMOVDQU (16+32*J)(SI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y9; \
	VPAND Y15, Y9, Y9; \
	K4_MULADD(J)

// Prefill: one Q4_K row against four tokens. Per super-block the row is
// unpacked once into the stack frame (eight sub-blocks of 32 nibbles at
// 0(SP), their scales spread over words at 256(SP)); each token then costs
// one VPMADDUBSW, VPMADDWD and VPADDD per sub-block, plus its mins term.
//
// Register plan (tile4Q4_K): CX blocks, SI w, DI R9 R10 R12 the four
//   tokens' Q8_K blocks, AX BX DX R8 R13 scale unpacking; Y0-Y3 float sums
//   and X4-X7 float min sums of tokens 0-3; Y8 int32 sums of a token's
//   block; Y9 scales as words (row side); Y10-Y12 temporaries; X13 d;
//   X14 dmin; X15 mins as words.
#define K4_SUB(J, XT) \
	VMOVDQU (32*J)(SP), Y10; \
	VPMADDUBSW (4+32*J)(XT), Y10, Y10; \
	VPMADDWD (256+32*J)(SP), Y10, Y10; \
	VPADDD Y10, Y8, Y8

#define K4_TOKEN(XT, ACC, MACC) \
	VPXOR Y8, Y8, Y8; \
	K4_SUB(0, XT); \
	K4_SUB(1, XT); \
	K4_SUB(2, XT); \
	K4_SUB(3, XT); \
	K4_SUB(4, XT); \
	K4_SUB(5, XT); \
	K4_SUB(6, XT); \
	K4_SUB(7, XT); \
	VCVTDQ2PS Y8, Y8; \
	VMOVSS (XT), X12; \
	VMULSS X13, X12, X11; \
	VBROADCASTSS X11, Y11; \
	VFMADD231PS Y11, Y8, ACC; \
	VMOVDQU 260(XT), Y10; \
	VEXTRACTI128 $1, Y10, X11; \
	VPHADDW X11, X10, X10; \
	VPMADDWD X15, X10, X10; \
	VCVTDQ2PS X10, X10; \
	VMULSS X14, X12, X11; \
	VBROADCASTSS X11, X11; \
	VFMADD231PS X11, X10, MACC

#define K4_NIBBLES(P) \
	VMOVDQU (16+32*P)(SI), Y10; \
	VPAND ·q4kLow<>(SB), Y10, Y11; \
	VMOVDQU Y11, (64*P)(SP); \
	VPSRLW $4, Y10, Y10; \
	VPAND ·q4kLow<>(SB), Y10, Y10; \
	VMOVDQU Y10, (64*P+32)(SP)

#define K4_SCALEVEC(J) \
	VPSHUFB (32*J)(R13), Y9, Y10; \
	VMOVDQU Y10, (256+32*J)(SP)

#define K4_OUT(ACC, XACC, MACC, OUT) \
	VEXTRACTF128 $1, ACC, X10; \
	VADDPS X10, XACC, XACC; \
	VSUBPS MACC, XACC, XACC; \
	VHADDPS XACC, XACC, XACC; \
	VHADDPS XACC, XACC, XACC; \
	MOVSS XACC, OUT

// Prefill: one Q6_K row against four tokens, as tile4Q4_K: the 256 levels
// (0..63, in the activations' order) and the scale vectors unpacked into
// the frame once per super-block, each token then one VPMADDUBSW,
// VPMADDWD and VPADDD per 32 elements, and the offset 32 taken off once
// per token and block as 32·sum(scale_g·bsum_g).
//
// Register plan (tile4Q6_K): CX blocks, SI w, DI R9 R10 R12 the four
//   tokens' Q8_K blocks, R13 shuffles; Y0-Y3 float sums of tokens 0-3;
//   X4 zero (no min term); Y8 int32 sums of a token's block; Y6 a half's
//   scales as words; Y7 Y9 Y12 ql and qh (row side); Y10 Y11 temporaries;
//   Y13 the 16 scales as words; X14 d.
// Store level S: QL's low nibbles with Y11's bits 4-5.
#define K6_LEVEL(S, QL) \
	VPAND ·q6kHigh<>(SB), Y11, Y11; \
	VPOR QL, Y11, Y11; \
	VMOVDQU Y11, (32*(S))(SP)

#define K6_HALF(H) \
	VPMOVSXBW (192+8*H)(SI), X6; \
	VINSERTI128 $1, X6, Y6, Y6; \
	VMOVDQU (64*H)(SI), Y7; \
	VMOVDQU (32+64*H)(SI), Y9; \
	VMOVDQU (128+32*H)(SI), Y12; \
	VPAND ·q4kLow<>(SB), Y7, Y10; \
	VPSLLW $4, Y12, Y11; \
	K6_LEVEL(4*H, Y10); \
	VPAND ·q4kLow<>(SB), Y9, Y10; \
	VPSLLW $2, Y12, Y11; \
	K6_LEVEL(4*H+1, Y10); \
	VPSRLW $4, Y7, Y10; \
	VPAND ·q4kLow<>(SB), Y10, Y10; \
	VMOVDQA Y12, Y11; \
	K6_LEVEL(4*H+2, Y10); \
	VPSRLW $4, Y9, Y10; \
	VPAND ·q4kLow<>(SB), Y10, Y10; \
	VPSRLW $2, Y12, Y11; \
	K6_LEVEL(4*H+3, Y10); \
	VPSHUFB (R13), Y6, Y10; \
	VMOVDQU Y10, (256+32*(4*H))(SP); \
	VPSHUFB 32(R13), Y6, Y10; \
	VMOVDQU Y10, (256+32*(4*H+1))(SP); \
	VPSHUFB 64(R13), Y6, Y10; \
	VMOVDQU Y10, (256+32*(4*H+2))(SP); \
	VPSHUFB 96(R13), Y6, Y10; \
	VMOVDQU Y10, (256+32*(4*H+3))(SP)

#define K6_TOKEN(XT, ACC) \
	VPXOR Y8, Y8, Y8; \
	K4_SUB(0, XT); \
	K4_SUB(1, XT); \
	K4_SUB(2, XT); \
	K4_SUB(3, XT); \
	K4_SUB(4, XT); \
	K4_SUB(5, XT); \
	K4_SUB(6, XT); \
	K4_SUB(7, XT); \
	VPMADDWD 260(XT), Y13, Y10; \
	VPSLLD $5, Y10, Y10; \
	VPSUBD Y10, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VMULSS (XT), X14, X11; \
	VBROADCASTSS X11, Y11; \
	VFMADD231PS Y11, Y8, ACC

// A Q4_K or Q5_K super-block's scales (their headers are alike): d·dy in
// X12, dmin·dy in X13; ggml's unpacking of the 12 scale bytes into 8
// scales (AX:BX) and 8 mins (DX:R8), kmask1 0x3f3f3f3f, kmask2 0x0f0f0f0f,
// kmask3 0x03030303; the mins' share added to X1 (dmin·dy · mins ·
// pairwise bsums); the scales as words in both lanes of Y6.
#define K4_HEAD \
	SCALE(0, X12); \
	SCALE(2, X13); \
	K4_UNPACK; \
	VMOVD DX, X2; \
	VPINSRD $1, R8, X2, X2; \
	VPMOVZXBW X2, X2; \
	VMOVDQU 260(DI), Y3; \
	VEXTRACTI128 $1, Y3, X4; \
	VPHADDW X4, X3, X3; \
	VPMADDWD X3, X2, X2; \
	VCVTDQ2PS X2, X2; \
	VBROADCASTSS X13, X13; \
	VFMADD231PS X13, X2, X1; \
	VMOVD AX, X6; \
	VPINSRD $1, BX, X6, X6; \
	VPMOVZXBW X6, X6; \
	VINSERTI128 $1, X6, Y6, Y6

// ggml's unpacking of a Q4_K or Q5_K block's 12 scale bytes at 4(SI):
// the 8 scales to AX (0-3) and BX (4-7), the 8 mins to DX and R8.
#define K4_UNPACK \
	MOVL 4(SI), AX; \
	MOVL 8(SI), BX; \
	MOVL 12(SI), DX; \
	MOVL DX, R8; \
	SHRL $4, R8; \
	ANDL $0x0f0f0f0f, R8; \
	MOVL BX, R9; \
	SHRL $6, R9; \
	ANDL $0x03030303, R9; \
	SHLL $4, R9; \
	ORL R9, R8; \
	MOVL BX, R9; \
	ANDL $0x3f3f3f3f, R9; \
	ANDL $0x0f0f0f0f, DX; \
	MOVL AX, BX; \
	SHRL $6, BX; \
	ANDL $0x03030303, BX; \
	SHLL $4, BX; \
	ORL DX, BX; \
	ANDL $0x3f3f3f3f, AX; \
	MOVL R9, DX

// A record-fed Q4_K or Q5_K super-block's d·dy and dmin·dy in X12
// (VCVTPH2PS reads d, dmin and two scale bytes as four halves; lanes 2
// and 3 are not used), and dmin·dy in every lane of X3.
#define K4R_D \
	VCVTPH2PS (SI), X12; \
	VMULPS (DI), X12, X12; \
	VPERMILPS $0x55, X12, X3

// The mins (DX, R8, as K4_UNPACK leaves them) times the sums of 32, times
// dmin·dy (X3), added to X1.
#define K4R_MINVEC \
	SHLQ $32, R8; \
	ORQ R8, DX; \
	VMOVQ DX, X2; \
	VPMOVZXBW X2, X2; \
	VPMADDWD 16(DI), X2, X2; \
	VCVTDQ2PS X2, X2; \
	VFMADD231PS X3, X2, X1

// The scales and mins of the super-block at SI unpacked (K4_UNPACK),
// the mins left in DX and R8, and each scale s_j to the frame at 4j(SP)
// as the dword s_j | s_j<<16 (rowsQ4_KAVX2R's broadcasts) by scalar
// steps: two scales to the low bytes of two dwords, IMUL by 0x10001 to
// copy each to the high word. The vector widening and unpacking this
// replaces took six vector instructions, and the vector ports are what
// the loop is short of while the scalar ones idle. R10 holds the mask
// 0x000000ff000000ff. Not PDEP, which would take the two scales to their
// dwords in one instruction: it is BMI2, which the avx2 path does not
// require, and microcoded on Zen 2 (tens of cycles for this mask).
#define K4R_SCALES_FRAME \
	K4_UNPACK; \
	K4R_SCALE2(AX, 0); \
	SHRL $16, AX; \
	K4R_SCALE2(AX, 8); \
	K4R_SCALE2(BX, 16); \
	SHRL $16, BX; \
	K4R_SCALE2(BX, 24)

// The scales in R's low two bytes to the frame at OFF(SP), as dwords. R
// holds up to four 6-bit scales s0..s3 (its upper half zero), so R times
// 0x1000001 has s0 in byte 0 and s1 in byte 4: byte 3 is s3+s0, which
// carries nothing into byte 4, and the mask drops the rest.
#define K4R_SCALE2(R, OFF) \
	IMUL3Q $0x1000001, R, R9; \
	ANDQ R10, R9; \
	IMUL3Q $0x10001, R9, R9; \
	MOVQ R9, OFF(SP)

// The block's int32 sums Y11 times d·dy into Y0.
#define K4_FOLD \
	VCVTDQ2PS Y11, Y11; \
	VBROADCASTSS X12, Y12; \
	VFMADD231PS Y12, Y11, Y0

// The K-quant dot products run rows rows (row r at w + r·wstride, its
// result to out[r]) against one token's Q8_K row x, so decode pays one call
// per chunk of rows, not one per row of a few blocks; a dot product is one
// row. Register plan beyond each kernel's own: R12 the row, R13 wstride,
// R11 out, R14 rows left.
#define K_ROWS_ARGS \
	MOVQ w+8(FP), R12; \
	MOVQ wstride+16(FP), R13; \
	MOVQ out+32(FP), R11; \
	MOVQ rows+40(FP), R14; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15

// Y0's lanes minus the mins' X1 (zero for Q6_K), summed, to out[r]; next
// row.
#define K_ROW_END(LOOP) \
	VEXTRACTF128 $1, Y0, X2; \
	VADDPS X2, X0, X0; \
	VSUBPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VMOVSS X0, (R11); \
	ADDQ $4, R11; \
	ADDQ R13, R12; \
	DECQ R14; \
	JNZ LOOP

// func rowsQ4_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ4_KAVX2(SB), NOSPLIT, $0-48
	K_ROWS_ARGS
	LEAQ ·q4kShuf<>(SB), R10
	TESTQ R14, R14
	JZ q4kdone
q4krow:
	ROW_START
	TESTQ CX, CX
	JZ q4kend
q4kloop:
	K_PF(0)
	K_PF(64)
	K_PF(128)
	K4_HEAD
	VPXOR Y11, Y11, Y11
	Q4K_PAIR(0)
	Q4K_PAIR(1)
	Q4K_PAIR(2)
	Q4K_PAIR(3)
	K4_FOLD
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q4kloop
q4kend:
	K_ROW_END(q4krow)
q4kdone:
	VZEROUPPER
	RET

// Q5_K, 176-byte blocks: as Q4_K with 32 bytes of fifth bits (qh) before
// the nibbles: pair J's low nibbles take bit 2J of qh[l], its high nibbles
// bit 2J+1, as bit 4 of the level (0..31, still unsigned for VPMADDUBSW:
// 2·31·127 cannot saturate). Each bit is shifted to bit 4 within its word
// (the source bit is in the same byte, so the shift loses nothing) and
// masked. Y14 holds qh.
#define Q5K_PAIR(J, SL, NL, SH, NH) \
	VMOVDQU (48+32*J)(SI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y9; \
	VPAND Y15, Y9, Y9; \
	SL $NL, Y14, Y10; \
	VPAND ·q5kBit<>(SB), Y10, Y10; \
	VPOR Y10, Y8, Y8; \
	SH $NH, Y14, Y10; \
	VPAND ·q5kBit<>(SB), Y10, Y10; \
	VPOR Y10, Y9, Y9; \
	K4_MULADD(J)

DATA ·q5kBit<>+0(SB)/8, $0x1010101010101010
DATA ·q5kBit<>+8(SB)/8, $0x1010101010101010
DATA ·q5kBit<>+16(SB)/8, $0x1010101010101010
DATA ·q5kBit<>+24(SB)/8, $0x1010101010101010
GLOBL ·q5kBit<>(SB), RODATA|NOPTR, $32

// func rowsQ5_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ5_KAVX2(SB), NOSPLIT, $0-48
	K_ROWS_ARGS
	LEAQ ·q4kShuf<>(SB), R10
	TESTQ R14, R14
	JZ q5kdone
q5krow:
	ROW_START
	TESTQ CX, CX
	JZ q5kend
q5kloop:
	K_PF(0)
	K_PF(64)
	K_PF(128)
	K4_HEAD
	VMOVDQU 16(SI), Y14
	VPXOR Y11, Y11, Y11
	Q5K_PAIR(0, VPSLLW, 4, VPSLLW, 3)
	Q5K_PAIR(1, VPSLLW, 2, VPSLLW, 1)
	Q5K_PAIR(2, VPSLLW, 0, VPSRLW, 1)
	Q5K_PAIR(3, VPSRLW, 2, VPSRLW, 3)
	K4_FOLD
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q5kloop
q5kend:
	K_ROW_END(q5krow)
q5kdone:
	VZEROUPPER
	RET

// Q6_K, 210-byte blocks: 128 bytes of low nibbles (ql), 64 bytes of high
// bit pairs (qh), 16 int8 scales (one per 16 elements), F16 d. Each half of
// 128 elements takes ql[0:32], ql[32:64], qh[0:32]; element l, l+32, l+64,
// l+96 are ql[l]&15, ql[l+32]&15, ql[l]>>4, ql[l+32]>>4, each with two bits
// of qh[l] (bits 0-1, 2-3, 4-5, 6-7) above them, minus 32. The levels stay
// unsigned (0..63) for VPMADDUBSW and the 32 comes off once per block as
// 32·sum(scale_g·bsum_g).
//
// Register plan: CX blocks, SI w, DI x, R10 shuffles;
//   Y0 float sums   Y11 int32 sums of the block   Y5 the 16 scales as
//   words (also in the frame at 0(SP)), then the offset term   Y6 one
//   half's 8 scales as words, twice   Y14 0x30 bytes   Y15 0x0f bytes
//   Y7-Y10, Y12, Y13 temporaries   X12 d·dy

// One level: Y9 holds qh shifted so that its two bits sit at bits 4-5.
#define Q6K_LEVEL(QL, K, Q8OFF) \
	VPAND Y14, Y9, Y9; \
	VPOR QL, Y9, Y9; \
	VPMADDUBSW Q8OFF(DI), Y9, Y9; \
	VPSHUFB (32*K)(R10), Y6, Y10; \
	VPMADDWD Y10, Y9, Y9; \
	VPADDD Y9, Y11, Y11

#define Q6K_HALF(H) \
	VBROADCASTI128 (16*H)(SP), Y6; \
	VMOVDQU (64*H)(SI), Y7; \
	VMOVDQU (32+64*H)(SI), Y8; \
	VMOVDQU (128+32*H)(SI), Y12; \
	VPAND Y15, Y7, Y13; \
	VPSLLW $4, Y12, Y9; \
	Q6K_LEVEL(Y13, 0, 4+128*H); \
	VPAND Y15, Y8, Y13; \
	VPSLLW $2, Y12, Y9; \
	Q6K_LEVEL(Y13, 1, 36+128*H); \
	VPSRLW $4, Y7, Y13; \
	VPAND Y15, Y13, Y13; \
	VMOVDQA Y12, Y9; \
	Q6K_LEVEL(Y13, 2, 68+128*H); \
	VPSRLW $4, Y8, Y13; \
	VPAND Y15, Y13, Y13; \
	VPSRLW $2, Y12, Y9; \
	Q6K_LEVEL(Y13, 3, 100+128*H)

// func rowsQ6_KAVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ6_KAVX2(SB), NOSPLIT, $32-48
	K_ROWS_ARGS
	LEAQ ·q6kShuf<>(SB), R10
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	TESTQ R14, R14
	JZ q6kdone
q6krow:
	ROW_START
	TESTQ CX, CX
	JZ q6kend
q6kloop:
	K_PF(0)
	K_PF(64)
	K_PF(128)
	K_PF(192)
	VPXOR Y11, Y11, Y11
	// The 16 scales as words, to the frame: each half's eight are then
	// one broadcast load (no ALU work) where a widening and an insert per
	// half cost two vector instructions, and the offset term reuses them.
	VPMOVSXBW 192(SI), Y5
	VMOVDQU Y5, 0(SP)
	Q6K_HALF(0)
	Q6K_HALF(1)
	// The offset 32 of every level: subtract 32·sum(scale_g·bsum_g).
	VPMADDWD 260(DI), Y5, Y5
	VPSLLD $5, Y5, Y5
	VPSUBD Y5, Y11, Y11
	SCALE(208, X12)
	VCVTDQ2PS Y11, Y11
	VBROADCASTSS X12, Y12
	VFMADD231PS Y12, Y11, Y0
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ q6kloop
q6kend:
	K_ROW_END(q6krow)
q6kdone:
	VZEROUPPER
	RET

// func tile4Q4_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)
TEXT ·tile4Q4_KAVX2(SB), NOSPLIT, $512-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), AX
	LEAQ (DI)(AX*1), R9
	LEAQ (DI)(AX*2), R10
	LEAQ (R9)(AX*2), R12
	LEAQ ·q4kShuf<>(SB), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	TESTQ CX, CX
	JZ k4tdone
k4tloop:
	MOVWLZX (SI), AX
	VMOVD AX, X13
	VCVTPH2PS X13, X13
	MOVWLZX 2(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14
	// As dotQ4_KQ8_KAVX2: scales to AX:BX, mins to DX:R8.
	MOVL 4(SI), AX
	MOVL 8(SI), BX
	MOVL 12(SI), DX
	MOVL DX, R8
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL R11, R8
	MOVL BX, R11
	ANDL $0x3f3f3f3f, R11
	ANDL $0x0f0f0f0f, DX
	MOVL AX, BX
	SHRL $6, BX
	ANDL $0x03030303, BX
	SHLL $4, BX
	ORL DX, BX
	ANDL $0x3f3f3f3f, AX
	MOVL R11, DX
	VMOVD DX, X15
	VPINSRD $1, R8, X15, X15
	VPMOVZXBW X15, X15
	VMOVD AX, X9
	VPINSRD $1, BX, X9, X9
	VPMOVZXBW X9, X9
	VINSERTI128 $1, X9, Y9, Y9
	K4_SCALEVEC(0)
	K4_SCALEVEC(1)
	K4_SCALEVEC(2)
	K4_SCALEVEC(3)
	K4_SCALEVEC(4)
	K4_SCALEVEC(5)
	K4_SCALEVEC(6)
	K4_SCALEVEC(7)
	K4_NIBBLES(0)
	K4_NIBBLES(1)
	K4_NIBBLES(2)
	K4_NIBBLES(3)

	K4_TOKEN(DI, Y0, X4)
	K4_TOKEN(R9, Y1, X5)
	K4_TOKEN(R10, Y2, X6)
	K4_TOKEN(R12, Y3, X7)

	ADDQ $144, SI
	ADDQ $292, DI
	ADDQ $292, R9
	ADDQ $292, R10
	ADDQ $292, R12
	DECQ CX
	JNZ k4tloop
k4tdone:
	MOVQ out+32(FP), R11
	MOVQ ostride+40(FP), AX
	K4_OUT(Y0, X0, X4, (R11))
	K4_OUT(Y1, X1, X5, (R11)(AX*1))
	K4_OUT(Y2, X2, X6, (R11)(AX*2))
	LEAQ (R11)(AX*2), R11
	K4_OUT(Y3, X3, X7, (R11)(AX*1))
	VZEROUPPER
	RET

// func tile4Q6_KAVX2(nb int, w, x *byte, xstride int, out *float32, ostride int)
TEXT ·tile4Q6_KAVX2(SB), NOSPLIT, $512-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xstride+24(FP), AX
	LEAQ (DI)(AX*1), R9
	LEAQ (DI)(AX*2), R10
	LEAQ (R9)(AX*2), R12
	LEAQ ·q6kShuf<>(SB), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X4, X4, X4
	TESTQ CX, CX
	JZ k6tdone
k6tloop:
	K6_HALF(0)
	K6_HALF(1)
	VPMOVSXBW 192(SI), Y13
	MOVWLZX 208(SI), AX
	VMOVD AX, X14
	VCVTPH2PS X14, X14

	K6_TOKEN(DI, Y0)
	K6_TOKEN(R9, Y1)
	K6_TOKEN(R10, Y2)
	K6_TOKEN(R12, Y3)

	ADDQ $210, SI
	ADDQ $292, DI
	ADDQ $292, R9
	ADDQ $292, R10
	ADDQ $292, R12
	DECQ CX
	JNZ k6tloop
k6tdone:
	MOVQ out+32(FP), R11
	MOVQ ostride+40(FP), AX
	K4_OUT(Y0, X0, X4, (R11))
	K4_OUT(Y1, X1, X4, (R11)(AX*1))
	K4_OUT(Y2, X2, X4, (R11)(AX*2))
	LEAQ (R11)(AX*2), R11
	K4_OUT(Y3, X3, X4, (R11)(AX*1))
	VZEROUPPER
	RET

// AVX-512 decode of Q4_K and Q5_K, for the avx512 path: four 512-bit
// vectors of 64 levels per super-block instead of eight 256-bit ones. Each
// vector holds two sub-blocks ([0|2], [1|3], [4|6], [5|7]: low and high
// nibbles of 64 bytes); its activations come from the records (see
// rowsQ4_KVNNI); VPMADDUBSW makes the int16 pair sums and VPDPWSSD
// (AVX512_VNNI, which archsimd lacks) multiplies them by the sub-blocks'
// scales, spread over the words by VPERMW, and adds them to the block's
// int32 sums in one instruction. Register plan beyond K4V_HEAD's: Z7-Z10
// levels, Z11 Z22 int32 sums, Z15 0x0f bytes, Z21 a temporary, Z24-Z27
// the VPERMW indices; Q5_K: Z28 qh twice, Z29 a temporary, Z14 0x10
// bytes, Z16-Z19 shifts.

DATA ·k4zIdx<>+0(SB)/8, $0x0000000000000000
DATA ·k4zIdx<>+8(SB)/8, $0x0000000000000000
DATA ·k4zIdx<>+16(SB)/8, $0x0000000000000000
DATA ·k4zIdx<>+24(SB)/8, $0x0000000000000000
DATA ·k4zIdx<>+32(SB)/8, $0x0002000200020002
DATA ·k4zIdx<>+40(SB)/8, $0x0002000200020002
DATA ·k4zIdx<>+48(SB)/8, $0x0002000200020002
DATA ·k4zIdx<>+56(SB)/8, $0x0002000200020002
DATA ·k4zIdx<>+64(SB)/8, $0x0001000100010001
DATA ·k4zIdx<>+72(SB)/8, $0x0001000100010001
DATA ·k4zIdx<>+80(SB)/8, $0x0001000100010001
DATA ·k4zIdx<>+88(SB)/8, $0x0001000100010001
DATA ·k4zIdx<>+96(SB)/8, $0x0003000300030003
DATA ·k4zIdx<>+104(SB)/8, $0x0003000300030003
DATA ·k4zIdx<>+112(SB)/8, $0x0003000300030003
DATA ·k4zIdx<>+120(SB)/8, $0x0003000300030003
DATA ·k4zIdx<>+128(SB)/8, $0x0004000400040004
DATA ·k4zIdx<>+136(SB)/8, $0x0004000400040004
DATA ·k4zIdx<>+144(SB)/8, $0x0004000400040004
DATA ·k4zIdx<>+152(SB)/8, $0x0004000400040004
DATA ·k4zIdx<>+160(SB)/8, $0x0006000600060006
DATA ·k4zIdx<>+168(SB)/8, $0x0006000600060006
DATA ·k4zIdx<>+176(SB)/8, $0x0006000600060006
DATA ·k4zIdx<>+184(SB)/8, $0x0006000600060006
DATA ·k4zIdx<>+192(SB)/8, $0x0005000500050005
DATA ·k4zIdx<>+200(SB)/8, $0x0005000500050005
DATA ·k4zIdx<>+208(SB)/8, $0x0005000500050005
DATA ·k4zIdx<>+216(SB)/8, $0x0005000500050005
DATA ·k4zIdx<>+224(SB)/8, $0x0007000700070007
DATA ·k4zIdx<>+232(SB)/8, $0x0007000700070007
DATA ·k4zIdx<>+240(SB)/8, $0x0007000700070007
DATA ·k4zIdx<>+248(SB)/8, $0x0007000700070007
GLOBL ·k4zIdx<>(SB), RODATA|NOPTR, $256

// Q5_K: per vector, the shifts that bring each half's qh bit to bit 4:
// left 4 and 2 for [0|2] (bits 0 and 2), left 3 and 1 for [1|3], right 0
// and 2 for [4|6], right 1 and 3 for [5|7].
DATA ·k5zShift<>+0(SB)/8, $0x0004000400040004
DATA ·k5zShift<>+8(SB)/8, $0x0004000400040004
DATA ·k5zShift<>+16(SB)/8, $0x0004000400040004
DATA ·k5zShift<>+24(SB)/8, $0x0004000400040004
DATA ·k5zShift<>+32(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+40(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+48(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+56(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+64(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+72(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+80(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+88(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+96(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+104(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+112(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+120(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+128(SB)/8, $0x0000000000000000
DATA ·k5zShift<>+136(SB)/8, $0x0000000000000000
DATA ·k5zShift<>+144(SB)/8, $0x0000000000000000
DATA ·k5zShift<>+152(SB)/8, $0x0000000000000000
DATA ·k5zShift<>+160(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+168(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+176(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+184(SB)/8, $0x0002000200020002
DATA ·k5zShift<>+192(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+200(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+208(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+216(SB)/8, $0x0001000100010001
DATA ·k5zShift<>+224(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+232(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+240(SB)/8, $0x0003000300030003
DATA ·k5zShift<>+248(SB)/8, $0x0003000300030003
GLOBL ·k5zShift<>(SB), RODATA|NOPTR, $256

// The 128 nibble bytes at Q(SI) and Q64(SI) as four vectors of levels.
#define K4Z_NIBBLES(Q, Q64) \
	VMOVDQU64 Q(SI), Z7; \
	VPSRLW $4, Z7, Z8; \
	VPANDD Z15, Z7, Z7; \
	VPANDD Z15, Z8, Z8; \
	VMOVDQU64 Q64(SI), Z9; \
	VPSRLW $4, Z9, Z10; \
	VPANDD Z15, Z9, Z9; \
	VPANDD Z15, Z10, Z10

// One super-block: Z11's sums times d·dy into Z0; next block.
#define K4Z_NEXT(LOOP) \
	VCVTDQ2PS Z11, Z11; \
	VBROADCASTSS X12, Z12; \
	VFMADD231PS Z12, Z11, Z0; \
	ADDQ $292, DI; \
	DECQ CX; \
	JNZ LOOP

// Q5_K's fifth bits into W: qh shifted by CNT, its bit 4 OR-ed in
// (VPTERNLOGD 0xf8: W | (shifted & 0x10)).
#define K5Z_BITS(W, SH, CNT) \
	SH CNT, Z28, Z29; \
	VPTERNLOGD $0xf8, Z14, Z29, W

// Z15 0x0f bytes, Z24-Z27 the four VPERMW indices of the table IDX.
#define KZ_CONSTS(IDX) \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z15; \
	VMOVDQU64 IDX+0(SB), Z24; \
	VMOVDQU64 IDX+64(SB), Z25; \
	VMOVDQU64 IDX+128(SB), Z26; \
	VMOVDQU64 IDX+192(SB), Z27

#define K4Z_CONSTS KZ_CONSTS(·k4zIdx<>)

// The head of a record-fed Q4_K or Q5_K super-block at SI on the vector
// ports (AVX512_VBMI's VPMULTISHIFTQB): K4R_D; the eight scales as words
// in X6 (for VPERMW) and the eight mins, times the pairs' sums of 32 and
// dmin·dy (X3), added to X1. X4 and X5 are temporaries; X30 and X31 hold
// the shift controls (K4V_CONSTS).
//
// ggml packs the 6-bit scales and mins in the 12 bytes q at 4(SI): for
// j < 4, s_j = q[j] & 63 and m_j = q[j+4] & 63; for j >= 4, s_j =
// q[j+4] & 15 | q[j-4]>>6<<4 and m_j = q[j+4]>>4 | q[j]>>6<<4. VPSHUFB
// makes the qwords q0-q3 q8-q11 (the scales' bytes) and q4-q7 q8-q11 (the
// mins'); in each, VPMULTISHIFTQB takes byte j's low bits from bit 8j
// (j < 4) or the low or high nibble of byte j (j >= 4), and a second one
// the two high bits of byte j-4 to bits 4-5; the masks keep 6 bits, or
// 4 and 2, and VPTERNLOGQ puts the two together. The 16 bytes become the
// scales (words 0-7) and mins (8-15) of one widening.
//
// It replaces about twenty scalar steps (K4_UNPACK) and two moves from
// general registers to vector ones, all on the path from the block's
// first load to its scales. On a Zen 5 (EPYC, family 26 model 2), the
// two kernels taking turns in one process:
//   - Q4_K in L2 (one thread, 1024 and 4864 columns): 0.98-1.04 times as
//     fast, but 1.18 in a window where the core ran at two thirds of its
//     usual speed;
//   - bench's stack of Qwen2.5-0.5B-shaped Q4_K layers from memory (a step
//     each way in turn, 24-30 rounds, eight runs): 1.01-1.12 times as
//     fast at one thread (median 1.06) and 1.00-1.13 at two (1.04);
//   - Q5_K: 0.98-1.01 in L2, 1.04-1.06 on its stack (two runs).
// So the gain is in decoding from memory: in L2, where no load waits for
// memory, the two heads ran about as fast.
#define K4V_HEAD \
	K4R_D; \
	VMOVDQU 4(SI), X4; \
	VPSHUFB ·k4vConst<>+0(SB), X4, X4; \
	VPMULTISHIFTQB X4, X30, X5; \
	VPMULTISHIFTQB X4, X31, X4; \
	VPANDQ ·k4vConst<>+64(SB), X4, X4; \
	VPTERNLOGQ $0xf8, ·k4vConst<>+48(SB), X5, X4; \
	VPMOVZXBW X4, Y6; \
	VEXTRACTI128 $1, Y6, X2; \
	VPMADDWD 16(DI), X2, X2; \
	VCVTDQ2PS X2, X2; \
	VFMADD231PS X3, X2, X1

// K4V_HEAD's constants: the VPSHUFB indices (0); the controls of the low
// bits (16) and of the high two (32), one byte per result byte (its
// first source bit); the masks of the low bits (48) and of the high two
// (64).
DATA ·k4vConst<>+0(SB)/8, $0x0b0a090803020100
DATA ·k4vConst<>+8(SB)/8, $0x0b0a090807060504
DATA ·k4vConst<>+16(SB)/8, $0x3830282018100800
DATA ·k4vConst<>+24(SB)/8, $0x3c342c2418100800
DATA ·k4vConst<>+32(SB)/8, $0x1a120a0200000000
DATA ·k4vConst<>+40(SB)/8, $0x1a120a0200000000
DATA ·k4vConst<>+48(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA ·k4vConst<>+56(SB)/8, $0x0f0f0f0f3f3f3f3f
DATA ·k4vConst<>+64(SB)/8, $0x3030303000000000
DATA ·k4vConst<>+72(SB)/8, $0x3030303000000000
GLOBL ·k4vConst<>(SB), RODATA|NOPTR, $80

// X30 and X31, K4V_HEAD's shift controls.
#define K4V_CONSTS \
	VMOVDQU64 ·k4vConst<>+16(SB), X30; \
	VMOVDQU64 ·k4vConst<>+32(SB), X31

// Z0's halves into Y0, then as the AVX2 rows.
#define K4Z_ROW_END(LOOP) \
	VEXTRACTF64X4 $1, Z0, Y2; \
	VADDPS Y2, Y0, Y0; \
	K_ROW_END(LOOP)

// rowsQ4_KVNNI and rowsQ5_KVNNI take their activations as records
// (decRecordsQ8_KAVX2), 320 bytes per super-block:
//   0    dy, the Q8_K scale, in four floats
//   16   the eight sub-blocks' sums of 32 (bsums added in pairs), int16
//   64   the 256 values in the order of the kernel's four vectors of
//        levels: sub-blocks 0 and 2, 1 and 3, 4 and 6, 5 and 7
// so that each vector's activations are one load and the mins' sums one
// memory operand; and the head takes d and dmin in one conversion and the
// scales and mins as words in one widening. About 33 vector
// instructions per super-block (39 since K4V_HEAD took the scales' and
// mins' unpacking from the scalar ports) where taking the plain Q8_K row
// cost 45:
// 36 GB/s per core in L2 became 46. On a Zen 5, rowsQ5_KVNNI on these
// records ran at 116 GFLOP/s in L2 where it ran at 91 on the Q8_K row,
// and from memory (bench's stack of Qwen2.5-0.5B-shaped Q5_K layers, one
// step each in turn, 60 rounds, three runs) 1.12-1.19 times as fast at
// one thread and 1.13-1.23 at two.
#define K4R_VEC(W, XV, IDX, OP, ACC) \
	VPMADDUBSW XV(DI), W, W; \
	VPERMW Z6, IDX, Z21; \
	OP Z21, W, ACC

// The four vectors of levels Z7-Z10 against the record at DI, the sums
// times d·dy into Z0; next super-block (LOOP). Two sums (Z11, Z22), each
// started by a VPMADDWD: two chains of two multiply-adds where one of four
// made the block's latency.
#define K4R_DOTS(LOOP) \
	K4R_VEC(Z7, 64, Z24, VPMADDWD, Z11); \
	K4R_VEC(Z8, 128, Z25, VPMADDWD, Z22); \
	K4R_VEC(Z9, 192, Z26, VPDPWSSD, Z11); \
	K4R_VEC(Z10, 256, Z27, VPDPWSSD, Z22); \
	VPADDD Z22, Z11, Z11; \
	VCVTDQ2PS Z11, Z11; \
	VBROADCASTSS X12, Z12; \
	VFMADD231PS Z12, Z11, Z0; \
	ADDQ $320, DI; \
	DECQ CX; \
	JNZ LOOP

// func rowsQ4_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ4_KVNNI(SB), NOSPLIT, $0-48
	K_ROWS_ARGS
	K4Z_CONSTS
	K4V_CONSTS
	TESTQ R14, R14
	JZ k4zdone
k4zrow:
	ROW_START
	TESTQ CX, CX
	JZ k4zend
k4zloop:
	K_PFZ(0)
	K_PFZ(64)
	K_PFZ(128)
	// The scales as words 0-7 of Z6 for VPERMW.
	K4V_HEAD
	K4Z_NIBBLES(16, 80)
	ADDQ $144, SI
	K4R_DOTS(k4zloop)
k4zend:
	K4Z_ROW_END(k4zrow)
k4zdone:
	VZEROUPPER
	RET

// func decRecordsQ8_KAVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of rowsQ4_KVNNI and rowsQ5_KVNNI (see there) from a Q8_K
// row; off is unused.
TEXT ·decRecordsQ8_KAVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JZ rk8done
rk8loop:
	VBROADCASTSS (SI), X0
	VMOVUPS X0, (DI)
	VMOVDQU 260(SI), Y1
	VEXTRACTI128 $1, Y1, X2
	VPHADDW X2, X1, X1
	VMOVDQU X1, 16(DI)
	VMOVDQU 4(SI), Y0
	VMOVDQU Y0, 64(DI)
	VMOVDQU 68(SI), Y0
	VMOVDQU Y0, 96(DI)
	VMOVDQU 36(SI), Y0
	VMOVDQU Y0, 128(DI)
	VMOVDQU 100(SI), Y0
	VMOVDQU Y0, 160(DI)
	VMOVDQU 132(SI), Y0
	VMOVDQU Y0, 192(DI)
	VMOVDQU 196(SI), Y0
	VMOVDQU Y0, 224(DI)
	VMOVDQU 164(SI), Y0
	VMOVDQU Y0, 256(DI)
	VMOVDQU 228(SI), Y0
	VMOVDQU Y0, 288(DI)
	ADDQ $292, SI
	ADDQ $320, DI
	DECQ CX
	JNZ rk8loop
rk8done:
	VZEROUPPER
	RET

// func rowsQ5_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ5_KVNNI(SB), NOSPLIT, $0-48
	K_ROWS_ARGS
	K4Z_CONSTS
	K4V_CONSTS
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Z14
	VMOVDQU64 ·k5zShift<>+0(SB), Z16
	VMOVDQU64 ·k5zShift<>+64(SB), Z17
	VMOVDQU64 ·k5zShift<>+128(SB), Z18
	VMOVDQU64 ·k5zShift<>+192(SB), Z19
	TESTQ R14, R14
	JZ k5zdone
k5zrow:
	ROW_START
	TESTQ CX, CX
	JZ k5zend
k5zloop:
	K_PFZ(0)
	K_PFZ(64)
	K_PFZ(128)
	K4V_HEAD
	VBROADCASTI64X4 16(SI), Z28
	K4Z_NIBBLES(48, 112)
	K5Z_BITS(Z7, VPSLLVW, Z16)
	K5Z_BITS(Z8, VPSLLVW, Z17)
	K5Z_BITS(Z9, VPSRLVW, Z18)
	K5Z_BITS(Z10, VPSRLVW, Z19)
	ADDQ $176, SI
	K4R_DOTS(k5zloop)
k5zend:
	K4Z_ROW_END(k5zrow)
k5zdone:
	VZEROUPPER
	RET

// AVX-512 decode of Q6_K, for the avx512 path. Per half of a super-block
// (128 elements), its 64 ql bytes are one vector (ql[l] in the low 256
// bits, ql[l+32] in the high) and its 32 qh bytes are broadcast to both
// halves of another, so two vectors of 64 levels come out of few steps:
// A (elements l and l+32) = ql & 0x0f with qh's bits 0-1 or 2-3 shifted to
// bits 4-5 (VPSLLVW by 4 in the low half, 2 in the high), B (l+64 and
// l+96) = ql >> 4 with bits 4-5 or 6-7 (VPSRLVW by 0 and 2), each merged
// by one VPTERNLOGD. Their activations are then 64 contiguous Q8_K values
// each; VPMADDUBSW, VPERMW of the sixteen scales (as words, four per
// vector) and VPDPWSSD add them to the block's int32 sums, and the offset
// 32 comes off once per block as 32·sum(scale_g·bsum_g), as rowsQ6_KAVX2
// does. Register plan beyond K_ROWS_ARGS: Z6 the scales as words, Z7-Z10
// temporaries, Z11 int32 sums, Z13 the offset term, Z14 0x30 bytes, Z15
// 0x0f bytes, Z16 Z17 the qh shifts, Z24-Z27 the VPERMW indices.

// k6zIdx: the scale of each 16-element group of the four vectors of a
// block (half 0 A and B, half 1 A and B), eight words each.
DATA ·k6zIdx<>+0(SB)/8, $0x0000000000000000
DATA ·k6zIdx<>+8(SB)/8, $0x0000000000000000
DATA ·k6zIdx<>+16(SB)/8, $0x0001000100010001
DATA ·k6zIdx<>+24(SB)/8, $0x0001000100010001
DATA ·k6zIdx<>+32(SB)/8, $0x0002000200020002
DATA ·k6zIdx<>+40(SB)/8, $0x0002000200020002
DATA ·k6zIdx<>+48(SB)/8, $0x0003000300030003
DATA ·k6zIdx<>+56(SB)/8, $0x0003000300030003
DATA ·k6zIdx<>+64(SB)/8, $0x0004000400040004
DATA ·k6zIdx<>+72(SB)/8, $0x0004000400040004
DATA ·k6zIdx<>+80(SB)/8, $0x0005000500050005
DATA ·k6zIdx<>+88(SB)/8, $0x0005000500050005
DATA ·k6zIdx<>+96(SB)/8, $0x0006000600060006
DATA ·k6zIdx<>+104(SB)/8, $0x0006000600060006
DATA ·k6zIdx<>+112(SB)/8, $0x0007000700070007
DATA ·k6zIdx<>+120(SB)/8, $0x0007000700070007
DATA ·k6zIdx<>+128(SB)/8, $0x0008000800080008
DATA ·k6zIdx<>+136(SB)/8, $0x0008000800080008
DATA ·k6zIdx<>+144(SB)/8, $0x0009000900090009
DATA ·k6zIdx<>+152(SB)/8, $0x0009000900090009
DATA ·k6zIdx<>+160(SB)/8, $0x000a000a000a000a
DATA ·k6zIdx<>+168(SB)/8, $0x000a000a000a000a
DATA ·k6zIdx<>+176(SB)/8, $0x000b000b000b000b
DATA ·k6zIdx<>+184(SB)/8, $0x000b000b000b000b
DATA ·k6zIdx<>+192(SB)/8, $0x000c000c000c000c
DATA ·k6zIdx<>+200(SB)/8, $0x000c000c000c000c
DATA ·k6zIdx<>+208(SB)/8, $0x000d000d000d000d
DATA ·k6zIdx<>+216(SB)/8, $0x000d000d000d000d
DATA ·k6zIdx<>+224(SB)/8, $0x000e000e000e000e
DATA ·k6zIdx<>+232(SB)/8, $0x000e000e000e000e
DATA ·k6zIdx<>+240(SB)/8, $0x000f000f000f000f
DATA ·k6zIdx<>+248(SB)/8, $0x000f000f000f000f
GLOBL ·k6zIdx<>(SB), RODATA|NOPTR, $256

// k6zShift: VPSLLVW counts 4 (low half) and 2 (high) for A, then
// VPSRLVW counts 0 and 2 for B.
DATA ·k6zShift<>+0(SB)/8, $0x0004000400040004
DATA ·k6zShift<>+8(SB)/8, $0x0004000400040004
DATA ·k6zShift<>+16(SB)/8, $0x0004000400040004
DATA ·k6zShift<>+24(SB)/8, $0x0004000400040004
DATA ·k6zShift<>+32(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+40(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+48(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+56(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+64(SB)/8, $0x0000000000000000
DATA ·k6zShift<>+72(SB)/8, $0x0000000000000000
DATA ·k6zShift<>+80(SB)/8, $0x0000000000000000
DATA ·k6zShift<>+88(SB)/8, $0x0000000000000000
DATA ·k6zShift<>+96(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+104(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+112(SB)/8, $0x0002000200020002
DATA ·k6zShift<>+120(SB)/8, $0x0002000200020002
GLOBL ·k6zShift<>(SB), RODATA|NOPTR, $128

// Half H of the super-block at SI against the Q8_K block at DI, its two
// vectors' scales picked by IA and IB, added to Z11.
#define K6Z_HALF(H, IA, IB) \
	VMOVDQU64 (64*H)(SI), Z7; \
	VBROADCASTI64X4 (128+32*H)(SI), Z8; \
	VPANDD Z15, Z7, Z9; \
	VPSLLVW Z16, Z8, Z10; \
	VPTERNLOGD $0xf8, Z14, Z10, Z9; \
	VPSRLW $4, Z7, Z7; \
	VPANDD Z15, Z7, Z7; \
	VPSRLVW Z17, Z8, Z8; \
	VPTERNLOGD $0xf8, Z14, Z8, Z7; \
	VPMADDUBSW (4+128*H)(DI), Z9, Z9; \
	VPERMW Z6, IA, Z10; \
	VPDPWSSD Z10, Z9, Z11; \
	VPMADDUBSW (68+128*H)(DI), Z7, Z7; \
	VPERMW Z6, IB, Z10; \
	VPDPWSSD Z10, Z7, Z11

// func rowsQ6_KVNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ6_KVNNI(SB), NOSPLIT, $0-48
	K_ROWS_ARGS
	KZ_CONSTS(·k6zIdx<>)
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z14
	VMOVDQU64 ·k6zShift<>+0(SB), Z16
	VMOVDQU64 ·k6zShift<>+64(SB), Z17
	TESTQ R14, R14
	JZ k6zdone
k6zrow:
	ROW_START
	TESTQ CX, CX
	JZ k6zend
k6zloop:
	K_PFZ(0)
	K_PFZ(64)
	K_PFZ(128)
	K_PFZ(192)
	VPXORD Z11, Z11, Z11
	VPMOVSXBW 192(SI), Y6
	K6Z_HALF(0, Z24, Z25)
	K6Z_HALF(1, Z26, Z27)
	// The offset 32 of every level: subtract 32·sum(scale_g·bsum_g).
	VPMADDWD 260(DI), Y6, Y13
	VPSLLD $5, Y13, Y13
	VPSUBD Z13, Z11, Z11
	SCALE(208, X12)
	ADDQ $210, SI
	K4Z_NEXT(k6zloop)
k6zend:
	K4Z_ROW_END(k6zrow)
k6zdone:
	VZEROUPPER
	RET

// rowsQ4_KAVX2R is rowsQ4_KAVX2 for decode, on the records of
// rowsQ4_KVNNI (decRecordsQ8_KAVX2): each sub-block's activations at a
// fixed offset, the mins' sums of 32 ready as words, dy in four lanes. Its
// head is that of rowsQ4_KVNNI but for the scales (K4R_SCALES_FRAME), and
// each sub-block's scale, which is the same for the whole VPMADDUBSW
// result, comes as a broadcast load of the word twice (written once per
// super-block to the frame) instead of a VPSHUFB of the scale vector:
// eight shuffles fewer per super-block, on the ports the unpacking and
// the multiplies also need. The scales of the next super-block are
// unpacked at the end of each step, so that their frame stores are long
// done when the broadcasts load them, and the pairs' sums are added as a
// tree started by pair 0 (no clearing, a chain of four adds, not eight).

// Pair J: its nibbles (sub-blocks 2J and 2J+1) against the records' values
// at XL and XH, the scales at (8J)(SP) and (8J+4)(SP), added to Y11.
#define K4R_PAIR(J, XL, XH) \
	K4R_PAIR_DOTS(J, XL, XH); \
	VPADDD Y8, Y9, Y8; \
	VPADDD Y8, Y11, Y11

// Pair J's two sub-blocks' scaled int32 sums in Y8 and Y9.
#define K4R_PAIR_DOTS(J, XL, XH) \
	VMOVDQU (16+32*J)(SI), Y7; \
	VPAND Y15, Y7, Y8; \
	VPSRLW $4, Y7, Y9; \
	VPAND Y15, Y9, Y9; \
	VPMADDUBSW XL(DI), Y8, Y8; \
	VPMADDUBSW XH(DI), Y9, Y9; \
	VPBROADCASTD (8*J)(SP), Y10; \
	VPMADDWD Y10, Y8, Y8; \
	VPBROADCASTD (8*J+4)(SP), Y10; \
	VPMADDWD Y10, Y9, Y9

// func rowsQ4_KAVX2R(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·rowsQ4_KAVX2R(SB), NOSPLIT, $32-48
	K_ROWS_ARGS
	MOVQ $0x000000ff000000ff, R10
	TESTQ R14, R14
	JZ k4rdone
k4rrow:
	ROW_START
	TESTQ CX, CX
	JZ k4rend
	K4R_SCALES_FRAME
k4rloop:
	K_PF(0)
	K_PF(64)
	K_PF(128)
	K4R_D
	K4R_MINVEC
	// Pair 0 starts the block's sums.
	K4R_PAIR_DOTS(0, 64, 128)
	VPADDD Y8, Y9, Y11
	K4R_PAIR(1, 96, 160)
	K4R_PAIR(2, 192, 256)
	K4R_PAIR(3, 224, 288)
	K4_FOLD
	ADDQ $144, SI
	ADDQ $320, DI
	DECQ CX
	JZ k4rend
	// The next super-block's scales, a block ahead of their broadcasts.
	K4R_SCALES_FRAME
	JMP k4rloop
k4rend:
	K_ROW_END(k4rrow)
k4rdone:
	VZEROUPPER
	RET
