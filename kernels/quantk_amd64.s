#include "textflag.h"

// Quantisers of the token to Q8_K for the K-quants' dot products (decode
// and prefill): ggml's quantize_row_q8_K, bit for bit, on finite rows.
//
// ggml's reference takes vmax, the first value of largest magnitude,
// iscale = -127/vmax, q = min(127, nearest_int(iscale·x)), d = 1/iscale
// and the sums of q over each 16 values as int16; a block whose values are
// all zero is all zeros. The quantiser before this one (quantQ8_KAVX2 in
// decode_amd64.s) spent about 170 cycles a block on one chain of 32
// VMAXPS, a second pass for vmax and two dependent scalar divides. Here:
//
//   - amax and vmax in one pass without a chain: the signed maximum of the
//     bits is the largest value of the non-negative ones (if any), the
//     unsigned maximum the negative value of largest magnitude (if any),
//     so vmax is whichever of the two is larger in magnitude; four
//     accumulators of each. Only a tie between a positive and a negative
//     value needs to know which came first: a scalar scan, rare.
//   - a NaN or infinity in any block makes one of the two maxima's
//     magnitude exceed the largest finite float, so the finite check is
//     one compare per block.
//   - up to eight blocks a step: their maxima go to the frame, and one
//     VDIVPS gives the eight iscale, another the eight d. A block of
//     zeros takes vmax -0, so iscale is +Inf and d is +0; where iscale
//     is infinite (also for amax below 127/FLT_MAX, where ggml's
//     nearest_int of ±Inf and of NaN both give a low byte of 0) the
//     values are quantised with 0 in its place, giving ggml's zeros
//     without a branch.
//   - VCVTPS2DQ rounds to nearest even as nearest_int does for these
//     magnitudes (|iscale·x| <= 127 up to rounding), so the saturating
//     packs never clamp, and the sums of 16 come from the packed bytes
//     by VPMADDUBSW/VPMADDWD and two levels of VPHADDD per 128 values.
//
// Assembly because simd/archsimd has no VPHADDD, VPMADDUBSW or
// VPBLENDVB with the needed forms, as for the other decode kernels.
//
// Frame: 0 the blocks' signed maxima, then their iscale; 32 the unsigned
// maxima, then d; 64 vmax while the tie scan patches it.

// QK_MAX4 folds the 32 values at OFF(R8) into the signed (Y0-Y3) and
// unsigned (Y4-Y7) maxima of the bits.
#define QK_MAX4(OFF) \
	VPMAXSD OFF(R8), Y0, Y0; \
	VPMAXSD OFF+32(R8), Y1, Y1; \
	VPMAXSD OFF+64(R8), Y2, Y2; \
	VPMAXSD OFF+96(R8), Y3, Y3; \
	VPMAXUD OFF(R8), Y4, Y4; \
	VPMAXUD OFF+32(R8), Y5, Y5; \
	VPMAXUD OFF+64(R8), Y6, Y6; \
	VPMAXUD OFF+96(R8), Y7, Y7

// QK_GROUP quantises the 32 values at OFF(R8) by Y9 to q at 4+OFF/4(R9)
// and leaves in V the eight sums of four q (lanes 0-3 the first 16).
// Y11 the VPERMD order undoing the in-lane packs, Y12 0x01 bytes, Y13
// 0x0001 words.
#define QK_GROUP(OFF, V) \
	VMULPS OFF(R8), Y9, Y0; \
	VMULPS OFF+32(R8), Y9, Y1; \
	VMULPS OFF+64(R8), Y9, Y2; \
	VMULPS OFF+96(R8), Y9, Y3; \
	VCVTPS2DQ Y0, Y0; \
	VCVTPS2DQ Y1, Y1; \
	VCVTPS2DQ Y2, Y2; \
	VCVTPS2DQ Y3, Y3; \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y3, Y2, Y2; \
	VPACKSSWB Y2, Y0, Y0; \
	VPERMD Y0, Y11, Y0; \
	VMOVDQU Y0, 4+(OFF)/4(R9); \
	VPMADDUBSW Y0, Y12, V; \
	VPMADDWD Y13, V, V

// QK_HALF quantises the 128 values at OFF(R8) and leaves their eight sums
// of 16 in Y6: lanes 0-3 those of elements 0-15 of each group of 32,
// lanes 4-7 those of elements 16-31.
#define QK_HALF(OFF) \
	QK_GROUP(OFF, Y4); \
	QK_GROUP(OFF+128, Y5); \
	VPHADDD Y5, Y4, Y6; \
	QK_GROUP(OFF+256, Y4); \
	QK_GROUP(OFF+384, Y5); \
	VPHADDD Y5, Y4, Y7; \
	VPHADDD Y7, Y6, Y6

// func quantQ8_KD(nb int, src *float32, dst *byte) (finite bool)
//
// Returns false, having written part of dst, when a value is NaN or
// infinite; the caller then quantises the row with the portable code.
//
// Registers: CX blocks left, SI/DI the step's first block, R11 blocks in
// the step, R10 block of the step, R8/R9 that block's src and dst.
TEXT ·quantQ8_KD(SB), NOSPLIT, $96-25
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JLE kdok
kdstep:
	MOVQ $8, R11
	CMPQ CX, R11
	CMOVQLT CX, R11
	// Lanes of absent blocks: 1 as both maxima, which is finite and no tie.
	VMOVDQU ·qkOne<>(SB), Y0
	VMOVDQU Y0, 0(SP)
	VMOVDQU Y0, 32(SP)
	MOVQ SI, R8
	XORQ R10, R10
kdmax:
	VMOVDQU 0(R8), Y0
	VMOVDQU 32(R8), Y1
	VMOVDQU 64(R8), Y2
	VMOVDQU 96(R8), Y3
	VMOVDQA Y0, Y4
	VMOVDQA Y1, Y5
	VMOVDQA Y2, Y6
	VMOVDQA Y3, Y7
	QK_MAX4(128)
	QK_MAX4(256)
	QK_MAX4(384)
	QK_MAX4(512)
	QK_MAX4(640)
	QK_MAX4(768)
	QK_MAX4(896)
	VPMAXSD Y1, Y0, Y0
	VPMAXSD Y3, Y2, Y2
	VPMAXUD Y5, Y4, Y4
	VPMAXUD Y7, Y6, Y6
	VPMAXSD Y2, Y0, Y0
	VPMAXUD Y6, Y4, Y4
	VEXTRACTI128 $1, Y0, X1
	VEXTRACTI128 $1, Y4, X5
	VPMAXSD X1, X0, X0
	VPMAXUD X5, X4, X4
	VPSHUFD $0x4e, X0, X1
	VPSHUFD $0x4e, X4, X5
	VPMAXSD X1, X0, X0
	VPMAXUD X5, X4, X4
	VPSHUFD $0xb1, X0, X1
	VPSHUFD $0xb1, X4, X5
	VPMAXSD X1, X0, X0
	VPMAXUD X5, X4, X4
	VMOVD X0, 0(SP)(R10*4)
	VMOVD X4, 32(SP)(R10*4)
	ADDQ $1024, R8
	INCQ R10
	CMPQ R10, R11
	JLT kdmax

	// The step's vmax, iscale and d, eight blocks at once.
	VMOVDQU 0(SP), Y0             // S: signed maxima
	VMOVDQU 32(SP), Y1            // U: unsigned maxima
	VPAND ·qkAbs<>(SB), Y0, Y2    // |S|
	VPAND ·qkAbs<>(SB), Y1, Y3    // |U|
	VPMAXUD Y3, Y2, Y4            // amax
	VPCMPGTD ·qkMaxFin<>(SB), Y4, Y5
	VMOVMSKPS Y5, AX
	TESTL AX, AX
	JNZ kdfail
	VPCMPGTD Y2, Y3, Y5           // |U| > |S|
	VPBLENDVB Y5, Y1, Y0, Y6      // vmax
	VPXOR Y7, Y7, Y7
	VPCMPEQD Y7, Y4, Y8           // amax == 0
	VPSLLD $31, Y8, Y9
	VPOR Y9, Y6, Y6               // a block of zeros takes vmax -0
	VPCMPEQD Y3, Y2, Y5           // |S| == |U|
	VPCMPEQD Y1, Y0, Y9           // S == U: no tie
	VPOR Y8, Y9, Y9
	VPANDN Y5, Y9, Y5             // ties of opposite signs
	VMOVMSKPS Y5, AX
	TESTL AX, AX
	JNZ kdtie
kdscale:
	VMOVUPS ·qkM127<>(SB), Y7
	VDIVPS Y6, Y7, Y7             // iscale = -127/vmax
	VMOVUPS ·qkOne<>(SB), Y8
	VDIVPS Y7, Y8, Y8             // d = 1/iscale
	VPAND ·qkAbs<>(SB), Y7, Y9
	VPCMPGTD ·qkMaxFin<>(SB), Y9, Y9
	VPANDN Y7, Y9, Y7             // iscale, or 0 where infinite
	VMOVDQU Y7, 0(SP)
	VMOVDQU Y8, 32(SP)

	// Quantise the step's blocks.
	VMOVDQU ·qkPerm<>(SB), Y11
	VMOVDQU ·qkOnes8<>(SB), Y12
	VMOVDQU ·qkOnes16<>(SB), Y13
	VMOVDQU ·qkSumShuf<>(SB), Y14
	MOVQ SI, R8
	MOVQ DI, R9
	XORQ R10, R10
kdquant:
	VBROADCASTSS 0(SP)(R10*4), Y9
	MOVL 32(SP)(R10*4), AX
	MOVL AX, 0(R9)
	QK_HALF(0)
	VMOVDQA Y6, Y8
	QK_HALF(512)
	// Y8 has the sums of 16 numbered 0 2 4 6 | 1 3 5 7, Y6 those of 8-15
	// likewise: pack to words, then interleave the lanes' quarters.
	VPACKSSDW Y6, Y8, Y6
	VPERMQ $0xd8, Y6, Y6
	VPSHUFB Y14, Y6, Y6
	VMOVDQU Y6, 260(R9)
	ADDQ $1024, R8
	ADDQ $292, R9
	INCQ R10
	CMPQ R10, R11
	JLT kdquant
	MOVQ R8, SI
	MOVQ R9, DI
	SUBQ R11, CX
	JNZ kdstep
kdok:
	VZEROUPPER
	MOVB $1, finite+24(FP)
	RET
kdfail:
	VZEROUPPER
	MOVB $0, finite+24(FP)
	RET
kdtie:
	// Blocks (bits of AX) whose largest positive and negative values have
	// the same magnitude: vmax is whichever comes first.
	VMOVDQU Y6, 64(SP)
kdtieblock:
	BSFL AX, BX
	MOVL 0(SP)(BX*4), DX
	ANDL $0x7fffffff, DX
	MOVQ BX, R12
	SHLQ $10, R12
	ADDQ SI, R12
kdtiescan:
	MOVL (R12), R13
	MOVL R13, R9
	ANDL $0x7fffffff, R9
	CMPL R9, DX
	JEQ kdtiefound
	ADDQ $4, R12
	JMP kdtiescan
kdtiefound:
	MOVL R13, 64(SP)(BX*4)
	BTRL BX, AX
	TESTL AX, AX
	JNZ kdtieblock
	VMOVDQU 64(SP), Y6
	JMP kdscale

DATA ·qkAbs<>+0(SB)/8, $0x7fffffff7fffffff
DATA ·qkAbs<>+8(SB)/8, $0x7fffffff7fffffff
DATA ·qkAbs<>+16(SB)/8, $0x7fffffff7fffffff
DATA ·qkAbs<>+24(SB)/8, $0x7fffffff7fffffff
GLOBL ·qkAbs<>(SB), RODATA|NOPTR, $32

DATA ·qkMaxFin<>+0(SB)/8, $0x7f7fffff7f7fffff
DATA ·qkMaxFin<>+8(SB)/8, $0x7f7fffff7f7fffff
DATA ·qkMaxFin<>+16(SB)/8, $0x7f7fffff7f7fffff
DATA ·qkMaxFin<>+24(SB)/8, $0x7f7fffff7f7fffff
GLOBL ·qkMaxFin<>(SB), RODATA|NOPTR, $32

DATA ·qkM127<>+0(SB)/8, $0xc2fe0000c2fe0000
DATA ·qkM127<>+8(SB)/8, $0xc2fe0000c2fe0000
DATA ·qkM127<>+16(SB)/8, $0xc2fe0000c2fe0000
DATA ·qkM127<>+24(SB)/8, $0xc2fe0000c2fe0000
GLOBL ·qkM127<>(SB), RODATA|NOPTR, $32

DATA ·qkOne<>+0(SB)/8, $0x3f8000003f800000
DATA ·qkOne<>+8(SB)/8, $0x3f8000003f800000
DATA ·qkOne<>+16(SB)/8, $0x3f8000003f800000
DATA ·qkOne<>+24(SB)/8, $0x3f8000003f800000
GLOBL ·qkOne<>(SB), RODATA|NOPTR, $32

DATA ·qkOnes8<>+0(SB)/8, $0x0101010101010101
DATA ·qkOnes8<>+8(SB)/8, $0x0101010101010101
DATA ·qkOnes8<>+16(SB)/8, $0x0101010101010101
DATA ·qkOnes8<>+24(SB)/8, $0x0101010101010101
GLOBL ·qkOnes8<>(SB), RODATA|NOPTR, $32

DATA ·qkOnes16<>+0(SB)/8, $0x0001000100010001
DATA ·qkOnes16<>+8(SB)/8, $0x0001000100010001
DATA ·qkOnes16<>+16(SB)/8, $0x0001000100010001
DATA ·qkOnes16<>+24(SB)/8, $0x0001000100010001
GLOBL ·qkOnes16<>(SB), RODATA|NOPTR, $32

DATA ·qkPerm<>+0(SB)/8, $0x0000000400000000
DATA ·qkPerm<>+8(SB)/8, $0x0000000500000001
DATA ·qkPerm<>+16(SB)/8, $0x0000000600000002
DATA ·qkPerm<>+24(SB)/8, $0x0000000700000003
GLOBL ·qkPerm<>(SB), RODATA|NOPTR, $32

DATA ·qkSumShuf<>+0(SB)/8, $0x0b0a030209080100
DATA ·qkSumShuf<>+8(SB)/8, $0x0f0e07060d0c0504
DATA ·qkSumShuf<>+16(SB)/8, $0x0b0a030209080100
DATA ·qkSumShuf<>+24(SB)/8, $0x0f0e07060d0c0504
GLOBL ·qkSumShuf<>(SB), RODATA|NOPTR, $32
