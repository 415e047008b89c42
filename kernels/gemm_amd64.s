#include "textflag.h"
#include "hsum_amd64.h"

// Constants of W_Q5_0. q5Shuf and q5Bits are ggml's bytes_from_bits_32
// tables, shared with dot1_amd64.s and decode_amd64.s.
DATA ·q5Shuf+0(SB)/8, $0x0000000000000000
DATA ·q5Shuf+8(SB)/8, $0x0101010101010101
DATA ·q5Shuf+16(SB)/8, $0x0202020202020202
DATA ·q5Shuf+24(SB)/8, $0x0303030303030303
GLOBL ·q5Shuf(SB), RODATA|NOPTR, $32
DATA ·q5Bits+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·q5Bits+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·q5Bits+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA ·q5Bits+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL ·q5Bits(SB), RODATA|NOPTR, $32
DATA ·q5Ones<>+0(SB)/8, $0xffffffffffffffff
DATA ·q5Ones<>+8(SB)/8, $0xffffffffffffffff
DATA ·q5Ones<>+16(SB)/8, $0xffffffffffffffff
DATA ·q5Ones<>+24(SB)/8, $0xffffffffffffffff
GLOBL ·q5Ones<>(SB), RODATA|NOPTR, $32
DATA ·q5F0<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·q5F0<>+8(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·q5F0<>+16(SB)/8, $0xf0f0f0f0f0f0f0f0
DATA ·q5F0<>+24(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL ·q5F0<>(SB), RODATA|NOPTR, $32

// Tiled kernels for prefill and lean row kernels for decode: one weight row
// against four tokens (tile4) or one token (row1) of Q8_0 activations, GGUF
// block layout as stored, with the activation scales already converted to
// float32 (dx, one per block per token) so the inner loop converts only the
// weight scale.
//
// Why assembly: simd/archsimd has no VPDPBUSD (the VNNI variants) and no
// VCVTPH2PS, and an archsimd version of the AVX2 loop ran ten times slower
// than plain Go here. Assembly calls are never inlined, so every call covers
// a whole row (times four tokens), never one block.
//
// Arithmetic, as ggml's AVX2 code: for signed weights w and signed x,
// sum(w·x) = sum(|w| · (x·sign(w))), which fits VPMADDUBSW's unsigned-by-
// signed form without saturation: |w| <= 128 and |x| <= 127 (ggml's Q8_0
// quantiser never makes -128), so a pair sums to at most 32512. The per-block 8 lanes of int32 partial sums go to float and
// are scaled by dw·dx with an FMA into 8 float lanes per token; the lanes
// are added at the end. The integer sum of each block is exact; only the
// float summation order differs from the portable reference.
//
// The VNNI variants replace VPMADDUBSW+VPMADDWD by one VPDPBUSD (EVEX, on
// Y registers, so AVX512_VNNI with AVX512VL).
//
// tile4 writes token t's result to out + t·ostride bytes.
//
// Register plan (tile4):
//   CX  blocks left            SI  weight block      DI  token 0's x block
//   R8  x stride (bytes)       R12 3·R8
//   R9  token 0's dx           R10 dx stride (bytes) R13 3·R10
//   Y0-Y3 float accumulators, tokens 0-3
//   Y4  int16 ones (VPMADDWD)  Y5 0x0f bytes          Y6 8 bytes (Q4_0 offset)
//   Y7  dw in 8 lanes          Y8 signed w            Y9 |w|
//   Y10-Y15 per-token temporaries
//   R11 out, R14 ostride, BX 3·R14 (epilogue only)

// Weight block unpacking: Y7 = dw, Y8 = w, Y9 = |w|.
#define W_Q8_0 \
	VPBROADCASTW (SI), X7; \
	VCVTPH2PS X7, Y7; \
	VMOVDQU 2(SI), Y8; \
	VPABSB Y8, Y9

// Element j of a Q4_0 block is the low nibble of byte j, element j+16 the
// high one; both minus 8.
#define W_Q4_0 \
	VPBROADCASTW (SI), X7; \
	VCVTPH2PS X7, Y7; \
	VMOVDQU 2(SI), X8; \
	VPSRLW $4, X8, X9; \
	VINSERTI128 $1, X9, Y8, Y8; \
	VPAND Y5, Y8, Y8; \
	VPSUBB Y6, Y8, Y8; \
	VPABSB Y8, Y9

// Q5_0 (22-byte blocks: F16 d, 32 high bits, 16 bytes of nibbles), as
// ggml's bytes_from_bits_32: each qh bit spread to a byte (0xff where set),
// and the value (nibble | 0xf0 where the bit is clear) is already q-16 as a
// signed byte.
#define W_Q5_0 \
	VPBROADCASTW (SI), X7; \
	VCVTPH2PS X7, Y7; \
	VPBROADCASTD 2(SI), Y8; \
	VPSHUFB ·q5Shuf(SB), Y8, Y8; \
	VPOR ·q5Bits(SB), Y8, Y8; \
	VPCMPEQB ·q5Ones<>(SB), Y8, Y8; \
	VPANDN ·q5F0<>(SB), Y8, Y8; \
	VMOVDQU 6(SI), X9; \
	VPSRLW $4, X9, X10; \
	VINSERTI128 $1, X10, Y9, Y9; \
	VPAND Y5, Y9, Y9; \
	VPOR Y9, Y8, Y8; \
	VPABSB Y8, Y9

// One token: ACC += cvt(sum(w·x)) · dw·dx. T1, T2, T3 are temporaries.
#define TOK_AVX2(XA, DXA, ACC, T1, T2, T3) \
	VMOVDQU XA, T1; \
	VPSIGNB Y8, T1, T1; \
	VPMADDUBSW T1, Y9, T2; \
	VPMADDWD Y4, T2, T2; \
	VCVTDQ2PS T2, T2; \
	VBROADCASTSS DXA, T3; \
	VMULPS Y7, T3, T3; \
	VFMADD231PS T3, T2, ACC

#define TOK_VNNI(XA, DXA, ACC, T1, T2, T3) \
	VMOVDQU XA, T1; \
	VPSIGNB Y8, T1, T1; \
	VPXOR T2, T2, T2; \
	VPDPBUSD T1, Y9, T2; \
	VCVTDQ2PS T2, T2; \
	VBROADCASTSS DXA, T3; \
	VMULPS Y7, T3, T3; \
	VFMADD231PS T3, T2, ACC

#define CONSTS \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, X5; \
	VPBROADCASTD X5, Y5; \
	MOVL $0x08080808, AX; \
	VMOVD AX, X6; \
	VPBROADCASTD X6, Y6

#define TILE_PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ xstride+24(FP), R8; \
	MOVQ dx+32(FP), R9; \
	MOVQ dxstride+40(FP), R10; \
	LEAQ (R8)(R8*2), R12; \
	LEAQ (R10)(R10*2), R13; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	CONSTS

#define TILE_BODY(TOK) \
	TOK(2(DI), (R9), Y0, Y10, Y11, Y12); \
	TOK(2(DI)(R8*1), (R9)(R10*1), Y1, Y13, Y14, Y15); \
	TOK(2(DI)(R8*2), (R9)(R10*2), Y2, Y10, Y11, Y12); \
	TOK(2(DI)(R12*1), (R9)(R13*1), Y3, Y13, Y14, Y15)

#define TILE_EPILOGUE \
	MOVQ out+48(FP), R11; \
	MOVQ ostride+56(FP), R14; \
	LEAQ (R14)(R14*2), BX; \
	HSUM8TO(Y0, X0, X10, (R11)); \
	HSUM8TO(Y1, X1, X10, (R11)(R14*1)); \
	HSUM8TO(Y2, X2, X10, (R11)(R14*2)); \
	HSUM8TO(Y3, X3, X10, (R11)(BX*1)); \
	VZEROUPPER; \
	RET

// Decode: one row, one token. Two accumulators (even and odd blocks) so
// consecutive FMAs do not wait on each other.
// Register plan (row1): CX blocks, SI w, DI x, R9 dx; Y0/Y1 accumulators,
// Y4-Y9 as in tile4, Y10-Y15 temporaries.

#define ROW_PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ dx+24(FP), R9; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	CONSTS

#define ROW_EPILOGUE \
	VADDPS Y1, Y0, Y0; \
	HSUM8TO(Y0, X0, X10, ret+32(FP)); \
	VZEROUPPER; \
	RET

// func tileQ8_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ8_0AVX2(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t80done
t80loop:
	W_Q8_0
	TILE_BODY(TOK_AVX2)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t80loop
t80done:
	TILE_EPILOGUE

// func tileQ4_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ4_0AVX2(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t40done
t40loop:
	W_Q4_0
	TILE_BODY(TOK_AVX2)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t40loop
t40done:
	TILE_EPILOGUE

// func tileQ8_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ8_0VNNI(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t8vdone
t8vloop:
	W_Q8_0
	TILE_BODY(TOK_VNNI)
	ADDQ $34, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t8vloop
t8vdone:
	TILE_EPILOGUE

// func tileQ4_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ4_0VNNI(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t4vdone
t4vloop:
	W_Q4_0
	TILE_BODY(TOK_VNNI)
	ADDQ $18, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t4vloop
t4vdone:
	TILE_EPILOGUE

// func row1Q8_0AVX2(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q8_0AVX2(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	CMPQ CX, $2
	JLT r80tail
r80loop:
	W_Q8_0
	TOK_AVX2(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $34, SI
	W_Q8_0
	TOK_AVX2(36(DI), 4(R9), Y1, Y13, Y14, Y15)
	ADDQ $34, SI
	ADDQ $68, DI
	ADDQ $8, R9
	SUBQ $2, CX
	CMPQ CX, $2
	JGE r80loop
r80tail:
	TESTQ CX, CX
	JZ r80done
	W_Q8_0
	TOK_AVX2(2(DI), (R9), Y0, Y10, Y11, Y12)
r80done:
	ROW_EPILOGUE

// func row1Q4_0AVX2(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q4_0AVX2(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	CMPQ CX, $2
	JLT r40tail
r40loop:
	W_Q4_0
	TOK_AVX2(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $18, SI
	W_Q4_0
	TOK_AVX2(36(DI), 4(R9), Y1, Y13, Y14, Y15)
	ADDQ $18, SI
	ADDQ $68, DI
	ADDQ $8, R9
	SUBQ $2, CX
	CMPQ CX, $2
	JGE r40loop
r40tail:
	TESTQ CX, CX
	JZ r40done
	W_Q4_0
	TOK_AVX2(2(DI), (R9), Y0, Y10, Y11, Y12)
r40done:
	ROW_EPILOGUE

// func row1Q8_0VNNI(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q8_0VNNI(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	CMPQ CX, $2
	JLT r8vtail
r8vloop:
	W_Q8_0
	TOK_VNNI(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $34, SI
	W_Q8_0
	TOK_VNNI(36(DI), 4(R9), Y1, Y13, Y14, Y15)
	ADDQ $34, SI
	ADDQ $68, DI
	ADDQ $8, R9
	SUBQ $2, CX
	CMPQ CX, $2
	JGE r8vloop
r8vtail:
	TESTQ CX, CX
	JZ r8vdone
	W_Q8_0
	TOK_VNNI(2(DI), (R9), Y0, Y10, Y11, Y12)
r8vdone:
	ROW_EPILOGUE

// func row1Q4_0VNNI(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q4_0VNNI(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	CMPQ CX, $2
	JLT r4vtail
r4vloop:
	W_Q4_0
	TOK_VNNI(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $18, SI
	W_Q4_0
	TOK_VNNI(36(DI), 4(R9), Y1, Y13, Y14, Y15)
	ADDQ $18, SI
	ADDQ $68, DI
	ADDQ $8, R9
	SUBQ $2, CX
	CMPQ CX, $2
	JGE r4vloop
r4vtail:
	TESTQ CX, CX
	JZ r4vdone
	W_Q4_0
	TOK_VNNI(2(DI), (R9), Y0, Y10, Y11, Y12)
r4vdone:
	ROW_EPILOGUE


// func tileQ5_0AVX2(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ5_0AVX2(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t50done
t50loop:
	W_Q5_0
	TILE_BODY(TOK_AVX2)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t50loop
t50done:
	TILE_EPILOGUE

// func tileQ5_0VNNI(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
TEXT ·tileQ5_0VNNI(SB), NOSPLIT, $0-64
	TILE_PROLOGUE
	TESTQ CX, CX
	JZ t5vdone
t5vloop:
	W_Q5_0
	TILE_BODY(TOK_VNNI)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ t5vloop
t5vdone:
	TILE_EPILOGUE

// func row1Q5_0AVX2(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q5_0AVX2(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	TESTQ CX, CX
	JZ r50done
r50loop:
	W_Q5_0
	TOK_AVX2(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ r50loop
r50done:
	ROW_EPILOGUE

// func row1Q5_0VNNI(nb int, w, x *byte, dx *float32) float32
TEXT ·row1Q5_0VNNI(SB), NOSPLIT, $0-36
	ROW_PROLOGUE
	TESTQ CX, CX
	JZ r5vdone
r5vloop:
	W_Q5_0
	TOK_VNNI(2(DI), (R9), Y0, Y10, Y11, Y12)
	ADDQ $22, SI
	ADDQ $34, DI
	ADDQ $4, R9
	DECQ CX
	JNZ r5vloop
r5vdone:
	ROW_EPILOGUE
