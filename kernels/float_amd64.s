#include "textflag.h"
#include "hsum_amd64.h"

// Float dot products for F32, F16 and BF16 weights with F32 activations,
// and those types' tiles for prompts. In assembly because
// simd/archsimd has no VCVTPH2PS (F16 to F32), and Go's scalar loop
// converts one half at a time.
//
// Register plan (dots): CX steps of 32 elements, SI weights, DI x;
// Y0-Y3 four independent accumulators (FMA latency 4), Y4-Y7 converted
// weights. Callers do the n%32 tail in Go.

#define HSUM4 \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	HSUM8(Y0, X0, X1); \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

#define DOT_PROLOGUE \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	SHRQ $5, CX

#define FMA4 \
	VFMADD231PS (DI), Y4, Y0; \
	VFMADD231PS 32(DI), Y5, Y1; \
	VFMADD231PS 64(DI), Y6, Y2; \
	VFMADD231PS 96(DI), Y7, Y3; \
	ADDQ $128, DI

// The float tiles of two weight rows by four tokens (tile2x4F16AVX2,
// tile2x4BF16AVX2, tile2x4F32AVX2), for a prompt's products: each weight
// loaded (and converted) once serves four tokens and each token's floats
// loaded once serve two rows, so the FMAs, not the conversions or the
// loads, bound them. Each (row, token) sums in one accumulator, eight
// elements a step: eight chains, as many as FMA's latency (4) times its
// rate (2 a cycle) needs.
//
// Register plan: CX steps of 8 elements, SI row 0's weights, R9 row 1's,
// DI token 0's floats and R10, R11 the strides of tokens 1 (and 2) and 3;
// Y0-Y3 row 0's sums for tokens 0-3, Y4-Y7 row 1's; Y8 Y9 the rows'
// converted weights, Y10-Y13 the tokens' floats.

#define T24_PROLOGUE(SHIFT) \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ SI, R9; \
	ADDQ wstride+16(FP), R9; \
	MOVQ x+24(FP), DI; \
	MOVQ xstride+32(FP), R10; \
	LEAQ (R10)(R10*2), R11; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	SHRQ $SHIFT, CX

// One step: the floats of tokens 0-3 to T0-T3, times row 0's weights
// W0 to A0-A3 and row 1's W1 to B0-B3; the weights move on WB bytes, the
// floats XB.
#define T24_FMAS(T0, T1, T2, T3, W0, W1, A0, A1, A2, A3, B0, B1, B2, B3, WB, XB) \
	VMOVUPS (DI), T0; \
	VMOVUPS (DI)(R10*1), T1; \
	VMOVUPS (DI)(R10*2), T2; \
	VMOVUPS (DI)(R11*1), T3; \
	VFMADD231PS T0, W0, A0; \
	VFMADD231PS T1, W0, A1; \
	VFMADD231PS T2, W0, A2; \
	VFMADD231PS T3, W0, A3; \
	VFMADD231PS T0, W1, B0; \
	VFMADD231PS T1, W1, B1; \
	VFMADD231PS T2, W1, B2; \
	VFMADD231PS T3, W1, B3; \
	ADDQ $WB, SI; \
	ADDQ $WB, R9; \
	ADDQ $XB, DI

// Token t's sums go to out + t·ostride, row 1's 4 bytes past row 0's.
#define T24_END \
	MOVQ out+40(FP), AX; \
	MOVQ ostride+48(FP), BX; \
	LEAQ (BX)(BX*2), DX; \
	HSUM8TO(Y0, X0, X14, (AX)); \
	HSUM8TO(Y1, X1, X14, (AX)(BX*1)); \
	HSUM8TO(Y2, X2, X14, (AX)(BX*2)); \
	HSUM8TO(Y3, X3, X14, (AX)(DX*1)); \
	HSUM8TO(Y4, X4, X14, 4(AX)); \
	HSUM8TO(Y5, X5, X14, 4(AX)(BX*1)); \
	HSUM8TO(Y6, X6, X14, 4(AX)(BX*2)); \
	HSUM8TO(Y7, X7, X14, 4(AX)(DX*1)); \
	VZEROUPPER; \
	RET

// A step's weights at M to float32 in R: eight (Y) or sixteen (Z) F16,
// BF16 (the high half of a float32) or float32.
#define W_F16(M, R) VCVTPH2PS M, R
#define W_BF16(M, R) \
	VPMOVZXWD M, R; \
	VPSLLD $16, R, R
#define W_F32(M, R) VMOVUPS M, R

// A tile's whole body: the weights loaded by LOADW, WB bytes of them a
// step. Its labels are its own, so a TEXT takes it once.
#define T24Y(LOADW, WB) \
	T24_PROLOGUE(3); \
	JZ t24done; \
t24loop: \
	LOADW((SI), Y8); \
	LOADW((R9), Y9); \
	T24_FMAS(Y10, Y11, Y12, Y13, Y8, Y9, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, WB, 32); \
	DECQ CX; \
	JNZ t24loop; \
t24done: \
	T24_END

// tile4x4F16Z, tile4x4BF16Z and tile4x4F32Z take four rows by four
// tokens on the avx512 path, where 32 registers hold the sixteen sums,
// the four rows' weights and the four tokens' floats: each token's floats
// loaded once serve four rows, half the two-row tiles' loads of token
// floats per FMA (a token of the down projection's 4864 floats does not
// stay in L1).
//
// Register plan: CX steps of 16 elements, SI row 0's weights and R9, R12
// the strides of rows 1 (and 2) and 3, DI token 0's floats and R10, R11
// the tokens'; Z(4r+t) row r's sum for token t, Z16-Z19 the rows'
// weights, Z20-Z23 the tokens' floats, Y24 the sums' temporary.

#define T44Z(LOADW, WB) \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ wstride+16(FP), R9; \
	LEAQ (R9)(R9*2), R12; \
	MOVQ x+24(FP), DI; \
	MOVQ xstride+32(FP), R10; \
	LEAQ (R10)(R10*2), R11; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	SHRQ $4, CX; \
	JZ t44done; \
t44loop: \
	LOADW((SI), Z16); \
	LOADW((SI)(R9*1), Z17); \
	LOADW((SI)(R9*2), Z18); \
	LOADW((SI)(R12*1), Z19); \
	VMOVUPS (DI), Z20; \
	VMOVUPS (DI)(R10*1), Z21; \
	VMOVUPS (DI)(R10*2), Z22; \
	VMOVUPS (DI)(R11*1), Z23; \
	VFMADD231PS Z20, Z16, Z0; \
	VFMADD231PS Z21, Z16, Z1; \
	VFMADD231PS Z22, Z16, Z2; \
	VFMADD231PS Z23, Z16, Z3; \
	VFMADD231PS Z20, Z17, Z4; \
	VFMADD231PS Z21, Z17, Z5; \
	VFMADD231PS Z22, Z17, Z6; \
	VFMADD231PS Z23, Z17, Z7; \
	VFMADD231PS Z20, Z18, Z8; \
	VFMADD231PS Z21, Z18, Z9; \
	VFMADD231PS Z22, Z18, Z10; \
	VFMADD231PS Z23, Z18, Z11; \
	VFMADD231PS Z20, Z19, Z12; \
	VFMADD231PS Z21, Z19, Z13; \
	VFMADD231PS Z22, Z19, Z14; \
	VFMADD231PS Z23, Z19, Z15; \
	ADDQ $WB, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ t44loop; \
t44done: \
	MOVQ out+40(FP), AX; \
	MOVQ ostride+48(FP), BX; \
	LEAQ (BX)(BX*2), DX; \
	HSUM16TO(Z0, Y0, X0, Y24, X24, (AX)); \
	HSUM16TO(Z1, Y1, X1, Y24, X24, (AX)(BX*1)); \
	HSUM16TO(Z2, Y2, X2, Y24, X24, (AX)(BX*2)); \
	HSUM16TO(Z3, Y3, X3, Y24, X24, (AX)(DX*1)); \
	HSUM16TO(Z4, Y4, X4, Y24, X24, 4(AX)); \
	HSUM16TO(Z5, Y5, X5, Y24, X24, 4(AX)(BX*1)); \
	HSUM16TO(Z6, Y6, X6, Y24, X24, 4(AX)(BX*2)); \
	HSUM16TO(Z7, Y7, X7, Y24, X24, 4(AX)(DX*1)); \
	HSUM16TO(Z8, Y8, X8, Y24, X24, 8(AX)); \
	HSUM16TO(Z9, Y9, X9, Y24, X24, 8(AX)(BX*1)); \
	HSUM16TO(Z10, Y10, X10, Y24, X24, 8(AX)(BX*2)); \
	HSUM16TO(Z11, Y11, X11, Y24, X24, 8(AX)(DX*1)); \
	HSUM16TO(Z12, Y12, X12, Y24, X24, 12(AX)); \
	HSUM16TO(Z13, Y13, X13, Y24, X24, 12(AX)(BX*1)); \
	HSUM16TO(Z14, Y14, X14, Y24, X24, 12(AX)(BX*2)); \
	HSUM16TO(Z15, Y15, X15, Y24, X24, 12(AX)(DX*1)); \
	VZEROUPPER; \
	RET

// func dotF16F32AVX2(n int, w *uint16, x *float32) float32
TEXT ·dotF16F32AVX2(SB), NOSPLIT, $0-28
	DOT_PROLOGUE
	JZ f16done
f16loop:
	VCVTPH2PS (SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	FMA4
	ADDQ $64, SI
	DECQ CX
	JNZ f16loop
f16done:
	HSUM4

// func dotBF16F32AVX2(n int, w *uint16, x *float32) float32
// A BF16 value is the high half of an F32: widen and shift.
TEXT ·dotBF16F32AVX2(SB), NOSPLIT, $0-28
	DOT_PROLOGUE
	JZ bf16done
bf16loop:
	VPMOVZXWD (SI), Y4
	VPMOVZXWD 16(SI), Y5
	VPMOVZXWD 32(SI), Y6
	VPMOVZXWD 48(SI), Y7
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	FMA4
	ADDQ $64, SI
	DECQ CX
	JNZ bf16loop
bf16done:
	HSUM4

// func dotF32F32AVX2(n int, w *float32, x *float32) float32
TEXT ·dotF32F32AVX2(SB), NOSPLIT, $0-28
	DOT_PROLOGUE
	JZ f32done
f32loop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	FMA4
	ADDQ $128, SI
	DECQ CX
	JNZ f32loop
f32done:
	HSUM4

// func tile2x4F16AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile2x4F16AVX2(SB), NOSPLIT, $0-56
	T24Y(W_F16, 16)

// func tile2x4BF16AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile2x4BF16AVX2(SB), NOSPLIT, $0-56
	T24Y(W_BF16, 16)

// func tile2x4F32AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile2x4F32AVX2(SB), NOSPLIT, $0-56
	T24Y(W_F32, 32)

// func tile4x4F16Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile4x4F16Z(SB), NOSPLIT, $0-56
	T44Z(W_F16, 32)

// func tile4x4BF16Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile4x4BF16Z(SB), NOSPLIT, $0-56
	T44Z(W_BF16, 32)

// func tile4x4F32Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile4x4F32Z(SB), NOSPLIT, $0-56
	T44Z(W_F32, 64)
