#include "textflag.h"

// ---------------------------------------------------------------------------
// AVX-512 VNNI kernels on 512-bit registers: two blocks per instruction.
//
// There is no 512-bit VPSIGNB, so these use the offset form instead of the
// sign trick: the weights are made unsigned (Q4_0: the nibble q in 0..15,
// weight q-8; Q8_0: w XOR 0x80 = w+128), VPDPBUSD multiplies them by the
// signed activations, and the offset's share, off·sum(x) per block, is
// subtracted exactly in integers by starting each accumulator from a
// correction vector that MatMul prepared with the activations.
//
// Activations come as one 192-byte record per pair of blocks and token:
//   0   the two blocks' 64 int8 values
//   64  int32 correction: lane 0 = -off·sum(x of block 0), lane 8 = the
//       same for block 1, other lanes 0
//   128 float32 scales: lanes 0-7 dx of block 0, lanes 8-15 dx of block 1
// so each token costs one VPDPBUSD, one conversion, one multiply and one FMA
// per two blocks, with all three operands straight from memory.
//
// Register plan (tileZ, rowZ):
//   CX pairs left   SI weights   DI token 0's record   R8 token stride
//   R12 3·R8        R11 out      R14 out stride        BX 3·R14
//   DX 0 to store, -1 to add to what out holds (K is split in chunks);
//   X13 its mask in the epilogue
//   Z0-Z3 float accumulators, tokens 0-3
//   Z4 0x0f bytes (Q4_0) or 0x80 bytes (Q8_0)
//   Z7 dw (lanes 0-7 block 0, 8-15 block 1)   Z8 unsigned weights
//   Z9 temporary   Z10-Z21 per-token temporaries

// Q4_0 pair: 18-byte blocks. Nibbles of both blocks in Y8 as [b0, b1], the
// high nibbles beside them, then the 128-bit lanes reordered to
// [b0 low, b0 high, b1 low, b1 high], matching elements 0-15, 16-31 of
// block 0, then of block 1.
#define WZ_Q4_0 \
	VPBROADCASTW (SI), X7; \
	VPBROADCASTW 18(SI), X9; \
	VINSERTI128 $1, X9, Y7, Y7; \
	VCVTPH2PS Y7, Z7; \
	VMOVDQU 2(SI), X8; \
	VINSERTI128 $1, 20(SI), Y8, Y8; \
	VPSRLW $4, Y8, Y9; \
	VINSERTI64X4 $1, Y9, Z8, Z8; \
	VSHUFI64X2 $0xd8, Z8, Z8, Z8; \
	VPANDD Z4, Z8, Z8

// Q8_0 pair: 34-byte blocks, made unsigned by flipping the sign bit.
#define WZ_Q8_0 \
	VPBROADCASTW (SI), X7; \
	VPBROADCASTW 34(SI), X9; \
	VINSERTI128 $1, X9, Y7, Y7; \
	VCVTPH2PS Y7, Z7; \
	VMOVDQU 2(SI), Y8; \
	VINSERTI64X4 $1, 36(SI), Z8, Z8; \
	VPXORD Z4, Z8, Z8

// Q5_0 pair: 22-byte blocks; the nibbles as for Q4_0, then the fifth bit
// of each of the 64 values set from the two 32-bit qh words through a mask
// register (Z5 holds 0x10 bytes; VPADDB, whose mask is per byte, not
// VPORD, whose mask is per dword). R13 is a temporary.
#define WZ_Q5_0 \
	VPBROADCASTW (SI), X7; \
	VPBROADCASTW 22(SI), X9; \
	VINSERTI128 $1, X9, Y7, Y7; \
	VCVTPH2PS Y7, Z7; \
	VMOVDQU 6(SI), X8; \
	VINSERTI128 $1, 28(SI), Y8, Y8; \
	VPSRLW $4, Y8, Y9; \
	VINSERTI64X4 $1, Y9, Z8, Z8; \
	VSHUFI64X2 $0xd8, Z8, Z8, Z8; \
	VPANDD Z4, Z8, Z8; \
	MOVL 2(SI), AX; \
	MOVL 24(SI), R13; \
	SHLQ $32, R13; \
	ORQ R13, AX; \
	KMOVQ AX, K1; \
	VPADDB Z5, Z8, K1, Z8

// One token's pair record at REC (an addressing expression reaching the
// record's start; OFF64 and OFF128 reach its correction and scales).
#define TOKZ(REC, CORR, SCALES, ACC, TI, TS) \
	VMOVDQU32 CORR, TI; \
	VPDPBUSD REC, Z8, TI; \
	VCVTDQ2PS TI, TI; \
	VMULPS SCALES, Z7, TS; \
	VFMADD231PS TS, TI, ACC

// ACC's 16 lanes summed, plus (when DX is -1) what OUT held, stored to OUT.
#define HSUMZ(ACC, YACC, XACC, OUT) \
	VEXTRACTF64X4 $1, ACC, Y10; \
	VADDPS Y10, YACC, YACC; \
	VEXTRACTF128 $1, YACC, X10; \
	VADDPS X10, XACC, XACC; \
	VHADDPS XACC, XACC, XACC; \
	VHADDPS XACC, XACC, XACC; \
	MOVSS OUT, X11; \
	VANDPS X13, X11, X11; \
	VADDSS X11, XACC, XACC; \
	MOVSS XACC, OUT

#define ZPROLOGUE(MASKBYTES) \
	MOVQ np+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVL $MASKBYTES, AX; \
	VPBROADCASTD AX, Z4; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3

#define TILEZ_ARGS \
	MOVQ xstride+24(FP), R8; \
	LEAQ (R8)(R8*2), R12; \
	MOVQ out+32(FP), R11; \
	MOVQ ostride+40(FP), R14; \
	LEAQ (R14)(R14*2), BX; \
	MOVQ add+48(FP), DX; \
	NEGQ DX

#define TILEZ_BODY \
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11); \
	TOKZ((DI)(R8*1), 64(DI)(R8*1), 128(DI)(R8*1), Z1, Z12, Z13); \
	TOKZ((DI)(R8*2), 64(DI)(R8*2), 128(DI)(R8*2), Z2, Z14, Z15); \
	TOKZ((DI)(R12*1), 64(DI)(R12*1), 128(DI)(R12*1), Z3, Z16, Z17)

#define TILEZ_EPILOGUE \
	VMOVD DX, X13; \
	HSUMZ(Z0, Y0, X0, (R11)); \
	HSUMZ(Z1, Y1, X1, (R11)(R14*1)); \
	HSUMZ(Z2, Y2, X2, (R11)(R14*2)); \
	HSUMZ(Z3, Y3, X3, (R11)(BX*1)); \
	VZEROUPPER; \
	RET

// Eight tokens: tokens 4-7 from R9 = DI + 4·R8, results to R10 = R11 +
// 4·R14; accumulators Z0-Z3, Z6, Z12, Z14, Z15 (below 16, for the VEX-only
// VHADDPS of HSUMZ), temporaries Z16-Z31.
#define TILEZ8_ARGS \
	TILEZ_ARGS; \
	LEAQ (DI)(R8*4), R9; \
	LEAQ (R11)(R14*4), R10; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15

#define TILEZ8_BODY \
	TOKZ((DI), 64(DI), 128(DI), Z0, Z16, Z17); \
	TOKZ((DI)(R8*1), 64(DI)(R8*1), 128(DI)(R8*1), Z1, Z18, Z19); \
	TOKZ((DI)(R8*2), 64(DI)(R8*2), 128(DI)(R8*2), Z2, Z20, Z21); \
	TOKZ((DI)(R12*1), 64(DI)(R12*1), 128(DI)(R12*1), Z3, Z22, Z23); \
	TOKZ((R9), 64(R9), 128(R9), Z6, Z24, Z25); \
	TOKZ((R9)(R8*1), 64(R9)(R8*1), 128(R9)(R8*1), Z12, Z26, Z27); \
	TOKZ((R9)(R8*2), 64(R9)(R8*2), 128(R9)(R8*2), Z14, Z28, Z29); \
	TOKZ((R9)(R12*1), 64(R9)(R12*1), 128(R9)(R12*1), Z15, Z30, Z31)

#define TILEZ8_EPILOGUE \
	VMOVD DX, X13; \
	HSUMZ(Z0, Y0, X0, (R11)); \
	HSUMZ(Z1, Y1, X1, (R11)(R14*1)); \
	HSUMZ(Z2, Y2, X2, (R11)(R14*2)); \
	HSUMZ(Z3, Y3, X3, (R11)(BX*1)); \
	HSUMZ(Z6, Y6, X6, (R10)); \
	HSUMZ(Z12, Y12, X12, (R10)(R14*1)); \
	HSUMZ(Z14, Y14, X14, (R10)(R14*2)); \
	HSUMZ(Z15, Y15, X15, (R10)(BX*1)); \
	VZEROUPPER; \
	RET

#define ROWZ_ARGS \
	MOVQ out+24(FP), R11; \
	MOVQ add+32(FP), DX; \
	NEGQ DX

#define ROWZ_EPILOGUE \
	VMOVD DX, X13; \
	VADDPS Z1, Z0, Z0; \
	HSUMZ(Z0, Y0, X0, (R11)); \
	VZEROUPPER; \
	RET

// func tileZQ4_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZQ4_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x0f0f0f0f)
	TILEZ_ARGS
	TESTQ CX, CX
	JZ tz4done
tz4loop:
	WZ_Q4_0
	TILEZ_BODY
	ADDQ $36, SI
	ADDQ $192, DI
	DECQ CX
	JNZ tz4loop
tz4done:
	TILEZ_EPILOGUE

// func tileZQ8_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZQ8_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x80808080)
	TILEZ_ARGS
	TESTQ CX, CX
	JZ tz8done
tz8loop:
	WZ_Q8_0
	TILEZ_BODY
	ADDQ $68, SI
	ADDQ $192, DI
	DECQ CX
	JNZ tz8loop
tz8done:
	TILEZ_EPILOGUE

// Decode, one token: two accumulators (even and odd pairs) so consecutive
// FMAs do not wait on each other.

// func rowZQ4_0(np int, w, x *byte, out *float32, add int)
TEXT ·rowZQ4_0(SB), NOSPLIT, $0-40
	ZPROLOGUE(0x0f0f0f0f)
	ROWZ_ARGS
	CMPQ CX, $2
	JLT rz4tail
rz4loop:
	WZ_Q4_0
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11)
	ADDQ $36, SI
	WZ_Q4_0
	TOKZ(192(DI), 256(DI), 320(DI), Z1, Z12, Z13)
	ADDQ $36, SI
	ADDQ $384, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE rz4loop
rz4tail:
	TESTQ CX, CX
	JZ rz4done
	WZ_Q4_0
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11)
rz4done:
	ROWZ_EPILOGUE

// func rowZQ8_0(np int, w, x *byte, out *float32, add int)
TEXT ·rowZQ8_0(SB), NOSPLIT, $0-40
	ZPROLOGUE(0x80808080)
	ROWZ_ARGS
	CMPQ CX, $2
	JLT rz8tail
rz8loop:
	WZ_Q8_0
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11)
	ADDQ $68, SI
	WZ_Q8_0
	TOKZ(192(DI), 256(DI), 320(DI), Z1, Z12, Z13)
	ADDQ $68, SI
	ADDQ $384, DI
	SUBQ $2, CX
	CMPQ CX, $2
	JGE rz8loop
rz8tail:
	TESTQ CX, CX
	JZ rz8done
	WZ_Q8_0
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11)
rz8done:
	ROWZ_EPILOGUE

#define Q5Z_CONST \
	MOVL $0x10101010, AX; \
	VPBROADCASTD AX, Z5

// func tileZQ5_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZQ5_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x0f0f0f0f)
	Q5Z_CONST
	TILEZ_ARGS
	TESTQ CX, CX
	JZ tz5done
tz5loop:
	WZ_Q5_0
	TILEZ_BODY
	ADDQ $44, SI
	ADDQ $192, DI
	DECQ CX
	JNZ tz5loop
tz5done:
	TILEZ_EPILOGUE

// func rowZQ5_0(np int, w, x *byte, out *float32, add int)
TEXT ·rowZQ5_0(SB), NOSPLIT, $0-40
	ZPROLOGUE(0x0f0f0f0f)
	Q5Z_CONST
	ROWZ_ARGS
	TESTQ CX, CX
	JZ rz5done
rz5loop:
	WZ_Q5_0
	TOKZ((DI), 64(DI), 128(DI), Z0, Z10, Z11)
	ADDQ $44, SI
	ADDQ $192, DI
	DECQ CX
	JNZ rz5loop
rz5done:
	ROWZ_EPILOGUE

// func tileZ8Q4_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZ8Q4_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x0f0f0f0f)
	TILEZ8_ARGS
	TESTQ CX, CX
	JZ t8z4done
t8z4loop:
	WZ_Q4_0
	TILEZ8_BODY
	ADDQ $36, SI
	ADDQ $192, DI
	ADDQ $192, R9
	DECQ CX
	JNZ t8z4loop
t8z4done:
	TILEZ8_EPILOGUE

// func tileZ8Q8_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZ8Q8_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x80808080)
	TILEZ8_ARGS
	TESTQ CX, CX
	JZ t8z8done
t8z8loop:
	WZ_Q8_0
	TILEZ8_BODY
	ADDQ $68, SI
	ADDQ $192, DI
	ADDQ $192, R9
	DECQ CX
	JNZ t8z8loop
t8z8done:
	TILEZ8_EPILOGUE

// func tileZ8Q5_0(np int, w, x *byte, xstride int, out *float32, ostride int, add int)
TEXT ·tileZ8Q5_0(SB), NOSPLIT, $0-56
	ZPROLOGUE(0x0f0f0f0f)
	Q5Z_CONST
	TILEZ8_ARGS
	TESTQ CX, CX
	JZ t8z5done
t8z5loop:
	WZ_Q5_0
	TILEZ8_BODY
	ADDQ $44, SI
	ADDQ $192, DI
	ADDQ $192, R9
	DECQ CX
	JNZ t8z5loop
t8z5done:
	TILEZ8_EPILOGUE
