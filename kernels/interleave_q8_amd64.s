#include "textflag.h"
#include "rows_amd64.h"

// The Interleaved8 Q8_0 kernels (interleave_q8.go lays out the groups):
// decode as decQ4_0X8AVX2 (interleave_amd64.s), and the prefill tile from
// a group.

// Chunk C of the block at W(R9) (values 4C..4C+3 of rows 0-7) times the
// activations of its record at X(DI), added to Y12's int32 lanes (the
// rows). The values span all of int8, so their sign moves to the
// activations (|w| times x·sign(w), as decQ8_0AVX2 does): a pair of
// products reaches 2·128·127 and no more, so VPMADDUBSW never saturates,
// but two pairs would overflow a word and VPMADDWD takes each chunk to
// int32. Y4 0x0001 words.
#define X8_Q8_CHUNK(W, X, C) \
	VMOVDQU (W+16+32*C)(R9), Y8; \
	VPBROADCASTD (X+4*C)(DI), Y9; \
	VPSIGNB Y8, Y9, Y9; \
	VPABSB Y8, Y8; \
	VPMADDUBSW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VPADDD Y8, Y12, Y12

// One block of a group against its record (decRecordsX8AVX2, offset 0),
// to ACC.
#define X8_Q8_BLOCK(W, X, ACC) \
	VPXOR Y12, Y12, Y12; \
	X8_Q8_CHUNK(W, X, 0); \
	X8_Q8_CHUNK(W, X, 1); \
	X8_Q8_CHUNK(W, X, 2); \
	X8_Q8_CHUNK(W, X, 3); \
	X8_Q8_CHUNK(W, X, 4); \
	X8_Q8_CHUNK(W, X, 5); \
	X8_Q8_CHUNK(W, X, 6); \
	X8_Q8_CHUNK(W, X, 7); \
	X8_BLOCK_END(W, X, ACC)

// Y4 0x0001 words.
#define X8_Q8_CONSTS \
	VPCMPEQW Y4, Y4, Y4; \
	VPSRLW $15, Y4, Y4

// Software prefetch as the other Interleaved8 kernels (X8_PF), over the
// nine lines of two 272-byte blocks. The avx2 path is what a CPU without
// AVX-512 runs, and the SEV-SNP machines among those are Zen 3 (EPYC
// Milan; Zen 4 and later have AVX-512, and TDX machines too). On a Zen 3
// (family 25, model 1) decoding a 256 MiB stack of Qwen2.5-0.5B-shaped
// groups, alternated in one process, eight rounds, medians without and
// with, GB/s: one thread 8.65/9.6 and 8.2/9.25, two threads 13.05/14.3 and
// 13.3/14.85. A Zen 4 guest whose hypervisor hid AVX-512 went the other
// way, 5-8% at one thread and 1-6% at two
// (medians over the read probe beside them, without/with: 0.92/0.85,
// 0.88/0.82 and 0.96/0.92, 0.94/0.93); such a machine is not where this
// path runs in earnest.
// func decQ8_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
TEXT ·decQ8_0X8AVX2(SB), NOSPLIT, $0-48
	X8_KERNEL(X8_Q8_CONSTS, X8_PF9, X8_Q8_BLOCK, 272)

// func repackV8Q8_0X8(nb int, w *byte, wrb int, rmask int, dst *byte)
//
// repackV8Q8_0's tile (gemmv2_amd64.s: per block sixteen registers of
// int16 pairs, then the rows' scales as float32) from an Interleaved8
// group at w: chunk c is what repackV8Q8_0 gathers for pair registers 2c
// and 2c+1. wrb and rmask are unused: a group always has its eight rows.
TEXT ·repackV8Q8_0X8(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ dst+32(FP), DI
	TESTQ CX, CX
	JZ rx8q8done
rx8q8loop:
	VMOVDQU 16(SI), Y2
	WIDEN_PAIRS(0)
	VMOVDQU 48(SI), Y2
	WIDEN_PAIRS(1)
	VMOVDQU 80(SI), Y2
	WIDEN_PAIRS(2)
	VMOVDQU 112(SI), Y2
	WIDEN_PAIRS(3)
	VMOVDQU 144(SI), Y2
	WIDEN_PAIRS(4)
	VMOVDQU 176(SI), Y2
	WIDEN_PAIRS(5)
	VMOVDQU 208(SI), Y2
	WIDEN_PAIRS(6)
	VMOVDQU 240(SI), Y2
	WIDEN_PAIRS(7)
	VCVTPH2PS (SI), Y2
	VMOVUPS Y2, 512(DI)
	ADDQ $272, SI
	ADDQ $544, DI
	DECQ CX
	JNZ rx8q8loop
rx8q8done:
	VZEROUPPER
	RET
