#include "textflag.h"

// Roofline probe loops. Assembly because plain Go issues at most 64-bit
// loads and scalar FMAs, which measure the core's issue width rather than
// the memory system's or the vector units' limits.

// func readSum256(p *byte, n int) uint64
// Register plan: SI pointer, CX bytes left; Y0-Y3 XOR accumulators, so the
// four 32-byte loads of a 128-byte step are independent.
TEXT ·readSum256(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	SHRQ $7, CX
	JZ r256done
r256loop:
	VPXOR 0(SI), Y0, Y0
	VPXOR 32(SI), Y1, Y1
	VPXOR 64(SI), Y2, Y2
	VPXOR 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ r256loop
r256done:
	VPXOR Y1, Y0, Y0
	VPXOR Y3, Y2, Y2
	VPXOR Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR X1, X0, X0
	VPEXTRQ $1, X0, AX
	VMOVQ X0, BX
	XORQ BX, AX
	VZEROUPPER
	MOVQ AX, ret+16(FP)
	RET

// func readSum512(p *byte, n int) uint64
// Four 64-byte loads into four accumulators per 256-byte step. With the
// decode kernels' software prefetch (PREFETCHT0 16 KiB ahead) added, it
// read 1-4% slower (45.0 against 45.6 GB/s on one thread, 93 against 97 on
// two): plain loads this dense keep the core's misses in flight on their
// own, which the kernels, computing between loads, need the prefetch for.
TEXT ·readSum512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	SHRQ $8, CX
	JZ r512done
r512loop:
	VPXORQ 0(SI), Z0, Z0
	VPXORQ 64(SI), Z1, Z1
	VPXORQ 128(SI), Z2, Z2
	VPXORQ 192(SI), Z3, Z3
	ADDQ $256, SI
	DECQ CX
	JNZ r512loop
r512done:
	VPXORQ Z1, Z0, Z0
	VPXORQ Z3, Z2, Z2
	VPXORQ Z2, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPXOR Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPXOR X1, X0, X0
	VPEXTRQ $1, X0, AX
	VMOVQ X0, BX
	XORQ BX, AX
	VZEROUPPER
	MOVQ AX, ret+16(FP)
	RET

// func fmaLoop256(iters int) float32
// Register plan: Y0-Y11 twelve independent accumulators (FMA latency 4 times
// two or three FMA pipes needs at least 8-12 in flight), Y14 multiplier
// slightly below 1 and Y15 a small addend, so the values stay finite.
TEXT ·fmaLoop256(SB), NOSPLIT, $0-12
	MOVQ iters+0(FP), CX
	MOVL $0x3f7fffef, AX // 0.999999
	VMOVD AX, X14
	VBROADCASTSS X14, Y14
	MOVL $0x33d6bf95, AX // 1e-7
	VMOVD AX, X15
	VBROADCASTSS X15, Y15
	MOVL $0x3f800000, AX // 1
	VMOVD AX, X0
	VBROADCASTSS X0, Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VMOVAPS Y0, Y4
	VMOVAPS Y0, Y5
	VMOVAPS Y0, Y6
	VMOVAPS Y0, Y7
	VMOVAPS Y0, Y8
	VMOVAPS Y0, Y9
	VMOVAPS Y0, Y10
	VMOVAPS Y0, Y11
	TESTQ CX, CX
	JZ f256done
f256loop:
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y2
	VFMADD213PS Y15, Y14, Y3
	VFMADD213PS Y15, Y14, Y4
	VFMADD213PS Y15, Y14, Y5
	VFMADD213PS Y15, Y14, Y6
	VFMADD213PS Y15, Y14, Y7
	VFMADD213PS Y15, Y14, Y8
	VFMADD213PS Y15, Y14, Y9
	VFMADD213PS Y15, Y14, Y10
	VFMADD213PS Y15, Y14, Y11
	DECQ CX
	JNZ f256loop
f256done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y9, Y8, Y8
	VADDPS Y11, Y10, Y10
	VADDPS Y2, Y0, Y0
	VADDPS Y6, Y4, Y4
	VADDPS Y10, Y8, Y8
	VADDPS Y4, Y0, Y0
	VADDPS Y8, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+8(FP)
	RET

// func fmaLoop512(iters int) float32
// As fmaLoop256 on 16-lane Z registers.
TEXT ·fmaLoop512(SB), NOSPLIT, $0-12
	MOVQ iters+0(FP), CX
	MOVL $0x3f7fffef, AX
	VPBROADCASTD AX, Z14
	MOVL $0x33d6bf95, AX
	VPBROADCASTD AX, Z15
	MOVL $0x3f800000, AX
	VPBROADCASTD AX, Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z0, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z0, Z7
	VMOVAPS Z0, Z8
	VMOVAPS Z0, Z9
	VMOVAPS Z0, Z10
	VMOVAPS Z0, Z11
	TESTQ CX, CX
	JZ f512done
f512loop:
	VFMADD213PS Z15, Z14, Z0
	VFMADD213PS Z15, Z14, Z1
	VFMADD213PS Z15, Z14, Z2
	VFMADD213PS Z15, Z14, Z3
	VFMADD213PS Z15, Z14, Z4
	VFMADD213PS Z15, Z14, Z5
	VFMADD213PS Z15, Z14, Z6
	VFMADD213PS Z15, Z14, Z7
	VFMADD213PS Z15, Z14, Z8
	VFMADD213PS Z15, Z14, Z9
	VFMADD213PS Z15, Z14, Z10
	VFMADD213PS Z15, Z14, Z11
	DECQ CX
	JNZ f512loop
f512done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z5, Z4, Z4
	VADDPS Z7, Z6, Z6
	VADDPS Z9, Z8, Z8
	VADDPS Z11, Z10, Z10
	VADDPS Z2, Z0, Z0
	VADDPS Z6, Z4, Z4
	VADDPS Z10, Z8, Z8
	VADDPS Z4, Z0, Z0
	VADDPS Z8, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+8(FP)
	RET

// func int8Loop512(iters int) int32
// Twelve independent VPDPBUSD chains on Z registers (AVX-512 VNNI), each
// 64 unsigned-by-signed byte multiply-adds: the int8 peak the row-lane
// prefill kernels (kernels/gemmv_amd64.s) are judged against. The sums wrap,
// which costs nothing; only the rate matters.
TEXT ·int8Loop512(SB), NOSPLIT, $0-12
	MOVQ iters+0(FP), CX
	MOVL $0x01020304, AX
	VPBROADCASTD AX, Z14
	MOVL $0x05fb06fa, AX
	VPBROADCASTD AX, Z15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	TESTQ CX, CX
	JZ i512done
i512loop:
	VPDPBUSD Z15, Z14, Z0
	VPDPBUSD Z15, Z14, Z1
	VPDPBUSD Z15, Z14, Z2
	VPDPBUSD Z15, Z14, Z3
	VPDPBUSD Z15, Z14, Z4
	VPDPBUSD Z15, Z14, Z5
	VPDPBUSD Z15, Z14, Z6
	VPDPBUSD Z15, Z14, Z7
	VPDPBUSD Z15, Z14, Z8
	VPDPBUSD Z15, Z14, Z9
	VPDPBUSD Z15, Z14, Z10
	VPDPBUSD Z15, Z14, Z11
	DECQ CX
	JNZ i512loop
i512done:
	VPADDD Z1, Z0, Z0
	VPADDD Z3, Z2, Z2
	VPADDD Z5, Z4, Z4
	VPADDD Z7, Z6, Z6
	VPADDD Z9, Z8, Z8
	VPADDD Z11, Z10, Z10
	VPADDD Z2, Z0, Z0
	VPADDD Z6, Z4, Z4
	VPADDD Z10, Z8, Z8
	VPADDD Z4, Z0, Z0
	VPADDD Z8, Z0, Z0
	VMOVD X0, AX
	VZEROUPPER
	MOVL AX, ret+8(FP)
	RET

// func int8Loop256(iters int) int32
// The AVX2 form: twelve independent VPMADDUBSW on Y registers, each 32
// unsigned-by-signed byte multiplies summed in pairs to words, with
// nothing after them, so that the loop runs at the instruction's
// throughput: the avx2 kernels' multiplies cannot go faster, whatever they
// do to widen and add the words. (The probe before this one widened each
// product with VPMADDWD by ones and added it, three instructions per
// multiply: it ran at half this rate here, and the avx2 Q4_K kernels,
// which add words before they widen, at 1.25 times it.)
TEXT ·int8Loop256(SB), NOSPLIT, $0-12
	MOVQ iters+0(FP), CX
	XORL AX, AX
	TESTQ CX, CX
	JZ i256none
	MOVL $0x01020304, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x05fb06fa, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
i256loop:
	VPMADDUBSW Y15, Y14, Y0
	VPMADDUBSW Y15, Y14, Y1
	VPMADDUBSW Y15, Y14, Y2
	VPMADDUBSW Y15, Y14, Y3
	VPMADDUBSW Y15, Y14, Y4
	VPMADDUBSW Y15, Y14, Y5
	VPMADDUBSW Y15, Y14, Y6
	VPMADDUBSW Y15, Y14, Y7
	VPMADDUBSW Y15, Y14, Y8
	VPMADDUBSW Y15, Y14, Y9
	VPMADDUBSW Y15, Y14, Y10
	VPMADDUBSW Y15, Y14, Y11
	DECQ CX
	JNZ i256loop
	VPADDW Y1, Y0, Y0
	VPADDW Y3, Y2, Y2
	VPADDW Y5, Y4, Y4
	VPADDW Y7, Y6, Y6
	VPADDW Y9, Y8, Y8
	VPADDW Y11, Y10, Y10
	VPADDW Y2, Y0, Y0
	VPADDW Y6, Y4, Y4
	VPADDW Y10, Y8, Y8
	VPADDW Y4, Y0, Y0
	VPADDW Y8, Y0, Y0
	VMOVD X0, AX
	VZEROUPPER
i256none:
	MOVL AX, ret+8(FP)
	RET
