#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q6_K decode kernel: a group's super-block column is
// 1536 bytes of levels at R9 and a head of 144 (the rows' d, the scale
// pairs) at R12 (interleave_q6k.go), its token record 292 bytes at DI
// (decRecordsQ6_KX8AVX2: the Q8_K block with the values of each 32 in the
// order of the chunks' row dwords). For half H and level V (0..3: bits
// 0-5 of A, B and C, then their bits 6-7 gathered) the eight chunks K
// give VPMADDUBSW of the unsigned levels (0..63) by the broadcast
// activations; two chunks' words are added (at most 2·2·63·128 = 32256,
// no saturation) and VPMADDWD by the scale pair 4H+V, which lies as the
// words need it, makes the rows' int32 sums. The offset 32 of every level
// comes off once per super-block as 32·sum(scale_g·bsum_g), by the same
// scale pairs against the Q8_K block's bsums taken two at a time.
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left, R13
// the bytes of a group's levels; per group CX super-blocks left, R9 the
// super-block's levels, R12 its head, DI its record; Y0 the float sums,
// Y1 and Y12 the int32 sums, Y2 the offset term, Y3 and Y6 two scale
// pairs, Y7-Y11 and Y13 temporaries, Y14 0xc0 bytes, Y15 0x3f bytes.

// Levels 0 and 1 (bits 0-5 of A and B) of the chunk whose A is at C, by
// their activations from XO and XO+32, into LA and LB.
#define Q6X_LO(C, XO, LA, LB) \
	VPAND (C)(R9), Y15, LA; \
	VPBROADCASTD (XO)(DI), Y8; \
	VPMADDUBSW Y8, LA, LA; \
	VPAND (C+32)(R9), Y15, LB; \
	VPBROADCASTD (XO+32)(DI), Y13; \
	VPMADDUBSW Y13, LB, LB

// Level 3 into L from bits 6-7 of CA, CB and CC (registers or memory)
// under M (0xc0 bytes), as its bits 4-5, 2-3 and 0-1, T a temporary:
// masked first, the bits move by word shifts without crossing into the
// next byte. repackV8Q6_KX8 takes level 3 the same way.
#define Q6X_LEVEL3(CA, CB, CC, M, T, L) \
	VPAND CC, M, L; \
	VPSRLW $6, L, L; \
	VPAND CB, M, T; \
	VPSRLW $4, T, T; \
	VPOR T, L, L; \
	VPAND CA, M, T; \
	VPSRLW $2, T, T; \
	VPOR T, L, L

// Levels 2 and 3 (bits 0-5 of C; bits 6-7 of A, B and C), by their
// activations from XO+64 and XO+96.
#define Q6X_HI(C, XO, LA, LB) \
	VMOVDQU (C+64)(R9), Y13; \
	VPAND Y13, Y15, LA; \
	Q6X_LEVEL3((C)(R9), (C+32)(R9), Y13, Y14, Y8, LB); \
	VPBROADCASTD (XO+64)(DI), Y8; \
	VPMADDUBSW Y8, LA, LA; \
	VPBROADCASTD (XO+96)(DI), Y13; \
	VPMADDUBSW Y13, LB, LB

// Chunks 2P and 2P+1 of half H through LEVS (Q6X_LO or Q6X_HI), by the
// scale pairs Y3 and Y6, into Y1 and Y12.
#define Q6X_PAIR(LEVS, H, P) \
	LEVS(768*H+192*P, 4+128*H+8*P, Y7, Y9); \
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
	Q6X_PAIR(LEVS, H, 0); \
	Q6X_PAIR(LEVS, H, 1); \
	Q6X_PAIR(LEVS, H, 2); \
	Q6X_PAIR(LEVS, H, 3)

#define Q6X_PF(O) \
	PREFETCHT0 (DEC_PFD+O)(R9)

#define Q6X_PFH(O) \
	PREFETCHT0 (DEC_PFD+O)(R12)

// func decQ6_KX8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ6_KX8AVX2(SB), NOSPLIT, $0-48
	X8_ARGS
	MOVQ nb+0(FP), R13
	IMUL3Q $1536, R13, R13
	MOVL $0x3f3f3f3f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0xc0c0c0c0, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	TESTQ R10, R10
	JZ q6xdone
q6xgroup:
	X8_GROUP
	LEAQ (SI)(R13*1), R12
	TESTQ CX, CX
	JZ q6xend
q6xloop:
	Q6X_PF(0)
	Q6X_PF(64)
	Q6X_PF(128)
	Q6X_PF(192)
	Q6X_PF(256)
	Q6X_PF(320)
	Q6X_PF(384)
	Q6X_PF(448)
	Q6X_PF(512)
	Q6X_PF(576)
	Q6X_PF(640)
	Q6X_PF(704)
	Q6X_PFH(0)
	Q6X_PFH(64)
	Q6X_PFH(128)
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y12, Y12, Y12
	Q6X_LEVELS(Q6X_LO, 0, 0)
	Q6X_LEVELS(Q6X_HI, 0, 2)
	Q6X_PF(768)
	Q6X_PF(832)
	Q6X_PF(896)
	Q6X_PF(960)
	Q6X_PF(1024)
	Q6X_PF(1088)
	Q6X_PF(1152)
	Q6X_PF(1216)
	Q6X_PF(1280)
	Q6X_PF(1344)
	Q6X_PF(1408)
	Q6X_PF(1472)
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
// levels as 64 registers, then their scales sign-extended to int32 and
// as pairs of 32·scale words, then d as float32) from an Interleaved8
// group at w: the four level registers of the rows' elements 4G..4G+3 of
// a half come from A, B and C of the two neighbouring chunks holding
// them (a word of each, one blend), as decQ6_KX8AVX2 takes its levels;
// the scales and d are loads. wrb and rmask are unused: a group always
// has its eight rows.
//
// Register plan: CX super-blocks left, SI their levels, R12 their heads,
// DI the tile; Y0-Y2 a gathered A, B and C, Y3-Y5 temporaries, Y10 0xc0
// bytes, Y11 0x3f bytes.

// The row dwords of elements 4G..4G+3 of A, B or C into Y: G < 4, the
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

// The four level registers of elements 4G..4G+3 (through DW from the
// chunks at CA and CB) to the tile at OUT, OUT+256, OUT+512 and OUT+768.
#define Q6X8_GROUP(DW, CA, CB, OUT) \
	DW(CA, CB, Y0); \
	DW(CA+32, CB+32, Y1); \
	DW(CA+64, CB+64, Y2); \
	VPAND Y0, Y11, Y3; \
	VMOVDQU Y3, (OUT)(DI); \
	VPAND Y1, Y11, Y3; \
	VMOVDQU Y3, (OUT+256)(DI); \
	VPAND Y2, Y11, Y3; \
	VMOVDQU Y3, (OUT+512)(DI); \
	Q6X_LEVEL3(Y0, Y1, Y2, Y10, Y4, Y3); \
	VMOVDQU Y3, (OUT+768)(DI)

// Chunks 2M and 2M+1 of half H: elements 4M.. and 16+4M.. of the half.
#define Q6X8_CHUNKS(H, M) \
	Q6X8_GROUP(Q6X8_LO, 768*H+192*M, 768*H+192*M+96, 1024*H+32*M); \
	Q6X8_GROUP(Q6X8_HI, 768*H+192*M, 768*H+192*M+96, 1024*H+128+32*M)

// Scale pair P (scales 2P, 2P+1 of each row as words) to the tile: each
// sign-extended to int32, and both times 32 as they lie.
#define Q6X8_SCALES(P) \
	VPMOVSXBW (16+16*P)(R12), Y0; \
	VPSLLD $16, Y0, Y1; \
	VPSRAD $16, Y1, Y1; \
	VMOVDQU Y1, (2048+64*P)(DI); \
	VPSRAD $16, Y0, Y1; \
	VMOVDQU Y1, (2080+64*P)(DI); \
	VPSLLW $5, Y0, Y0; \
	VMOVDQU Y0, (2560+32*P)(DI)

TEXT ·repackV8Q6_KX8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ dst+32(FP), DI
	IMUL3Q $1536, CX, R12
	ADDQ SI, R12
	MOVL $0x3f3f3f3f, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0xc0c0c0c0, AX
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
