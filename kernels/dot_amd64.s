#include "textflag.h"
#include "hsum_amd64.h"

// AVX2 dot products of one weight row with Q8_0 activations. Same
// arithmetic as ggml's: |w| times x·sign(w) with VPMADDUBSW (one operand
// must be unsigned), pairs widened with VPMADDWD, each block's 8 partial
// sums converted to float and scaled by d_w·d_x with an FMA. The block
// scales are F16, converted with F16C's VCVTPH2PS. Written in assembly
// because the simd/archsimd version of this loop ran ten times slower than
// plain Go on this machine.

// func dotQ8_0Q8_0AVX2(nb int, w, x *byte) float32
TEXT ·dotQ8_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VPCMPEQW Y7, Y7, Y7
	VPSRLW $15, Y7, Y7 // every word 1
	TESTQ CX, CX
	JZ q8done

q8loop:
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	MOVWLZX (DI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS X2, X1, X1
	VBROADCASTSS X1, Y1

	VMOVDQU 2(SI), Y2
	VMOVDQU 2(DI), Y3
	VPSIGNB Y2, Y3, Y3
	VPABSB Y2, Y2
	VPMADDUBSW Y3, Y2, Y4
	VPMADDWD Y7, Y4, Y4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS Y1, Y4, Y0

	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q8loop

q8done:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0Q8_0AVX2(nb int, w, x *byte) float32
TEXT ·dotQ4_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VPCMPEQW Y7, Y7, Y7
	VPSRLW $15, Y7, Y7 // every word 1
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X6
	VPBROADCASTD X6, Y6 // low-nibble mask
	MOVL $0x08080808, AX
	VMOVD AX, X5
	VPBROADCASTD X5, Y5 // the Q4_0 offset 8
	TESTQ CX, CX
	JZ q4done

q4loop:
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	MOVWLZX (DI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VMULSS X2, X1, X1
	VBROADCASTSS X1, Y1

	// Element j is the low nibble of byte j, element j+16 the high one.
	VMOVDQU 2(SI), X2
	VPSRLW $4, X2, X3
	VINSERTI128 $1, X3, Y2, Y2
	VPAND Y6, Y2, Y2
	VPSUBB Y5, Y2, Y2

	VMOVDQU 2(DI), Y3
	VPSIGNB Y2, Y3, Y3
	VPABSB Y2, Y2
	VPMADDUBSW Y3, Y2, Y4
	VPMADDWD Y7, Y4, Y4
	VCVTDQ2PS Y4, Y4
	VFMADD231PS Y1, Y4, Y0

	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ q4loop

q4done:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
