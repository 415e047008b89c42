#include "textflag.h"

// Float dot products for F32, F16 and BF16 weights with F32 activations.
// In assembly because
// simd/archsimd has no VCVTPH2PS (F16 to F32), and Go's scalar loop
// converts one half at a time.
//
// Register plan (dots): CX steps of 32 elements, SI weights, DI x;
// Y0-Y3 four independent accumulators (FMA latency 4), Y4-Y7 converted
// weights. Callers do the n%32 tail in Go.

// The sum of A0-A3's lanes (X0 A0's low half), stored at OUT; X12 a
// temporary.
#define HSUM4TO(A0, A1, A2, A3, X0, OUT) \
	VADDPS A1, A0, A0; \
	VADDPS A3, A2, A2; \
	VADDPS A2, A0, A0; \
	VEXTRACTF128 $1, A0, X12; \
	VADDPS X12, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	MOVSS X0, OUT

#define HSUM4 \
	HSUM4TO(Y0, Y1, Y2, Y3, X0, ret+24(FP)); \
	VZEROUPPER; \
	RET

// Thirty-two F16 (or BF16) weights at SI to float32 in Y4-Y7.
#define F16CVT4 \
	VCVTPH2PS (SI), Y4; \
	VCVTPH2PS 16(SI), Y5; \
	VCVTPH2PS 32(SI), Y6; \
	VCVTPH2PS 48(SI), Y7

#define BF16CVT4 \
	VPMOVZXWD (SI), Y4; \
	VPMOVZXWD 16(SI), Y5; \
	VPMOVZXWD 32(SI), Y6; \
	VPMOVZXWD 48(SI), Y7; \
	VPSLLD $16, Y4, Y4; \
	VPSLLD $16, Y5, Y5; \
	VPSLLD $16, Y6, Y6; \
	VPSLLD $16, Y7, Y7

#define DOT_PROLOGUE \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	SHRQ $5, CX

// Y4-Y7 times the 32 floats at X, added to A0-A3; X moves on.
#define FMA4ON(X, A0, A1, A2, A3) \
	VFMADD231PS (X), Y4, A0; \
	VFMADD231PS 32(X), Y5, A1; \
	VFMADD231PS 64(X), Y6, A2; \
	VFMADD231PS 96(X), Y7, A3; \
	ADDQ $128, X

#define FMA4 FMA4ON(DI, Y0, Y1, Y2, Y3)

// Two tokens a pass (tile2F16F32AVX2, tile2BF16F32AVX2): each weight
// converted once serves both, where the dots convert it once per token
// (the conversion, not the FMA, bounds the dots). Each token's sums take
// the dots' four accumulators and their HSUM4 order, so a token gets the
// bits its dot gets. Two tokens, not four: four would take sixteen
// accumulators, every Y register there is without AVX-512.
//
// Register plan: CX steps of 32 elements, SI weights, DI the first
// token's x, R8 the second's; Y0-Y3 and Y8-Y11 their accumulators, Y4-Y7
// the converted weights.

#define TILE2_PROLOGUE \
	DOT_PROLOGUE; \
	MOVQ DI, R8; \
	ADDQ xstride+24(FP), R8; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11; \
	TESTQ CX, CX

#define FMA4X2 \
	FMA4; \
	FMA4ON(R8, Y8, Y9, Y10, Y11)

#define TILE2_END \
	MOVQ out+32(FP), AX; \
	MOVQ ostride+40(FP), BX; \
	HSUM4TO(Y0, Y1, Y2, Y3, X0, (AX)); \
	HSUM4TO(Y8, Y9, Y10, Y11, X8, (AX)(BX*1)); \
	VZEROUPPER; \
	RET

// func dotF16F32AVX2(n int, w *uint16, x *float32) float32
TEXT ·dotF16F32AVX2(SB), NOSPLIT, $0-28
	DOT_PROLOGUE
	JZ f16done
f16loop:
	F16CVT4
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
	BF16CVT4
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

// func tile2F16F32AVX2(n int, w *uint16, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile2F16F32AVX2(SB), NOSPLIT, $0-48
	TILE2_PROLOGUE
	JZ t2f16done
t2f16loop:
	F16CVT4
	FMA4X2
	ADDQ $64, SI
	DECQ CX
	JNZ t2f16loop
t2f16done:
	TILE2_END

// func tile2BF16F32AVX2(n int, w *uint16, x *float32, xstride int, out *float32, ostride int)
TEXT ·tile2BF16F32AVX2(SB), NOSPLIT, $0-48
	TILE2_PROLOGUE
	JZ t2bf16done
t2bf16loop:
	BF16CVT4
	FMA4X2
	ADDQ $64, SI
	DECQ CX
	JNZ t2bf16loop
t2bf16done:
	TILE2_END
