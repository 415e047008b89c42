#include "textflag.h"
#include "vtranspose_amd64.h"

// ---------------------------------------------------------------------------
// Prefill on AVX-512 VNNI with weight rows in the lanes: sixteen weight rows
// by sixteen tokens per call, every lane of every instruction useful.
//
// The earlier 512-bit tiles put 16 consecutive k of one row in the lanes
// of a VPDPBUSD, so each block of each row and token needs its own convert,
// scale multiply and FMA on 16 lanes of which only the sum matters: three
// float instructions per integer one, and a horizontal sum per row and
// token at the end. Here a lane is a weight row: VPDPBUSD multiplies four k
// of sixteen rows (one Z register of repacked weights) by the same four k
// of one token (a 32-bit broadcast from memory), so a block (32 k) is eight
// VPDPBUSD into one register that then holds sixteen finished block dot
// products, and the convert, scale and FMA serve sixteen of them. The
// result of a token is sixteen consecutive floats of the output row: one
// store, no horizontal sum.
//
// That needs the weights transposed in groups of four bytes, which GGUF does
// not store, so MatMul repacks sixteen rows at a time into a per-thread
// buffer (repackV*, VPGATHERDD of the same dword of sixteen rows) and runs
// every token through them: the repack is paid once per row per call, the
// arithmetic 128 times at pp128.
//
// Repacked weights, per block of 32 (576 bytes): eight Z registers of
// unsigned bytes, register g holding k = 4g..4g+3 of rows 0-15 (lane r =
// row r), then the sixteen rows' scales as float32. As in decode_amd64.s
// the weights are made unsigned with an offset (Q4_0 q, offset 8; Q5_0 q,
// offset 16; Q8_0 w XOR 0x80, offset 128), whose share off·sum(x) of a
// block is the same for every row: it comes with the activations.
//
// Activations, per group of sixteen tokens, per block, per token (40 bytes,
// so a block of the group is 640 bytes):
//   0   the 32 int8 values of the Q8_0 block
//   32  int32 -off·sum(x)
//   36  float32 dx
//
// Arithmetic per block, row r and token t: the integer sum over the block
// starts at -off·sum(x) and adds (q+off)·x exactly, so it equals the
// signed block dot product; then acc += float(sum)·dw[r]·dx[t] rounded as
// (float(sum)·dw)·dx in an FMA. Only the float summation order differs from
// the portable reference, as in the other kernels.
//
// Register plan (gemmV16):
//   CX blocks left   SI repacked weights   DI the token group's records
//   Z0-Z15 float accumulators, tokens 0-15
//   Z16-Z23 a block's weights   Z28 its scales
//   Z24-Z27 integer sums of four tokens
//   K1 the valid rows (stores only)

DATA ·vLanes+0(SB)/8, $0x0000000100000000
DATA ·vLanes+8(SB)/8, $0x0000000300000002
DATA ·vLanes+16(SB)/8, $0x0000000500000004
DATA ·vLanes+24(SB)/8, $0x0000000700000006
DATA ·vLanes+32(SB)/8, $0x0000000900000008
DATA ·vLanes+40(SB)/8, $0x0000000b0000000a
DATA ·vLanes+48(SB)/8, $0x0000000d0000000c
DATA ·vLanes+56(SB)/8, $0x0000000f0000000e
GLOBL ·vLanes(SB), RODATA|NOPTR, $64

// VPERMI2D indices over four rows per table, dword 4·row + group: rows 0-7
// of groups 0 and 1 (vPermLo), of groups 2 and 3 (vPermHi).
DATA ·vPermLo+0(SB)/8, $0x0000000400000000
DATA ·vPermLo+8(SB)/8, $0x0000000c00000008
DATA ·vPermLo+16(SB)/8, $0x0000001400000010
DATA ·vPermLo+24(SB)/8, $0x0000001c00000018
DATA ·vPermLo+32(SB)/8, $0x0000000500000001
DATA ·vPermLo+40(SB)/8, $0x0000000d00000009
DATA ·vPermLo+48(SB)/8, $0x0000001500000011
DATA ·vPermLo+56(SB)/8, $0x0000001d00000019
GLOBL ·vPermLo(SB), RODATA|NOPTR, $64
DATA ·vPermHi+0(SB)/8, $0x0000000600000002
DATA ·vPermHi+8(SB)/8, $0x0000000e0000000a
DATA ·vPermHi+16(SB)/8, $0x0000001600000012
DATA ·vPermHi+24(SB)/8, $0x0000001e0000001a
DATA ·vPermHi+32(SB)/8, $0x0000000700000003
DATA ·vPermHi+40(SB)/8, $0x0000000f0000000b
DATA ·vPermHi+48(SB)/8, $0x0000001700000013
DATA ·vPermHi+56(SB)/8, $0x0000001f0000001b
GLOBL ·vPermHi(SB), RODATA|NOPTR, $64

// ---------------------------------------------------------------------------
// Repacking. Register plan: CX blocks left, SI the first row's block, DI
// the destination, DX the valid-row mask (re-armed in K1 before each
// gather, which clears it), Z30 the row offsets r·wrb, Z29 0x0f bytes.

// VREPACK_ARGS and the gathers (GATHERV) are in vtranspose_amd64.h.
#define REPACK_PROLOGUE \
	VREPACK_ARGS; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z29

// The F16 scales at offset 0 of the blocks, as float32, to 512(DI).
#define SCALESV \
	GATHERV(0, Z16); \
	VPMOVDW Z16, Y16; \
	VCVTPH2PS Y16, Z16; \
	VMOVUPS Z16, 512(DI)

// The low and high F16 halves of Z16's dwords, as float32, to LO(DI) and
// HI(DI).
#define HALVESV(LO, HI) \
	VPMOVDW Z16, Y17; \
	VCVTPH2PS Y17, Z17; \
	VMOVUPS Z17, LO(DI); \
	VPSRLD $16, Z16, Z16; \
	VPMOVDW Z16, Y17; \
	VCVTPH2PS Y17, Z17; \
	VMOVUPS Z17, HI(DI)

// Nibbles in Z (k = 4G..4G+3 low, 16+4G.. high) to registers G and G+4.
#define NIBBLESV(Z, G) \
	VPANDD Z29, Z, Z25; \
	VMOVDQU32 Z25, G*64(DI); \
	VPSRLD $4, Z, Z; \
	VPANDD Z29, Z, Z; \
	VMOVDQU32 Z, G*64+256(DI)

// The four dwords at OFF of the rows' blocks to Z17-Z20, as TRANSPOSEV
// leaves them.
#define GATHER4V(OFF) \
	GATHERV(OFF, Z17); \
	GATHERV(OFF+4, Z18); \
	GATHERV(OFF+8, Z19); \
	GATHERV(OFF+12, Z20)

// Z17-Z20's nibbles to registers 0-7.
#define NIBBLES4V \
	NIBBLESV(Z17, 0); \
	NIBBLESV(Z18, 1); \
	NIBBLESV(Z19, 2); \
	NIBBLESV(Z20, 3)

// Q8_0: the 32 signed bytes at offset 2, sign bit flipped (w+128).
#define BYTESV(G) \
	GATHERV(2+G*4, Z17); \
	VPXORD Z28, Z17, Z17; \
	VMOVDQU32 Z17, G*64(DI)

// Q5_0 (F16 d, 32-bit qh, 16 bytes of nibbles): value k is the nibble
// plus 16 times bit k of qh. The four bits S..S+3 of qh (S = 4G for the
// low nibbles, 16+4G for the high) go to bit 4 of four bytes: t·0x00204081
// places t's bits 0-3 at bits 0, 8, 16, 24 (the shifted copies do not
// overlap, so there is no carry), then AND 0x01010101 and shift by 4.
#define QHBITSV(S, Z) \
	VPSRLD $S, Z21, Z22; \
	VPANDD Z27, Z22, Z22; \
	VPMULLD Z26, Z22, Z22; \
	VPANDD Z28, Z22, Z22; \
	VPSLLD $4, Z22, Z22; \
	VPORD Z22, Z, Z

// QHBITSV's constants.
#define Q5CONSTS \
	MOVL $0x0f, AX; \
	VPBROADCASTD AX, Z27; \
	MOVL $0x00204081, AX; \
	VPBROADCASTD AX, Z26; \
	MOVL $0x01010101, AX; \
	VPBROADCASTD AX, Z28

#define NIBBLES5V(Z, G) \
	VPANDD Z29, Z, Z25; \
	QHBITSV(4*G, Z25); \
	VMOVDQU32 Z25, G*64(DI); \
	VPSRLD $4, Z, Z; \
	VPANDD Z29, Z, Z; \
	QHBITSV(16+4*G, Z); \
	VMOVDQU32 Z, G*64+256(DI)

// Z17-Z20's nibbles with the fifth bits of Z21 to registers 0-7.
#define NIBBLES54V \
	NIBBLES5V(Z17, 0); \
	NIBBLES5V(Z18, 1); \
	NIBBLES5V(Z19, 2); \
	NIBBLES5V(Z20, 3)

// Four tokens' integer sums for weight register W (k = 4G..4G+3).
#define DP4(G, W, T0, T1, T2, T3) \
	VPDPBUSD.BCST T0*40+G*4(DI), W, Z24; \
	VPDPBUSD.BCST T1*40+G*4(DI), W, Z25; \
	VPDPBUSD.BCST T2*40+G*4(DI), W, Z26; \
	VPDPBUSD.BCST T3*40+G*4(DI), W, Z27

// Tokens T0-T3 of the group through the block: the four chains are
// interleaved so that consecutive VPDPBUSD do not wait on each other.
#define QUADV(T0, T1, T2, T3, A0, A1, A2, A3) \
	VPBROADCASTD T0*40+32(DI), Z24; \
	VPBROADCASTD T1*40+32(DI), Z25; \
	VPBROADCASTD T2*40+32(DI), Z26; \
	VPBROADCASTD T3*40+32(DI), Z27; \
	QUADBODY(T0, T1, T2, T3, A0, A1, A2, A3)

// The block's products added to the four tokens' sums Z24-Z27, then the
// float step into their accumulators.
#define QUADBODY(T0, T1, T2, T3, A0, A1, A2, A3) \
	DP4(0, Z16, T0, T1, T2, T3); \
	DP4(1, Z17, T0, T1, T2, T3); \
	DP4(2, Z18, T0, T1, T2, T3); \
	DP4(3, Z19, T0, T1, T2, T3); \
	DP4(4, Z20, T0, T1, T2, T3); \
	DP4(5, Z21, T0, T1, T2, T3); \
	DP4(6, Z22, T0, T1, T2, T3); \
	DP4(7, Z23, T0, T1, T2, T3); \
	VCVTDQ2PS Z24, Z24; \
	VCVTDQ2PS Z25, Z25; \
	VCVTDQ2PS Z26, Z26; \
	VCVTDQ2PS Z27, Z27; \
	VMULPS Z28, Z24, Z24; \
	VMULPS Z28, Z25, Z25; \
	VMULPS Z28, Z26, Z26; \
	VMULPS Z28, Z27, Z27; \
	VFMADD231PS.BCST T0*40+36(DI), Z24, A0; \
	VFMADD231PS.BCST T1*40+36(DI), Z25, A1; \
	VFMADD231PS.BCST T2*40+36(DI), Z26, A2; \
	VFMADD231PS.BCST T3*40+36(DI), Z27, A3

// Token T's sixteen rows to R11 (masked to the valid rows) unless the
// group has only T tokens; R11 then moves to the next token's row.
#define STOREV(T, A) STOREVL(T, A, vdone)
#define STOREVL(T, A, DONE) \
	CMPQ BX, $T; \
	JLE DONE; \
	VMOVUPS A, K1, (R11); \
	ADDQ R14, R11

// The sixteen tokens through the block with Q (QUADV or QUADM), in fours.
#define QUAD16(Q) \
	Q(0, 1, 2, 3, Z0, Z1, Z2, Z3); \
	Q(4, 5, 6, 7, Z4, Z5, Z6, Z7); \
	Q(8, 9, 10, 11, Z8, Z9, Z10, Z11); \
	Q(12, 13, 14, 15, Z12, Z13, Z14, Z15)

// The row-lane kernels' arguments, the sixteen float accumulators cleared.
#define V16PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	VPXORD Z0, Z0, Z0; \
	VMOVAPS Z0, Z1; \
	VMOVAPS Z0, Z2; \
	VMOVAPS Z0, Z3; \
	VMOVAPS Z0, Z4; \
	VMOVAPS Z0, Z5; \
	VMOVAPS Z0, Z6; \
	VMOVAPS Z0, Z7; \
	VMOVAPS Z0, Z8; \
	VMOVAPS Z0, Z9; \
	VMOVAPS Z0, Z10; \
	VMOVAPS Z0, Z11; \
	VMOVAPS Z0, Z12; \
	VMOVAPS Z0, Z13; \
	VMOVAPS Z0, Z14; \
	VMOVAPS Z0, Z15

// A block's eight weight registers and the rows' scales.
#define LOADV16 \
	VMOVDQU32 0(SI), Z16; \
	VMOVDQU32 64(SI), Z17; \
	VMOVDQU32 128(SI), Z18; \
	VMOVDQU32 192(SI), Z19; \
	VMOVDQU32 256(SI), Z20; \
	VMOVDQU32 320(SI), Z21; \
	VMOVDQU32 384(SI), Z22; \
	VMOVDQU32 448(SI), Z23; \
	VMOVUPS 512(SI), Z28

// Z0-Z15 to the tokens' output rows with STORE (STOREV or STOREM).
#define V16EPILOGUE(STORE) \
	MOVQ out+32(FP), R11; \
	MOVQ ostride+40(FP), R14; \
	MOVQ ntok+48(FP), BX; \
	MOVQ rmask+56(FP), AX; \
	KMOVW AX, K1; \
	STORE(0, Z0); \
	STORE(1, Z1); \
	STORE(2, Z2); \
	STORE(3, Z3); \
	STORE(4, Z4); \
	STORE(5, Z5); \
	STORE(6, Z6); \
	STORE(7, Z7); \
	STORE(8, Z8); \
	STORE(9, Z9); \
	STORE(10, Z10); \
	STORE(11, Z11); \
	STORE(12, Z12); \
	STORE(13, Z13); \
	STORE(14, Z14); \
	STORE(15, Z15)

// func gemmV16(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
// acc is unused: the sums stay in registers (gemmVQ4_K needs it).
TEXT ·gemmV16(SB), NOSPLIT, $0-64
	V16PROLOGUE
	TESTQ CX, CX
	JZ vstore
vloop:
	LOADV16
	QUAD16(QUADV)
	ADDQ $576, SI
	ADDQ $640, DI
	DECQ CX
	JNZ vloop
vstore:
	V16EPILOGUE(STOREV)
vdone:
	VZEROUPPER
	RET

// func repackVQ4_0(nb int, w *byte, wrb int, rmask int, dst *byte)
// A full tile of sixteen rows loads each row's 16 bytes of nibbles and
// transposes them with VPERMI2D and VSHUFI64X2 (a quarter of the gathered
// elements: the gathers were a fifth of a prefill); a partial tile (the
// matrix's last) gathers, which reads nothing of the missing rows.
TEXT ·repackVQ4_0(SB), NOSPLIT, $0-40
	REPACK_PROLOGUE
	TESTQ CX, CX
	JZ r4done
	CMPQ DX, $0xffff
	JNE r4loop
	FULLV_SETUP(Z27, Z28)
r4full:
	SCALESV
	TRANSPOSEV(2, Z27, Z28)
	NIBBLES4V
	ADDQ $18, SI
	ADDQ $18, R12
	ADDQ $576, DI
	DECQ CX
	JNZ r4full
	JMP r4done
r4loop:
	SCALESV
	GATHER4V(2)
	NIBBLES4V
	ADDQ $18, SI
	ADDQ $576, DI
	DECQ CX
	JNZ r4loop
r4done:
	VZEROUPPER
	RET

// Register G of a Q8_0 block from Z, sign bits flipped (w+128).
#define FLIPV(Z, G) \
	VPXORD Z28, Z, Z; \
	VMOVDQU32 Z, G*64(DI)

// func repackVQ8_0(nb int, w *byte, wrb int, rmask int, dst *byte)
// A full tile transposes the 32 bytes as two halves of 16 (as repackVQ4_0
// does its nibbles): the eight gathers per block were a fifth of a Q8_0
// prefill. A partial tile gathers.
TEXT ·repackVQ8_0(SB), NOSPLIT, $0-40
	REPACK_PROLOGUE
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z28
	TESTQ CX, CX
	JZ r8done
	CMPQ DX, $0xffff
	JNE r8loop
	FULLV_SETUP(Z26, Z27)
r8full:
	SCALESV
	TRANSPOSEV(2, Z26, Z27)
	FLIPV(Z17, 0)
	FLIPV(Z18, 1)
	FLIPV(Z19, 2)
	FLIPV(Z20, 3)
	TRANSPOSEV(18, Z26, Z27)
	FLIPV(Z17, 4)
	FLIPV(Z18, 5)
	FLIPV(Z19, 6)
	FLIPV(Z20, 7)
	ADDQ $34, SI
	ADDQ $34, R12
	ADDQ $576, DI
	DECQ CX
	JNZ r8full
	JMP r8done
r8loop:
	SCALESV
	BYTESV(0)
	BYTESV(1)
	BYTESV(2)
	BYTESV(3)
	BYTESV(4)
	BYTESV(5)
	BYTESV(6)
	BYTESV(7)
	ADDQ $34, SI
	ADDQ $576, DI
	DECQ CX
	JNZ r8loop
r8done:
	VZEROUPPER
	RET

// The fifth bits without a multiply (full tiles of Q5_0 and Q5_1): byte j of
// register G is value 4G+j, whose bit in qh (Z21) is bit 4(G%2)+j of byte
// G/2 (2+G/2 for the high register G+4). VPSHUFB with control CTL (Z8-Z11:
// byte b of each dword in all four of its bytes) spreads that byte, VPTESTMB
// with BIT (Z12: bits 0-3, Z13: bits 4-7, one per byte) makes a byte mask,
// and a masked VPADDB of 0x10 (Z14) sets bit 4 (the nibble is below 16, so
// adding is OR). Three instructions per register where QHBITSV needs six
// with a VPMULLD: the fifth bits were most of what made Q5_1 slower than
// Q4_1.
#define QHBITSB(CTL, BIT, Z) \
	VPSHUFB CTL, Z21, Z22; \
	VPTESTMB BIT, Z22, K2; \
	VPADDB Z14, Z, K2, Z

#define NIBBLES5B(Z, G, CLO, CHI, BIT) \
	VPANDD Z29, Z, Z25; \
	QHBITSB(CLO, BIT, Z25); \
	VMOVDQU32 Z25, G*64(DI); \
	VPSRLD $4, Z, Z; \
	VPANDD Z29, Z, Z; \
	QHBITSB(CHI, BIT, Z); \
	VMOVDQU32 Z, G*64+256(DI)

// NIBBLES54V with QHBITSB.
#define NIBBLES54B \
	NIBBLES5B(Z17, 0, Z8, Z10, Z12); \
	NIBBLES5B(Z18, 1, Z8, Z10, Z13); \
	NIBBLES5B(Z19, 2, Z9, Z11, Z12); \
	NIBBLES5B(Z20, 3, Z9, Z11, Z13)

// VPSHUFB control: byte 0 of each dword of a 128-bit lane to its four bytes.
DATA ·vQhSel+0(SB)/8, $0x0404040400000000
DATA ·vQhSel+8(SB)/8, $0x0c0c0c0c08080808
GLOBL ·vQhSel(SB), RODATA|NOPTR, $16

// QHBITSB's constants in Z8-Z14.
#define Q5BCONSTS \
	VBROADCASTI32X4 ·vQhSel(SB), Z8; \
	MOVL $0x01010101, AX; \
	VPBROADCASTD AX, Z15; \
	VPADDD Z15, Z8, Z9; \
	VPADDD Z15, Z9, Z10; \
	VPADDD Z15, Z10, Z11; \
	MOVL $0x08040201, AX; \
	VPBROADCASTD AX, Z12; \
	MOVL $0x80402010, AX; \
	VPBROADCASTD AX, Z13; \
	MOVL $0x10101010, AX; \
	VPBROADCASTD AX, Z14

// func repackVQ5_0(nb int, w *byte, wrb int, rmask int, dst *byte)
// Full tiles transpose the nibbles as repackVQ4_0 does, gather qh and
// spread its bits with QHBITSB.
TEXT ·repackVQ5_0(SB), NOSPLIT, $0-40
	REPACK_PROLOGUE
	Q5CONSTS
	TESTQ CX, CX
	JZ r5done
	CMPQ DX, $0xffff
	JNE r5loop
	FULLV_SETUP(Z23, Z24)
	Q5BCONSTS
r5full:
	SCALESV
	GATHERV(2, Z21)
	TRANSPOSEV(6, Z23, Z24)
	NIBBLES54B
	ADDQ $22, SI
	ADDQ $22, R12
	ADDQ $576, DI
	DECQ CX
	JNZ r5full
	JMP r5done
r5loop:
	SCALESV
	GATHERV(2, Z21)
	GATHER4V(6)
	NIBBLES54V
	ADDQ $22, SI
	ADDQ $576, DI
	DECQ CX
	JNZ r5loop
r5done:
	VZEROUPPER
	RET

// func prefetchV(p *byte, n int)
// Asks for the n bytes at p (the next sixteen rows) to come into the
// cache while the current ones are multiplied: the repacking gathers read
// sixteen rows at once, which the hardware prefetcher does not follow, and
// waited for memory for a third of the kernel's time without this.
TEXT ·prefetchV(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX
pfloop:
	CMPQ SI, CX
	JGE pfdone
	PREFETCHT1 (SI)
	ADDQ $64, SI
	JMP pfloop
pfdone:
	RET

// func prefetchW(p *byte, n int)
// Asks for the n bytes at p to come into the cache for writing, owned by
// this core (see decodeInput). The assembler has no PREFETCHW, hence the
// bytes: 0F 0D /1 with ModRM 00 001 110, (SI). CPUs without the
// instruction execute that encoding as a no-op.
TEXT ·prefetchW(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX
pwloop:
	CMPQ SI, CX
	JGE pwdone
	BYTE $0x0F; BYTE $0x0D; BYTE $0x0E // PREFETCHW (SI)
	ADDQ $64, SI
	JMP pwloop
pwdone:
	RET

// ---------------------------------------------------------------------------
// Q4_1 and Q5_1 (value d·q + m, q unsigned: no offset needed) with Q8_1
// activations, whose blocks carry s = dx·sum(x) rounded to F16. ggml's dot
// product per block is dw·dx·sum(q·x) + m·s: the integer sum as for Q4_0,
// then one more FMA of the rows' m by the token's s.
//
// Repacked weights, per block of sixteen rows (640 bytes): the eight
// registers of unsigned q as for Q4_0 and Q5_0, then dw (512) and m (576)
// as float32. Activations, per token and block (40 bytes, the records'
// size): 0 the 32 int8 values, 32 s as float32, 36 dx as float32.
//
// Register plan (gemmV16M): as gemmV16, with Z29 the rows' m.

// Tokens T0-T3 through the block, as QUADV without the offset's sums.
#define QUADM(T0, T1, T2, T3, A0, A1, A2, A3) \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27; \
	QUADBODY(T0, T1, T2, T3, A0, A1, A2, A3); \
	VFMADD231PS.BCST T0*40+32(DI), Z29, A0; \
	VFMADD231PS.BCST T1*40+32(DI), Z29, A1; \
	VFMADD231PS.BCST T2*40+32(DI), Z29, A2; \
	VFMADD231PS.BCST T3*40+32(DI), Z29, A3

#define STOREM(T, A) STOREVL(T, A, vmdone)

// func gemmV16M(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
// acc is unused.
TEXT ·gemmV16M(SB), NOSPLIT, $0-64
	V16PROLOGUE
	TESTQ CX, CX
	JZ vmstore
vmloop:
	LOADV16
	VMOVUPS 576(SI), Z29
	QUAD16(QUADM)
	ADDQ $640, SI
	ADDQ $640, DI
	DECQ CX
	JNZ vmloop
vmstore:
	V16EPILOGUE(STOREM)
vmdone:
	VZEROUPPER
	RET

// The F16 d and m at offset 0 of the blocks, as float32, to 512(DI) and
// 576(DI).
#define SCALESMV \
	GATHERV(0, Z16); \
	HALVESV(512, 576)

// func repackVQ4_1(nb int, w *byte, wrb int, rmask int, dst *byte)
// As repackVQ4_0, with the nibbles at 4 and m beside d.
TEXT ·repackVQ4_1(SB), NOSPLIT, $0-40
	REPACK_PROLOGUE
	TESTQ CX, CX
	JZ r41done
	CMPQ DX, $0xffff
	JNE r41loop
	FULLV_SETUP(Z27, Z28)
r41full:
	SCALESMV
	TRANSPOSEV(4, Z27, Z28)
	NIBBLES4V
	ADDQ $20, SI
	ADDQ $20, R12
	ADDQ $640, DI
	DECQ CX
	JNZ r41full
	JMP r41done
r41loop:
	SCALESMV
	GATHER4V(4)
	NIBBLES4V
	ADDQ $20, SI
	ADDQ $640, DI
	DECQ CX
	JNZ r41loop
r41done:
	VZEROUPPER
	RET

// func repackVQ5_1(nb int, w *byte, wrb int, rmask int, dst *byte)
// As repackVQ5_0, with qh at 4, the nibbles at 8 and m beside d. A full
// tile transposes bytes 0-15 too (d and m, qh) instead of gathering them:
// with QHBITSB that brought Q5_1's prefill from 94% of Q4_1's speed to
// about Q4_1's.
TEXT ·repackVQ5_1(SB), NOSPLIT, $0-40
	REPACK_PROLOGUE
	Q5CONSTS
	TESTQ CX, CX
	JZ r51done
	CMPQ DX, $0xffff
	JNE r51loop
	FULLV_SETUP(Z23, Z24)
	Q5BCONSTS
r51full:
	TRANSPOSE4V(0, Z23, Z24, Z16, Z21, Z17, Z18)
	HALVESV(512, 576)
	TRANSPOSEV(8, Z23, Z24)
	NIBBLES54B
	ADDQ $24, SI
	ADDQ $24, R12
	ADDQ $640, DI
	DECQ CX
	JNZ r51full
	JMP r51done
r51loop:
	SCALESMV
	GATHERV(4, Z21)
	GATHER4V(8)
	NIBBLES54V
	ADDQ $24, SI
	ADDQ $640, DI
	DECQ CX
	JNZ r51loop
r51done:
	VZEROUPPER
	RET
