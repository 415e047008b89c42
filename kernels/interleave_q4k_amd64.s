#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q4_K decode kernel (layout in interleave_q4k.go): per
// super-block column of a group (1152 bytes at R9) against its 320-byte
// record at DI (decRecordsQ8_KAVX2: dy at 0, the sub-blocks' sums of 32 as
// words at 16, sub-block s's values at 64, 128, 96, 160, 192, 256, 224,
// 288 for s = 0..7). The int32 lanes of every sum are the eight rows.
//
// It takes two groups a step where it can (R9 and R12), so that each
// broadcast of four activations serves sixteen rows: the loop is short of
// instructions issued, not of any one kind of unit, and the broadcasts
// were a sixth of them.

// The eight rows' scales and mins of the super-block at W, unpacked
// byte-wise as getScaleMinK4 does (A = bytes 0-3 of the rows' packing at
// 32, B = 4-7 at 64, C = 8-11 at 96, each byte k of the rows at 8k), to
// the frame at F: scale s of row r at F+8s+r, min s at F+64+8s+r. Y15
// 0x0f bytes; Y3-Y6 are lost.
#define X8K_UNPACK(W, F) \
	VMOVDQU 32(W), Y3; \
	VMOVDQU 64(W), Y4; \
	VMOVDQU 96(W), Y5; \
	VPAND ·x8kLow6<>(SB), Y3, Y6; \
	VMOVDQU Y6, F(SP); \
	VPAND ·x8kLow6<>(SB), Y4, Y6; \
	VMOVDQU Y6, (F+64)(SP); \
	VPSRLW $2, Y3, Y3; \
	VPAND ·x8kTop2<>(SB), Y3, Y3; \
	VPAND Y15, Y5, Y6; \
	VPOR Y6, Y3, Y3; \
	VMOVDQU Y3, (F+32)(SP); \
	VPSRLW $2, Y4, Y4; \
	VPAND ·x8kTop2<>(SB), Y4, Y4; \
	VPSRLW $4, Y5, Y5; \
	VPAND Y15, Y5, Y5; \
	VPOR Y5, Y4, Y4; \
	VMOVDQU Y4, (F+96)(SP)

// The mins' pair K (sub-blocks 2K, 2K+1) of the eight rows at frame F as
// word pairs in the rows' lanes, times the pair's sums of 32 (Y10), to D.
#define X8K_MINS(F, K, D) \
	VBROADCASTI128 (F+64+16*K)(SP), D; \
	VPSHUFB ·x8kMinPair<>(SB), D, D; \
	VPMADDWD Y10, D, D

// Sub-block S's eight scales at frame F spread to word pairs in the rows'
// lanes, times the rows' word sums ACC.
#define X8K_SCALE(F, S, ACC) \
	VBROADCASTI128 (F+8*(S))(SP), Y10; \
	VPSHUFB ·x8kScale<>(SB), Y10, Y10; \
	VPMADDWD Y10, ACC, ACC

// The group at W: d·dy (Y14 dy) times the scaled sums SUM, less dmin·dy
// times the mins' sums MIN, added to ACC.
#define X8K_FLOATS(W, SUM, MIN, ACC) \
	VCVTPH2PS (W), Y10; \
	VMULPS Y14, Y10, Y10; \
	VCVTDQ2PS SUM, SUM; \
	VFMADD231PS Y10, SUM, ACC; \
	VCVTPH2PS 16(W), Y11; \
	VMULPS Y14, Y11, Y11; \
	VCVTDQ2PS MIN, MIN; \
	VFNMADD231PS Y11, MIN, ACC

// The nibbles of chunk C of pair J of the group at W (four bytes of each
// row at 128+256J+32C), split: low nibbles to LO, high ones to HI.
#define X8K_NIBBLES(W, J, C, LO, HI) \
	VMOVDQU (128+256*J+32*C)(W), LO; \
	VPSRLW $4, LO, HI; \
	VPAND Y15, LO, LO; \
	VPAND Y15, HI, HI

// Chunk C of pair J of one group (R9): its low nibbles against the values
// at XL+4C, its high ones at XH+4C, the words added to Y12 and Y13, or
// started there (X8K_CHUNK0). Each word sums at most eight chunks' two
// products of at most 15·128: 30720, no saturation.
#define X8K_CHUNK0(J, XL, XH) \
	X8K_NIBBLES(R9, J, 0, Y8, Y9); \
	VPBROADCASTD XL(DI), Y10; \
	VPBROADCASTD XH(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y12; \
	VPMADDUBSW Y11, Y9, Y13

#define X8K_CHUNK(J, C, XL, XH) \
	X8K_NIBBLES(R9, J, C, Y8, Y9); \
	VPBROADCASTD (XL+4*C)(DI), Y10; \
	VPBROADCASTD (XH+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	VPADDW Y8, Y12, Y12; \
	VPADDW Y9, Y13, Y13

// X8K_CHUNK0 and X8K_CHUNK for two groups (R9 to Y12 and Y13, R12 to Y4
// and Y5) on the same broadcasts.
#define X8K2_CHUNK0(J, XL, XH) \
	X8K_NIBBLES(R9, J, 0, Y8, Y9); \
	X8K_NIBBLES(R12, J, 0, Y6, Y7); \
	VPBROADCASTD XL(DI), Y10; \
	VPBROADCASTD XH(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y12; \
	VPMADDUBSW Y11, Y9, Y13; \
	VPMADDUBSW Y10, Y6, Y4; \
	VPMADDUBSW Y11, Y7, Y5

#define X8K2_CHUNK(J, C, XL, XH) \
	X8K_NIBBLES(R9, J, C, Y8, Y9); \
	X8K_NIBBLES(R12, J, C, Y6, Y7); \
	VPBROADCASTD (XL+4*C)(DI), Y10; \
	VPBROADCASTD (XH+4*C)(DI), Y11; \
	VPMADDUBSW Y10, Y8, Y8; \
	VPMADDUBSW Y11, Y9, Y9; \
	VPMADDUBSW Y10, Y6, Y6; \
	VPMADDUBSW Y11, Y7, Y7; \
	VPADDW Y8, Y12, Y12; \
	VPADDW Y9, Y13, Y13; \
	VPADDW Y6, Y4, Y4; \
	VPADDW Y7, Y5, Y5

// Four lines of pair J of the group at W, DEC_PFD ahead: half H (0, 1).
#define X8K_PF(W, J, H) \
	PREFETCHT0 (DEC_PFD+128+256*J+128*H)(W); \
	PREFETCHT0 (DEC_PFD+192+256*J+128*H)(W)

// Pair J of one group: its two sub-blocks' int32 sums, each times its
// eight rows' scales, in Y12 and Y13.
#define X8K_PAIR(J, XL, XH) \
	X8K_PF(R9, J, 0); \
	X8K_CHUNK0(J, XL, XH); \
	X8K_CHUNK(J, 1, XL, XH); \
	X8K_CHUNK(J, 2, XL, XH); \
	X8K_CHUNK(J, 3, XL, XH); \
	X8K_PF(R9, J, 1); \
	X8K_CHUNK(J, 4, XL, XH); \
	X8K_CHUNK(J, 5, XL, XH); \
	X8K_CHUNK(J, 6, XL, XH); \
	X8K_CHUNK(J, 7, XL, XH); \
	X8K_SCALE(0, 2*J, Y12); \
	X8K_SCALE(0, 2*J+1, Y13)

// Pair J of two groups: R9's in Y12 and Y13 (scales at frame 0), R12's
// in Y4 and Y5 (frame 128).
#define X8K2_PAIR(J, XL, XH) \
	X8K_PF(R9, J, 0); \
	X8K_PF(R12, J, 0); \
	X8K2_CHUNK0(J, XL, XH); \
	X8K2_CHUNK(J, 1, XL, XH); \
	X8K2_CHUNK(J, 2, XL, XH); \
	X8K2_CHUNK(J, 3, XL, XH); \
	X8K_PF(R9, J, 1); \
	X8K_PF(R12, J, 1); \
	X8K2_CHUNK(J, 4, XL, XH); \
	X8K2_CHUNK(J, 5, XL, XH); \
	X8K2_CHUNK(J, 6, XL, XH); \
	X8K2_CHUNK(J, 7, XL, XH); \
	X8K_SCALE(0, 2*J, Y12); \
	X8K_SCALE(0, 2*J+1, Y13); \
	X8K_SCALE(128, 2*J, Y4); \
	X8K_SCALE(128, 2*J+1, Y5)

// func decQ4_KX8AVX2(nb int, w *byte, gstride int, x *byte, out *float32, groups int)
//
// Register plan: SI the group, R8 gstride, R11 out, R10 groups left; per
// group CX super-blocks left, R9 the super-block (R12 the second group's),
// DI its record; Y0 (Y2) the float sums, per super-block Y1 (Y3) the
// scaled int32 sums. The frame holds the super-block's unpacked scales and
// mins, the second group's at 128.
TEXT ·decQ4_KX8AVX2(SB), NOSPLIT, $256-48
	MOVQ w+8(FP), SI
	MOVQ gstride+16(FP), R8
	MOVQ out+32(FP), R11
	MOVQ groups+40(FP), R10
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	CMPQ R10, $2
	JLT x8kone
x8kpair:
	MOVQ nb+0(FP), CX
	MOVQ x+24(FP), DI
	MOVQ SI, R9
	LEAQ (SI)(R8*1), R12
	VXORPS Y0, Y0, Y0
	VXORPS Y2, Y2, Y2
	TESTQ CX, CX
	JZ x8kpairend
x8kpairloop:
	PREFETCHT0 DEC_PFD(R9)
	PREFETCHT0 (DEC_PFD+64)(R9)
	PREFETCHT0 DEC_PFD(R12)
	PREFETCHT0 (DEC_PFD+64)(R12)
	X8K_UNPACK(R9, 0)
	X8K_UNPACK(R12, 128)
	X8K2_PAIR(0, 64, 128)
	VPADDD Y12, Y13, Y1
	VPADDD Y4, Y5, Y3
	X8K2_PAIR(1, 96, 160)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPADDD Y4, Y3, Y3
	VPADDD Y5, Y3, Y3
	X8K2_PAIR(2, 192, 256)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPADDD Y4, Y3, Y3
	VPADDD Y5, Y3, Y3
	X8K2_PAIR(3, 224, 288)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPADDD Y4, Y3, Y3
	VPADDD Y5, Y3, Y3
	// The mins' sums: Y8 (R9's) and Y9 (R12's).
	VPBROADCASTD 16(DI), Y10
	X8K_MINS(0, 0, Y8)
	X8K_MINS(128, 0, Y9)
	VPBROADCASTD 20(DI), Y10
	X8K_MINS(0, 1, Y6)
	X8K_MINS(128, 1, Y7)
	VPADDD Y6, Y8, Y8
	VPADDD Y7, Y9, Y9
	VPBROADCASTD 24(DI), Y10
	X8K_MINS(0, 2, Y6)
	X8K_MINS(128, 2, Y7)
	VPADDD Y6, Y8, Y8
	VPADDD Y7, Y9, Y9
	VPBROADCASTD 28(DI), Y10
	X8K_MINS(0, 3, Y6)
	X8K_MINS(128, 3, Y7)
	VPADDD Y6, Y8, Y8
	VPADDD Y7, Y9, Y9
	VBROADCASTSS (DI), Y14
	X8K_FLOATS(R9, Y1, Y8, Y0)
	X8K_FLOATS(R12, Y3, Y9, Y2)
	ADDQ $1152, R9
	ADDQ $1152, R12
	ADDQ $320, DI
	DECQ CX
	JNZ x8kpairloop
x8kpairend:
	VMOVUPS Y0, (R11)
	VMOVUPS Y2, 32(R11)
	ADDQ $64, R11
	LEAQ (SI)(R8*2), SI
	SUBQ $2, R10
	CMPQ R10, $2
	JGE x8kpair
x8kone:
	// An odd last group on its own.
	TESTQ R10, R10
	JZ x8kdone
	MOVQ nb+0(FP), CX
	MOVQ x+24(FP), DI
	MOVQ SI, R9
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JZ x8koneend
x8koneloop:
	PREFETCHT0 DEC_PFD(R9)
	PREFETCHT0 (DEC_PFD+64)(R9)
	X8K_UNPACK(R9, 0)
	X8K_PAIR(0, 64, 128)
	VPADDD Y12, Y13, Y1
	X8K_PAIR(1, 96, 160)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	X8K_PAIR(2, 192, 256)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	X8K_PAIR(3, 224, 288)
	VPADDD Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPBROADCASTD 16(DI), Y10
	X8K_MINS(0, 0, Y2)
	VPBROADCASTD 20(DI), Y10
	X8K_MINS(0, 1, Y3)
	VPADDD Y3, Y2, Y2
	VPBROADCASTD 24(DI), Y10
	X8K_MINS(0, 2, Y3)
	VPADDD Y3, Y2, Y2
	VPBROADCASTD 28(DI), Y10
	X8K_MINS(0, 3, Y3)
	VPADDD Y3, Y2, Y2
	VBROADCASTSS (DI), Y14
	X8K_FLOATS(R9, Y1, Y2, Y0)
	ADDQ $1152, R9
	ADDQ $320, DI
	DECQ CX
	JNZ x8koneloop
x8koneend:
	VMOVUPS Y0, (R11)
x8kdone:
	VZEROUPPER
	RET

// The low six bits and bits 4-5 of each byte.
DATA ·x8kLow6<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+16(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA ·x8kLow6<>+24(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL ·x8kLow6<>(SB), RODATA|NOPTR, $32

DATA ·x8kTop2<>+0(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+8(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+16(SB)/8, $0x3030303030303030
DATA ·x8kTop2<>+24(SB)/8, $0x3030303030303030
GLOBL ·x8kTop2<>(SB), RODATA|NOPTR, $32

// Eight bytes (rows 0-7, both halves of the register) to the rows' dword
// lanes as word pairs: byte r to words 2r and 2r+1 (x8kScale); bytes r
// and 8+r to words 2r and 2r+1 (x8kMinPair).
DATA ·x8kScale<>+0(SB)/8, $0x8001800180008000
DATA ·x8kScale<>+8(SB)/8, $0x8003800380028002
DATA ·x8kScale<>+16(SB)/8, $0x8005800580048004
DATA ·x8kScale<>+24(SB)/8, $0x8007800780068006
GLOBL ·x8kScale<>(SB), RODATA|NOPTR, $32

DATA ·x8kMinPair<>+0(SB)/8, $0x8009800180088000
DATA ·x8kMinPair<>+8(SB)/8, $0x800b8003800a8002
DATA ·x8kMinPair<>+16(SB)/8, $0x800d8005800c8004
DATA ·x8kMinPair<>+24(SB)/8, $0x800f8007800e8006
GLOBL ·x8kMinPair<>(SB), RODATA|NOPTR, $32
