#include "textflag.h"
#include "rows_amd64.h"

// The avx2 path's Interleaved8 Q8_0 kernels (interleave_q8.go lays out
// the groups in runs of four blocks): decode, as decQ4_0X8AVX2
// (interleave_amd64.s) but a run at a time, and the prefill tile from a
// group.

// Chunk C of a block's values at V(R) (values 4C..4C+3 of rows 0-7) times
// the activations of its record at X(DI), added to Y12's int32 lanes (the
// rows). The values span all of int8, so their sign moves to the
// activations (|w| times x·sign(w), as decQ8_0AVX2 does): a pair of
// products reaches 2·128·127 and no more, so VPMADDUBSW never saturates,
// but two pairs would overflow a word and VPMADDWD takes each chunk to
// int32. Y4 0x0001 words.
#define X8_Q8_CHUNK(V, R, X, C) \
	VMOVDQU (V+32*C)(R), Y8; \
	VPBROADCASTD (X+4*C)(DI), Y9; \
	VPSIGNB Y8, Y9, Y9; \
	VPABSB Y8, Y8; \
	VPMADDUBSW Y9, Y8, Y8; \
	VPMADDWD Y4, Y8, Y8; \
	VPADDD Y8, Y12, Y12

// One block of a group, its scales at S(R9) and its values at V(R),
// against its record (decRecordsX8AVX2, offset 0) at X(DI), to ACC.
#define X8_Q8_BLOCK(S, V, R, X, ACC) \
	VPXOR Y12, Y12, Y12; \
	X8_Q8_CHUNK(V, R, X, 0); \
	X8_Q8_CHUNK(V, R, X, 1); \
	X8_Q8_CHUNK(V, R, X, 2); \
	X8_Q8_CHUNK(V, R, X, 3); \
	X8_Q8_CHUNK(V, R, X, 4); \
	X8_Q8_CHUNK(V, R, X, 5); \
	X8_Q8_CHUNK(V, R, X, 6); \
	X8_Q8_CHUNK(V, R, X, 7); \
	X8_BLOCK_END(S, X, ACC)

// Software prefetch as the other Interleaved8 kernels (X8_PF), over the
// seventeen lines of a run, a block's share before each block: all of
// them before the run's first block made this kernel 20-25% slower at one
// thread on Zen 5 (pith bench kernels --paths avx2, two runs each way),
// as such a burst slowed decQ8_0Z8 (interleave_q8z_amd64.s). Spread, it
// ran 0.98-1.11 times as fast as the kernel on the layout before the runs
// (272 bytes a block, prefetched as here) at one thread and 1.02-1.11 at
// two, each way one step in turn, 60 rounds a sample, six samples.
//
// The avx2 path is what a CPU without AVX-512 runs, and the SEV-SNP
// machines among those are Zen 3 (EPYC Milan; Zen 4 and later have
// AVX-512, and TDX machines too). On a Zen 3 (family 25, model 1)
// decoding a 256 MiB stack of Qwen2.5-0.5B-shaped groups (in the layout
// before the runs), alternated in one process, eight rounds, medians
// without and with, GB/s: one thread 8.65/9.6 and 8.2/9.25, two threads
// 13.05/14.3 and 13.3/14.85. A Zen 4 guest whose hypervisor hid AVX-512
// went the other way, 5-8% at one thread and 1-6% at two (medians over
// the read probe beside them, without/with: 0.92/0.85, 0.88/0.82 and
// 0.96/0.92, 0.94/0.93); such a machine is not where this path runs in
// earnest.
#define X8_PF4(A, B, C, D) \
	X8_PF(A); \
	X8_PF(B); \
	X8_PF(C); \
	X8_PF(D)

// func decQ8_0X8AVX2(nb int, w *byte, wstride int, x *byte, out *float32, groups int)
//
// A run of four blocks a step (interleave_q8.go), then a last run's
// blocks one at a time.
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left; per
// group CX blocks left, R9 the run (in a last run, the block's scales),
// R12 a last run's block's values, DI the block's record; Y0 Y1 the sums;
// Y4 0x0001 words.
TEXT ·decQ8_0X8AVX2(SB), NOSPLIT, $0-48
	X8_ARGS
	VPCMPEQW Y4, Y4, Y4
	VPSRLW $15, Y4, Y4
	TESTQ R10, R10
	JZ x8q8done
x8q8group:
	X8_GROUP
	VXORPS Y1, Y1, Y1
	CMPQ CX, $4
	JLT x8q8last
x8q8run:
	X8_PF4(0, 64, 128, 192)
	X8_PF(256)
	X8_Q8_BLOCK(0, 64, R9, 0, Y0)
	X8_PF4(320, 384, 448, 512)
	X8_Q8_BLOCK(16, 320, R9, 40, Y1)
	X8_PF4(576, 640, 704, 768)
	X8_Q8_BLOCK(32, 576, R9, 80, Y0)
	X8_PF4(832, 896, 960, 1024)
	X8_Q8_BLOCK(48, 832, R9, 120, Y1)
	ADDQ $1088, R9
	ADDQ $160, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE x8q8run
x8q8last:
	TESTQ CX, CX
	JZ x8q8end
	MOVQ CX, R12
	SHLQ $4, R12
	ADDQ R9, R12
x8q8one:
	X8_Q8_BLOCK(0, 0, R12, 0, Y0)
	ADDQ $16, R9
	ADDQ $256, R12
	ADDQ $40, DI
	DECQ CX
	JNZ x8q8one
x8q8end:
	VADDPS Y1, Y0, Y0
	X8_NEXT(x8q8group)
x8q8done:
	VZEROUPPER
	RET

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
rx8q8run:
	TESTQ CX, CX
	JZ rx8q8done
	X8_Q8_RUN
rx8q8loop:
	VMOVDQU (R12), Y2
	WIDEN_PAIRS(0)
	VMOVDQU 32(R12), Y2
	WIDEN_PAIRS(1)
	VMOVDQU 64(R12), Y2
	WIDEN_PAIRS(2)
	VMOVDQU 96(R12), Y2
	WIDEN_PAIRS(3)
	VMOVDQU 128(R12), Y2
	WIDEN_PAIRS(4)
	VMOVDQU 160(R12), Y2
	WIDEN_PAIRS(5)
	VMOVDQU 192(R12), Y2
	WIDEN_PAIRS(6)
	VMOVDQU 224(R12), Y2
	WIDEN_PAIRS(7)
	VCVTPH2PS (SI), Y2
	VMOVUPS Y2, 512(DI)
	ADDQ $16, SI
	ADDQ $256, R12
	ADDQ $544, DI
	DECQ BX
	JNZ rx8q8loop
	MOVQ R12, SI
	JMP rx8q8run
rx8q8done:
	VZEROUPPER
	RET
