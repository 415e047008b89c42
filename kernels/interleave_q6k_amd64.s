#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q6_K decode kernel: a group's super-block column is
// 1536 bytes of levels at R9 and a head of 144 (the rows' d, the scale
// pairs) at R12 (interleave_q6k.go), its token record 292 bytes at DI
// (decRecordsQ6_KX8AVX2: the Q8_K block with the values of each 32 in the
// order of the chunks' row dwords). For half H and level V (0..3: the low
// nibbles of QA and QB, then their high nibbles, each with its two bits
// of QH) the eight chunks K give VPMADDUBSW of the unsigned levels (0..63)
// by the broadcast activations; two chunks' words are added (at most
// 2·2·63·127 = 32004, no saturation) and VPMADDWD by the scale pair
// 4H+V, which lies as the words need it, makes the rows' int32 sums. The
// offset 32 of every level comes off once per super-block as
// 32·sum(scale_g·bsum_g), by the same scale pairs against the Q8_K
// block's bsums taken two at a time.
//
// Software prefetch (DEC_PFD, rows_amd64.h) runs through the weights in
// address order, not in the order the kernel reads them: DX starts
// DEC_PFD bytes past the first group and moves 1680 bytes (a column's
// levels and head) a super-block, so it passes the levels and then the
// heads of each group at one steady pace, two prefetches 52 or 53 bytes
// apart in each pair of chunks. Prefetching each super-block's own lines
// ahead in the order it reads them (its levels, and its head from the
// heads at the group's end) kept two threads from DRAM at 80% of the
// row-major kernel (41.5 against 52 GB/s on the Qwen2.5-0.5B-shaped
// stack, in the usual window of this shared machine), whether as two
// bursts a super-block or spread through the arithmetic, though one thread
// alone ran as fast as row-major; the steady address order ran at 93%.
// In groups of more than about ten super-blocks, whose heads lie more
// than DEC_PFD past their start, DX reaches the heads only after the
// kernel has read the first of them; so every super-block also prefetches
// its head's three lines in the next group (R12+R8), a group ahead: 98%.
// In smaller groups DX has asked for those lines already, and the extra
// prefetches measured no cost.
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left, R13
// the bytes of a group's levels, DX the prefetch pointer; per group CX
// super-blocks left, R9 the super-block's levels, R12 its head, DI its
// record; Y0 the float sums, Y1 and Y12 the int32 sums, Y2 the offset
// term, Y3 and Y6 two scale pairs, Y4 and Y5 the tables of Q6X_LO, Y7-Y11
// and Y13 temporaries, Y14 0x30 bytes, Y15 0x0f bytes.

// Levels 0 and 1 (the low nibbles of QA and QB) of the chunk whose QA is
// at C, by their activations from XO and XO+32, into LA and LB: QH's low
// nibble indexes the tables Y4 and Y5, which give its bits 0-1 and 2-3 at
// bits 4-5.
#define Q6X_LO(C, XO, LA, LB) \
	VPAND (C+64)(R9), Y15, Y13; \
	VPAND (C)(R9), Y15, LA; \
	VPSHUFB Y13, Y4, Y8; \
	VPOR Y8, LA, LA; \
	VPBROADCASTD (XO)(DI), Y8; \
	VPMADDUBSW Y8, LA, LA; \
	VPAND (C+32)(R9), Y15, LB; \
	VPSHUFB Y13, Y5, Y8; \
	VPOR Y8, LB, LB; \
	VPBROADCASTD (XO+32)(DI), Y8; \
	VPMADDUBSW Y8, LB, LB

// Levels 2 and 3 (the high nibbles, QH's bits 4-5 and 6-7), by their
// activations from XO+64 and XO+96.
#define Q6X_HI(C, XO, LA, LB) \
	VMOVDQU (C+64)(R9), Y13; \
	VMOVDQU (C)(R9), LA; \
	VPSRLW $4, LA, LA; \
	VPAND Y15, LA, LA; \
	VPAND Y13, Y14, Y8; \
	VPOR Y8, LA, LA; \
	VPBROADCASTD (XO+64)(DI), Y8; \
	VPMADDUBSW Y8, LA, LA; \
	VMOVDQU (C+32)(R9), LB; \
	VPSRLW $4, LB, LB; \
	VPAND Y15, LB, LB; \
	VPSRLW $2, Y13, Y8; \
	VPAND Y14, Y8, Y8; \
	VPOR Y8, LB, LB; \
	VPBROADCASTD (XO+96)(DI), Y8; \
	VPMADDUBSW Y8, LB, LB

// A line OFF past DX (the weights DEC_PFD ahead) into L2, and the same
// line DEC_NEAR ahead into L1 (X8_PF in rows_amd64.h says why).
#define Q6X_PF(OFF) \
	PREFETCHT1 (OFF)(DX); \
	PREFETCHT0 (OFF-DEC_PFD+DEC_NEAR)(DX)

// Chunks 2P and 2P+1 of half H through LEVS (Q6X_LO or Q6X_HI), by the
// scale pairs Y3 and Y6, into Y1 and Y12; the super-block's Q-th pair
// (0..15) of prefetches, at 105Q and 105Q+52 from DX, 16 of which reach
// every line of its 1680 bytes.
#define Q6X_PAIR(LEVS, H, P, Q) \
	Q6X_PF(105*Q); \
	LEVS(768*H+192*P, 4+128*H+8*P, Y7, Y9); \
	Q6X_PF(105*Q+52); \
	LEVS(96+768*H+192*P, 8+128*H+8*P, Y10, Y11); \
	VPADDW Y10, Y7, Y7; \
	VPADDW Y11, Y9, Y9; \
	VPMADDWD Y3, Y7, Y7; \
	VPMADDWD Y6, Y9, Y9; \
	VPADDD Y7, Y1, Y1; \
	VPADDD Y9, Y12, Y12

// Levels V and V+1 of half H: their scale pairs, their share of the
// offset term, their eight chunks.
#define Q6X_LEVELS(LEVS, H, V) \
	VPMOVSXBW (16+64*H+16*V)(R12), Y3; \
	VPMOVSXBW (32+64*H+16*V)(R12), Y6; \
	VPBROADCASTD (260+16*H+4*V)(DI), Y7; \
	VPBROADCASTD (264+16*H+4*V)(DI), Y9; \
	VPMADDWD Y7, Y3, Y7; \
	VPMADDWD Y9, Y6, Y9; \
	VPADDD Y7, Y2, Y2; \
	VPADDD Y9, Y2, Y2; \
	Q6X_PAIR(LEVS, H, 0, (8*H+2*V)); \
	Q6X_PAIR(LEVS, H, 1, (8*H+2*V+1)); \
	Q6X_PAIR(LEVS, H, 2, (8*H+2*V+2)); \
	Q6X_PAIR(LEVS, H, 3, (8*H+2*V+3))

// q6xHigh: byte i's bits 2-3 at bits 4-5 (Y5); Y4 holds its bits 0-1
// there, 0x30201000 in each dword.
DATA ·q6xHigh<>+0(SB)/8, $0x1010101000000000
DATA ·q6xHigh<>+8(SB)/8, $0x3030303020202020
GLOBL ·q6xHigh<>(SB), RODATA|NOPTR, $16

// func decQ6_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ6_KX8AVX2(SB), NOSPLIT, $0-48
	X8_ARGS
	LEAQ DEC_PFD(SI), DX
	MOVQ nb+0(FP), R13
	IMUL3Q $1536, R13, R13
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x30201000, AX
	VMOVD AX, X4
	VPBROADCASTD X4, Y4
	VBROADCASTI128 ·q6xHigh<>(SB), Y5
	TESTQ R10, R10
	JZ q6xdone
q6xgroup:
	X8_GROUP
	LEAQ (SI)(R13*1), R12
	TESTQ CX, CX
	JZ q6xend
q6xloop:
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y12, Y12, Y12
	Q6X_LEVELS(Q6X_LO, 0, 0)
	Q6X_LEVELS(Q6X_HI, 0, 2)
	PREFETCHT0 (R12)(R8*1)
	PREFETCHT0 64(R12)(R8*1)
	PREFETCHT0 128(R12)(R8*1)
	Q6X_LEVELS(Q6X_LO, 1, 0)
	Q6X_LEVELS(Q6X_HI, 1, 2)
	VPADDD Y12, Y1, Y1
	VPSLLD $5, Y2, Y2
	VPSUBD Y2, Y1, Y1
	VCVTDQ2PS Y1, Y1
	VCVTPH2PS (R12), Y7
	VBROADCASTSS (DI), Y8
	VMULPS Y8, Y7, Y7
	VFMADD231PS Y7, Y1, Y0
	ADDQ $1536, R9
	ADDQ $144, R12
	ADDQ $292, DI
	ADDQ $1680, DX
	DECQ CX
	JNZ q6xloop
q6xend:
	X8_NEXT(q6xgroup)
q6xdone:
	VZEROUPPER
	RET

// func decRecordsQ6_KX8AVX2(nb int, xq *byte, dst *byte, off int)
//
// The records of decQ6_KX8AVX2, 292 bytes per Q8_K block: the block
// itself (d, values, bsums) but for the values of each 32, whose two
// halves are interleaved by words (x[2k], x[2k+1], x[16+2k], x[17+2k] for
// k = 0..7), the order of a chunk's row dword.
//
// Register plan: CX blocks left, SI the Q8_K block, DI the record.

// Values 32S..32S+31 of the block.
#define RQ6X_32(S) \
	VMOVDQU (4+32*S)(SI), X0; \
	VMOVDQU (20+32*S)(SI), X1; \
	VPUNPCKLWD X1, X0, X2; \
	VPUNPCKHWD X1, X0, X3; \
	VMOVDQU X2, (4+32*S)(DI); \
	VMOVDQU X3, (20+32*S)(DI)

TEXT ·decRecordsQ6_KX8AVX2(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ dst+16(FP), DI
	TESTQ CX, CX
	JZ rq6xdone
rq6xloop:
	MOVL (SI), AX
	MOVL AX, (DI)
	RQ6X_32(0)
	RQ6X_32(1)
	RQ6X_32(2)
	RQ6X_32(3)
	RQ6X_32(4)
	RQ6X_32(5)
	RQ6X_32(6)
	RQ6X_32(7)
	VMOVDQU 260(SI), Y0
	VMOVDQU Y0, 260(DI)
	ADDQ $292, SI
	ADDQ $292, DI
	DECQ CX
	JNZ rq6xloop
rq6xdone:
	VZEROUPPER
	RET

// func repackV8Q6_KX8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q6_K's tile (gemmv2_amd64.s: per super-block the eight rows'
// levels as 64 registers, then their scales as word pairs (sc | sc<<16)
// and as pairs of 32·scale words, then d as float32) from an Interleaved8
// group at w: each row dword that repackV8Q6_K gathers (bytes 4G..4G+3 of
// ql or qh) is a word of each of two neighbouring chunks, one blend; the
// scales and d are loads. wrb and rmask are unused: a group always has
// its eight rows.
//
// Register plan: CX super-blocks left, SI their levels, R12 their heads,
// DI the tile; Y0-Y2 a gathered ql, ql and qh, Y3-Y6 temporaries, Y10
// 0x30 bytes, Y11 0x0f bytes.

// The dwords of bytes 4G..4G+3 of the rows' ql or qh into Y: G < 4, the
// first words of the chunks at A and B (Q6X8_LO), else their second ones
// (Q6X8_HI).
#define Q6X8_LO(A, B, Y) \
	VMOVDQU (A)(SI), Y; \
	VMOVDQU (B)(SI), Y5; \
	VPSLLD $16, Y5, Y5; \
	VPBLENDW $0xaa, Y5, Y, Y

#define Q6X8_HI(A, B, Y) \
	VMOVDQU (A)(SI), Y; \
	VPSRLD $16, Y, Y; \
	VPBLENDW $0xaa, (B)(SI), Y, Y

// Nibbles L (low four bits) and qh bits Q (bits 4-5) as levels to OFF(DI).
#define Q6X8_PUT(L, Q, OFF) \
	VPAND Y11, L, Y3; \
	VPAND Y10, Q, Y4; \
	VPOR Y4, Y3, Y3; \
	VMOVDQU Y3, OFF(DI)

// The four level registers of bytes 4G..4G+3 (through DW from the chunks
// at CA and CB) to the tile at OUT, OUT+256, OUT+512 and OUT+768.
#define Q6X8_GROUP(DW, CA, CB, OUT) \
	DW(CA, CB, Y0); \
	DW(CA+32, CB+32, Y1); \
	DW(CA+64, CB+64, Y2); \
	VPSLLW $4, Y2, Y6; \
	Q6X8_PUT(Y0, Y6, OUT); \
	VPSLLW $2, Y2, Y6; \
	Q6X8_PUT(Y1, Y6, OUT+256); \
	VPSRLW $4, Y0, Y0; \
	Q6X8_PUT(Y0, Y2, OUT+512); \
	VPSRLW $4, Y1, Y1; \
	VPSRLW $2, Y2, Y6; \
	Q6X8_PUT(Y1, Y6, OUT+768)

// Chunks 2M and 2M+1 of half H: bytes 4M.. and 16+4M.. of each quarter.
#define Q6X8_CHUNKS(H, M) \
	Q6X8_GROUP(Q6X8_LO, 768*H+192*M, 768*H+192*M+96, 1024*H+32*M); \
	Q6X8_GROUP(Q6X8_HI, 768*H+192*M, 768*H+192*M+96, 1024*H+128+32*M)

// Scale pair P (scales 2P, 2P+1 of each row as words) to the tile: each
// as a word pair (sc | sc<<16), and both times 32 as they lie.
#define Q6X8_SCALES(P) \
	VPMOVSXBW (16+16*P)(R12), Y0; \
	VPSLLD $16, Y0, Y1; \
	VPBLENDW $0xaa, Y1, Y0, Y1; \
	VMOVDQU Y1, (2048+64*P)(DI); \
	VPSRLD $16, Y0, Y1; \
	VPBLENDW $0xaa, Y0, Y1, Y1; \
	VMOVDQU Y1, (2080+64*P)(DI); \
	VPSLLW $5, Y0, Y0; \
	VMOVDQU Y0, (2560+32*P)(DI)

TEXT ·repackV8Q6_KX8(SB), NOSPLIT, $0-40
	X8_REPACK_ARGS(SI, X11, Y11)
	IMUL3Q $1536, CX, R12
	ADDQ SI, R12
	MOVL $0x30303030, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	TESTQ CX, CX
	JZ rq6x8done
rq6x8loop:
	Q6X8_CHUNKS(0, 0)
	Q6X8_CHUNKS(0, 1)
	Q6X8_CHUNKS(0, 2)
	Q6X8_CHUNKS(0, 3)
	Q6X8_CHUNKS(1, 0)
	Q6X8_CHUNKS(1, 1)
	Q6X8_CHUNKS(1, 2)
	Q6X8_CHUNKS(1, 3)
	Q6X8_SCALES(0)
	Q6X8_SCALES(1)
	Q6X8_SCALES(2)
	Q6X8_SCALES(3)
	Q6X8_SCALES(4)
	Q6X8_SCALES(5)
	Q6X8_SCALES(6)
	Q6X8_SCALES(7)
	VCVTPH2PS (R12), Y1
	VMOVUPS Y1, 2816(DI)
	ADDQ $1536, SI
	ADDQ $144, R12
	ADDQ $2848, DI
	DECQ CX
	JNZ rq6x8loop
rq6x8done:
	VZEROUPPER
	RET
