#include "textflag.h"

// SwiGLU, dst = gate / (1 + exp(-gate)) · up, bit for bit what the Go loop
// of ops.go computes with math.Exp.
//
// math.Exp on amd64 is the assembly of math/exp_amd64.s (Shibata's method:
// reduce by ln 2 in two parts, a Taylor polynomial of x/16, square four
// times, scale by 2^k), and on CPUs with FMA it takes the FMA branch; the
// paths that use these loops require FMA. The loops below run the same
// float64 operations in the same order on 8 (AVX-512) or 4 (AVX2) lanes:
// IEEE arithmetic is deterministic, so each lane equals math.Exp, and the
// float32 steps after it (conversion, 1 + e, division, product) are the
// Go loop's. math.Exp's branches for huge arguments are replaced by a
// clamp of -gate to [-110, 100]: outside that range exp's float32 value
// is 0 (below e^-104) or +Inf (above e^88.8) on both sides, and a NaN
// gate makes the result NaN through the division either way.
//
// Why assembly: exp was 15-25% of a Qwen2.5-0.5B prefill even on the pool,
// one scalar math.Exp call per element; Go has no vector exp and archsimd
// ran our loops ten times slower than assembly (see gemm_amd64.s).
//
// SwiGLU's constants are 64-byte arrays so that both widths can take them
// as full memory operands (AVX2 has no embedded broadcast).

DATA ·sgNegOne<>+0(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+8(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+16(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+24(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+32(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+40(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+48(SB)/8, $0xbff0000000000000
DATA ·sgNegOne<>+56(SB)/8, $0xbff0000000000000
GLOBL ·sgNegOne<>(SB), RODATA|NOPTR, $64
DATA ·sgLo<>+0(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+8(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+16(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+24(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+32(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+40(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+48(SB)/8, $0xc05b800000000000
DATA ·sgLo<>+56(SB)/8, $0xc05b800000000000
GLOBL ·sgLo<>(SB), RODATA|NOPTR, $64
DATA ·sgHi<>+0(SB)/8, $0x4059000000000000
DATA ·sgHi<>+8(SB)/8, $0x4059000000000000
DATA ·sgHi<>+16(SB)/8, $0x4059000000000000
DATA ·sgHi<>+24(SB)/8, $0x4059000000000000
DATA ·sgHi<>+32(SB)/8, $0x4059000000000000
DATA ·sgHi<>+40(SB)/8, $0x4059000000000000
DATA ·sgHi<>+48(SB)/8, $0x4059000000000000
DATA ·sgHi<>+56(SB)/8, $0x4059000000000000
GLOBL ·sgHi<>(SB), RODATA|NOPTR, $64
DATA ·sgLog2e<>+0(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+8(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+16(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+24(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+32(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+40(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+48(SB)/8, $0x3ff71547652b82fe
DATA ·sgLog2e<>+56(SB)/8, $0x3ff71547652b82fe
GLOBL ·sgLog2e<>(SB), RODATA|NOPTR, $64
DATA ·sgLn2u<>+0(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+8(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+16(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+24(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+32(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+40(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+48(SB)/8, $0x3fe62e42fefa3000
DATA ·sgLn2u<>+56(SB)/8, $0x3fe62e42fefa3000
GLOBL ·sgLn2u<>(SB), RODATA|NOPTR, $64
DATA ·sgLn2l<>+0(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+8(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+16(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+24(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+32(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+40(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+48(SB)/8, $0x3d53de6af278ece6
DATA ·sgLn2l<>+56(SB)/8, $0x3d53de6af278ece6
GLOBL ·sgLn2l<>(SB), RODATA|NOPTR, $64
DATA ·sgSixteenth<>+0(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+8(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+16(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+24(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+32(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+40(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+48(SB)/8, $0x3fb0000000000000
DATA ·sgSixteenth<>+56(SB)/8, $0x3fb0000000000000
GLOBL ·sgSixteenth<>(SB), RODATA|NOPTR, $64
DATA ·sgC64<>+0(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+8(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+16(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+24(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+32(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+40(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+48(SB)/8, $0x3efa01a01a01a01a
DATA ·sgC64<>+56(SB)/8, $0x3efa01a01a01a01a
GLOBL ·sgC64<>(SB), RODATA|NOPTR, $64
DATA ·sgC56<>+0(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+8(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+16(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+24(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+32(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+40(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+48(SB)/8, $0x3f2a01a01a01a01a
DATA ·sgC56<>+56(SB)/8, $0x3f2a01a01a01a01a
GLOBL ·sgC56<>(SB), RODATA|NOPTR, $64
DATA ·sgC48<>+0(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+8(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+16(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+24(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+32(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+40(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+48(SB)/8, $0x3f56c16c16c16c17
DATA ·sgC48<>+56(SB)/8, $0x3f56c16c16c16c17
GLOBL ·sgC48<>(SB), RODATA|NOPTR, $64
DATA ·sgC40<>+0(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+8(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+16(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+24(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+32(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+40(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+48(SB)/8, $0x3f81111111111111
DATA ·sgC40<>+56(SB)/8, $0x3f81111111111111
GLOBL ·sgC40<>(SB), RODATA|NOPTR, $64
DATA ·sgC32<>+0(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+8(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+16(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+24(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+32(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+40(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+48(SB)/8, $0x3fa5555555555555
DATA ·sgC32<>+56(SB)/8, $0x3fa5555555555555
GLOBL ·sgC32<>(SB), RODATA|NOPTR, $64
DATA ·sgC24<>+0(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+8(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+16(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+24(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+32(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+40(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+48(SB)/8, $0x3fc5555555555555
DATA ·sgC24<>+56(SB)/8, $0x3fc5555555555555
GLOBL ·sgC24<>(SB), RODATA|NOPTR, $64
DATA ·sgHalf<>+0(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+8(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+16(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+24(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+32(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+40(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+48(SB)/8, $0x3fe0000000000000
DATA ·sgHalf<>+56(SB)/8, $0x3fe0000000000000
GLOBL ·sgHalf<>(SB), RODATA|NOPTR, $64
DATA ·sgOne<>+0(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+8(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+16(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+24(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+32(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+40(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+48(SB)/8, $0x3ff0000000000000
DATA ·sgOne<>+56(SB)/8, $0x3ff0000000000000
GLOBL ·sgOne<>(SB), RODATA|NOPTR, $64
DATA ·sgTwo<>+0(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+8(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+16(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+24(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+32(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+40(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+48(SB)/8, $0x4000000000000000
DATA ·sgTwo<>+56(SB)/8, $0x4000000000000000
GLOBL ·sgTwo<>(SB), RODATA|NOPTR, $64
DATA ·sgBias<>+0(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+8(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+16(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+24(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+32(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+40(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+48(SB)/8, $0x00000000000003ff
DATA ·sgBias<>+56(SB)/8, $0x00000000000003ff
GLOBL ·sgBias<>(SB), RODATA|NOPTR, $64
DATA ·sgOne32<>+0(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+8(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+16(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+24(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+32(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+40(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+48(SB)/8, $0x3f8000003f800000
DATA ·sgOne32<>+56(SB)/8, $0x3f8000003f800000
GLOBL ·sgOne32<>(SB), RODATA|NOPTR, $64

// EXPD replaces the float64 lanes of D0 by exp, as math.Exp computes it
// (see above): D0 is first clamped to [-110, 100] with the bound as the
// first operand, so that a NaN lane stays NaN (MAXPD and MINPD return
// their second operand when one is NaN). D1, D3 are double-width
// temporaries, I2 a half-width one for the int32 exponents; CVTDQ is the
// narrowing conversion's name for the width (the assembler spells the
// Y-source one with a Y).
#define EXPD(D0, D1, D3, I2, CVTDQ) \
	VMOVUPD ·sgLo<>(SB), D1; \
	VMAXPD D0, D1, D0; \
	VMOVUPD ·sgHi<>(SB), D1; \
	VMINPD D0, D1, D0; \
	VMULPD ·sgLog2e<>(SB), D0, D1; \
	CVTDQ D1, I2; \
	VCVTDQ2PD I2, D1; \
	VFNMADD231PD ·sgLn2u<>(SB), D1, D0; \
	VFNMADD231PD ·sgLn2l<>(SB), D1, D0; \
	VMULPD ·sgSixteenth<>(SB), D0, D0; \
	VMOVUPD ·sgC64<>(SB), D1; \
	VFMADD213PD ·sgC56<>(SB), D0, D1; \
	VFMADD213PD ·sgC48<>(SB), D0, D1; \
	VFMADD213PD ·sgC40<>(SB), D0, D1; \
	VFMADD213PD ·sgC32<>(SB), D0, D1; \
	VFMADD213PD ·sgC24<>(SB), D0, D1; \
	VFMADD213PD ·sgHalf<>(SB), D0, D1; \
	VFMADD213PD ·sgOne<>(SB), D0, D1; \
	VMULPD D1, D0, D0; \
	VADDPD ·sgTwo<>(SB), D0, D1; \
	VMULPD D1, D0, D0; \
	VADDPD ·sgTwo<>(SB), D0, D1; \
	VMULPD D1, D0, D0; \
	VADDPD ·sgTwo<>(SB), D0, D1; \
	VMULPD D1, D0, D0; \
	VADDPD ·sgTwo<>(SB), D0, D1; \
	VFMADD213PD ·sgOne<>(SB), D1, D0; \
	VPMOVSXDQ I2, D3; \
	VPADDQ ·sgBias<>(SB), D3, D3; \
	VPSLLQ $52, D3, D3; \
	VMULPD D3, D0, D0

// One SwiGLU step: F holds the float32 gate (half width), G is a float32
// temporary, CVTPS the narrowing conversion to float32. SI gate, DX up,
// DI dst.
#define SWIGLU_STEP(F, G, D0, D1, D3, I2, CVTDQ, CVTPS) \
	VMOVUPS (SI), F; \
	VCVTPS2PD F, D0; \
	VMULPD ·sgNegOne<>(SB), D0, D0; \
	EXPD(D0, D1, D3, I2, CVTDQ); \
	CVTPS D0, F; \
	VADDPS ·sgOne32<>(SB), F, F; \
	VMOVUPS (SI), G; \
	VDIVPS F, G, G; \
	VMULPS (DX), G, G; \
	VMOVUPS G, (DI)

// func swigluAVX512(n int, dst, gate, up *float32)
// n is a multiple of 8.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	SHRQ $3, CX
	JZ sg512done
sg512loop:
	SWIGLU_STEP(Y4, Y5, Z0, Z1, Z3, Y2, VCVTPD2DQ, VCVTPD2PS)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ sg512loop
sg512done:
	VZEROUPPER
	RET

// func swigluAVX2(n int, dst, gate, up *float32)
// n is a multiple of 4.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	SHRQ $2, CX
	JZ sg256done
sg256loop:
	SWIGLU_STEP(X4, X5, Y0, Y1, Y3, X2, VCVTPD2DQY, VCVTPD2PSY)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $16, DI
	DECQ CX
	JNZ sg256loop
sg256done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Softmax's exponentials in float32: expf32 (expf.go) on eight lanes, the
// same float32 operations in the same order (no FMA, which would round
// once where Go rounds twice), so each lane is expf32's bits. Its
// constants are expf32's, eight copies each.

DATA ·efLo<>+0(SB)/8, $0xc2ae0000c2ae0000
DATA ·efLo<>+8(SB)/8, $0xc2ae0000c2ae0000
DATA ·efLo<>+16(SB)/8, $0xc2ae0000c2ae0000
DATA ·efLo<>+24(SB)/8, $0xc2ae0000c2ae0000
GLOBL ·efLo<>(SB), RODATA|NOPTR, $32
DATA ·efHi<>+0(SB)/8, $0x42b0000042b00000
DATA ·efHi<>+8(SB)/8, $0x42b0000042b00000
DATA ·efHi<>+16(SB)/8, $0x42b0000042b00000
DATA ·efHi<>+24(SB)/8, $0x42b0000042b00000
GLOBL ·efHi<>(SB), RODATA|NOPTR, $32
DATA ·efLog2e<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA ·efLog2e<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA ·efLog2e<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA ·efLog2e<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
GLOBL ·efLog2e<>(SB), RODATA|NOPTR, $32
DATA ·efC1<>+0(SB)/8, $0x3f3180003f318000
DATA ·efC1<>+8(SB)/8, $0x3f3180003f318000
DATA ·efC1<>+16(SB)/8, $0x3f3180003f318000
DATA ·efC1<>+24(SB)/8, $0x3f3180003f318000
GLOBL ·efC1<>(SB), RODATA|NOPTR, $32
DATA ·efC2<>+0(SB)/8, $0xb95e8083b95e8083
DATA ·efC2<>+8(SB)/8, $0xb95e8083b95e8083
DATA ·efC2<>+16(SB)/8, $0xb95e8083b95e8083
DATA ·efC2<>+24(SB)/8, $0xb95e8083b95e8083
GLOBL ·efC2<>(SB), RODATA|NOPTR, $32
DATA ·efP0<>+0(SB)/8, $0x3950696739506967
DATA ·efP0<>+8(SB)/8, $0x3950696739506967
DATA ·efP0<>+16(SB)/8, $0x3950696739506967
DATA ·efP0<>+24(SB)/8, $0x3950696739506967
GLOBL ·efP0<>(SB), RODATA|NOPTR, $32
DATA ·efP1<>+0(SB)/8, $0x3ab743ce3ab743ce
DATA ·efP1<>+8(SB)/8, $0x3ab743ce3ab743ce
DATA ·efP1<>+16(SB)/8, $0x3ab743ce3ab743ce
DATA ·efP1<>+24(SB)/8, $0x3ab743ce3ab743ce
GLOBL ·efP1<>(SB), RODATA|NOPTR, $32
DATA ·efP2<>+0(SB)/8, $0x3c0889083c088908
DATA ·efP2<>+8(SB)/8, $0x3c0889083c088908
DATA ·efP2<>+16(SB)/8, $0x3c0889083c088908
DATA ·efP2<>+24(SB)/8, $0x3c0889083c088908
GLOBL ·efP2<>(SB), RODATA|NOPTR, $32
DATA ·efP3<>+0(SB)/8, $0x3d2aa9c13d2aa9c1
DATA ·efP3<>+8(SB)/8, $0x3d2aa9c13d2aa9c1
DATA ·efP3<>+16(SB)/8, $0x3d2aa9c13d2aa9c1
DATA ·efP3<>+24(SB)/8, $0x3d2aa9c13d2aa9c1
GLOBL ·efP3<>(SB), RODATA|NOPTR, $32
DATA ·efP4<>+0(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA ·efP4<>+8(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA ·efP4<>+16(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA ·efP4<>+24(SB)/8, $0x3e2aaaaa3e2aaaaa
GLOBL ·efP4<>(SB), RODATA|NOPTR, $32
DATA ·efP5<>+0(SB)/8, $0x3f0000003f000000
DATA ·efP5<>+8(SB)/8, $0x3f0000003f000000
DATA ·efP5<>+16(SB)/8, $0x3f0000003f000000
DATA ·efP5<>+24(SB)/8, $0x3f0000003f000000
GLOBL ·efP5<>(SB), RODATA|NOPTR, $32
DATA ·efOne<>+0(SB)/8, $0x3f8000003f800000
DATA ·efOne<>+8(SB)/8, $0x3f8000003f800000
DATA ·efOne<>+16(SB)/8, $0x3f8000003f800000
DATA ·efOne<>+24(SB)/8, $0x3f8000003f800000
GLOBL ·efOne<>(SB), RODATA|NOPTR, $32
DATA ·efBias<>+0(SB)/8, $0x0000007f0000007f
DATA ·efBias<>+8(SB)/8, $0x0000007f0000007f
DATA ·efBias<>+16(SB)/8, $0x0000007f0000007f
DATA ·efBias<>+24(SB)/8, $0x0000007f0000007f
GLOBL ·efBias<>(SB), RODATA|NOPTR, $32

// func expShiftF32AVX2(n int, dst, src *float32, m float32)
// dst = expf32(src - m). n is a multiple of 8.
//
// Register plan: Y15 m, Y14 -87, Y13 88, Y12 log2 e; Y0 x then the
// result, Y1 n, Y2 r, Y3 r², Y4 the polynomial, Y5 2^n, Y6 lanes below
// -87.
TEXT ·expShiftF32AVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	VBROADCASTSS m+24(FP), Y15
	VMOVUPS ·efLo<>(SB), Y14
	VMOVUPS ·efHi<>(SB), Y13
	VMOVUPS ·efLog2e<>(SB), Y12
	SHRQ $3, CX
	JZ efdone
efloop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VCMPPS $1, Y14, Y0, Y6
	// min(88, x) with x second, so that a NaN x stays NaN.
	VMINPS Y0, Y13, Y0
	VMULPS Y12, Y0, Y1
	VROUNDPS $0, Y1, Y1
	VMULPS ·efC1<>(SB), Y1, Y2
	VSUBPS Y2, Y0, Y2
	VMULPS ·efC2<>(SB), Y1, Y3
	VSUBPS Y3, Y2, Y2
	VMULPS Y2, Y2, Y3
	VMULPS ·efP0<>(SB), Y2, Y4
	VADDPS ·efP1<>(SB), Y4, Y4
	VMULPS Y2, Y4, Y4
	VADDPS ·efP2<>(SB), Y4, Y4
	VMULPS Y2, Y4, Y4
	VADDPS ·efP3<>(SB), Y4, Y4
	VMULPS Y2, Y4, Y4
	VADDPS ·efP4<>(SB), Y4, Y4
	VMULPS Y2, Y4, Y4
	VADDPS ·efP5<>(SB), Y4, Y4
	VMULPS Y3, Y4, Y4
	VADDPS Y2, Y4, Y4
	VADDPS ·efOne<>(SB), Y4, Y4
	VCVTPS2DQ Y1, Y5
	VPADDD ·efBias<>(SB), Y5, Y5
	VPSLLD $23, Y5, Y5
	VMULPS Y5, Y4, Y0
	VANDNPS Y0, Y6, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ efloop
efdone:
	VZEROUPPER
	RET

// func roundF16sF16C(n int, dst, src *float32, s float32)
// dst = src·s rounded to the nearest F16 value (ties to even), as roundF16:
// VCVTPS2PH with rounding control 0 is that rounding, VCVTPH2PS exact.
// n is a multiple of 8.
TEXT ·roundF16sF16C(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	VBROADCASTSS s+24(FP), Y1
	SHRQ $3, CX
	JZ rhdone
rhloop:
	VMULPS (SI), Y1, Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ rhloop
rhdone:
	VZEROUPPER
	RET
