#include "textflag.h"
#include "vtranspose_amd64.h"

// ---------------------------------------------------------------------------
// Prefill for Q4_K weights on AVX-512 VNNI with weight rows in the lanes, as
// gemmv_amd64.s does for the legacy formats (see there for the idea).
//
// A Q4_K block of 256 has eight sub-blocks of 32 with 6-bit scales sc and
// mins m, and value = d·sc·q - dmin·m for the nibble q. With Q8_K
// activations x (scale dx, and sums of 16 values), ggml's dot product is
//   dx·(d·sum_j sc_j·(q·x)_j - dmin·sum_j m_j·sumx_j),
// both sums exact in integers. Per sub-block, eight VPDPBUSD give (q·x)_j
// for sixteen rows of one token (weights unsigned nibbles, no offset
// needed); VPMULLD by the rows' sc_j and VPADDD add it to the token's
// integer block sum (|sum| < 2^25: 63·15·128·32·8). The mins' sum is four
// VPDPWSSD of (m_2i, m_2i+1) int16 pairs of the rows by the token's
// (sumx_2i, sumx_2i+1) pairs. Then, per block and token, in float:
//   acc += (float(isum)·d - float(msum)·dmin)·dx.
// The integer sums are exact; float32 conversion of a sum above 2^24 and the
// float steps round, as the portable order does in its own way.
//
// Repacked weights, per block of 256 and 16 rows (4992 bytes):
//   0     sub-block j, register g: bytes 4g..4g+3 of the 32 nibbles of
//         sub-block j of rows 0-15 (j·512 + g·64)
//   4096  sc_j as int32 lanes (j·64)
//   4608  (m_2i | m_2i+1<<16) int16 pairs (i·64)
//   4864  d as float32   4928 dmin as float32
// Activations, per group of 16 tokens, per block, per token (304 bytes):
//   0 the 256 int8 values   256 (sumx_2i, sumx_2i+1) int16 pairs, i = 0-3
//   288 dx as float32
// Float accumulators live in acc (16 tokens × 16 floats), zeroed here.
//
// Register plan: CX blocks left, SI weights, DI the group's records, R8 acc,
//   R12 the sub-blocks' scales, R13 the pairs of sub-blocks left;
//   Z0-Z15 integer block sums, tokens 0-15   Z16-Z23 a sub-block's weights
//   Z24 its scales   Z25-Z28 four tokens' sub-block sums   Z29-Z31 temps

// Four tokens' sub-block sums Z25-Z28 cleared.
#define ZERO4 \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27; \
	VPXORD Z28, Z28, Z28

// Four tokens' sub-block sums times the rows' scales (Z24) into their
// block sums T0-T3.
#define SCALE4(T0, T1, T2, T3) \
	VPMULLD Z24, Z25, Z25; \
	VPMULLD Z24, Z26, Z26; \
	VPMULLD Z24, Z27, Z27; \
	VPMULLD Z24, Z28, Z28; \
	VPADDD Z25, T0, T0; \
	VPADDD Z26, T1, T1; \
	VPADDD Z27, T2, T2; \
	VPADDD Z28, T3, T3

// Four tokens through one sub-block (byte offset OFF in the records; R0-R3
// the tokens' record offsets), then scaled by Z24 into their block sums.
#define SUBK4(OFF, R0, R1, R2, R3, T0, T1, T2, T3) \
	ZERO4; \
	DPK4(OFF+0, Z16, R0, R1, R2, R3); \
	DPK4(OFF+4, Z17, R0, R1, R2, R3); \
	DPK4(OFF+8, Z18, R0, R1, R2, R3); \
	DPK4(OFF+12, Z19, R0, R1, R2, R3); \
	DPK4(OFF+16, Z20, R0, R1, R2, R3); \
	DPK4(OFF+20, Z21, R0, R1, R2, R3); \
	DPK4(OFF+24, Z22, R0, R1, R2, R3); \
	DPK4(OFF+28, Z23, R0, R1, R2, R3); \
	SCALE4(T0, T1, T2, T3)

// Four tokens times weight register W (record byte O of each token).
#define DPK4(O, W, R0, R1, R2, R3) \
	VPDPBUSD.BCST R0+O(DI), W, Z25; \
	VPDPBUSD.BCST R1+O(DI), W, Z26; \
	VPDPBUSD.BCST R2+O(DI), W, Z27; \
	VPDPBUSD.BCST R3+O(DI), W, Z28

// Token at record offset R (accumulator A, acc offset AO; DI at the
// block's records' byte 256): the mins' sum, the float step into acc, and
// A cleared for the next block.
#define FINK4(R, AO, A) \
	VPXORD Z29, Z29, Z29; \
	VPDPWSSD.BCST R+0(DI), Z16, Z29; \
	VPDPWSSD.BCST R+4(DI), Z17, Z29; \
	VPDPWSSD.BCST R+8(DI), Z18, Z29; \
	VPDPWSSD.BCST R+12(DI), Z19, Z29; \
	VCVTDQ2PS A, Z30; \
	VMULPS Z20, Z30, Z30; \
	VCVTDQ2PS Z29, Z29; \
	VFNMADD231PS Z21, Z29, Z30; \
	VMOVUPS AO(R8), Z31; \
	VFMADD231PS.BCST R+32(DI), Z30, Z31; \
	VMOVUPS Z31, AO(R8); \
	VPXORD A, A, A

// Sub-block J of the step: its weights (SI) and scales (R12), then all
// sixteen tokens in fours (record offsets t·304).
#define SUBBLOCK(J) \
	VMOVDQU32 J*512+0(SI), Z16; \
	VMOVDQU32 J*512+64(SI), Z17; \
	VMOVDQU32 J*512+128(SI), Z18; \
	VMOVDQU32 J*512+192(SI), Z19; \
	VMOVDQU32 J*512+256(SI), Z20; \
	VMOVDQU32 J*512+320(SI), Z21; \
	VMOVDQU32 J*512+384(SI), Z22; \
	VMOVDQU32 J*512+448(SI), Z23; \
	VMOVDQU32 J*64(R12), Z24; \
	SUBK4(J*32, 0, 304, 608, 912, Z0, Z1, Z2, Z3); \
	SUBK4(J*32, 1216, 1520, 1824, 2128, Z4, Z5, Z6, Z7); \
	SUBK4(J*32, 2432, 2736, 3040, 3344, Z8, Z9, Z10, Z11); \
	SUBK4(J*32, 3648, 3952, 4256, 4560, Z12, Z13, Z14, Z15)

// Token T's sixteen rows from acc to R11 (masked to the valid rows) unless
// the group has only T tokens; R11 then moves to the next token's row.
#define STOREK(T) STOREL(T, vkdone)
#define STORE6(T) STOREL(T, v6done)
#define STOREL(T, DONE) \
	CMPQ BX, $T; \
	JLE DONE; \
	VMOVUPS T*64(R8), Z0; \
	VMOVUPS Z0, K1, (R11); \
	ADDQ R14, R11

// The arguments, the sixteen integer sums and acc cleared.
#define KPROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ acc+24(FP), R8; \
	VPXORD Z0, Z0, Z0; \
	VMOVDQA32 Z0, Z1; \
	VMOVDQA32 Z0, Z2; \
	VMOVDQA32 Z0, Z3; \
	VMOVDQA32 Z0, Z4; \
	VMOVDQA32 Z0, Z5; \
	VMOVDQA32 Z0, Z6; \
	VMOVDQA32 Z0, Z7; \
	VMOVDQA32 Z0, Z8; \
	VMOVDQA32 Z0, Z9; \
	VMOVDQA32 Z0, Z10; \
	VMOVDQA32 Z0, Z11; \
	VMOVDQA32 Z0, Z12; \
	VMOVDQA32 Z0, Z13; \
	VMOVDQA32 Z0, Z14; \
	VMOVDQA32 Z0, Z15; \
	VMOVUPS Z0, 0(R8); \
	VMOVUPS Z0, 64(R8); \
	VMOVUPS Z0, 128(R8); \
	VMOVUPS Z0, 192(R8); \
	VMOVUPS Z0, 256(R8); \
	VMOVUPS Z0, 320(R8); \
	VMOVUPS Z0, 384(R8); \
	VMOVUPS Z0, 448(R8); \
	VMOVUPS Z0, 512(R8); \
	VMOVUPS Z0, 576(R8); \
	VMOVUPS Z0, 640(R8); \
	VMOVUPS Z0, 704(R8); \
	VMOVUPS Z0, 768(R8); \
	VMOVUPS Z0, 832(R8); \
	VMOVUPS Z0, 896(R8); \
	VMOVUPS Z0, 960(R8)

// acc to the tokens' output rows with STORE (STOREK or STORE6).
#define KEPILOGUE(STORE) \
	MOVQ out+32(FP), R11; \
	MOVQ ostride+40(FP), R14; \
	MOVQ ntok+48(FP), BX; \
	MOVQ rmask+56(FP), AX; \
	KMOVW AX, K1; \
	STORE(0); \
	STORE(1); \
	STORE(2); \
	STORE(3); \
	STORE(4); \
	STORE(5); \
	STORE(6); \
	STORE(7); \
	STORE(8); \
	STORE(9); \
	STORE(10); \
	STORE(11); \
	STORE(12); \
	STORE(13); \
	STORE(14); \
	STORE(15)

// FIN (FINK4, FIN6) for each of the sixteen tokens, whose records are
// REC bytes apart.
#define FIN16(FIN, REC) \
	FIN(0, 0, Z0); \
	FIN(REC, 64, Z1); \
	FIN(2*REC, 128, Z2); \
	FIN(3*REC, 192, Z3); \
	FIN(4*REC, 256, Z4); \
	FIN(5*REC, 320, Z5); \
	FIN(6*REC, 384, Z6); \
	FIN(7*REC, 448, Z7); \
	FIN(8*REC, 512, Z8); \
	FIN(9*REC, 576, Z9); \
	FIN(10*REC, 640, Z10); \
	FIN(11*REC, 704, Z11); \
	FIN(12*REC, 768, Z12); \
	FIN(13*REC, 832, Z13); \
	FIN(14*REC, 896, Z14); \
	FIN(15*REC, 960, Z15)

// func gemmVQ4_K(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmVQ4_K(SB), NOSPLIT, $0-64
	KPROLOGUE
	TESTQ CX, CX
	JZ vkstore
vkloop:
	// two sub-blocks a step, not all eight unrolled: see gemmVQ6_K
	LEAQ 4096(SI), R12
	MOVQ $4, R13
vksub:
	SUBBLOCK(0)
	SUBBLOCK(1)
	ADDQ $1024, SI
	ADDQ $128, R12
	ADDQ $64, DI
	DECQ R13
	JNZ vksub
	// mins and the float step, per token (SI at the block's byte 4096)
	VMOVDQU32 512(SI), Z16
	VMOVDQU32 576(SI), Z17
	VMOVDQU32 640(SI), Z18
	VMOVDQU32 704(SI), Z19
	VMOVUPS 768(SI), Z20
	VMOVUPS 832(SI), Z21
	FIN16(FINK4, 304)
	ADDQ $896, SI
	ADDQ $4608, DI
	DECQ CX
	JNZ vkloop
vkstore:
	KEPILOGUE(STOREK)
vkdone:
	VZEROUPPER
	RET


// ---------------------------------------------------------------------------
// Repacking Q4_K (144-byte blocks: F16 d, F16 dmin, 12 bytes of packed
// 6-bit scales and mins, 128 bytes of nibbles) for gemmVQ4_K, sixteen rows
// at a time with VPGATHERDD as repackVQ4_0 does. Register plan: CX blocks
// left, SI the first row's block, DI the destination, DX the valid-row
// mask, Z30 the row offsets, Z29 15 and Z28 63 and Z27 3 in each dword,
// Z26 0x0f bytes. VREPACK_ARGS and GATHERV are in vtranspose_amd64.h.

// Nibbles of bytes 4G..4G+3 of pair P's 32 bytes to sub-blocks 2P (low)
// and 2P+1 (high), register G.
#define NIBK(P, G) \
	GATHERV(16+P*32+G*4, Z16); \
	NIBKZ(P, G, Z16)

// NIBK from the dword in Z (Z17 a temporary).
#define NIBKZ(P, G, Z) \
	VPANDD Z26, Z, Z17; \
	VMOVDQU32 Z17, 2*P*512+G*64(DI); \
	VPSRLD $4, Z, Z; \
	VPANDD Z26, Z, Z; \
	VMOVDQU32 Z, 2*P*512+512+G*64(DI)

// A full tile's pair P of Q4_K, from two transposes (vPermLo, vPermHi in
// Z24, Z31) instead of eight gathers.
#define NIBPAIRT(P) \
	TRANSPOSE4V(16+P*32, Z24, Z31, Z16, Z19, Z20, Z21); \
	NIBKZ(P, 0, Z16); NIBKZ(P, 1, Z19); NIBKZ(P, 2, Z20); NIBKZ(P, 3, Z21); \
	TRANSPOSE4V(32+P*32, Z24, Z31, Z16, Z19, Z20, Z21); \
	NIBKZ(P, 4, Z16); NIBKZ(P, 5, Z19); NIBKZ(P, 6, Z20); NIBKZ(P, 7, Z21)

// Q5_K: nibbles at 48, and the fifth bit of sub-block 2P (low) and 2P+1
// (high) from bits 2P and 2P+1 of the qh bytes of group G (QH); Z25
// 0x01 bytes.
#define NIB5K(P, G, QH) \
	GATHERV(48+P*32+G*4, Z16); \
	NIB5KZ(P, G, Z16, QH)

// NIB5K from the dword in Z (Z17, Z18 temporaries).
#define NIB5KZ(P, G, Z, QH) \
	VPANDD Z26, Z, Z17; \
	VPSRLD $(2*P), QH, Z18; \
	VPANDD Z25, Z18, Z18; \
	VPSLLD $4, Z18, Z18; \
	VPORD Z18, Z17, Z17; \
	VMOVDQU32 Z17, 2*P*512+G*64(DI); \
	VPSRLD $4, Z, Z; \
	VPANDD Z26, Z, Z; \
	VPSRLD $(2*P+1), QH, Z18; \
	VPANDD Z25, Z18, Z18; \
	VPSLLD $4, Z18, Z18; \
	VPORD Z18, Z, Z; \
	VMOVDQU32 Z, 2*P*512+512+G*64(DI)

// A full tile's pair P of Q5_K (qh of group G in Z8+G), from two
// transposes.
#define NIB5PAIRT(P) \
	TRANSPOSE4V(48+P*32, Z24, Z31, Z16, Z19, Z20, Z21); \
	NIB5KZ(P, 0, Z16, Z8); NIB5KZ(P, 1, Z19, Z9); NIB5KZ(P, 2, Z20, Z10); NIB5KZ(P, 3, Z21, Z11); \
	TRANSPOSE4V(64+P*32, Z24, Z31, Z16, Z19, Z20, Z21); \
	NIB5KZ(P, 4, Z16, Z12); NIB5KZ(P, 5, Z19, Z13); NIB5KZ(P, 6, Z20, Z14); NIB5KZ(P, 7, Z21, Z15)

#define NIB5PAIR(P) \
	NIB5K(P, 0, Z0); NIB5K(P, 1, Z1); NIB5K(P, 2, Z2); NIB5K(P, 3, Z3); \
	NIB5K(P, 4, Z4); NIB5K(P, 5, Z5); NIB5K(P, 6, Z6); NIB5K(P, 7, Z7)

#define NIBPAIR(P) \
	NIBK(P, 0); NIBK(P, 1); NIBK(P, 2); NIBK(P, 3); \
	NIBK(P, 4); NIBK(P, 5); NIBK(P, 6); NIBK(P, 7)

// Scales and mins of sub-blocks J < 4: byte J of scales[0:4] and of
// scales[4:8], low 6 bits. S0 Z18, S1 Z19, S2 Z20 hold the three dwords.
#define SCLO(J, SC, M) \
	VPSRLD $(8*J), Z18, SC; \
	VPANDD Z28, SC, SC; \
	VPSRLD $(8*J), Z19, M; \
	VPANDD Z28, M, M

// Sub-blocks J+4: sc = low nibble of scales[8+J] | top two bits of
// scales[J] << 4; m = high nibble of scales[8+J] | top two bits of
// scales[4+J] << 4.
#define SCHI(J, SC, M) \
	VPSRLD $(8*J), Z20, SC; \
	VPANDD Z29, SC, SC; \
	VPSRLD $(8*J+6), Z18, Z21; \
	VPANDD Z27, Z21, Z21; \
	VPSLLD $4, Z21, Z21; \
	VPORD Z21, SC, SC; \
	VPSRLD $(8*J+4), Z20, M; \
	VPANDD Z29, M, M; \
	VPSRLD $(8*J+6), Z19, Z21; \
	VPANDD Z27, Z21, Z21; \
	VPSLLD $4, Z21, Z21; \
	VPORD Z21, M, M

// The constants of KSCALES and the nibble macros: Z29 15, Z28 63, Z27 3
// in each dword, Z26 0x0f bytes.
#define KCONSTS \
	MOVL $0x0f, AX; \
	VPBROADCASTD AX, Z29; \
	MOVL $63, AX; \
	VPBROADCASTD AX, Z28; \
	MOVL $3, AX; \
	VPBROADCASTD AX, Z27; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z26

// A block's d, dmin, scales and mins for sixteen rows as gemmVQ4_K takes
// them (Q4_K and Q5_K lay these out alike).
#define KSCALES \
	GATHERV(0, Z16); \
	GATHERV(4, Z18); \
	GATHERV(8, Z19); \
	GATHERV(12, Z20); \
	KSCALESZ

// KSCALES of a full tile, from one transpose.
#define KSCALEST \
	TRANSPOSE4V(0, Z24, Z31, Z16, Z18, Z19, Z20); \
	KSCALESZ

// KSCALES from the block's first four dwords in Z16, Z18, Z19, Z20.
#define KSCALESZ \
	VPMOVDW Z16, Y17; \
	VCVTPH2PS Y17, Z17; \
	VMOVUPS Z17, 4864(DI); \
	VPSRLD $16, Z16, Z16; \
	VPMOVDW Z16, Y17; \
	VCVTPH2PS Y17, Z17; \
	VMOVUPS Z17, 4928(DI); \
	SCLO(0, Z0, Z8); \
	SCLO(1, Z1, Z9); \
	SCLO(2, Z2, Z10); \
	SCLO(3, Z3, Z11); \
	SCHI(0, Z4, Z12); \
	SCHI(1, Z5, Z13); \
	SCHI(2, Z6, Z14); \
	SCHI(3, Z7, Z15); \
	VMOVDQU32 Z0, 4096(DI); \
	VMOVDQU32 Z1, 4160(DI); \
	VMOVDQU32 Z2, 4224(DI); \
	VMOVDQU32 Z3, 4288(DI); \
	VMOVDQU32 Z4, 4352(DI); \
	VMOVDQU32 Z5, 4416(DI); \
	VMOVDQU32 Z6, 4480(DI); \
	VMOVDQU32 Z7, 4544(DI); \
	VPSLLD $16, Z9, Z9; \
	VPORD Z9, Z8, Z8; \
	VMOVDQU32 Z8, 4608(DI); \
	VPSLLD $16, Z11, Z11; \
	VPORD Z11, Z10, Z10; \
	VMOVDQU32 Z10, 4672(DI); \
	VPSLLD $16, Z13, Z13; \
	VPORD Z13, Z12, Z12; \
	VMOVDQU32 Z12, 4736(DI); \
	VPSLLD $16, Z15, Z15; \
	VPORD Z15, Z14, Z14; \
	VMOVDQU32 Z14, 4800(DI)

// func repackVQ4_K(nb int, w *byte, wrb int, rmask int, dst *byte)
// A full tile transposes (KSCALEST, NIBPAIRT), a partial one gathers.
TEXT ·repackVQ4_K(SB), NOSPLIT, $0-40
	VREPACK_ARGS
	KCONSTS
	TESTQ CX, CX
	JZ rkdone
	CMPQ DX, $0xffff
	JNE rkloop
	FULLV_SETUP(Z24, Z31)
rkfull:
	KSCALEST
	NIBPAIRT(0)
	NIBPAIRT(1)
	NIBPAIRT(2)
	NIBPAIRT(3)
	ADDQ $144, SI
	ADDQ $144, R12
	ADDQ $4992, DI
	DECQ CX
	JNZ rkfull
	JMP rkdone
rkloop:
	KSCALES
	// nibbles
	NIBPAIR(0)
	NIBPAIR(1)
	NIBPAIR(2)
	NIBPAIR(3)
	ADDQ $144, SI
	ADDQ $4992, DI
	DECQ CX
	JNZ rkloop
rkdone:
	VZEROUPPER
	RET

// func repackVQ5_K(nb int, w *byte, wrb int, rmask int, dst *byte)
// Q5_K (176-byte blocks: Q4_K's head, 32 bytes of fifth bits qh, 128 of
// nibbles) for gemmVQ4_K, whose unsigned weights may reach 31.
TEXT ·repackVQ5_K(SB), NOSPLIT, $0-40
	VREPACK_ARGS
	KCONSTS
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z25
	TESTQ CX, CX
	JZ r5kdone
	CMPQ DX, $0xffff
	JNE r5kloop
	FULLV_SETUP(Z24, Z31)
r5kfull:
	KSCALEST
	TRANSPOSE4V(16, Z24, Z31, Z8, Z9, Z10, Z11)
	TRANSPOSE4V(32, Z24, Z31, Z12, Z13, Z14, Z15)
	NIB5PAIRT(0)
	NIB5PAIRT(1)
	NIB5PAIRT(2)
	NIB5PAIRT(3)
	ADDQ $176, SI
	ADDQ $176, R12
	ADDQ $4992, DI
	DECQ CX
	JNZ r5kfull
	JMP r5kdone
r5kloop:
	KSCALES
	// nibbles
	GATHERV(16, Z0)
	GATHERV(20, Z1)
	GATHERV(24, Z2)
	GATHERV(28, Z3)
	GATHERV(32, Z4)
	GATHERV(36, Z5)
	GATHERV(40, Z6)
	GATHERV(44, Z7)
	NIB5PAIR(0)
	NIB5PAIR(1)
	NIB5PAIR(2)
	NIB5PAIR(3)
	ADDQ $176, SI
	ADDQ $4992, DI
	DECQ CX
	JNZ r5kloop
r5kdone:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Q6_K (210-byte blocks: 128 bytes of low nibbles ql, 64 of high bit pairs
// qh, 16 int8 scales, F16 d) in the same form: sixteen sub-blocks of 16,
// value d·sc·(q - 32) for the 6-bit q. The weights stay unsigned (q) for
// VPDPBUSD, whose signed operand is the broadcast activations; the offset's
// share -32·sumx_s of sub-block s is token-only, so each token's sub-block
// sum starts from it (a broadcast load from the record where Q4_K clears
// the register) and ends as sum (q-32)·x before VPMULLD by sc_s. Exact in
// integers (|block sum| < 2^29), then one float step per token and block:
//   acc += float(isum)·d·dx.
// (An earlier form summed -32·sc_s·sumx_s per token and block with eight
// VPDPWSSD on int16 pairs at the end, an eighth more multiply-pipe work
// than the VPDPBUSD themselves, and a dependent chain of eight.)
//
// The block loop takes two sub-blocks a step (SI and DI moving on) rather
// than all sixteen unrolled: unrolled, the loop was some 14 KB of long EVEX
// instructions, and where the binary's layout put it so that it missed
// the op cache the kernel ran at 30% of the int8 probe instead of 50%.
//
// Where its time goes (Zen 5, one core, CPU time, BenchmarkLanesQ6_K's
// L2-resident tile): the call runs at 0.66-0.70 of the int8 probe, and
// the repack each pass pays per tile costs 0.36-0.40 of a call, which
// over a pass of four token groups is about a tenth. A loop of the same
// instructions on registers and L1-resident broadcasts reaches 0.80, and
// as much without its VPMULLD; a VPDPBUSD with a broadcast memory operand
// issues as fast as one on registers. Dropping one part at a time
// (results wrong, timing only): the float steps 0.72-0.80, the INIT
// broadcasts 0.70-0.75, the VPMULLD 0.67-0.72. Tried and left out: the
// first sub-block's VPMULLD writing the block sums (no VPXORD in FIN6,
// no VPADDD), 0.68 against 0.71 in alternated runs; asking for the next
// block's weights or records into L1 a step ahead, within the noise.
// BenchmarkMatMul's Q6_K matrix (the FFN's down) by 128 tokens ran as
// fast in one pass (kPassAVX512 1 MiB) as in two, and 5-12% slower in
// four (200 KiB).
//
// Repacked weights, per block and 16 rows (5184 bytes):
//   s·320 sub-block s: register g (elements 4g..4g+3 of the sub-block) at
//         g·64, then sc_s as int32 at 256
//   5120  d as float32
// Activations, per group of 16 tokens, per block, per token (336 bytes,
// kRecordQ6): s·20 sub-block s: its 16 int8 values, then -32·sumx_s as
// int32 at 16   320 dx as float32

// Four tokens' sub-block sums Z25-Z28 started at -32·sumx_S.
#define INIT6(S, R0, R1, R2, R3) \
	VPBROADCASTD R0+S*20+16(DI), Z25; \
	VPBROADCASTD R1+S*20+16(DI), Z26; \
	VPBROADCASTD R2+S*20+16(DI), Z27; \
	VPBROADCASTD R3+S*20+16(DI), Z28

// Four tokens through sub-block S (four weight registers Z16-Z19, scales
// Z24) into their block sums.
#define SUB6K4(S, R0, R1, R2, R3, T0, T1, T2, T3) \
	INIT6(S, R0, R1, R2, R3); \
	DPK4(S*20+0, Z16, R0, R1, R2, R3); \
	DPK4(S*20+4, Z17, R0, R1, R2, R3); \
	DPK4(S*20+8, Z18, R0, R1, R2, R3); \
	DPK4(S*20+12, Z19, R0, R1, R2, R3); \
	SCALE4(T0, T1, T2, T3)

#define SUB6(S) \
	VMOVDQU32 S*320+0(SI), Z16; \
	VMOVDQU32 S*320+64(SI), Z17; \
	VMOVDQU32 S*320+128(SI), Z18; \
	VMOVDQU32 S*320+192(SI), Z19; \
	VMOVDQU32 S*320+256(SI), Z24; \
	SUB6K4(S, 0, 336, 672, 1008, Z0, Z1, Z2, Z3); \
	SUB6K4(S, 1344, 1680, 2016, 2352, Z4, Z5, Z6, Z7); \
	SUB6K4(S, 2688, 3024, 3360, 3696, Z8, Z9, Z10, Z11); \
	SUB6K4(S, 4032, 4368, 4704, 5040, Z12, Z13, Z14, Z15)

// Token at record offset R (DI at its block's records' dx): the float step
// with d in Z24, A cleared.
#define FIN6(R, AO, A) \
	VCVTDQ2PS A, Z30; \
	VMULPS Z24, Z30, Z30; \
	VMOVUPS AO(R8), Z31; \
	VFMADD231PS.BCST R(DI), Z30, Z31; \
	VMOVUPS Z31, AO(R8); \
	VPXORD A, A, A

// func gemmVQ6_K(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
TEXT ·gemmVQ6_K(SB), NOSPLIT, $0-64
	KPROLOGUE
	TESTQ CX, CX
	JZ v6store
v6loop:
	MOVQ $8, R12 // pairs of sub-blocks left
v6sub:
	SUB6(0)
	SUB6(1)
	ADDQ $640, SI
	ADDQ $40, DI
	DECQ R12
	JNZ v6sub
	VMOVUPS (SI), Z24
	FIN16(FIN6, 336)
	ADDQ $64, SI
	ADDQ $5056, DI
	DECQ CX
	JNZ v6loop
v6store:
	KEPILOGUE(STORE6)
v6done:
	VZEROUPPER
	RET

// Repacking Q6_K. Register plan as repackVQ4_K; Z26 0x0f bytes, Z29 0x30
// bytes.

// Elements 128H+4G.. of the four quarters of half H: A = ql[64H+4G..],
// B = ql[64H+32+4G..], Q = qh[32H+4G..]; quarter k's element goes to
// sub-block 8H+2k+GD, register GM (GD, GM = G/4, G mod 4).
#define Q6GROUP(H, G, GD, GM) \
	GATHERV(64*H+4*G, Z16); \
	GATHERV(64*H+32+4*G, Z17); \
	GATHERV(128+32*H+4*G, Z18); \
	Q6PUTS(H, GD, GM, Z16, Z17, Z18)

// The four quarters' elements of group G = 4·GD+GM of half H from A (its
// ql dword), B (the ql dword 32 bytes on) and Q (its qh dword).
#define Q6PUTS(H, GD, GM, A, B, Q) \
	Q6PUT(A, Q, VPSLLD, 4, 2560*H+320*GD+64*GM); \
	Q6PUT(B, Q, VPSLLD, 2, 2560*H+640+320*GD+64*GM); \
	VPSRLD $4, A, A; \
	VPSRLD $4, B, B; \
	Q6PUT(A, Q, VPSRLD, 0, 2560*H+1280+320*GD+64*GM); \
	Q6PUT(B, Q, VPSRLD, 2, 2560*H+1920+320*GD+64*GM)

// (L & 0x0f) | ((Q >> SH) & 3) << 4, to OFF(DI), with SHIFT $N the shift
// that brings bits SH, SH+1 of each byte of Q to bits 4, 5 (no bit of a
// byte moves that far into the next), and VPTERNLOGD taking bits 4, 5
// from it and the rest from L & 0x0f (Z29 0x30 bytes); Z21, Z22
// temporaries.
#define Q6PUT(L, Q, SHIFT, N, OFF) \
	VPANDD Z26, L, Z21; \
	SHIFT $N, Q, Z22; \
	VPTERNLOGD $0xd8, Z29, Z22, Z21; \
	VMOVDQU32 Z21, OFF(DI)

// A full tile's groups 4·GQ..4·GQ+3 of half H, from three transposes
// (vPermLo, vPermHi in Z27, Z28) instead of twelve gathers.
#define Q6QUADT(H, GQ) \
	TRANSPOSE4V(64*H+16*GQ, Z27, Z28, Z9, Z10, Z11, Z12); \
	TRANSPOSE4V(64*H+32+16*GQ, Z27, Z28, Z13, Z14, Z15, Z16); \
	TRANSPOSE4V(128+32*H+16*GQ, Z27, Z28, Z17, Z18, Z19, Z20); \
	Q6PUTS(H, GQ, 0, Z9, Z13, Z17); \
	Q6PUTS(H, GQ, 1, Z10, Z14, Z18); \
	Q6PUTS(H, GQ, 2, Z11, Z15, Z19); \
	Q6PUTS(H, GQ, 3, Z12, Z16, Z20)

// Scales 4I..4I+3 (dword at 192+4I) sign-extended to sub-blocks 4I+j.
#define Q6SCALES(I) \
	GATHERV(192+4*I, Z16); \
	Q6SCALESZ(I, Z16)

// Q6SCALES from the dword in Z (Z17, Z0-Z3 temporaries).
#define Q6SCALESZ(I, Z) \
	VPSLLD $24, Z, Z17; \
	VPSRAD $24, Z17, Z0; \
	VPSLLD $16, Z, Z17; \
	VPSRAD $24, Z17, Z1; \
	VPSLLD $8, Z, Z17; \
	VPSRAD $24, Z17, Z2; \
	VPSRAD $24, Z, Z3; \
	VMOVDQU32 Z0, 1280*I+256(DI); \
	VMOVDQU32 Z1, 1280*I+576(DI); \
	VMOVDQU32 Z2, 1280*I+896(DI); \
	VMOVDQU32 Z3, 1280*I+1216(DI)

#define Q6HALF(H) \
	Q6GROUP(H, 0, 0, 0); Q6GROUP(H, 1, 0, 1); Q6GROUP(H, 2, 0, 2); Q6GROUP(H, 3, 0, 3); \
	Q6GROUP(H, 4, 1, 0); Q6GROUP(H, 5, 1, 1); Q6GROUP(H, 6, 1, 2); Q6GROUP(H, 7, 1, 3)

// d: the high half of the dword at 206, inside the block.
#define Q6D \
	GATHERV(206, Z16); \
	VPSRLD $16, Z16, Z16; \
	VPMOVDW Z16, Y17; \
	VCVTPH2PS Y17, Z17; \
	VMOVUPS Z17, 5120(DI)

// The sixteen rows' bytes OFF on from the current block (full tile
// registers as TRANSPOSE4V), asked into L1.
#define Q6PF(OFF) \
	Q6PF8(OFF, SI); \
	Q6PF8(OFF, R12)

// Q6PF for the eight rows from base B.
#define Q6PF8(OFF, B) \
	PREFETCHT0 OFF(B); \
	PREFETCHT0 OFF(B)(R8*1); \
	PREFETCHT0 OFF(B)(R8*2); \
	PREFETCHT0 OFF(B)(R9*1); \
	PREFETCHT0 OFF(B)(R8*4); \
	PREFETCHT0 OFF(B)(R10*1); \
	PREFETCHT0 OFF(B)(R9*2); \
	PREFETCHT0 OFF(B)(R11*1)

// func repackVQ6_K(nb int, w *byte, wrb int, rmask int, dst *byte)
// A full tile transposes (Q6QUADT), a partial one gathers.
TEXT ·repackVQ6_K(SB), NOSPLIT, $0-40
	VREPACK_ARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z26
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z29
	TESTQ CX, CX
	JZ r6done
	CMPQ DX, $0xffff
	JNE r6loop
	FULLV_SETUP(Z27, Z28)
r6full:
	// Each row's block two ahead into L1: the product's PREFETCHT1 of the
	// next tile comes in one burst, and the hardware prefetcher does not
	// follow sixteen row streams (the repack ran at 1.6x its time on a
	// cached tile).
	Q6PF(420)
	Q6PF(484)
	Q6PF(548)
	Q6PF(612)
	Q6D
	TRANSPOSE4V(192, Z27, Z28, Z9, Z10, Z11, Z12)
	Q6SCALESZ(0, Z9)
	Q6SCALESZ(1, Z10)
	Q6SCALESZ(2, Z11)
	Q6SCALESZ(3, Z12)
	Q6QUADT(0, 0)
	Q6QUADT(0, 1)
	Q6QUADT(1, 0)
	Q6QUADT(1, 1)
	ADDQ $210, SI
	ADDQ $210, R12
	ADDQ $5184, DI
	DECQ CX
	JNZ r6full
	JMP r6done
r6loop:
	Q6D
	Q6SCALES(0)
	Q6SCALES(1)
	Q6SCALES(2)
	Q6SCALES(3)
	Q6HALF(0)
	Q6HALF(1)
	ADDQ $210, SI
	ADDQ $5184, DI
	DECQ CX
	JNZ r6loop
r6done:
	VZEROUPPER
	RET
