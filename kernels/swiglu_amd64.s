#include "textflag.h"

// The exponential loops: SwiGLU, dst = gate / (1 + e^-gate) · up, and
// softmax's exponentials, dst = e^(src - m), both with expf32 (expf.go)
// on eight lanes: the same float32 operations in the same order (no FMA,
// which would round once where Go rounds twice), so that each lane is
// the Go reference's bits (swigluGo, expShiftGo). The avx512 path runs
// the SwiGLU loop too, and softmax's on sixteen lanes (EXPF32Z, the same
// operations: the same bits).
//
// Why assembly: exp was 15-25% of a Qwen2.5-0.5B prefill even on the pool,
// one scalar math.Exp call per element; Go has no vector exp and archsimd
// ran our loops ten times slower than assembly (see gemm_amd64.s). Until
// 2026-11-27 these loops reproduced math.Exp's float64 algorithm, four
// lanes at a time; in float32 the softmax's exponentials take a quarter of
// the time (9.2% of a 2048-token prefill became 2.6%).
//
// The constants are expf32's, eight copies each, and the sign bit.

DATA ·efLo<>+0(SB)/8, $0xc2ad0000c2ad0000
DATA ·efLo<>+8(SB)/8, $0xc2ad0000c2ad0000
DATA ·efLo<>+16(SB)/8, $0xc2ad0000c2ad0000
DATA ·efLo<>+24(SB)/8, $0xc2ad0000c2ad0000
GLOBL ·efLo<>(SB), RODATA|NOPTR, $32
DATA ·efHi<>+0(SB)/8, $0x42b1721742b17217
DATA ·efHi<>+8(SB)/8, $0x42b1721742b17217
DATA ·efHi<>+16(SB)/8, $0x42b1721742b17217
DATA ·efHi<>+24(SB)/8, $0x42b1721742b17217
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
DATA ·efBias<>+0(SB)/8, $0x0000007e0000007e
DATA ·efBias<>+8(SB)/8, $0x0000007e0000007e
DATA ·efBias<>+16(SB)/8, $0x0000007e0000007e
DATA ·efBias<>+24(SB)/8, $0x0000007e0000007e
GLOBL ·efBias<>(SB), RODATA|NOPTR, $32
DATA ·efInf<>+0(SB)/8, $0x7f8000007f800000
DATA ·efInf<>+8(SB)/8, $0x7f8000007f800000
DATA ·efInf<>+16(SB)/8, $0x7f8000007f800000
DATA ·efInf<>+24(SB)/8, $0x7f8000007f800000
GLOBL ·efInf<>(SB), RODATA|NOPTR, $32
DATA ·efSign<>+0(SB)/8, $0x8000000080000000
DATA ·efSign<>+8(SB)/8, $0x8000000080000000
DATA ·efSign<>+16(SB)/8, $0x8000000080000000
DATA ·efSign<>+24(SB)/8, $0x8000000080000000
GLOBL ·efSign<>(SB), RODATA|NOPTR, $32

// EXPF32 replaces the lanes of Y0 by expf32 of them (2^(n-1), then times
// 2 as x + x). Y1-Y7 are temporaries; Y12 holds log2 e, Y13 expf32's upper
// bound and Y14 its lower one.
#define EXPF32 \
	VCMPPS $1, Y14, Y0, Y6; \
	VCMPPS $0x1e, Y13, Y0, Y7; \
	VMINPS Y0, Y13, Y0; \
	VMULPS Y12, Y0, Y1; \
	VROUNDPS $0, Y1, Y1; \
	VMULPS ·efC1<>(SB), Y1, Y2; \
	VSUBPS Y2, Y0, Y2; \
	VMULPS ·efC2<>(SB), Y1, Y3; \
	VSUBPS Y3, Y2, Y2; \
	VMULPS Y2, Y2, Y3; \
	VMULPS ·efP0<>(SB), Y2, Y4; \
	VADDPS ·efP1<>(SB), Y4, Y4; \
	VMULPS Y2, Y4, Y4; \
	VADDPS ·efP2<>(SB), Y4, Y4; \
	VMULPS Y2, Y4, Y4; \
	VADDPS ·efP3<>(SB), Y4, Y4; \
	VMULPS Y2, Y4, Y4; \
	VADDPS ·efP4<>(SB), Y4, Y4; \
	VMULPS Y2, Y4, Y4; \
	VADDPS ·efP5<>(SB), Y4, Y4; \
	VMULPS Y3, Y4, Y4; \
	VADDPS Y2, Y4, Y4; \
	VADDPS ·efOne<>(SB), Y4, Y4; \
	VCVTPS2DQ Y1, Y5; \
	VPADDD ·efBias<>(SB), Y5, Y5; \
	VPSLLD $23, Y5, Y5; \
	VMULPS Y5, Y4, Y0; \
	VADDPS Y0, Y0, Y0; \
	VANDNPS Y0, Y6, Y0; \
	VBLENDVPS Y7, ·efInf<>(SB), Y0, Y0

// EXPF32Z is EXPF32 on the sixteen lanes of Z0, instruction for
// instruction the same operations in the same order (VRNDSCALEPS $0 is
// VROUNDPS $0), so every lane gets EXPF32's bits; the two masks are K6
// (not below the lower bound, NaN included: kept) and K7 (above the upper
// bound: infinite). Z1-Z5 are temporaries; Z11 holds +Inf, Z12 log2 e,
// Z13 the upper bound and Z14 the lower one.
#define EXPF32Z \
	VCMPPS $5, Z14, Z0, K6; \
	VCMPPS $0x1e, Z13, Z0, K7; \
	VMINPS Z0, Z13, Z0; \
	VMULPS Z12, Z0, Z1; \
	VRNDSCALEPS $0, Z1, Z1; \
	VMULPS.BCST ·efC1<>(SB), Z1, Z2; \
	VSUBPS Z2, Z0, Z2; \
	VMULPS.BCST ·efC2<>(SB), Z1, Z3; \
	VSUBPS Z3, Z2, Z2; \
	VMULPS Z2, Z2, Z3; \
	VMULPS.BCST ·efP0<>(SB), Z2, Z4; \
	VADDPS.BCST ·efP1<>(SB), Z4, Z4; \
	VMULPS Z2, Z4, Z4; \
	VADDPS.BCST ·efP2<>(SB), Z4, Z4; \
	VMULPS Z2, Z4, Z4; \
	VADDPS.BCST ·efP3<>(SB), Z4, Z4; \
	VMULPS Z2, Z4, Z4; \
	VADDPS.BCST ·efP4<>(SB), Z4, Z4; \
	VMULPS Z2, Z4, Z4; \
	VADDPS.BCST ·efP5<>(SB), Z4, Z4; \
	VMULPS Z3, Z4, Z4; \
	VADDPS Z2, Z4, Z4; \
	VADDPS.BCST ·efOne<>(SB), Z4, Z4; \
	VCVTPS2DQ Z1, Z5; \
	VPADDD.BCST ·efBias<>(SB), Z5, Z5; \
	VPSLLD $23, Z5, Z5; \
	VMULPS Z5, Z4, Z0; \
	VADDPS Z0, Z0, Z0; \
	VMOVAPS.Z Z0, K6, Z0; \
	VMOVAPS Z11, K7, Z0

// The constants of EXPF32Z's registers.
#define EXPF32Z_SETUP \
	VBROADCASTSS ·efInf<>(SB), Z11; \
	VBROADCASTSS ·efLog2e<>(SB), Z12; \
	VBROADCASTSS ·efHi<>(SB), Z13; \
	VBROADCASTSS ·efLo<>(SB), Z14

// The loops of expShiftF32AVX2 and expShiftF32Z: dst = EXP(src - m), in
// register R (Y0 or Z0), m in M, 2^SH lanes (BYTES bytes) a step, n a
// multiple of that; SETUP loads EXP's constants.
#define EXPSHIFT(SETUP, EXP, R, M, SH, BYTES) \
	MOVQ n+0(FP), CX; \
	MOVQ dst+8(FP), DI; \
	MOVQ src+16(FP), SI; \
	VBROADCASTSS m+24(FP), M; \
	SETUP; \
	SHRQ $SH, CX; \
	JZ efdone; \
efloop: \
	VMOVUPS (SI), R; \
	VSUBPS M, R, R; \
	EXP; \
	VMOVUPS R, (DI); \
	ADDQ $BYTES, SI; \
	ADDQ $BYTES, DI; \
	DECQ CX; \
	JNZ efloop; \
efdone: \
	VZEROUPPER; \
	RET

// The loops of roundF16sF16C and roundF16sF16CZ: dst = src·s rounded to
// F16 and back, in R (its F16 half H), s in S, 2^SH lanes (BYTES bytes)
// a step, n a multiple of that.
#define ROUNDF16S(R, S, H, SH, BYTES) \
	MOVQ n+0(FP), CX; \
	MOVQ dst+8(FP), DI; \
	MOVQ src+16(FP), SI; \
	VBROADCASTSS s+24(FP), S; \
	SHRQ $SH, CX; \
	JZ rhdone; \
rhloop: \
	VMULPS (SI), S, R; \
	VCVTPS2PH $0, R, H; \
	VCVTPH2PS H, R; \
	VMOVUPS R, (DI); \
	ADDQ $BYTES, SI; \
	ADDQ $BYTES, DI; \
	DECQ CX; \
	JNZ rhloop; \
rhdone: \
	VZEROUPPER; \
	RET

// The constants of EXPF32's registers.
#define EXPF32_SETUP \
	VMOVUPS ·efLo<>(SB), Y14; \
	VMOVUPS ·efHi<>(SB), Y13; \
	VMOVUPS ·efLog2e<>(SB), Y12

// func swigluF32AVX2(n int, dst, gate, up *float32)
// n is a multiple of 8. Y8 holds the gate.
TEXT ·swigluF32AVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ gate+16(FP), SI
	MOVQ up+24(FP), DX
	EXPF32_SETUP
	SHRQ $3, CX
	JZ sgdone
sgloop:
	VMOVUPS (SI), Y8
	VXORPS ·efSign<>(SB), Y8, Y0
	EXPF32
	VADDPS ·efOne<>(SB), Y0, Y0
	VDIVPS Y0, Y8, Y0
	VMULPS (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ sgloop
sgdone:
	VZEROUPPER
	RET

// func expShiftF32AVX2(n int, dst, src *float32, m float32)
// n is a multiple of 8.
TEXT ·expShiftF32AVX2(SB), NOSPLIT, $0-28
	EXPSHIFT(EXPF32_SETUP, EXPF32, Y0, Y15, 3, 32)

// func roundF16sF16C(n int, dst, src *float32, s float32)
// dst = src·s rounded to the nearest F16 value (ties to even), as roundF16:
// VCVTPS2PH with rounding control 0 is that rounding, VCVTPH2PS exact.
// n is a multiple of 8.
TEXT ·roundF16sF16C(SB), NOSPLIT, $0-28
	ROUNDF16S(Y0, Y1, X0, 3, 32)

// func expShiftF32Z(n int, dst, src *float32, m float32)
// expShiftF32AVX2 sixteen lanes a step (n a multiple of 16): the same
// bits.
TEXT ·expShiftF32Z(SB), NOSPLIT, $0-28
	EXPSHIFT(EXPF32Z_SETUP, EXPF32Z, Z0, Z15, 4, 64)

// func roundF16sF16CZ(n int, dst, src *float32, s float32)
// roundF16sF16C sixteen lanes a step (n a multiple of 16).
TEXT ·roundF16sF16CZ(SB), NOSPLIT, $0-28
	ROUNDF16S(Z0, Z1, Y0, 4, 64)

// func f32ToF16F16C(n int, dst *uint16, src *float32)
// dst = src as F16, rounded to nearest even (VCVTPS2PH with rounding
// control 0), as F32ToF16: NaN keeps its sign and the top of its payload
// and becomes quiet, as F32ToF16 makes it. n is a multiple of 8.
TEXT ·f32ToF16F16C(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	SHRQ $3, CX
	JZ fhdone
fhloop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	DECQ CX
	JNZ fhloop
fhdone:
	VZEROUPPER
	RET

// The 32-bit constant C in every lane of Y (X its low half).
#define BCASTD(C, X, Y) \
	MOVL C, AX; \
	VMOVD AX, X; \
	VPBROADCASTD X, Y

// func roundBF16sAVX2(n int, dst, src *float32)
// dst = src rounded to the nearest BF16 value (ties to even), as
// BF16ToF32(F32ToBF16(v)): the low half of each float32 cleared after
// adding 0x7fff and the kept half's lowest bit, and a NaN's low half
// cleared with its quiet bit set instead. Integer operations, so exactly
// F32ToBF16's; VCVTNEPS2BF16 (AVX512_BF16) would flush subnormals. n is a
// multiple of 8; dst may be src.
TEXT ·roundBF16sAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI
	BCASTD($0x7fffffff, X15, Y15)
	BCASTD($0x7f800000, X14, Y14)
	BCASTD($0x7fff, X13, Y13)
	BCASTD($1, X12, Y12)
	BCASTD($0xffff0000, X11, Y11)
	BCASTD($0x00400000, X10, Y10)
	SHRQ $3, CX
	JZ rbdone
rbloop:
	VMOVDQU (SI), Y0
	VPSRLD $16, Y0, Y1
	VPAND Y12, Y1, Y1
	VPADDD Y13, Y1, Y1
	VPADDD Y0, Y1, Y1
	VPAND Y11, Y1, Y1
	VPAND Y15, Y0, Y2
	VPCMPGTD Y14, Y2, Y2
	VPOR Y10, Y0, Y3
	VPAND Y11, Y3, Y3
	VPBLENDVB Y2, Y3, Y1, Y1
	VMOVDQU Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ rbloop
rbdone:
	VZEROUPPER
	RET
