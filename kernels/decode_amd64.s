#include "textflag.h"
#include "hsum_amd64.h"
#include "rows_amd64.h"

// Decode kernels: many weight rows times one token, for MatVec.
//
// A decode step multiplies a model's matrices by one token each: every
// weight is read once, so the kernels must keep up with memory (about
// 20 GB/s per core here) with few instructions per block, and a call must
// cover many rows, since a Qwen2.5-0.5B row of 896 elements is only 28
// blocks: one call runs a whole chunk of rows (row r at w + r·wstride,
// result to out[r]) and the row loop is in assembly.
//
// Why assembly: simd/archsimd has no VPDPBUSD (VNNI), no VPERMB (VBMI), no
// VCVTPH2PS (F16C) and no masked loads, and an archsimd loop measured ten
// times slower than this assembly for the AVX2 dot products.
//
// The activations come as records built per call from the token's Q8_0
// row, laid out for each kernel's step (see each). Where the weights are
// taken as unsigned bytes (the Q5_0 level q, weight q-16: off 16; the
// Q4_0 nibble, off 8), VPDPBUSD (or VPMADDUBSW+VPMADDWD) multiplies them
// by the signed activations, and an integer correction in the records,
// -off·(sum of the x that one int32 lane covers), makes each block's
// integer sum exact: it covers exactly the values of its lane, since the
// kernels convert the lanes to float apart. Only the float summation
// order differs from the portable reference.
//
// VPMADDUBSW saturates its int16 pair sums: the AVX2 Q4_0 kernel's are at
// most 2·15·127, but Q8_0 made unsigned could reach 2·255·127, so the AVX2
// Q8_0 kernel keeps the sign trick (|w| times x·sign(w), at most 2·128·127);
// the AVX-512 one makes the activations unsigned instead (VPDPBUSD sums
// in int32).

// Software prefetch: DEC_PFD, in rows_amd64.h, with the hint PF: DEC_PFT
// (T0) for the avx2 kernels, DEC_PFZ (NTA) for the avx512 ones.

// GF2P8AFFINEQB's matrix for a logical shift right by 4 of each byte:
// result bit i (i < 4) is source bit i+4, from the matrix byte 7-i.
#define GF_SHR4 0x1020408000000000
#define DEC_PF2(PF, R) \
	PF(0, R); \
	PF(64, R)
#define DEC_PF3(PF, R) \
	DEC_PF2(PF, R); \
	PF(128, R)

// decQ5_0AVX2's fifth bits (see DEC_Q5H): the VPSHUFB indices that
// spread a pair's two qh, loaded from the first one on (block 0's at
// bytes 0-3 of the low lane, block 1's, 22 bytes on, at 6-9 of the high
// lane), to one byte an element: bytes 0-1 and 6-7 eight times each for
// elements 0-15 of the blocks (decQ5Lo), 2-3 and 8-9 for 16-31 (decQ5Hi);
// each byte's own bit (decQ5Bit); and the fifth bit's value (dec10).
DATA ·decQ5Lo<>+0(SB)/8, $0x0000000000000000
DATA ·decQ5Lo<>+8(SB)/8, $0x0101010101010101
DATA ·decQ5Lo<>+16(SB)/8, $0x0606060606060606
DATA ·decQ5Lo<>+24(SB)/8, $0x0707070707070707
GLOBL ·decQ5Lo<>(SB), RODATA|NOPTR, $32
DATA ·decQ5Hi<>+0(SB)/8, $0x0202020202020202
DATA ·decQ5Hi<>+8(SB)/8, $0x0303030303030303
DATA ·decQ5Hi<>+16(SB)/8, $0x0808080808080808
DATA ·decQ5Hi<>+24(SB)/8, $0x0909090909090909
GLOBL ·decQ5Hi<>(SB), RODATA|NOPTR, $32
DATA ·decQ5Bit<>+0(SB)/8, $0x8040201008040201
DATA ·decQ5Bit<>+8(SB)/8, $0x8040201008040201
DATA ·decQ5Bit<>+16(SB)/8, $0x8040201008040201
DATA ·decQ5Bit<>+24(SB)/8, $0x8040201008040201
GLOBL ·decQ5Bit<>(SB), RODATA|NOPTR, $32
DATA ·dec10<>+0(SB)/8, $0x1010101010101010
DATA ·dec10<>+8(SB)/8, $0x1010101010101010
DATA ·dec10<>+16(SB)/8, $0x1010101010101010
DATA ·dec10<>+24(SB)/8, $0x1010101010101010
GLOBL ·dec10<>(SB), RODATA|NOPTR, $32

// Constants of the quantisers: Y15 the abs mask (Q_ABS), Y10 +Inf.
#define Q_ABS \
	MOVL $0x7fffffff, AX; \
	VMOVD AX, X15; \
	VPBROADCASTD X15, Y15

#define Q_ABS_INF \
	Q_ABS; \
	MOVL $0x7f800000, AX; \
	VMOVD AX, X10; \
	VPBROADCASTD X10, Y10

// Arguments of the record builders: CX nb, SI xq, DI dst, X6 -off.
#define REC_ARGS \
	MOVQ nb+0(FP), CX; \
	MOVQ xq+8(FP), SI; \
	MOVQ dst+16(FP), DI; \
	MOVQ off+24(FP), AX; \
	NEGL AX; \
	VMOVD AX, X6

// Y4 0x01 bytes, Y5 0x0001 words (VPMADDUBSW then VPMADDWD sum x by fours).
#define REC_ONES \
	VPCMPEQW Y5, Y5, Y5; \
	VPSRLW $15, Y5, Y5; \
	VPACKUSWB Y5, Y5, Y4

// One block of a four- or eight-block record (decRecordsQ4QAVX2): its
// Q8_0 block at B(SI); its low and high halves of x to LO(DI) and HI(DI);
// in X1 the sums of x over the halves of the block that the kernel's two
// int32 lanes of it cover (dwords 0 and 1: elements 0-7 and 16-23, 8-15
// and 24-31); its dx to X2 (all four lanes). The callers store -off times
// those sums and dx: two lanes each for four blocks (REC_Q4Q), whose
// kernel DEC_Q4Q keeps a block's sum in two lanes, and their total in one
// for eight (REC_Q4O). A lane's correction covers exactly the values that
// lane's products do, so each lane's integer sum is exact on its own: the
// lanes are converted and scaled apart, and a block's whole correction in
// one of its lanes left the other lane's partial sum to cancel it in
// float (an all-zero Q4_0 row came out -1.4e-9).
#define REC_Q4X(B, LO, HI) \
	VMOVDQU (B+2)(SI), Y0; \
	VMOVDQU X0, LO(DI); \
	VEXTRACTI128 $1, Y0, X1; \
	VMOVDQU X1, HI(DI); \
	VPMADDUBSW Y0, Y4, Y1; \
	VPMADDWD Y5, Y1, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPADDD X2, X1, X1; \
	VPHADDD X1, X1, X1; \
	VPBROADCASTW B(SI), X2; \
	VCVTPH2PS X2, X2

#define REC_Q4Q(B, LO, HI, C, D) \
	REC_Q4X(B, LO, HI); \
	VPMULLD X6, X1, X1; \
	VMOVQ X1, C(DI); \
	VMOVQ X2, D(DI)

#define REC_Q4O(B, LO, HI, C, D) \
	REC_Q4X(B, LO, HI); \
	VPHADDD X1, X1, X1; \
	VPMULLD X6, X1, X1; \
	VMOVD X1, C(DI); \
	VMOVSS X2, D(DI)

// Four blocks (Q8_0 at B(SI) on) of a four- or eight-block record, by
// M (REC_Q4Q or REC_Q4O): their x from L(DI) on, in the pair layout of
// decRecordsQ4QAVX2; their corrections and scales at C, C+16, C+S and
// C+16+S (DI), and D likewise: lanes 0, 4, S/4 and 4+S/4 of the eight-lane
// slots (and the lane after each for four blocks, S = 8).
#define REC_FOUR(M, B, L, C, D, S) \
	M((B), (L), (L+32), (C), (D)); \
	M((B+34), (L+16), (L+48), (C+16), (D+16)); \
	M((B+68), (L+64), (L+96), (C+S), (D+S)); \
	M((B+102), (L+80), (L+112), (C+16+S), (D+16+S))

// Arguments and row loop shared by the kernels.
// Register plan: SI row, R8 row stride, R11 out, R10 rows left; per row
// CX blocks left, R9 weight block, DI record; Y0/Z0, Y1/Z1 (and Y2) float
// accumulators.
#define DEC_ARGS \
	MOVQ w+8(FP), SI; \
	MOVQ wstride+16(FP), R8; \
	MOVQ out+32(FP), R11; \
	MOVQ rows+40(FP), R10

#define DEC_ROW \
	MOVQ nb+0(FP), CX; \
	MOVQ x+24(FP), DI; \
	MOVQ SI, R9; \
	VXORPS X0, X0, X0; \
	VXORPS X1, X1, X1; \
	VXORPS X2, X2, X2

// Sum of Y0, Y1 and Y2's lanes to out[r]; next row.
#define DEC_NEXT(LOOP) \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y2, Y0, Y0; \
	HSUM8TO(Y0, X0, X1, (R11)); \
	ADDQ $4, R11; \
	ADDQ R8, SI; \
	DECQ R10; \
	JNZ LOOP

// Same for the 512-bit accumulators Z0, Z1 (and Y2): Z0+Z1's halves go to
// Y0 and Y1.
#define DECZ_NEXT(LOOP) \
	VADDPS Z1, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y1; \
	DEC_NEXT(LOOP)

// AVX2 Q4_0 pair at WB(R9) (36 bytes) against its 128-byte record at
// XB(DI) (see decRecordsQ4AVX2): both blocks' nibble bytes in one register
// [b0, b1], its low nibbles (elements 0-15 of each block) and high ones
// (16-31) against the matching halves of the record, the two VPMADDUBSW
// results added as int16 (at most 4·15·127) and VPMADDWD to int32 lanes
// 0-3 (block 0) and 4-7 (block 1), the correction added, then one float
// step for both blocks with the scales [d0 ×4, d1 ×4]. Half the
// instructions of a block at a time. Y4 0x0001 words, Y5 0x0f bytes.
#define DEC_Q4P(W2, W18, W20, XB, X32, X64, X96, ACC) \
	DEC_NIB2(W2, W20); \
	DEC_PROD2((W2-2), W18, XB, X32, X64, X96, ACC)

// The nibble bytes of a pair, 16 at QA(R9) and 16 at QB(R9), to Y8 (low
// nibbles [b0, b1]) and Y9 (high nibbles).
#define DEC_NIB2(QA, QB) \
	VMOVDQU QA(R9), X8; \
	VINSERTI128 $1, QB(R9), Y8, Y8; \
	VPSRLW $4, Y8, Y9; \
	VPAND Y5, Y8, Y8; \
	VPAND Y5, Y9, Y9

// Y8 and Y9 times the record at XB(DI), to ACC, the scales at DA(R9) and
// DB(R9).
#define DEC_PROD2(DA, DB, XB, X32, X64, X96, ACC) \
	VPMADDUBSW XB(DI), Y8, Y8; \
	VPMADDUBSW X32(DI), Y9, Y9; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VPADDD X64(DI), Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VPBROADCASTW DA(R9), X10; \
	VPBROADCASTW DB(R9), X11; \
	VPUNPCKLQDQ X11, X10, X10; \
	VCVTPH2PS X10, Y10; \
	VMULPS X96(DI), Y10, Y10; \
	VFMADD231PS Y10, Y8, ACC

// The same for a last block alone (Y8, Y9's upper lanes zero, the record's
// second half zero), its scale at (R9), to Y2.
#define DEC_PROD1 \
	VPMADDUBSW (DI), Y8, Y8; \
	VPMADDUBSW 32(DI), Y9, Y9; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VPADDD 64(DI), Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	VPBROADCASTW (R9), X10; \
	VCVTPH2PS X10, Y10; \
	VMULPS 96(DI), Y10, Y10; \
	VFMADD231PS Y10, Y8, Y2

// The end of a four-block step (DEC_Q4Q, DEC_Q5Q), blocks of BS bytes at
// R9 whose sums Y8 holds in lanes [b0 b0 b2 b2 | b1 b1 b3 b3]: their
// corrections at C(DI) added, converted, times the blocks' scales d (F16,
// gathered in AX and BX as words) and the record's dx at D(DI), to ACC.
#define DEC_QUAD_END(BS, C, D, ACC) \
	VPADDD C(DI), Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	MOVWQZX (R9), AX; \
	MOVWQZX (2*BS)(R9), DX; \
	SHLQ $32, DX; \
	ORQ DX, AX; \
	IMULQ $0x10001, AX; \
	MOVWQZX BS(R9), BX; \
	MOVWQZX (3*BS)(R9), DX; \
	SHLQ $32, DX; \
	ORQ DX, BX; \
	IMULQ $0x10001, BX; \
	VMOVQ AX, X10; \
	VPINSRQ $1, BX, X10, X10; \
	VCVTPH2PS X10, Y10; \
	VMULPS D(DI), Y10, Y10; \
	VFMADD231PS Y10, Y8, ACC

// The end of an eight-block step (DEC_Q4O, DEC_Q5O), blocks of BS bytes
// at R9 whose sums Y8 holds in lanes [b0 b2 b4 b6 | b1 b3 b5 b7], against
// a 320-byte record: as DEC_QUAD_END, the scales gathered by DEC_GATHER4.
#define DEC_OCT_END(BS, ACC) \
	VPADDD 256(DI), Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	DEC_GATHER4(0, (2*BS), AX); \
	DEC_GATHER4(BS, (2*BS), DX); \
	VMOVQ AX, X12; \
	VPINSRQ $1, DX, X12, X12; \
	VCVTPH2PS X12, Y12; \
	VMULPS 288(DI), Y12, Y12; \
	VFMADD231PS Y12, Y8, ACC

// Q5_0's fifth bits, for a pair whose qh Y15 holds as DEC_Q5H loads them:
// 0x10 OR-ed into R (elements 0-15 of both blocks, as DEC_NIB2's Y8) and
// T (16-31) where the element's bit is set. Each byte takes the qh byte
// that holds its bit (VPSHUFB), keeps only that bit and compares it with
// itself, as ggml's bytes_from_bits_32. Y3 decQ5Bit, Y6 decQ5Lo, Y7
// decQ5Hi; Y14 a temporary.
#define DEC_Q5HX(R, T) \
	VPSHUFB Y7, Y15, Y14; \
	VPSHUFB Y6, Y15, Y15; \
	VPAND Y3, Y14, Y14; \
	VPAND Y3, Y15, Y15; \
	VPCMPEQB Y3, Y14, Y14; \
	VPCMPEQB Y3, Y15, Y15; \
	VPAND ·dec10<>(SB), Y14, Y14; \
	VPAND ·dec10<>(SB), Y15, Y15; \
	VPOR Y15, R, R; \
	VPOR Y14, T, T

// The same for the pair at R9 whose first qh is at QH(R9): one 32-byte
// load holds both blocks' (the second 22 bytes on, in the high lane).
#define DEC_Q5H(QH, R, T) \
	VMOVDQU QH(R9), Y15; \
	DEC_Q5HX(R, T)

// A Q5_0 pair at R9 (44 bytes) against its 128-byte record at XB(DI), as
// DEC_Q4P.
#define DEC_Q5P(XB, X32, X64, X96, ACC) \
	DEC_NIB2(6, 28); \
	DEC_Q5H(2, Y8, Y9); \
	DEC_PROD2(0, 22, XB, X32, X64, X96, ACC)

// A Q5_0 pair's levels (nibbles at QA and QB, qh from QH on) times x (the
// pair's 64 bytes at XB(DI)), low and high halves added as int16 in R:
// four products a word, at most 4·31·127. T a temporary.
#define DEC_Q5P_W(QH, QA, QB, XB, R, T) \
	VMOVDQU QA(R9), R; \
	VINSERTI128 $1, QB(R9), R, R; \
	VPSRLW $4, R, T; \
	VPAND Y5, R, R; \
	VPAND Y5, T, T; \
	DEC_Q5H(QH, R, T); \
	VPMADDUBSW XB(DI), R, R; \
	VPMADDUBSW (XB+32)(DI), T, T; \
	VPADDW T, R, R

// Four Q5_0 blocks (two pairs, 88 bytes at R9) against their 192-byte
// record (decRecordsQ4QAVX2's), as DEC_Q4Q.
#define DEC_Q5Q(ACC) \
	DEC_Q5P_W(2, 6, 28, 0, Y8, Y9); \
	VPMADDWD Y4, Y8, Y8; \
	DEC_Q5P_W(46, 50, 72, 64, Y12, Y13); \
	VPMADDWD Y4, Y12, Y12; \
	VPHADDD Y12, Y8, Y8; \
	DEC_QUAD_END(22, 128, 160, ACC)

// Eight Q5_0 blocks (four pairs, 176 bytes at R9) against their 320-byte
// record (decRecordsQ4QAVX2's), as DEC_Q4O but for the folding: a word
// holds at most eight products of five-bit levels (8·31·127 < 2^15), so
// the pairs are folded by two in words, then VPMADDWD, then the last fold
// in dwords. On one core in L2 (BenchmarkDecodeL2, an AVX2-only Zen 4):
// 44 GFLOP/s, against 38 for the pair step it replaced, which gathered
// each pair's qh in scalar registers. What bounds it is the fifth bits'
// eleven instructions a pair; Interleaved8 matrices (decQ5_0X8AVX2) lay
// them out for fewer.
#define DEC_Q5O(ACC) \
	DEC_Q5P_W(2, 6, 28, 0, Y8, Y9); \
	DEC_Q5P_W(46, 50, 72, 64, Y10, Y11); \
	VPUNPCKLDQ Y10, Y8, Y9; \
	VPUNPCKHDQ Y10, Y8, Y8; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	DEC_Q5P_W(90, 94, 116, 128, Y10, Y11); \
	DEC_Q5P_W(134, 138, 160, 192, Y12, Y13); \
	VPUNPCKLDQ Y12, Y10, Y11; \
	VPUNPCKHDQ Y12, Y10, Y10; \
	VPADDW Y11, Y10, Y10; \
	VPMADDWD Y4, Y10, Y10; \
	VPUNPCKLQDQ Y10, Y8, Y9; \
	VPUNPCKHQDQ Y10, Y8, Y8; \
	VPADDD Y9, Y8, Y8; \
	DEC_OCT_END(22, ACC)

// Four Q4_0 blocks (two pairs, 72 bytes at R9) against their 192-byte
// record at XB(DI) (see decRecordsQ4QAVX2): each pair's levels times x to
// 8 int32 lanes as DEC_Q4P does, then VPHADDD folds the two pairs into one
// register [b0 b0 b2 b2 | b1 b1 b3 b3], so the correction, the conversion,
// the scaling and the FMA run once per four blocks; the four F16 scales
// are gathered in AX and BX (d0 d0 d2 d2, d1 d1 d3 d3 as words).
#define DEC_Q4Q(XB, X32, X64, X96, X128, X160, ACC) \
	DEC_NIB2(2, 20); \
	VPMADDUBSW XB(DI), Y8, Y8; \
	VPMADDUBSW X32(DI), Y9, Y9; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VMOVDQU 38(R9), X12; \
	VINSERTI128 $1, 56(R9), Y12, Y12; \
	VPSRLW $4, Y12, Y13; \
	VPAND Y5, Y12, Y12; \
	VPAND Y5, Y13, Y13; \
	VPMADDUBSW X64(DI), Y12, Y12; \
	VPMADDUBSW X96(DI), Y13, Y13; \
	VPADDW Y13, Y12, Y12; \
	VPMADDWD Y4, Y12, Y12; \
	VPHADDD Y12, Y8, Y8; \
	DEC_QUAD_END(18, X128, X160, ACC)

// Eight Q4_0 blocks (four pairs, 144 bytes at R9) against their 320-byte
// record at (DI) (see decRecordsQ4QAVX2): each pair's low- and
// high-nibble products added as int16 as in DEC_Q4P (four products a
// word), then two rounds of unpacks (dwords, then qwords) and VPADDW fold
// the four pairs' words into one register, each block's 32 products in
// one word pair (16 a word, at most 16·15·128 = 30720, so no word
// overflows), and one VPMADDWD finishes the sums in dword lanes
// [b0 b2 b4 b6 | b1 b3 b5 b7]: the correction, the conversion, the
// scaling and the FMA then run once per eight blocks (on one core in L2:
// 122 -> 143 GFLOP/s against the four-block step, DEC_Q4Q). The eight
// F16 scales are gathered in AX (d0 d2 d4 d6) and DX (d1 d3 d5 d7) by
// word loads into the low word; vector loads placed so that each scale
// lands in its own dword, blended and put in order by VPSHUFB and VPERMQ,
// ran 5% slower. Its vector instructions are what bounds it: when three
// VPHADDW did the folding (before c3ed48d), the step ran 15% faster
// without any scales, and 10% faster with VPADDW for the VPHADDW (wrong
// sums). Y4 0x0001 words, Y5 0x0f bytes.
#define DEC_Q4P_W(QA, QB, XB, R, T) \
	VMOVDQU QA(R9), R; \
	VINSERTI128 $1, QB(R9), R, R; \
	VPSRLW $4, R, T; \
	VPAND Y5, R, R; \
	VPAND Y5, T, T; \
	VPMADDUBSW XB(DI), R, R; \
	VPMADDUBSW (XB+32)(DI), T, T; \
	VPADDW T, R, R

// The F16 scales at S, S+T, S+2T and S+3T (R9) as the words of R, the
// first lowest; each load writes R's low word only.
#define DEC_GATHER4(S, T, R) \
	MOVWQZX (S+3*T)(R9), R; \
	SHLQ $16, R; \
	MOVW (S+2*T)(R9), R; \
	SHLQ $16, R; \
	MOVW (S+T)(R9), R; \
	SHLQ $16, R; \
	MOVW S(R9), R

#define DEC_Q4O(ACC) \
	DEC_Q4P_W(2, 20, 0, Y8, Y9); \
	DEC_Q4P_W(38, 56, 64, Y10, Y11); \
	VPUNPCKLDQ Y10, Y8, Y9; \
	VPUNPCKHDQ Y10, Y8, Y8; \
	VPADDW Y9, Y8, Y8; \
	DEC_Q4P_W(74, 92, 128, Y10, Y11); \
	DEC_Q4P_W(110, 128, 192, Y12, Y13); \
	VPUNPCKLDQ Y12, Y10, Y11; \
	VPUNPCKHDQ Y12, Y10, Y10; \
	VPADDW Y11, Y10, Y10; \
	VPUNPCKLQDQ Y10, Y8, Y9; \
	VPUNPCKHQDQ Y10, Y8, Y8; \
	VPADDW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	DEC_OCT_END(18, ACC)

#define DEC_CONSTS \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X5; \
	VPBROADCASTD X5, Y5

// func decQ4_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·decQ4_0AVX2(SB), NOSPLIT, $0-48
	DEC_ARGS
	DEC_CONSTS
	TESTQ R10, R10
	JZ d4done
d4row:
	DEC_ROW
	CMPQ CX, $8
	JLT d4quad
d4loop:
	DEC_PF3(DEC_PFT, R9)
	DEC_Q4O(Y0)
	ADDQ $144, R9
	ADDQ $320, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JLT d4quad
	DEC_PF3(DEC_PFT, R9)
	DEC_Q4O(Y1)
	ADDQ $144, R9
	ADDQ $320, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JGE d4loop
d4quad:
	CMPQ CX, $4
	JLT d4pair
	DEC_Q4Q(0, 32, 64, 96, 128, 160, Y1)
	ADDQ $72, R9
	ADDQ $192, DI
	SUBQ $4, CX
d4pair:
	CMPQ CX, $2
	JLT d4tail
	DEC_Q4P(2, 18, 20, 0, 32, 64, 96, Y0)
	ADDQ $36, R9
	ADDQ $128, DI
	SUBQ $2, CX
d4tail:
	TESTQ CX, CX
	JZ d4end
	// The last block alone: the upper lane of weights zero, block 1's
	// correction and scales in the record zero.
	VMOVDQU 2(R9), X8
	VPSRLW $4, Y8, Y9
	VPAND Y5, Y8, Y8
	VPAND Y5, Y9, Y9
	DEC_PROD1
d4end:
	DEC_NEXT(d4row)
d4done:
	VZEROUPPER
	RET

// func decQ5_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·decQ5_0AVX2(SB), NOSPLIT, $0-48
	DEC_ARGS
	DEC_CONSTS
	VMOVDQU ·decQ5Bit<>(SB), Y3
	VMOVDQU ·decQ5Lo<>(SB), Y6
	VMOVDQU ·decQ5Hi<>(SB), Y7
	TESTQ R10, R10
	JZ d5done
d5row:
	DEC_ROW
	CMPQ CX, $8
	JLT d5quad
d5loop:
	DEC_PF3(DEC_PFT, R9)
	DEC_Q5O(Y0)
	ADDQ $176, R9
	ADDQ $320, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JLT d5quad
	DEC_PF3(DEC_PFT, R9)
	DEC_Q5O(Y1)
	ADDQ $176, R9
	ADDQ $320, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JGE d5loop
d5quad:
	CMPQ CX, $4
	JLT d5pair
	DEC_Q5Q(Y1)
	ADDQ $88, R9
	ADDQ $192, DI
	SUBQ $4, CX
d5pair:
	CMPQ CX, $2
	JLT d5tail
	DEC_Q5P(0, 32, 64, 96, Y0)
	ADDQ $44, R9
	ADDQ $128, DI
	SUBQ $2, CX
d5tail:
	TESTQ CX, CX
	JZ d5end
	// The last block alone, as decQ4_0AVX2's; its qh only (a 32-byte
	// load would read past the row).
	VMOVDQU 6(R9), X8
	VPSRLW $4, Y8, Y9
	VPAND Y5, Y8, Y8
	VPAND Y5, Y9, Y9
	VMOVD 2(R9), X15
	DEC_Q5HX(Y8, Y9)
	DEC_PROD1
d5end:
	DEC_NEXT(d5row)
d5done:
	VZEROUPPER
	RET

// AVX2 Q8_0, four blocks (136 bytes) a step against quad records of 160
// bytes (decRecordsQ8DAVX2):
//   0    x of b0, b1, b2, b3, 32 bytes each
//   128  float32 dx in lanes [b0 b1 b2 b3 b0 b1 b2 b3]
// Each block by the sign trick (|w| times x·sign(w), whose VPMADDUBSW
// pairs reach at most 2·128·127 and so never saturate) to eight int32
// partial sums; then unpacks and adds fold the four blocks' sums into one
// register [b0 b1 b2 b3 | b0 b1 b2 b3] (each lane half a block's sum), so
// the conversion, the scaling and the FMA run once per four blocks: the
// pair kernel this replaced ran 2.5 cycles a block (100 GFLOP/s on one
// core in L2; now 106): what bounds both is Zen 5's two pipes that take
// VPMADDUBSW and VPMADDWD, which VPSIGNB partly shares, four such
// instructions a block. Each weight vector is loaded once: VPSIGNB and
// VPABSB taking the same unaligned 32 bytes from memory cost more.

// Block K of the quad at R9 to eight int32 sums in T; A a temporary.
// Y4 0x0001 words.
#define DEC_Q8W(K, A, T) \
	VMOVDQU (2+34*K)(R9), A; \
	VMOVDQU (32*K)(DI), T; \
	VPSIGNB A, T, T; \
	VPABSB A, A; \
	VPMADDUBSW T, A, T; \
	VPMADDWD Y4, T, T

#define DEC_Q8Q(ACC) \
	DEC_Q8W(0, Y6, Y8); \
	DEC_Q8W(1, Y7, Y9); \
	VPUNPCKLDQ Y9, Y8, Y10; \
	VPUNPCKHDQ Y9, Y8, Y8; \
	VPADDD Y10, Y8, Y8; \
	DEC_Q8W(2, Y6, Y9); \
	DEC_Q8W(3, Y7, Y10); \
	VPUNPCKLDQ Y10, Y9, Y11; \
	VPUNPCKHDQ Y10, Y9, Y9; \
	VPADDD Y11, Y9, Y9; \
	VPUNPCKLQDQ Y9, Y8, Y10; \
	VPUNPCKHQDQ Y9, Y8, Y8; \
	VPADDD Y10, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	DEC_GATHER4(0, 34, AX); \
	VMOVQ AX, X12; \
	VPUNPCKLQDQ X12, X12, X12; \
	VCVTPH2PS X12, Y12; \
	VMULPS 128(DI), Y12, Y12; \
	VFMADD231PS Y12, Y8, ACC

// func decQ8_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// Register plan: as DEC_ARGS; per row CX quads left, R9 the quad, DI its
// record, BX the blocks past the last whole quad, R12 and R13 a last
// block's offsets in its record; Y0 Y1 the float sums, Y2 the last
// blocks'.
TEXT ·decQ8_0AVX2(SB), NOSPLIT, $0-48
	DEC_ARGS
	DEC_CONSTS
	TESTQ R10, R10
	JZ d8done
d8row:
	DEC_ROW
	MOVQ CX, BX
	ANDQ $3, BX
	SHRQ $2, CX
	CMPQ CX, $2
	JLT d8one
d8loop:
	DEC_PF3(DEC_PFT, R9)
	DEC_Q8Q(Y0)
	ADDQ $136, R9
	ADDQ $160, DI
	DEC_PF3(DEC_PFT, R9)
	DEC_Q8Q(Y1)
	ADDQ $136, R9
	ADDQ $160, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE d8loop
d8one:
	TESTQ CX, CX
	JZ d8tail
	DEC_Q8Q(Y0)
	ADDQ $136, R9
	ADDQ $160, DI
d8tail:
	// The last blocks one at a time; nothing past the row is read.
	TESTQ BX, BX
	JZ d8end
	XORQ R12, R12
	XORQ R13, R13
d8last:
	VMOVDQU (DI)(R12*1), Y8
	VPSIGNB 2(R9), Y8, Y8
	VPABSB 2(R9), Y6
	VPMADDUBSW Y8, Y6, Y8
	VPMADDWD Y4, Y8, Y8
	VCVTDQ2PS Y8, Y8
	VPBROADCASTW (R9), X12
	VCVTPH2PS X12, Y12
	VBROADCASTSS 128(DI)(R13*1), Y13
	VMULPS Y13, Y12, Y12
	VFMADD231PS Y12, Y8, Y2
	ADDQ $34, R9
	ADDQ $32, R12
	ADDQ $4, R13
	DECQ BX
	JNZ d8last
d8end:
	DEC_NEXT(d8row)
d8done:
	VZEROUPPER
	RET

// Q8_0 on the avx512 path, four blocks (136 bytes) per step, against
// quad records of 144 bytes (decRecordsQ8QAVX2):
//   0    x XOR 0x80 (x+128, unsigned) of b0, b1, b2, b3, 32 bytes each
//   128  float32 dx of b0, b1, b2, b3
// Here the activations are VPDPBUSD's unsigned operand and the weights,
// as they are, its signed one: a second VPDPBUSD of 0x80 bytes by the
// weights gives the 128·sum(w) that x+128 adds, subtracted in integers, so
// each block's sum stays exact. The pair kernel this replaced made the
// weights unsigned instead and loaded a 64-byte correction and a 64-byte
// scale vector per pair from its 192-byte records: on one core in L2 it
// ran 127 GFLOP/s, and 170 with those loads taken out (wrong sums), bound
// by the L1 loads of 512 bits. Here a quad's four dw are gathered as
// scalar words (DEC_GATHER4), converted and multiplied by its four dx in
// one xmm, and VPERMPS spreads the products over each pair's 16 lanes.

// dwordPairs holds VPERMD/VPERMPS indices that spread dwords over two
// halves of a ZMM: its vector p (at 64p) takes dword 2p into lanes 0-7 and
// dword 2p+1 into lanes 8-15. decQ8_0VNNI spreads its floats 0-3 with
// vectors 0 and 1, decQ8_0Z8 (interleave_q8z_amd64.s) a record's eight
// dwords of values with all four.
DATA ·dwordPairs+0(SB)/8, $0x0000000000000000
DATA ·dwordPairs+8(SB)/8, $0x0000000000000000
DATA ·dwordPairs+16(SB)/8, $0x0000000000000000
DATA ·dwordPairs+24(SB)/8, $0x0000000000000000
DATA ·dwordPairs+32(SB)/8, $0x0000000100000001
DATA ·dwordPairs+40(SB)/8, $0x0000000100000001
DATA ·dwordPairs+48(SB)/8, $0x0000000100000001
DATA ·dwordPairs+56(SB)/8, $0x0000000100000001
DATA ·dwordPairs+64(SB)/8, $0x0000000200000002
DATA ·dwordPairs+72(SB)/8, $0x0000000200000002
DATA ·dwordPairs+80(SB)/8, $0x0000000200000002
DATA ·dwordPairs+88(SB)/8, $0x0000000200000002
DATA ·dwordPairs+96(SB)/8, $0x0000000300000003
DATA ·dwordPairs+104(SB)/8, $0x0000000300000003
DATA ·dwordPairs+112(SB)/8, $0x0000000300000003
DATA ·dwordPairs+120(SB)/8, $0x0000000300000003
DATA ·dwordPairs+128(SB)/8, $0x0000000400000004
DATA ·dwordPairs+136(SB)/8, $0x0000000400000004
DATA ·dwordPairs+144(SB)/8, $0x0000000400000004
DATA ·dwordPairs+152(SB)/8, $0x0000000400000004
DATA ·dwordPairs+160(SB)/8, $0x0000000500000005
DATA ·dwordPairs+168(SB)/8, $0x0000000500000005
DATA ·dwordPairs+176(SB)/8, $0x0000000500000005
DATA ·dwordPairs+184(SB)/8, $0x0000000500000005
DATA ·dwordPairs+192(SB)/8, $0x0000000600000006
DATA ·dwordPairs+200(SB)/8, $0x0000000600000006
DATA ·dwordPairs+208(SB)/8, $0x0000000600000006
DATA ·dwordPairs+216(SB)/8, $0x0000000600000006
DATA ·dwordPairs+224(SB)/8, $0x0000000700000007
DATA ·dwordPairs+232(SB)/8, $0x0000000700000007
DATA ·dwordPairs+240(SB)/8, $0x0000000700000007
DATA ·dwordPairs+248(SB)/8, $0x0000000700000007
GLOBL ·dwordPairs(SB), RODATA|NOPTR, $256

// The exact int32 sums of a pair's weights W (signed) by its unsigned
// activations XU, to I; J a temporary. Z4 0x80 bytes.
#define Q8Z_SUM(W, XU, I, J) \
	VPXORD I, I, I; \
	VPDPBUSD W, XU, I; \
	VPXORD J, J, J; \
	VPDPBUSD W, Z4, J; \
	VPSUBD J, I, I; \
	VCVTDQ2PS I, I

// One quad at R9 against its record at DI, to ACC0 (b0, b1) and ACC1
// (b2, b3).
#define Q8Z_QUAD(ACC0, ACC1) \
	VMOVDQU32 2(R9), Y16; \
	VINSERTI64X4 $1, 36(R9), Z16, Z16; \
	VMOVDQU32 70(R9), Y17; \
	VINSERTI64X4 $1, 104(R9), Z17, Z17; \
	VMOVDQU64 (DI), Z18; \
	VMOVDQU64 64(DI), Z19; \
	Q8Z_SUM(Z16, Z18, Z20, Z21); \
	Q8Z_SUM(Z17, Z19, Z22, Z23); \
	DEC_GATHER4(0, 34, AX); \
	VMOVQ AX, X24; \
	VCVTPH2PS X24, X24; \
	VMULPS 128(DI), X24, X24; \
	VPERMPS Z24, Z5, Z25; \
	VPERMPS Z24, Z6, Z24; \
	VFMADD231PS Z25, Z20, ACC0; \
	VFMADD231PS Z24, Z22, ACC1

// func decQ8_0VNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// Register plan: as DEC_ARGS; per row CX quads left, R9 the quad, DI its
// record, BX the blocks past the last whole quad, R12 and R13 a last
// block's offsets in its record; Z0 Z1 the float sums, Y2 the last blocks'.
TEXT ·decQ8_0VNNI(SB), NOSPLIT, $0-48
	DEC_ARGS
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z4
	VMOVDQU64 ·dwordPairs(SB), Z5
	VMOVDQU64 ·dwordPairs+64(SB), Z6
	TESTQ R10, R10
	JZ z8done
z8row:
	DEC_ROW
	MOVQ CX, BX
	ANDQ $3, BX
	SHRQ $2, CX
	CMPQ CX, $2
	JLT z8one
z8loop:
	DEC_PF3(DEC_PFZ, R9)
	Q8Z_QUAD(Z0, Z1)
	ADDQ $136, R9
	ADDQ $144, DI
	DEC_PF3(DEC_PFZ, R9)
	Q8Z_QUAD(Z0, Z1)
	ADDQ $136, R9
	ADDQ $144, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE z8loop
z8one:
	TESTQ CX, CX
	JZ z8tail
	Q8Z_QUAD(Z0, Z1)
	ADDQ $136, R9
	ADDQ $144, DI
z8tail:
	// The last blocks one at a time on 256 bits: nothing past the row is
	// read.
	TESTQ BX, BX
	JZ z8end
	XORQ R12, R12
	XORQ R13, R13
z8last:
	VMOVDQU32 2(R9), Y16
	VMOVDQU32 (DI)(R12*1), Y18
	VPXORD Y20, Y20, Y20
	VPDPBUSD Y16, Y18, Y20
	VPXORD Y21, Y21, Y21
	VPDPBUSD Y16, Y4, Y21
	VPSUBD Y21, Y20, Y20
	VCVTDQ2PS Y20, Y20
	VPBROADCASTW (R9), X24
	VCVTPH2PS X24, Y24
	VMULPS.BCST 128(DI)(R13*1), Y24, Y24
	VFMADD231PS Y24, Y20, Y2
	ADDQ $34, R9
	ADDQ $32, R12
	ADDQ $4, R13
	DECQ BX
	JNZ z8last
z8end:
	DECZ_NEXT(z8row)
z8done:
	VZEROUPPER
	RET

// One block of a Q8_0 row's quad records (decRecordsQ8QAVX2,
// decRecordsQ8DAVX2) at SI: its values by X (a macro: to Y0 as the record
// takes them) to (DI)(DX), its dx (X1) by DXS (a macro) to the dx slots
// at R8; on to the next block, and the next record of SIZE bytes after a
// quad's fourth (else to NEXT). The two layouts differ only in X and DXS,
// so the quads' bookkeeping is written once.
#define REC_Q8_BLOCK(X, DXS, SIZE, NEXT) \
	X; \
	VMOVDQU Y0, (DI)(DX*1); \
	VPBROADCASTW (SI), X1; \
	VCVTPH2PS X1, X1; \
	DXS; \
	ADDQ $34, SI; \
	ADDQ $32, DX; \
	ADDQ $4, R8; \
	CMPQ R8, $16; \
	JNE NEXT; \
	XORQ DX, DX; \
	XORQ R8, R8; \
	ADDQ $SIZE, DI

// decRecordsQ8QAVX2's values, x XOR 0x80, and dx.
#define RQ8Z_X VPXOR 2(SI), Y4, Y0
#define RQ8Z_DX VMOVSS X1, 128(DI)(R8*1)

// decRecordsQ8DAVX2's values, x as it is, and dx twice.
#define RQ8D_X VMOVDQU 2(SI), Y0
#define RQ8D_DX VMOVSS X1, 128(DI)(R8*1); VMOVSS X1, 144(DI)(R8*1)

// func decRecordsQ8QAVX2(nb int, xq *byte, dst *byte, off int)
//
// The quad records of decQ8_0VNNI (see there) from a Q8_0 row; off is
// unused (REC_ARGS leaves -off in X6). A last quad of fewer blocks has
// only theirs.
//
// Register plan: CX blocks left, SI Q8_0 block, DI quad record, DX the
// block's x offset in it (0-96), R8 its dx offset (0-12), Y4 0x80 bytes.
TEXT ·decRecordsQ8QAVX2(SB), NOSPLIT, $0-32
	REC_ARGS
	MOVL $0x80808080, AX
	VMOVD AX, X4
	VPBROADCASTD X4, Y4
	XORQ DX, DX
	XORQ R8, R8
	TESTQ CX, CX
	JZ rq8done
rq8loop:
	REC_Q8_BLOCK(RQ8Z_X, RQ8Z_DX, 144, rq8next)
rq8next:
	DECQ CX
	JNZ rq8loop
rq8done:
	VZEROUPPER
	RET

// func decRecordsQ8DAVX2(nb int, xq *byte, dst *byte, off int)
//
// The quad records of decQ8_0AVX2 (see there) from a Q8_0 row; off is
// unused (REC_ARGS leaves -off in X6). A last quad of fewer blocks has
// only theirs.
//
// Register plan: CX blocks left, SI Q8_0 block, DI quad record, DX the
// block's x offset in it (0-96), R8 its dx offset (0-12).
TEXT ·decRecordsQ8DAVX2(SB), NOSPLIT, $0-32
	REC_ARGS
	XORQ DX, DX
	XORQ R8, R8
	TESTQ CX, CX
	JZ rq8ddone
rq8dloop:
	REC_Q8_BLOCK(RQ8D_X, RQ8D_DX, 160, rq8dnext)
rq8dnext:
	DECQ CX
	JNZ rq8dloop
rq8ddone:
	VZEROUPPER
	RET

// The arguments and constants of the split record builders: as REC_ARGS
// and REC_ONES, -off in four lanes of X6, Y3 zero.
#define REC_SPLIT_ARGS \
	REC_ARGS; \
	VPBROADCASTD X6, X6; \
	REC_ONES; \
	VPXOR Y3, Y3, Y3

// A Q8_0 block at SI split into halves for a pair or quad record: its
// elements 0-15 to (DI)(DX), 16-31 to HI(DI)(DX); in X1 the sums of x
// that each of four int32 lanes of the two halves cover (lane j: elements
// 4j..4j+3 and 16+4j..16+4j+3). Y4 0x01 bytes, Y5 0x0001 words.
#define REC_SPLIT(HI) \
	VMOVDQU 2(SI), Y0; \
	VMOVDQU X0, (DI)(DX*1); \
	VEXTRACTI128 $1, Y0, X1; \
	VMOVDQU X1, HI(DI)(DX*1); \
	VPMADDUBSW Y0, Y4, Y1; \
	VPMADDWD Y5, Y1, Y1; \
	VEXTRACTI128 $1, Y1, X2; \
	VPADDD X2, X1, X1

// func decRecordsQ4AVX2(nb int, xq *byte, dst *byte, off int)
//
// The last pairs of decRecordsQ4QAVX2 (decQ4_0AVX2 and decQ5_0AVX2), 128
// bytes per pair of blocks:
//   0   elements 0-15 of block 0, then of block 1
//   32  elements 16-31 of block 0, then of block 1
//   64  int32 corrections: lane j (0-3) -off·(sum of x over elements
//       4j..4j+3 and 16+4j..16+4j+3 of block 0, what the kernel's lane j
//       covers), lanes 4-7 the same for block 1
//   96  float32 scales: dx of block 0 in lanes 0-3, of block 1 in 4-7
// An odd last block's record has zeros where block 1 would be. Each
// lane's correction is its own (as decRecordsQ4ZAVX2's) because the
// kernels convert and scale the lanes apart: a block's whole correction
// in lane 0 left lanes 1-3 to cancel it in float (an all-zero row came
// out -1.4e-9).
//
// Register plan: CX blocks left, SI Q8_0 block, DI record, DX 0 or 16 (the
// half), Y4 0x01 bytes, Y5 0x0001 words, X6 -off, X3 zero.
TEXT ·decRecordsQ4AVX2(SB), NOSPLIT, $0-32
	REC_SPLIT_ARGS
	TESTQ $1, CX
	JZ rq4even
	MOVQ CX, AX
	SHRQ $1, AX
	SHLQ $7, AX
	VMOVDQU Y3, (DI)(AX*1)
	VMOVDQU Y3, 32(DI)(AX*1)
	VMOVDQU Y3, 64(DI)(AX*1)
	VMOVDQU Y3, 96(DI)(AX*1)
rq4even:
	XORQ DX, DX
	TESTQ CX, CX
	JZ rq4done
rq4loop:
	REC_SPLIT(32)
	VPMULLD X6, X1, X1
	VMOVDQU X1, 64(DI)(DX*1)
	VPBROADCASTW (SI), X2
	VCVTPH2PS X2, X2
	VMOVUPS X2, 96(DI)(DX*1)
	ADDQ $34, SI
	ADDQ $16, DX
	CMPQ DX, $32
	JNE rq4next
	XORQ DX, DX
	ADDQ $128, DI
rq4next:
	DECQ CX
	JNZ rq4loop
rq4done:
	VZEROUPPER
	RET

// func decRecordsQ4QAVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of decQ4_0AVX2 and decQ5_0AVX2 (off 8 and 16): 320 bytes
// per eight blocks (b0-b7), for DEC_Q4O and DEC_Q5O:
//   0   elements 0-15 of b0, then of b1; 32 elements 16-31 of b0, then b1
//   64  the same for b2 and b3; 128 for b4 and b5; 192 for b6 and b7
//   256 int32 correction -off·sum(x) in lanes [b0 b2 b4 b6 b1 b3 b5 b7]
//   288 float32 scales dx in the same lanes
// then, if four or more blocks are left, 192 bytes for four (b0-b3), for
// DEC_Q4Q and DEC_Q5Q:
//   0   as above for b0 to b3
//   128 int32 corrections -off·sum(x) in lanes [b0 b0 b2 b2 b1 b1 b3 b3],
//       over elements 0-7 and 16-23 of the block in the first lane of
//       each, 8-15 and 24-31 in the second (DEC_Q4Q's lanes)
//   160 float32 scales dx in the same lanes
// then the last nb%4 blocks as decRecordsQ4AVX2 lays them out (the kernel
// takes them a pair and a block at a time). All of it fits in the room of
// decRecordsQ4AVX2's pair records.
//
// Register plan: CX blocks left, SI Q8_0 block, DI record, Y4 0x01 bytes,
// Y5 0x0001 words, X6 -off, Y3 zero.
TEXT ·decRecordsQ4QAVX2(SB), NOSPLIT, $0-32
	REC_SPLIT_ARGS
	CMPQ CX, $8
	JLT rqqquad
rqqloop:
	REC_FOUR(REC_Q4O, 0, 0, 256, 288, 4)
	REC_FOUR(REC_Q4O, 136, 128, 264, 296, 4)
	ADDQ $272, SI
	ADDQ $320, DI
	SUBQ $8, CX
	CMPQ CX, $8
	JGE rqqloop
rqqquad:
	CMPQ CX, $4
	JLT rqqrest
	REC_FOUR(REC_Q4Q, 0, 0, 128, 160, 8)
	ADDQ $136, SI
	ADDQ $192, DI
	SUBQ $4, CX
rqqrest:
	// The rest in pair records: hand over to decRecordsQ4AVX2.
	MOVQ CX, nb+0(FP)
	MOVQ SI, xq+8(FP)
	MOVQ DI, dst+16(FP)
	VZEROUPPER
	JMP ·decRecordsQ4AVX2(SB)

// VPERMD index 0,4,1,5,2,6,3,7: undoes the in-lane order of the packs.
DATA ·d1Perm<>+0(SB)/8, $0x0000000400000000
DATA ·d1Perm<>+8(SB)/8, $0x0000000500000001
DATA ·d1Perm<>+16(SB)/8, $0x0000000600000002
DATA ·d1Perm<>+24(SB)/8, $0x0000000700000003
GLOBL ·d1Perm<>(SB), RODATA|NOPTR, $32

// func quantQ8_1AVX2(nb int, src *float32, dst *byte) (finite bool)
//
// ggml's reference Q8_1 quantiser, bit for bit, for rows whose values are
// all finite: d = amax/127, id = 1/d (0 when d is 0), q = roundf(x·id), d
// and s = sum(q)·d stored as F16 (VCVTPS2PH, to nearest even). roundf
// (half away from zero) is trunc(v + copysign(0.49999997, v)), exact for
// every |v| < 128 (checked against math.Round on all of them). It returns
// false at the first block with a NaN or infinity; the caller then
// quantises the row with the portable code. In assembly because the Go loop
// ran serially before every Q4_1 and Q5_1 matrix-vector product.
//
// Register plan: CX blocks, SI src, DI dst; Y0-Y3 the block's values, then
// their integers; Y4-Y8 temporaries; X6 d; Y7 id; Y9 the VPERMD index;
// Y10 +Inf; X11 127.0; X12 1.0; Y13 sign bits; Y14 0.49999997; Y15 abs.
TEXT ·quantQ8_1AVX2(SB), NOSPLIT, $0-25
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	Q_ABS_INF
	MOVL $0x80000000, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x3effffff, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x3f800000, AX
	VMOVD AX, X12
	MOVL $0x42fe0000, AX
	VMOVD AX, X11
	VMOVDQU ·d1Perm<>(SB), Y9
	TESTQ CX, CX
	JZ q81ok
q81loop:
	VANDPS (SI), Y15, Y4
	VANDPS 32(SI), Y15, Y5
	VANDPS 64(SI), Y15, Y6
	VANDPS 96(SI), Y15, Y7
	VMAXPS Y5, Y4, Y8
	VMAXPS Y7, Y6, Y0
	VMAXPS Y0, Y8, Y8
	VCMPPS $5, Y10, Y4, Y4
	VCMPPS $5, Y10, Y5, Y5
	VCMPPS $5, Y10, Y6, Y6
	VCMPPS $5, Y10, Y7, Y7
	VORPS Y5, Y4, Y4
	VORPS Y7, Y6, Y6
	VORPS Y6, Y4, Y4
	VPTEST Y4, Y4
	JNZ q81fail
	VEXTRACTF128 $1, Y8, X0
	VMAXPS X0, X8, X8
	VPERMILPS $0x4e, X8, X0
	VMAXPS X0, X8, X8
	VPERMILPS $0xb1, X8, X0
	VMAXPS X0, X8, X8
	VDIVSS X11, X8, X6
	VDIVSS X6, X12, X7
	VXORPS X5, X5, X5
	VCMPSS $4, X5, X6, X4
	VANDPS X4, X7, X7
	VBROADCASTSS X7, Y7
	VCVTPS2PH $0, X6, X5
	VPEXTRW $0, X5, AX
	MOVW AX, (DI)
	VMULPS (SI), Y7, Y0
	VMULPS 32(SI), Y7, Y1
	VMULPS 64(SI), Y7, Y2
	VMULPS 96(SI), Y7, Y3
#define D1_ROUND(V) \
	VANDPS Y13, V, Y4; \
	VORPS Y14, Y4, Y4; \
	VADDPS Y4, V, V; \
	VCVTTPS2DQ V, V
	D1_ROUND(Y0)
	D1_ROUND(Y1)
	D1_ROUND(Y2)
	D1_ROUND(Y3)
	// s = float32(sum(q))·d.
	VPADDD Y1, Y0, Y4
	VPADDD Y3, Y2, Y5
	VPADDD Y5, Y4, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0x4e, X4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0xb1, X4, X5
	VPADDD X5, X4, X4
	VCVTDQ2PS X4, X4
	VMULSS X6, X4, X4
	VCVTPS2PH $0, X4, X5
	VPEXTRW $0, X5, AX
	MOVW AX, 2(DI)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y9, Y0
	VMOVDQU Y0, 4(DI)
	ADDQ $128, SI
	ADDQ $36, DI
	DECQ CX
	JNZ q81loop
q81ok:
	VZEROUPPER
	MOVB $1, finite+24(FP)
	RET
q81fail:
	VZEROUPPER
	MOVB $0, finite+24(FP)
	RET

// Q4_0 on the avx512 path, four blocks (72 bytes) per step. The four
// blocks' 64 nibble bytes come together in one register (VPERMT2B of the
// quad's first 64 bytes and its last 8), so one AND gives the 64
// low-nibble levels (elements 0-15 of each block) and one GF2P8AFFINEQB
// (GFNI: a shift right by 4 of each byte, where VPSRLW and VPANDD take two
// instructions; 5% faster) the 64 high ones (16-31); two VPDPBUSD then add all 128 products to 16
// int32 lanes, four per block, on top of the correction, and one
// conversion, one multiply by dw·dx and one FMA take the four blocks to
// the float sums: about half the instructions per block of the pair
// kernel this replaced (38 GB/s of weights in L2 on one core, now 59-67),
// which left too little room to keep up with memory while it waits for it.

// Its records (decRecordsQ4ZAVX2), 256 bytes per four blocks b0-b3:
//   0    elements 0-15 of b0, b1, b2, b3 (16 bytes each)
//   64   elements 16-31 of b0, b1, b2, b3
//   128  int32 correction: lane 4k+j is -off times the sum of the x that
//        lane j of block k covers (elements 4j..4j+3 and 16+4j..16+4j+3)
//   192  float32 dx of block k in lanes 4k..4k+3
// A last quad of fewer blocks has zeros where the missing blocks would be,
// and the kernel loads that quad's weights through a zeroing byte mask, so
// nothing past the row is read and the missing blocks add 0·0.

// VPERMT2B index: the nibble bytes of the four blocks (byte 18k+2.. of the
// quad; 64-71 are the second table's 0-7).
DATA ·decQ4ZPerm<>+0(SB)/8, $0x0908070605040302
DATA ·decQ4ZPerm<>+8(SB)/8, $0x11100f0e0d0c0b0a
DATA ·decQ4ZPerm<>+16(SB)/8, $0x1b1a191817161514
DATA ·decQ4ZPerm<>+24(SB)/8, $0x232221201f1e1d1c
DATA ·decQ4ZPerm<>+32(SB)/8, $0x2d2c2b2a29282726
DATA ·decQ4ZPerm<>+40(SB)/8, $0x3534333231302f2e
DATA ·decQ4ZPerm<>+48(SB)/8, $0x3f3e3d3c3b3a3938
DATA ·decQ4ZPerm<>+56(SB)/8, $0x4746454443424140
GLOBL ·decQ4ZPerm<>(SB), RODATA|NOPTR, $64

// VPERMW index: the four F16 scales (words 0, 9, 18, 27), four lanes each.
DATA ·decQ4ZScale<>+0(SB)/8, $0x0000000000000000
DATA ·decQ4ZScale<>+8(SB)/8, $0x0009000900090009
DATA ·decQ4ZScale<>+16(SB)/8, $0x0012001200120012
DATA ·decQ4ZScale<>+24(SB)/8, $0x001b001b001b001b
DATA ·decQ4ZScale<>+32(SB)/8, $0x0000000000000000
DATA ·decQ4ZScale<>+40(SB)/8, $0x0000000000000000
DATA ·decQ4ZScale<>+48(SB)/8, $0x0000000000000000
DATA ·decQ4ZScale<>+56(SB)/8, $0x0000000000000000
GLOBL ·decQ4ZScale<>(SB), RODATA|NOPTR, $64

// One quad: the raw 64 bytes in A (and the last 8 in B), to the float sums
// ACC; its record at R(DI); D and I temporaries. Z4 0x0f bytes, Z5 the
// VPERMT2B index, Z6 the VPERMW index, Z7 the matrix GF_SHR4.
#define Q4Z_QUAD(A, B, D, YD, I, ACC, R) \
	VPERMW A, Z6, D; \
	VCVTPH2PS YD, D; \
	VPERMT2B B, Z5, A; \
	VGF2P8AFFINEQB $0, Z7, A, B; \
	VPANDD Z4, A, A; \
	QZ_DOTS(A, B, D, I, ACC, R)

// A quad's levels, low (A) and high (B), against its record at R(DI) (see
// decRecordsQ4ZAVX2), times its scales D, to the float sums ACC; I a
// temporary. The record's values are VPDPBUSD's memory operands: loaded
// into registers first (as decQ4_0VNNIQ did), they cost 5-6% in L2 on
// one thread, and 1-2% from memory on one and two (Zen 5).
#define QZ_DOTS(A, B, D, I, ACC, R) \
	VMOVDQU64 (R+128)(DI), I; \
	VPDPBUSD (R)(DI), A, I; \
	VPDPBUSD (R+64)(DI), B, I; \
	VCVTDQ2PS I, I; \
	VMULPS (R+192)(DI), D, D; \
	VFMADD231PS D, I, ACC

// The byte mask of the first N bytes (N < 64, in CX) to K.
#define QZ_MASK(N, K) \
	MOVQ $1, AX; \
	SHLQ N, AX; \
	DECQ AX; \
	KMOVQ AX, K

// The quad kernels' last partial quad, of BX = nb%4 blocks of BB bytes:
// K1 the byte mask of its first min(BB·BX, 64) bytes, loaded at 0, and K6
// that of its bytes past BOFF, loaded at BOFF (none where BOFF is 64 and
// the quad is shorter). A64 and NOB are the kernel's own labels.
#define QZ_TAIL_MASKS(BB, BOFF, A64, NOB) \
	MOVQ nb+0(FP), BX; \
	ANDQ $3, BX; \
	IMUL3Q $BB, BX, CX; \
	MOVQ $-1, AX; \
	KMOVQ AX, K1; \
	CMPQ CX, $64; \
	JAE A64; \
	QZ_MASK(CX, K1); \
A64: \
	KXORQ K6, K6, K6; \
	SUBQ $BOFF, CX; \
	JBE NOB; \
	QZ_MASK(CX, K6); \
NOB:

// A row's start in the quad kernels (decQ4_0VNNIQ and the others): CX
// its whole quads, DI the token's records, R9 the row, the sums Z0 Z1
// cleared.
#define QZ_ROW \
	MOVQ nb+0(FP), CX; \
	SHRQ $2, CX; \
	MOVQ x+24(FP), DI; \
	MOVQ SI, R9; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1

// A row's end: its sum to out, and on to the next row (ROW) if any.
#define QZ_NEXT(ROW) \
	VADDPS Z1, Z0, Z0; \
	HSUM16TO(Z0, Y0, X0, Y2, X2, (R11)); \
	ADDQ $4, R11; \
	ADDQ R8, SI; \
	DECQ R10; \
	JNZ ROW

// func decQ4_0VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// One row at a time: two rows side by side (sharing the activations'
// loads) ran at half the speed on weights streamed from memory, which
// reads one contiguous stream per thread best.
//
// Register plan: SI row, R8 row stride, R11 out, R10 rows left; per row
// CX quads left, R9 the quad, DI its record; K1 the byte mask of a last
// partial quad (BX its block count, 0 if none); Z0 Z1 float sums (two, so
// consecutive FMAs do not wait for each other).
TEXT ·decQ4_0VNNIQ(SB), NOSPLIT, $0-48
	DEC_ARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	VMOVDQU64 ·decQ4ZPerm<>(SB), Z5
	VMOVDQU64 ·decQ4ZScale<>(SB), Z6
	MOVQ $GF_SHR4, AX
	VPBROADCASTQ AX, Z7
	QZ_TAIL_MASKS(18, 64, q4za64, q4znob)
	TESTQ R10, R10
	JZ q4zdone
q4zrow:
	QZ_ROW
	CMPQ CX, $2
	JLT q4zone
q4zloop:
	DEC_PF3(DEC_PFZ, R9)
	VMOVDQU64 (R9), Z16
	VMOVQ 64(R9), X17
	Q4Z_QUAD(Z16, Z17, Z18, Y18, Z19, Z0, 0)
	VMOVDQU64 72(R9), Z20
	VMOVQ 136(R9), X21
	Q4Z_QUAD(Z20, Z21, Z22, Y22, Z23, Z1, 256)
	ADDQ $144, R9
	ADDQ $512, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q4zloop
q4zone:
	TESTQ CX, CX
	JZ q4ztail
	VMOVDQU64 (R9), Z16
	VMOVQ 64(R9), X17
	Q4Z_QUAD(Z16, Z17, Z18, Y18, Z19, Z0, 0)
	ADDQ $72, R9
	ADDQ $256, DI
q4ztail:
	TESTQ BX, BX
	JZ q4zend
	VMOVDQU8.Z (R9), K1, Z16
	VPXORD Z17, Z17, Z17
	Q4Z_QUAD(Z16, Z17, Z18, Y18, Z19, Z1, 0)
q4zend:
	QZ_NEXT(q4zrow)
q4zdone:
	VZEROUPPER
	RET

// Q5_0 on the avx512 path, four blocks (88 bytes) a step, as
// decQ4_0VNNIQ takes Q4_0's and with its records (decRecordsQ4ZAVX2, off
// 16): the quad's 64 nibble bytes gathered into one register from its
// first 64 bytes and its last 32 (VPERMT2B), one AND and one
// GF2P8AFFINEQB to the low and high levels, and the fifth bits added as
// 16 under two byte masks. Those come from the four qh at once: VPERMI2B
// puts block k's 32 bits in qwords 2k and 2k+1, and VPSHUFBITQMB
// (AVX512_BITALG) picks for each byte the bit of its element. The pair
// kernel it replaced built each pair's mask in general registers, with
// about twice the instructions per block. On a Zen 5, one core, a matrix
// in L2: 118-125 GFLOP/s against its 83-87. Bench's stack of
// Qwen2.5-0.5B-shaped Q5_0 layers from memory, one step each in turn, 60
// rounds: 1.12-1.13 times its speed at one thread, 1.15-1.17 at two (0.98
// once, while other tenants held the memory to 39 GB/s).
//
// The quad is two tables: A its bytes 0-63, B its bytes 56-87 (B's byte
// 0, index 64 of a byte permute, is the quad's byte 56). Block k: F16 d
// at 22k, qh at 22k+2, nibbles at 22k+6.

// VPERMT2B index: block k's nibble bytes to bytes 16k..16k+15.
DATA ·decQ5ZPerm<>+0(SB)/8, $0x0d0c0b0a09080706
DATA ·decQ5ZPerm<>+8(SB)/8, $0x1514131211100f0e
DATA ·decQ5ZPerm<>+16(SB)/8, $0x232221201f1e1d1c
DATA ·decQ5ZPerm<>+24(SB)/8, $0x2b2a292827262524
DATA ·decQ5ZPerm<>+32(SB)/8, $0x3938373635343332
DATA ·decQ5ZPerm<>+40(SB)/8, $0x49483f3e3d3c3b3a
DATA ·decQ5ZPerm<>+48(SB)/8, $0x5756555453525150
DATA ·decQ5ZPerm<>+56(SB)/8, $0x5f5e5d5c5b5a5958
GLOBL ·decQ5ZPerm<>(SB), RODATA|NOPTR, $64

// VPERMI2W index: block k's d (word 11k; block 3's is B's word 5) to
// words 4k..4k+3.
DATA ·decQ5ZScale<>+0(SB)/8, $0x0000000000000000
DATA ·decQ5ZScale<>+8(SB)/8, $0x000b000b000b000b
DATA ·decQ5ZScale<>+16(SB)/8, $0x0016001600160016
DATA ·decQ5ZScale<>+24(SB)/8, $0x0025002500250025
GLOBL ·decQ5ZScale<>(SB), RODATA|NOPTR, $32

// VPERMI2B index: block k's qh to bytes 0-3 (and again 4-7) of qwords 2k
// and 2k+1.
DATA ·decQ5ZBits<>+0(SB)/8, $0x0504030205040302
DATA ·decQ5ZBits<>+8(SB)/8, $0x0504030205040302
DATA ·decQ5ZBits<>+16(SB)/8, $0x1b1a19181b1a1918
DATA ·decQ5ZBits<>+24(SB)/8, $0x1b1a19181b1a1918
DATA ·decQ5ZBits<>+32(SB)/8, $0x31302f2e31302f2e
DATA ·decQ5ZBits<>+40(SB)/8, $0x31302f2e31302f2e
DATA ·decQ5ZBits<>+48(SB)/8, $0x4f4e4d4c4f4e4d4c
DATA ·decQ5ZBits<>+56(SB)/8, $0x4f4e4d4c4f4e4d4c
GLOBL ·decQ5ZBits<>(SB), RODATA|NOPTR, $64

// VPSHUFBITQMB index of the low levels, per 16 bytes (elements 0-15 of a
// block): byte i takes qh bit i. The high levels' is 16 more.
DATA ·decQ5ZBit<>+0(SB)/8, $0x0706050403020100
DATA ·decQ5ZBit<>+8(SB)/8, $0x0f0e0d0c0b0a0908
GLOBL ·decQ5ZBit<>(SB), RODATA|NOPTR, $16

// One quad, A and B loaded, to the float sums ACC; its record at
// R(DI). D, Q, I temporaries, KL KH the masks. Z4 0x0f bytes, Z5 the
// VPERMT2B index, Z6 the VPERMI2W index, Z7 the matrix GF_SHR4, Z10 the
// VPERMI2B index, Z11 Z12 the VPSHUFBITQMB ones, Z13 0x10 bytes.
#define Q5Z_QUAD(A, B, YB, D, YD, Q, I, KL, KH, ACC, R) \
	VMOVDQA64 Z6, D; \
	VPERMI2W B, A, D; \
	VCVTPH2PS YD, D; \
	VMOVDQA64 Z10, Q; \
	VPERMI2B B, A, Q; \
	VPSHUFBITQMB Z11, Q, KL; \
	VPSHUFBITQMB Z12, Q, KH; \
	VPERMT2B B, Z5, A; \
	VGF2P8AFFINEQB $0, Z7, A, B; \
	VPANDD Z4, A, A; \
	VPADDB Z13, A, KL, A; \
	VPADDB Z13, B, KH, B; \
	QZ_DOTS(A, B, D, I, ACC, R)

// func decQ5_0VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// Register plan as decQ4_0VNNIQ's, and K1 K6 the byte masks of a last
// partial quad's A and B.
TEXT ·decQ5_0VNNIQ(SB), NOSPLIT, $0-48
	DEC_ARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Z13
	VMOVDQU64 ·decQ5ZPerm<>(SB), Z5
	VMOVDQU ·decQ5ZScale<>(SB), Y6
	MOVQ $GF_SHR4, AX
	VPBROADCASTQ AX, Z7
	VMOVDQU64 ·decQ5ZBits<>(SB), Z10
	VBROADCASTI32X4 ·decQ5ZBit<>(SB), Z11
	VPADDB Z13, Z11, Z12
	QZ_TAIL_MASKS(22, 56, q5za64, q5znob)
	TESTQ R10, R10
	JZ q5zdone
q5zrow:
	QZ_ROW
	CMPQ CX, $2
	JLT q5zone
q5zloop:
	DEC_PF3(DEC_PFZ, R9)
	VMOVDQU64 (R9), Z16
	VMOVDQU64 56(R9), Y17
	Q5Z_QUAD(Z16, Z17, Y17, Z18, Y18, Z19, Z20, K2, K3, Z0, 0)
	VMOVDQU64 88(R9), Z21
	VMOVDQU64 144(R9), Y22
	Q5Z_QUAD(Z21, Z22, Y22, Z23, Y23, Z24, Z25, K4, K5, Z1, 256)
	ADDQ $176, R9
	ADDQ $512, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q5zloop
q5zone:
	TESTQ CX, CX
	JZ q5ztail
	VMOVDQU64 (R9), Z16
	VMOVDQU64 56(R9), Y17
	Q5Z_QUAD(Z16, Z17, Y17, Z18, Y18, Z19, Z20, K2, K3, Z0, 0)
	ADDQ $88, R9
	ADDQ $256, DI
q5ztail:
	TESTQ BX, BX
	JZ q5zend
	VMOVDQU8.Z (R9), K1, Z16
	VMOVDQU8.Z 56(R9), K6, Y17
	Q5Z_QUAD(Z16, Z17, Y17, Z18, Y18, Z19, Z20, K2, K3, Z1, 0)
q5zend:
	QZ_NEXT(q5zrow)
q5zdone:
	VZEROUPPER
	RET

// Q4_1 and Q5_1 on the avx512 path, four blocks a step as decQ4_0VNNIQ
// and decQ5_0VNNIQ take Q4_0 and Q5_0 (see there), but with levels 0..31
// that have no offset and a minimum m per block: a block's sum is
// d·dx·(w·x) + m·s, s being the Q8_1 row's d·sum(x). Their records
// (decRecordsQ8_1QAVX2, 256 bytes per four blocks) are decQ4_0VNNIQ's
// with s as a float in lane 4k of the slot at 128 (lanes 4k+1..4k+3 zero)
// instead of the integer correction, so one FMA of the four blocks' m
// (in lanes 4k..4k+3, of which only lane 4k meets a nonzero s) by that
// slot adds each m·s once. On a Zen 5, against the pair kernels these
// replaced (a pair of blocks a step, the fifth bits' masks built in
// general registers), each way in turn in one process: a matrix in L2 on
// one core, Q4_1 112-119 GFLOP/s against 50-53 and Q5_1 87-91 against
// 47-49; bench's stack of Qwen2.5-0.5B-shaped layers from memory, 60
// rounds, three runs, Q4_1 1.42-1.55 times as fast at one thread and
// 1.47-1.57 at two, Q5_1 1.47-1.53 and 1.46-1.49.

// VPERMT2B index: block k's nibble bytes (quad bytes 20k+4..20k+19;
// index p is quad byte p, the last 16 from B) to bytes 16k..16k+15.
DATA ·dec41ZPerm<>+0(SB)/8, $0x0b0a090807060504
DATA ·dec41ZPerm<>+8(SB)/8, $0x131211100f0e0d0c
DATA ·dec41ZPerm<>+16(SB)/8, $0x1f1e1d1c1b1a1918
DATA ·dec41ZPerm<>+24(SB)/8, $0x2726252423222120
DATA ·dec41ZPerm<>+32(SB)/8, $0x333231302f2e2d2c
DATA ·dec41ZPerm<>+40(SB)/8, $0x3b3a393837363534
DATA ·dec41ZPerm<>+48(SB)/8, $0x4746454443424140
DATA ·dec41ZPerm<>+56(SB)/8, $0x4f4e4d4c4b4a4948
GLOBL ·dec41ZPerm<>(SB), RODATA|NOPTR, $64

// VPERMW indices: block k's d (word 10k), then its m (word 10k+1), to
// words 4k..4k+3.
DATA ·dec41ZDM<>+0(SB)/8, $0x0000000000000000
DATA ·dec41ZDM<>+8(SB)/8, $0x000a000a000a000a
DATA ·dec41ZDM<>+16(SB)/8, $0x0014001400140014
DATA ·dec41ZDM<>+24(SB)/8, $0x001e001e001e001e
DATA ·dec41ZDM<>+32(SB)/8, $0x0001000100010001
DATA ·dec41ZDM<>+40(SB)/8, $0x000b000b000b000b
DATA ·dec41ZDM<>+48(SB)/8, $0x0015001500150015
DATA ·dec41ZDM<>+56(SB)/8, $0x001f001f001f001f
GLOBL ·dec41ZDM<>(SB), RODATA|NOPTR, $64

// VPERMT2B index: block k's nibble bytes (quad bytes 24k+8..24k+23) to
// bytes 16k..16k+15.
DATA ·dec51ZPerm<>+0(SB)/8, $0x0f0e0d0c0b0a0908
DATA ·dec51ZPerm<>+8(SB)/8, $0x1716151413121110
DATA ·dec51ZPerm<>+16(SB)/8, $0x2726252423222120
DATA ·dec51ZPerm<>+24(SB)/8, $0x2f2e2d2c2b2a2928
DATA ·dec51ZPerm<>+32(SB)/8, $0x3f3e3d3c3b3a3938
DATA ·dec51ZPerm<>+40(SB)/8, $0x4746454443424140
DATA ·dec51ZPerm<>+48(SB)/8, $0x5756555453525150
DATA ·dec51ZPerm<>+56(SB)/8, $0x5f5e5d5c5b5a5958
GLOBL ·dec51ZPerm<>(SB), RODATA|NOPTR, $64

// VPERMI2W indices: block k's d (word 12k), then its m (word 12k+1), to
// words 4k..4k+3.
DATA ·dec51ZDM<>+0(SB)/8, $0x0000000000000000
DATA ·dec51ZDM<>+8(SB)/8, $0x000c000c000c000c
DATA ·dec51ZDM<>+16(SB)/8, $0x0018001800180018
DATA ·dec51ZDM<>+24(SB)/8, $0x0024002400240024
DATA ·dec51ZDM<>+32(SB)/8, $0x0001000100010001
DATA ·dec51ZDM<>+40(SB)/8, $0x000d000d000d000d
DATA ·dec51ZDM<>+48(SB)/8, $0x0019001900190019
DATA ·dec51ZDM<>+56(SB)/8, $0x0025002500250025
GLOBL ·dec51ZDM<>(SB), RODATA|NOPTR, $64

// VPERMI2B index: block k's qh (quad bytes 24k+4..24k+7) to bytes 0-3
// (and again 4-7) of qwords 2k and 2k+1.
DATA ·dec51ZBits<>+0(SB)/8, $0x0706050407060504
DATA ·dec51ZBits<>+8(SB)/8, $0x0706050407060504
DATA ·dec51ZBits<>+16(SB)/8, $0x1f1e1d1c1f1e1d1c
DATA ·dec51ZBits<>+24(SB)/8, $0x1f1e1d1c1f1e1d1c
DATA ·dec51ZBits<>+32(SB)/8, $0x3736353437363534
DATA ·dec51ZBits<>+40(SB)/8, $0x3736353437363534
DATA ·dec51ZBits<>+48(SB)/8, $0x4f4e4d4c4f4e4d4c
DATA ·dec51ZBits<>+56(SB)/8, $0x4f4e4d4c4f4e4d4c
GLOBL ·dec51ZBits<>(SB), RODATA|NOPTR, $64

// One quad's levels, low (A) and high (B), against its record at R(DI),
// times the d in D, to the float sums ACC; the m in M times the s to
// ACCM. I a temporary.
#define Q1Z_DOTS(A, B, D, M, I, ACC, ACCM, R) \
	VFMADD231PS (R+128)(DI), M, ACCM; \
	VPXORD I, I, I; \
	VPDPBUSD (R)(DI), A, I; \
	VPDPBUSD (R+64)(DI), B, I; \
	VCVTDQ2PS I, I; \
	VMULPS (R+192)(DI), D, D; \
	VFMADD231PS D, I, ACC

// One Q4_1 quad (80 bytes), its first 64 in A and last 16 in B. Z4 0x0f
// bytes, Z5 the VPERMT2B index, Z6 Z8 the VPERMW indices of d and m, Z7
// the matrix GF_SHR4.
#define Q41Z_QUAD(A, B, D, YD, M, YM, I, ACC, ACCM, R) \
	VPERMW A, Z6, D; \
	VCVTPH2PS YD, D; \
	VPERMW A, Z8, M; \
	VCVTPH2PS YM, M; \
	VPERMT2B B, Z5, A; \
	VGF2P8AFFINEQB $0, Z7, A, B; \
	VPANDD Z4, A, A; \
	Q1Z_DOTS(A, B, D, M, I, ACC, ACCM, R)

// One Q5_1 quad (96 bytes), its first 64 in A and last 32 in B: as a
// Q5_0 quad (Q5Z_QUAD), with m. Z6 Z8 the VPERMI2W indices of d and m,
// and the other constants Q5Z_QUAD's.
#define Q51Z_QUAD(A, B, D, YD, M, YM, Q, I, KL, KH, ACC, ACCM, R) \
	VMOVDQA64 Z6, D; \
	VPERMI2W B, A, D; \
	VCVTPH2PS YD, D; \
	VMOVDQA64 Z8, M; \
	VPERMI2W B, A, M; \
	VCVTPH2PS YM, M; \
	VMOVDQA64 Z10, Q; \
	VPERMI2B B, A, Q; \
	VPSHUFBITQMB Z11, Q, KL; \
	VPSHUFBITQMB Z12, Q, KH; \
	VPERMT2B B, Z5, A; \
	VGF2P8AFFINEQB $0, Z7, A, B; \
	VPANDD Z4, A, A; \
	VPADDB Z13, A, KL, A; \
	VPADDB Z13, B, KH, B; \
	Q1Z_DOTS(A, B, D, M, I, ACC, ACCM, R)

// A row's start with the m sums (Z2 Z3) cleared too.
#define Q1Z_ROW \
	QZ_ROW; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3

// A row's end, the m sums added.
#define Q1Z_NEXT(ROW) \
	VADDPS Z2, Z0, Z0; \
	VADDPS Z3, Z1, Z1; \
	QZ_NEXT(ROW)

// func decQ4_1VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// Register plan as decQ4_0VNNIQ's, and Z2 Z3 the m sums.
TEXT ·decQ4_1VNNIQ(SB), NOSPLIT, $0-48
	DEC_ARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	VMOVDQU64 ·dec41ZPerm<>(SB), Z5
	VMOVDQU ·dec41ZDM<>(SB), Y6
	VMOVDQU ·dec41ZDM<>+32(SB), Y8
	MOVQ $GF_SHR4, AX
	VPBROADCASTQ AX, Z7
	QZ_TAIL_MASKS(20, 64, q41a64, q41nob)
	TESTQ R10, R10
	JZ q41done
q41row:
	Q1Z_ROW
	CMPQ CX, $2
	JLT q41one
q41loop:
	DEC_PF3(DEC_PFZ, R9)
	VMOVDQU64 (R9), Z16
	VMOVDQU64 64(R9), X17
	Q41Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z0, Z2, 0)
	VMOVDQU64 80(R9), Z21
	VMOVDQU64 144(R9), X22
	Q41Z_QUAD(Z21, Z22, Z23, Y23, Z24, Y24, Z25, Z1, Z3, 256)
	ADDQ $160, R9
	ADDQ $512, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q41loop
q41one:
	TESTQ CX, CX
	JZ q41tail
	VMOVDQU64 (R9), Z16
	VMOVDQU64 64(R9), X17
	Q41Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z0, Z2, 0)
	ADDQ $80, R9
	ADDQ $256, DI
q41tail:
	TESTQ BX, BX
	JZ q41end
	VMOVDQU8.Z (R9), K1, Z16
	VPXORD Z17, Z17, Z17
	Q41Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z1, Z3, 0)
q41end:
	Q1Z_NEXT(q41row)
q41done:
	VZEROUPPER
	RET

// func decQ5_1VNNIQ(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
//
// Register plan as decQ5_0VNNIQ's, and Z2 Z3 the m sums; K1 K6 the byte
// masks of a last partial quad's A and B.
TEXT ·decQ5_1VNNIQ(SB), NOSPLIT, $0-48
	DEC_ARGS
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z4
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Z13
	VMOVDQU64 ·dec51ZPerm<>(SB), Z5
	VMOVDQU ·dec51ZDM<>(SB), Y6
	VMOVDQU ·dec51ZDM<>+32(SB), Y8
	MOVQ $GF_SHR4, AX
	VPBROADCASTQ AX, Z7
	VMOVDQU64 ·dec51ZBits<>(SB), Z10
	VBROADCASTI32X4 ·decQ5ZBit<>(SB), Z11
	VPADDB Z13, Z11, Z12
	QZ_TAIL_MASKS(24, 64, q51a64, q51nob)
	TESTQ R10, R10
	JZ q51done
q51row:
	Q1Z_ROW
	CMPQ CX, $2
	JLT q51one
q51loop:
	DEC_PF3(DEC_PFZ, R9)
	VMOVDQU64 (R9), Z16
	VMOVDQU64 64(R9), Y17
	Q51Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z9, K2, K3, Z0, Z2, 0)
	VMOVDQU64 96(R9), Z21
	VMOVDQU64 160(R9), Y22
	Q51Z_QUAD(Z21, Z22, Z23, Y23, Z24, Y24, Z25, Z26, K4, K5, Z1, Z3, 256)
	ADDQ $192, R9
	ADDQ $512, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE q51loop
q51one:
	TESTQ CX, CX
	JZ q51tail
	VMOVDQU64 (R9), Z16
	VMOVDQU64 64(R9), Y17
	Q51Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z9, K2, K3, Z0, Z2, 0)
	ADDQ $96, R9
	ADDQ $256, DI
q51tail:
	TESTQ BX, BX
	JZ q51end
	VMOVDQU8.Z (R9), K1, Z16
	VMOVDQU8.Z 64(R9), K6, Y17
	Q51Z_QUAD(Z16, Z17, Z18, Y18, Z19, Y19, Z20, Z9, K2, K3, Z1, Z3, 0)
q51end:
	Q1Z_NEXT(q51row)
q51done:
	VZEROUPPER
	RET

// Float rows (F16 and BF16 weights, F32 activations) on the avx512 path:
// sixty-four elements a step into four sums of sixteen lanes, the last
// n%16 through masked loads, whole rows in one call. The per-row dot
// products they replace (dotF16F32AVX2, dotBF16F32AVX2: 256 bits, a call
// from Go per row) were short of a core's share of the memory. Measured
// on a Zen 5, each way in turn in one process: a 16x4096 matrix in L2 on
// one core, 28-32 GFLOP/s against 22-25 (both bound by the token's
// conversion at that size); bench's stack of Qwen2.5-0.5B-shaped layers
// from memory, 60 rounds, F16 1.09-1.17 times as fast at one thread and
// 1.04-1.32 at two (1.04 while other tenants held the memory to 33 GB/s),
// BF16 1.10-1.13 and 1.04-1.05 (that window only). F32 stays with its
// dot product: the same kernel on F32 rows ran 0.98-1.08 as fast at one
// thread and 0.86-1.23 at two, worse in the crowded window.

// LOAD(OFF, W) converts the sixteen weights at OFF(R9) to floats in W;
// MASK(W, WY) the first n%16 (the mask K1), the rest 0.
#define FLT_F16(OFF, W) \
	VCVTPH2PS OFF(R9), W
#define FLT_F16_MASK(W, WY) \
	VMOVDQU16.Z (R9), K1, WY; \
	VCVTPH2PS WY, W
#define FLT_BF16(OFF, W) \
	VPMOVZXWD OFF(R9), W; \
	VPSLLD $16, W, W
#define FLT_BF16_MASK(W, WY) \
	VMOVDQU16.Z (R9), K1, WY; \
	VPMOVZXWD WY, W; \
	VPSLLD $16, W, W

// The kernel of 2-byte weights, for the signature of the decode kernels
// with nb the row's elements. No software prefetch: as decQ8_0Z8's, these
// read one stream of whole lines, which the hardware's prefetchers carry
// alone; with PREFETCHNTA 16 KiB ahead they ran 3-9% slower (F16 and F32
// on bench's stack, one and two threads, each way in turn). Register
// plan: as decQ4_0VNNIQ's, CX steps left, Z0-Z3 the sums, Z4-Z7 the
// weights.
#define FLT_ROWS(LOAD, MASK) \
	DEC_ARGS; \
	MOVQ nb+0(FP), CX; \
	ANDQ $15, CX; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1; \
	TESTQ R10, R10; \
	JZ fltdone; \
fltrow: \
	MOVQ nb+0(FP), CX; \
	MOVQ x+24(FP), DI; \
	MOVQ SI, R9; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	SHRQ $6, CX; \
	JZ flt16; \
fltloop: \
	LOAD(0, Z4); \
	LOAD(32, Z5); \
	LOAD(64, Z6); \
	LOAD(96, Z7); \
	VFMADD231PS (DI), Z4, Z0; \
	VFMADD231PS 64(DI), Z5, Z1; \
	VFMADD231PS 128(DI), Z6, Z2; \
	VFMADD231PS 192(DI), Z7, Z3; \
	ADDQ $128, R9; \
	ADDQ $256, DI; \
	DECQ CX; \
	JNZ fltloop; \
flt16: \
	MOVQ nb+0(FP), CX; \
	ANDQ $63, CX; \
	SHRQ $4, CX; \
	JZ fltmask; \
flt16loop: \
	LOAD(0, Z4); \
	VFMADD231PS (DI), Z4, Z0; \
	ADDQ $32, R9; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ flt16loop; \
fltmask: \
	KORTESTW K1, K1; \
	JZ fltsum; \
	MASK(Z4, Y4); \
	VMOVUPS.Z (DI), K1, Z5; \
	VFMADD231PS Z5, Z4, Z1; \
fltsum: \
	VADDPS Z1, Z0, Z0; \
	VADDPS Z3, Z2, Z2; \
	VADDPS Z2, Z0, Z0; \
	HSUM16TO(Z0, Y0, X0, Y2, X2, (R11)); \
	ADDQ $4, R11; \
	ADDQ R8, SI; \
	DECQ R10; \
	JNZ fltrow; \
fltdone: \
	VZEROUPPER; \
	RET

// func decF16Z(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·decF16Z(SB), NOSPLIT, $0-48
	FLT_ROWS(FLT_F16, FLT_F16_MASK)

// func decBF16Z(nb int, w *byte, wstride int, x *byte, out *float32, rows int)
TEXT ·decBF16Z(SB), NOSPLIT, $0-48
	FLT_ROWS(FLT_BF16, FLT_BF16_MASK)

// The start of a quad record builder: the last, partial quad zeroed
// first (its missing blocks must add nothing), DX 0, and on to the loop
// past FULL, or to DONE for no blocks. Y3 zero.
#define REC_QUAD_START(FULL, DONE) \
	MOVQ CX, AX; \
	SHRQ $2, AX; \
	SHLQ $8, AX; \
	TESTQ $3, CX; \
	JZ FULL; \
	VMOVDQU Y3, (DI)(AX*1); \
	VMOVDQU Y3, 32(DI)(AX*1); \
	VMOVDQU Y3, 64(DI)(AX*1); \
	VMOVDQU Y3, 96(DI)(AX*1); \
	VMOVDQU Y3, 128(DI)(AX*1); \
	VMOVDQU Y3, 160(DI)(AX*1); \
	VMOVDQU Y3, 192(DI)(AX*1); \
	VMOVDQU Y3, 224(DI)(AX*1); \
FULL: \
	XORQ DX, DX; \
	TESTQ CX, CX; \
	JZ DONE

// The step of a quad record builder to the next block's 16-byte slot,
// and the next quad's record after four.
#define REC_QUAD_NEXT(LOOP, NEXT) \
	ADDQ $16, DX; \
	CMPQ DX, $64; \
	JNE NEXT; \
	XORQ DX, DX; \
	ADDQ $256, DI; \
NEXT: \
	DECQ CX; \
	JNZ LOOP

// func decRecordsQ4ZAVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of decQ4_0VNNIQ (see there), from a Q8_0 row.
//
// Register plan: CX blocks left, SI Q8_0 block, DI quad record, DX 0-48
// (the block's 16-byte slot), Y4 0x01 bytes, Y5 0x0001 words, X6 -off,
// Y3 zero.
TEXT ·decRecordsQ4ZAVX2(SB), NOSPLIT, $0-32
	REC_SPLIT_ARGS
	REC_QUAD_START(rqzfull, rqzdone)
rqzloop:
	REC_SPLIT(64)
	VPMULLD X6, X1, X1
	VMOVDQU X1, 128(DI)(DX*1)
	VPBROADCASTW (SI), X2
	VCVTPH2PS X2, X2
	VMOVUPS X2, 192(DI)(DX*1)
	ADDQ $34, SI
	REC_QUAD_NEXT(rqzloop, rqznext)
rqzdone:
	VZEROUPPER
	RET

// func decRecordsQ8_1QAVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of decQ4_1VNNIQ and decQ5_1VNNIQ (see there), from a Q8_1
// row (36-byte blocks: F16 d, F16 s, 32 int8); off is unused. Register
// plan as decRecordsQ4ZAVX2's, SI two bytes into the block (where
// REC_SPLIT finds the values of a Q8_0 block).
TEXT ·decRecordsQ8_1QAVX2(SB), NOSPLIT, $0-32
	REC_SPLIT_ARGS
	ADDQ $2, SI
	REC_QUAD_START(r1qfull, r1qdone)
r1qloop:
	REC_SPLIT(64)
	MOVWLZX (SI), AX
	VMOVD AX, X1
	VCVTPH2PS X1, X1
	VMOVUPS X1, 128(DI)(DX*1)
	VPBROADCASTW -2(SI), X2
	VCVTPH2PS X2, X2
	VMOVUPS X2, 192(DI)(DX*1)
	ADDQ $36, SI
	REC_QUAD_NEXT(r1qloop, r1qnext)
r1qdone:
	VZEROUPPER
	RET

// The Q8_0 activation quantisers of the avx512 (quantQ8_0Z) and avx2
// (quantQ8_0D) paths, for decode and prefill: ggml's reference quantiser
// bit for bit for blocks whose values are all finite, two blocks a step. A block's amax is the unsigned
// maximum of the values' bits less the sign (for finite floats the same
// order as their magnitudes), the two blocks' maxima are folded side by
// side, and one VDIVPS takes both to d = amax/127 and one more to id =
// 1/d (0 where d is 0); q = roundf(v·id) is trunc(v + copysign(0.49999997,
// v)), which equals roundf for every |v| < 128 (checked on all of them),
// and a byte is the low byte of the truncated int32, as ggml's
// (int8_t) cast of CVTTSS2SI (so a d that underflows 1/d to infinity
// gives the portable code's zeros). The largest amax bits seen end up in
// X14: 0x7f800000 or more means a NaN or an infinity, and the function
// returns false for the caller to quantise the row with the portable code.
// The quantiser before these, one block a step, spent 35 cycles a block
// (two dependent VDIVSS, nine instructions of rounding per eight values): a third of a 4096-wide
// MatVec of 32 rows in L2. The loops compute a pair's scales two steps
// ahead of its values (the ids pass through two slots of the frame): the
// values' multiplies wait for the two divisions otherwise, and a
// 4096-wide token took 700 ns on avx2 and 415 on avx512; one step ahead
// 575 and 360, two 445 and 320 (BenchmarkDecodeQuant).

// QZ_AMAX2: the amax bits of the blocks at A(SI) and B(SI) in dwords 0
// and 1 of X1 (B = A for a single block); X14 their running maximum.
// Z15 the abs mask, Z9 the VPERMD index 0, 8.
#define QZ_AMAX2(A, B) \
	VPANDD A(SI), Z15, Z0; \
	VPANDD (A+64)(SI), Z15, Z1; \
	VPANDD B(SI), Z15, Z2; \
	VPANDD (B+64)(SI), Z15, Z3; \
	VPMAXUD Z1, Z0, Z0; \
	VPMAXUD Z3, Z2, Z2; \
	VSHUFI64X2 $0x44, Z2, Z0, Z1; \
	VSHUFI64X2 $0xee, Z2, Z0, Z3; \
	VPMAXUD Z3, Z1, Z1; \
	VSHUFI64X2 $0xb1, Z1, Z1, Z3; \
	VPMAXUD Z3, Z1, Z1; \
	VPSHUFD $0x4e, Z1, Z3; \
	VPMAXUD Z3, Z1, Z1; \
	VPSHUFD $0xb1, Z1, Z3; \
	VPMAXUD Z3, Z1, Z1; \
	VPERMD Z1, Z9, Z1; \
	VPMAXUD X1, X14, X14

// QZ_SCALE: d (X2), id (X3) of the maxima in X1; the F16 d of the first
// block in AX's low word, of the second above it. X13 127.0, X12 1.0, X7
// zero.
#define QZ_SCALE \
	VDIVPS X13, X1, X2; \
	VCMPPS $4, X7, X2, K1; \
	VDIVPS.Z X2, X12, K1, X3; \
	VCVTPS2PH $0, X2, X4; \
	VMOVD X4, AX

// QZ_PUT2: the pair's two F16 d (AX) to the blocks at D(DI) and D+34(DI),
// its two id (X3) to the frame slot S.
#define QZ_PUT2(D, S) \
	MOVW AX, D(DI); \
	SHRL $16, AX; \
	MOVW AX, (D+34)(DI); \
	VMOVQ X3, S

// Q_FIRST2: the scales of the first pair (CX >= 2 blocks left) and, if
// there is one, of the second (else on to LOOP), by AMAX and SCALE, to
// the frame's two slots; R8 the first slot's offset.
#define Q_FIRST2(AMAX, SCALE, LOOP) \
	XORQ R8, R8; \
	AMAX(0, 128); \
	SCALE; \
	QZ_PUT2(0, ids-16(SP)); \
	CMPQ CX, $4; \
	JLT LOOP; \
	AMAX(256, 384); \
	SCALE; \
	QZ_PUT2(68, ids-8(SP))

// Q_AHEAD: the scales of the pair after next, if there is one (else on to
// LAST), to slot R8, whose ids the caller has loaded.
#define Q_AHEAD(AMAX, SCALE, LAST) \
	CMPQ CX, $6; \
	JLT LAST; \
	AMAX(512, 640); \
	SCALE; \
	QZ_PUT2(136, ids-16(SP)(R8*1))

// QZ_BLOCK: the 32 values at S(SI) times id (in every lane of ID),
// rounded, to the bytes at D(DI). Z11 the sign bits, Z10 0.49999997.
#define QZ_HALF(S, D, ID) \
	VMULPS S(SI), ID, Z0; \
	VMOVDQA32 Z10, Z4; \
	VPTERNLOGD $0xf8, Z0, Z11, Z4; \
	VADDPS Z4, Z0, Z0; \
	VCVTTPS2DQ Z0, Z0; \
	VPMOVDB Z0, D(DI)

#define QZ_BLOCK(S, D, ID) \
	QZ_HALF(S, D, ID); \
	QZ_HALF((S+64), (D+16), ID)

// Q_FINITE: the carry flag set (the row finite) where the largest amax
// bits in X14 (dwords 0 and 1: of the pairs' first and second blocks)
// are below 0x7f800000, the bits of +Inf, which every NaN's and
// infinity's are at least.
#define Q_FINITE \
	VPSHUFD $0xb1, X14, X1; \
	VPMAXUD X1, X14, X14; \
	VMOVD X14, AX; \
	CMPL AX, $0x7f800000

// Q_NEXT2: on to the next pair of blocks (the other scale slot), the
// flags those left (JGE: a pair more).
#define Q_NEXT2 \
	XORQ $8, R8; \
	ADDQ $256, SI; \
	ADDQ $68, DI; \
	SUBQ $2, CX; \
	CMPQ CX, $2

// Q_ONE: a last block alone, by AMAX, SCALE and BLOCK, its id in V.
#define Q_ONE(AMAX, SCALE, BLOCK, V) \
	AMAX(0, 0); \
	SCALE; \
	MOVW AX, (DI); \
	VBROADCASTSS X3, V; \
	BLOCK(0, 2, V)

// func quantQ8_0Z(nb int, src *float32, dst *byte) (finite bool)
TEXT ·quantQ8_0Z(SB), NOSPLIT, $16-25
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z15
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z11
	MOVL $0x3effffff, AX
	VPBROADCASTD AX, Z10
	MOVL $0x42fe0000, AX // 127.0
	VPBROADCASTD AX, X13
	MOVL $0x3f800000, AX // 1.0
	VPBROADCASTD AX, X12
	MOVQ $0x0000000800000000, AX
	VPBROADCASTQ AX, Z9
	VPXORD X7, X7, X7
	VPXORD X14, X14, X14
	CMPQ CX, $2
	JLT qzone
	Q_FIRST2(QZ_AMAX2, QZ_SCALE, qzloop)
qzloop:
	// The pair at SI has its d stored and its id at ids+R8; the scales
	// of the pair after next are computed (to the same slot) before this
	// pair's values, so that their divisions run while these are
	// quantised.
	VBROADCASTSS ids-16(SP)(R8*1), Z5
	VBROADCASTSS ids-12(SP)(R8*1), Z6
	Q_AHEAD(QZ_AMAX2, QZ_SCALE, qzlast)
qzlast:
	QZ_BLOCK(0, 2, Z5)
	QZ_BLOCK(128, 36, Z6)
	Q_NEXT2
	JGE qzloop
qzone:
	TESTQ CX, CX
	JZ qzend
	Q_ONE(QZ_AMAX2, QZ_SCALE, QZ_BLOCK, Z5)
qzend:
	Q_FINITE
	SETCS finite+24(FP)
	VZEROUPPER
	RET

// The same on AVX2 (quantQ8_0D), four 8-value vectors a block; the bytes
// by two saturating packs with the words masked to their low byte between
// them (VPACKSSDW keeps the low byte of the integer indefinite
// 0x80000000, VPACKSSWB would not), then VPERMD undoes the packs' lane
// order.

// QD_AMAX2: as QZ_AMAX2. Y15 the abs mask, Y9 the VPERMD index 0, 4.
#define QD_AMAX2(A, B) \
	VPAND A(SI), Y15, Y0; \
	VPAND (A+32)(SI), Y15, Y1; \
	VPAND (A+64)(SI), Y15, Y2; \
	VPAND (A+96)(SI), Y15, Y3; \
	VPMAXUD Y1, Y0, Y0; \
	VPMAXUD Y3, Y2, Y2; \
	VPMAXUD Y2, Y0, Y0; \
	VPAND B(SI), Y15, Y1; \
	VPAND (B+32)(SI), Y15, Y2; \
	VPAND (B+64)(SI), Y15, Y3; \
	VPAND (B+96)(SI), Y15, Y4; \
	VPMAXUD Y2, Y1, Y1; \
	VPMAXUD Y4, Y3, Y3; \
	VPMAXUD Y3, Y1, Y1; \
	VINSERTI128 $1, X1, Y0, Y2; \
	VPERM2I128 $0x31, Y1, Y0, Y3; \
	VPMAXUD Y3, Y2, Y1; \
	VPSHUFD $0x4e, Y1, Y3; \
	VPMAXUD Y3, Y1, Y1; \
	VPSHUFD $0xb1, Y1, Y3; \
	VPMAXUD Y3, Y1, Y1; \
	VPERMD Y1, Y9, Y1; \
	VPMAXUD X1, X14, X14

// QD_SCALE: as QZ_SCALE, the zero mask by a compare (with X4 zero) and
// an AND.
#define QD_SCALE \
	VDIVPS X13, X1, X2; \
	VDIVPS X2, X12, X3; \
	VXORPS X4, X4, X4; \
	VCMPPS $4, X4, X2, X4; \
	VANDPS X4, X3, X3; \
	VCVTPS2PH $0, X2, X4; \
	VMOVD X4, AX

// QD_ROUND: the 8 values at S(SI) times ID, rounded, to int32 in V. Y11
// the sign bits, Y10 0.49999997.
#define QD_ROUND(S, ID, V) \
	VMULPS S(SI), ID, V; \
	VANDPS Y11, V, Y4; \
	VORPS Y10, Y4, Y4; \
	VADDPS Y4, V, V; \
	VCVTTPS2DQ V, V

// QD_BLOCK: the block at S(SI) to the bytes at D(DI). Y8 0x00ff words,
// Y6 the VPERMD index 0,4,1,5,2,6,3,7.
#define QD_BLOCK(S, D, ID) \
	QD_ROUND(S, ID, Y0); \
	QD_ROUND((S+32), ID, Y1); \
	QD_ROUND((S+64), ID, Y2); \
	QD_ROUND((S+96), ID, Y3); \
	VPACKSSDW Y1, Y0, Y0; \
	VPACKSSDW Y3, Y2, Y2; \
	VPAND Y8, Y0, Y0; \
	VPAND Y8, Y2, Y2; \
	VPACKUSWB Y2, Y0, Y0; \
	VPERMD Y0, Y6, Y0; \
	VMOVDQU Y0, D(DI)

// func quantQ8_0D(nb int, src *float32, dst *byte) (finite bool)
TEXT ·quantQ8_0D(SB), NOSPLIT, $16-25
	MOVQ nb+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	Q_ABS
	MOVL $0x80000000, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x3effffff, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X13
	VPBROADCASTD X13, X13
	MOVL $0x3f800000, AX // 1.0
	VMOVD AX, X12
	VPBROADCASTD X12, X12
	MOVQ $0x0000000400000000, AX
	VMOVQ AX, X9
	VPBROADCASTQ X9, Y9
	MOVL $0x00ff00ff, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	VMOVDQU ·d1Perm<>(SB), Y6
	VPXOR X14, X14, X14
	CMPQ CX, $2
	JLT qdone
	Q_FIRST2(QD_AMAX2, QD_SCALE, qdloop)
qdloop:
	// As quantQ8_0Z's loop.
	VBROADCASTSS ids-16(SP)(R8*1), Y5
	VBROADCASTSS ids-12(SP)(R8*1), Y7
	Q_AHEAD(QD_AMAX2, QD_SCALE, qdlast)
qdlast:
	QD_BLOCK(0, 2, Y5)
	QD_BLOCK(128, 36, Y7)
	Q_NEXT2
	JGE qdloop
qdone:
	TESTQ CX, CX
	JZ qdend
	Q_ONE(QD_AMAX2, QD_SCALE, QD_BLOCK, Y5)
qdend:
	Q_FINITE
	SETCS finite+24(FP)
	VZEROUPPER
	RET
