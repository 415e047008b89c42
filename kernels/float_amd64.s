#include "textflag.h"

// Float dot products for F32, F16 and BF16 weights with F32 activations.
// In assembly because
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
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
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
