#include "textflag.h"

// Quantisers of the token to Q8_K for the K-quants' dot products (decode
// and prefill): ggml's quantize_row_q8_K, bit for bit, on finite rows.
//
// ggml's reference takes vmax, the first value of largest magnitude,
// iscale = -127/vmax, q = min(127, nearest_int(iscale·x)), d = 1/iscale
// and the sums of q over each 16 values as int16; a block whose values are
// all zero is all zeros. The quantiser before this one spent about 170
// cycles a block on one chain of 32 VMAXPS, a second pass for vmax and two
// dependent scalar divides (40 ns a block on this machine's EPYC; these
// take 17 on avx2 and 12 on avx512, BenchmarkQuantQ8_K). Here:
//
//   - amax and vmax in one pass without a chain: the signed maximum of the
//     bits is the largest value of the non-negative ones (if any), the
//     unsigned maximum the negative value of largest magnitude (if any),
//     so vmax is whichever of the two is larger in magnitude; four
//     accumulators of each, each vector loaded once for both. Only a tie
//     between a positive and a negative value needs to know which came
//     first: a scalar scan, rare.
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
// Assembly, like the other decode kernels: simd/archsimd converts floats
// to int32 only by truncation (VCVTTPS2DQ; rounding first would cost a
// VROUNDPS a vector) and has no VPDPBUSD.
//
// Frame: 0 the blocks' signed maxima, then their iscale; 32 the unsigned
// maxima, then d; 64 vmax while the tie scan patches it.

// QK_MAX_FIRST starts the signed (S0-S3) and unsigned (U0-U3) maxima of
// the bits with the four vectors of W bytes at R8, loaded by MOV.
#define QK_MAX_FIRST(MOV, W, S0, S1, S2, S3, U0, U1, U2, U3) \
	MOV 0(R8), S0; \
	MOV W(R8), S1; \
	MOV 2*W(R8), S2; \
	MOV 3*W(R8), S3; \
	MOV S0, U0; \
	MOV S1, U1; \
	MOV S2, U2; \
	MOV S3, U3

// QK_MAX4 folds the four vectors of W bytes at OFF(R8), loaded once by
// MOV to T0-T3, into the maxima.
#define QK_MAX4(OFF, W, MOV, S0, S1, S2, S3, U0, U1, U2, U3, T0, T1, T2, T3) \
	MOV OFF(R8), T0; \
	MOV OFF+W(R8), T1; \
	MOV OFF+2*W(R8), T2; \
	MOV OFF+3*W(R8), T3; \
	VPMAXSD T0, S0, S0; \
	VPMAXSD T1, S1, S1; \
	VPMAXSD T2, S2, S2; \
	VPMAXSD T3, S3, S3; \
	VPMAXUD T0, U0, U0; \
	VPMAXUD T1, U1, U1; \
	VPMAXUD T2, U2, U2; \
	VPMAXUD T3, U3, U3

#define QK_MAXY(OFF) QK_MAX4(OFF, 32, VMOVDQU, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y15)
#define QK_MAXZ(OFF) QK_MAX4(OFF, 64, VMOVDQU32, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z15)

// QK_PACK quantises the four vectors of W bytes at OFF(R8) by S and
// stores the q, in order (P the VPERMD order undoing the in-lane packs),
// to 4+OFF/4(R9) by MOV; they stay in R0.
#define QK_PACK(OFF, W, MOV, R0, R1, R2, R3, S, P) \
	VMULPS OFF(R8), S, R0; \
	VMULPS OFF+W(R8), S, R1; \
	VMULPS OFF+2*W(R8), S, R2; \
	VMULPS OFF+3*W(R8), S, R3; \
	VCVTPS2DQ R0, R0; \
	VCVTPS2DQ R1, R1; \
	VCVTPS2DQ R2, R2; \
	VCVTPS2DQ R3, R3; \
	VPACKSSDW R1, R0, R0; \
	VPACKSSDW R3, R2, R2; \
	VPACKSSWB R2, R0, R0; \
	VPERMD R0, P, R0; \
	MOV R0, 4+(OFF)/4(R9)

// QK_NEXT_MAX goes to the next block of the step's first pass, at LOOP.
#define QK_NEXT_MAX(LOOP) \
	ADDQ $1024, R8; \
	INCQ R10; \
	CMPQ R10, R11; \
	JLT LOOP

// QK_BLOCK starts quantising block R10 of the step: its iscale to all
// lanes of S, its d to the block.
#define QK_BLOCK(S) \
	VBROADCASTSS 0(SP)(R10*4), S; \
	MOVL 32(SP)(R10*4), AX; \
	MOVL AX, 0(R9)

// QK_NEXT_QUANT goes to the step's next block, at LOOP, or to the next
// step, at STEP, or falls through when all are done.
#define QK_NEXT_QUANT(LOOP, STEP) \
	ADDQ $1024, R8; \
	ADDQ $292, R9; \
	INCQ R10; \
	CMPQ R10, R11; \
	JLT LOOP; \
	MOVQ R8, SI; \
	MOVQ R9, DI; \
	SUBQ R11, CX; \
	JNZ STEP

// QK_RET returns V as finite.
#define QK_RET(V) \
	VZEROUPPER; \
	MOVB $V, finite+24(FP); \
	RET

// QK_ARGS loads the arguments: CX blocks, SI src, DI dst; none: to DONE.
#define QK_ARGS(DONE) \
	MOVQ nb+0(FP), CX; \
	MOVQ src+8(FP), SI; \
	MOVQ dst+16(FP), DI; \
	TESTQ CX, CX; \
	JLE DONE

// QK_GROUP quantises the 32 values at OFF(R8) by Y9 to q at 4+OFF/4(R9)
// and leaves in V the eight sums of four q (lanes 0-3 the first 16).
// Y11 the VPERMD order undoing the in-lane packs, Y12 0x01 bytes, Y13
// 0x0001 words.
#define QK_GROUP(OFF, V) \
	QK_PACK(OFF, 32, VMOVDQU, Y0, Y1, Y2, Y3, Y9, Y11); \
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

// QK_STEP starts a step of R11 = min(CX, 8) blocks at SI: the frame's
// lanes of absent blocks take 1 as both maxima, finite and no tie.
#define QK_STEP \
	MOVQ $8, R11; \
	CMPQ CX, R11; \
	CMOVQLT CX, R11; \
	VMOVDQU ·qkOne<>(SB), Y0; \
	VMOVDQU Y0, 0(SP); \
	VMOVDQU Y0, 32(SP); \
	MOVQ SI, R8; \
	XORQ R10, R10

// QK_FOLD4 folds the four accumulators of each maximum into S0 (signed,
// S0-S3) and U0 (unsigned, U0-U3).
#define QK_FOLD4(S0, S1, S2, S3, U0, U1, U2, U3) \
	VPMAXSD S1, S0, S0; \
	VPMAXSD S3, S2, S2; \
	VPMAXUD U1, U0, U0; \
	VPMAXUD U3, U2, U2; \
	VPMAXSD S2, S0, S0; \
	VPMAXUD U2, U0, U0

// QK_FOLD_LANES folds the lanes of Y0 and Y4 and stores the maxima of
// block R10 to the frame.
#define QK_FOLD_LANES \
	VEXTRACTI128 $1, Y0, X1; \
	VEXTRACTI128 $1, Y4, X5; \
	VPMAXSD X1, X0, X0; \
	VPMAXUD X5, X4, X4; \
	VPSHUFD $0x4e, X0, X1; \
	VPSHUFD $0x4e, X4, X5; \
	VPMAXSD X1, X0, X0; \
	VPMAXUD X5, X4, X4; \
	VPSHUFD $0xb1, X0, X1; \
	VPSHUFD $0xb1, X4, X5; \
	VPMAXSD X1, X0, X0; \
	VPMAXUD X5, X4, X4; \
	VMOVD X0, 0(SP)(R10*4); \
	VMOVD X4, 32(SP)(R10*4)

// QK_SCALES turns the step's maxima in the frame into iscale (0 where
// infinite) at 0(SP) and d at 32(SP), eight blocks at once, and goes to
// FAIL if a block has a NaN or an infinity. Ties of opposite signs are
// settled by a scalar scan of the block (bits of AX) for the first value
// of that magnitude. Uses Y0-Y9, AX, BX, DX, R9 (the scan's scratch),
// R12, R13, and leaves R8, R9 and R10 at the step's first block for the
// quantising loop.
#define QK_SCALES(FAIL) \
	VMOVDQU 0(SP), Y0; \
	VMOVDQU 32(SP), Y1; \
	VPAND ·qkAbs<>(SB), Y0, Y2; \
	VPAND ·qkAbs<>(SB), Y1, Y3; \
	VPMAXUD Y3, Y2, Y4; \
	VPCMPGTD ·qkMaxFin<>(SB), Y4, Y5; \
	VMOVMSKPS Y5, AX; \
	TESTL AX, AX; \
	JNZ FAIL; \
	VPCMPGTD Y2, Y3, Y5; \
	VPBLENDVB Y5, Y1, Y0, Y6; \
	VPXOR Y7, Y7, Y7; \
	VPCMPEQD Y7, Y4, Y8; \
	VPSLLD $31, Y8, Y9; \
	VPOR Y9, Y6, Y6; \
	VPCMPEQD Y3, Y2, Y5; \
	VPCMPEQD Y1, Y0, Y9; \
	VPOR Y8, Y9, Y9; \
	VPANDN Y5, Y9, Y5; \
	VMOVMSKPS Y5, AX; \
	TESTL AX, AX; \
	JNZ qktie; \
qkscale: \
	VMOVUPS ·qkM127<>(SB), Y7; \
	VDIVPS Y6, Y7, Y7; \
	VMOVUPS ·qkOne<>(SB), Y8; \
	VDIVPS Y7, Y8, Y8; \
	VPAND ·qkAbs<>(SB), Y7, Y9; \
	VPCMPGTD ·qkMaxFin<>(SB), Y9, Y9; \
	VPANDN Y7, Y9, Y7; \
	VMOVDQU Y7, 0(SP); \
	VMOVDQU Y8, 32(SP); \
	JMP qkscaled; \
qktie: \
	VMOVDQU Y6, 64(SP); \
qktieblock: \
	BSFL AX, BX; \
	MOVL 0(SP)(BX*4), DX; \
	ANDL $0x7fffffff, DX; \
	MOVQ BX, R12; \
	SHLQ $10, R12; \
	ADDQ SI, R12; \
qktiescan: \
	MOVL (R12), R13; \
	MOVL R13, R9; \
	ANDL $0x7fffffff, R9; \
	CMPL R9, DX; \
	JEQ qktiefound; \
	ADDQ $4, R12; \
	JMP qktiescan; \
qktiefound: \
	MOVL R13, 64(SP)(BX*4); \
	BTRL BX, AX; \
	TESTL AX, AX; \
	JNZ qktieblock; \
	VMOVDQU 64(SP), Y6; \
	JMP qkscale; \
qkscaled: \
	MOVQ SI, R8; \
	MOVQ DI, R9; \
	XORQ R10, R10

// func quantQ8_KD(nb int, src *float32, dst *byte) (finite bool)
//
// The AVX2 quantiser. Returns false, having written part of dst, when a
// value is NaN or infinite; the caller then quantises the row with the
// portable code.
//
// Registers: CX blocks left, SI/DI the step's first block, R11 blocks in
// the step, R10 block of the step, R8/R9 that block's src and dst; Y11
// the VPERMD order undoing the in-lane packs, Y12 0x01 bytes, Y13 0x0001
// words, Y14 the VPSHUFB order of the sums.
TEXT ·quantQ8_KD(SB), NOSPLIT, $96-25
	QK_ARGS(kdok)
	VMOVDQU ·qkPerm<>(SB), Y11
	VMOVDQU ·qkOnes8<>(SB), Y12
	VMOVDQU ·qkOnes16<>(SB), Y13
	VMOVDQU ·qkSumShuf<>(SB), Y14
kdstep:
	QK_STEP
kdmax:
	QK_MAX_FIRST(VMOVDQU, 32, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	QK_MAXY(128)
	QK_MAXY(256)
	QK_MAXY(384)
	QK_MAXY(512)
	QK_MAXY(640)
	QK_MAXY(768)
	QK_MAXY(896)
	QK_FOLD4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	QK_FOLD_LANES
	QK_NEXT_MAX(kdmax)
	QK_SCALES(kdfail)
kdquant:
	QK_BLOCK(Y9)
	QK_HALF(0)
	VMOVDQA Y6, Y8
	QK_HALF(512)
	// Y8 has the sums of 16 numbered 0 2 4 6 | 1 3 5 7, Y6 those of 8-15
	// likewise: pack to words, then interleave the lanes' quarters.
	VPACKSSDW Y6, Y8, Y6
	VPERMQ $0xd8, Y6, Y6
	VPSHUFB Y14, Y6, Y6
	VMOVDQU Y6, 260(R9)
	QK_NEXT_QUANT(kdquant, kdstep)
kdok:
	QK_RET(1)
kdfail:
	QK_RET(0)

// QKZ_QUARTER quantises the 64 values at OFF(R8) by Z9 to q at
// 4+OFF/4(R9) and leaves in V the sixteen sums of four q (each 128-bit
// lane those of one 16). Z11 the VPERMD order undoing the in-lane packs,
// Z12 0x01 bytes.
#define QKZ_QUARTER(OFF, V) \
	QK_PACK(OFF, 64, VMOVDQU32, Z0, Z1, Z2, Z3, Z9, Z11); \
	VPXORD V, V, V; \
	VPDPBUSD Z0, Z12, V

// func quantQ8_KZ(nb int, src *float32, dst *byte) (finite bool)
//
// The AVX-512 (VNNI) quantiser: as quantQ8_KD with 64-byte vectors, the
// bytes' sums of four by VPDPBUSD, and each block's 16 sums of 16 by a
// 4x4 transpose of the four quarters' 128-bit lanes (unpacks and adds),
// the VPERMD of the values (a transpose too) and VPMOVDW to words.
// Registers as quantQ8_KD's.
TEXT ·quantQ8_KZ(SB), NOSPLIT, $96-25
	QK_ARGS(kzok)
	VMOVDQU32 ·qkzPerm<>(SB), Z11
	VPBROADCASTD ·qkOnes8<>(SB), Z12
kzstep:
	QK_STEP
kzmax:
	QK_MAX_FIRST(VMOVDQU32, 64, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	QK_MAXZ(256)
	QK_MAXZ(512)
	QK_MAXZ(768)
	QK_FOLD4(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	VEXTRACTI64X4 $1, Z0, Y1
	VEXTRACTI64X4 $1, Z4, Y5
	VPMAXSD Y1, Y0, Y0
	VPMAXUD Y5, Y4, Y4
	QK_FOLD_LANES
	QK_NEXT_MAX(kzmax)
	QK_SCALES(kzfail)
kzquant:
	QK_BLOCK(Z9)
	QKZ_QUARTER(0, Z4)
	QKZ_QUARTER(256, Z5)
	QKZ_QUARTER(512, Z6)
	QKZ_QUARTER(768, Z7)
	// Lane L of Zi: the four sums of four of q's 16s number 4i+L; the
	// unpacks and adds leave the sum of each lane's four in dword 4L+i.
	VPUNPCKLDQ Z5, Z4, Z8
	VPUNPCKHDQ Z5, Z4, Z4
	VPADDD Z8, Z4, Z4
	VPUNPCKLDQ Z7, Z6, Z8
	VPUNPCKHDQ Z7, Z6, Z6
	VPADDD Z8, Z6, Z6
	VPUNPCKLQDQ Z6, Z4, Z8
	VPUNPCKHQDQ Z6, Z4, Z4
	VPADDD Z8, Z4, Z4
	VPERMD Z4, Z11, Z4
	VPMOVDW Z4, 260(R9)
	QK_NEXT_QUANT(kzquant, kzstep)
kzok:
	QK_RET(1)
kzfail:
	QK_RET(0)

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

// The order of the dwords of a 4x4 transpose of 128-bit lanes.
DATA ·qkzPerm<>+0(SB)/8, $0x0000000400000000
DATA ·qkzPerm<>+8(SB)/8, $0x0000000c00000008
DATA ·qkzPerm<>+16(SB)/8, $0x0000000500000001
DATA ·qkzPerm<>+24(SB)/8, $0x0000000d00000009
DATA ·qkzPerm<>+32(SB)/8, $0x0000000600000002
DATA ·qkzPerm<>+40(SB)/8, $0x0000000e0000000a
DATA ·qkzPerm<>+48(SB)/8, $0x0000000700000003
DATA ·qkzPerm<>+56(SB)/8, $0x0000000f0000000b
GLOBL ·qkzPerm<>(SB), RODATA|NOPTR, $64
