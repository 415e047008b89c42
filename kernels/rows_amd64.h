// Shared by the kernels that run a chunk of weight rows against one token
// (decode_amd64.s, dot1_amd64.s, kquant_amd64.s, interleave*_amd64.s),
// and WIDEN_PAIRS by the Q8_0 prefill repacks (gemmv2_amd64.s,
// interleave_q8_amd64.s).

// Software prefetch: the kernels ask for the weights DEC_PFD bytes ahead
// of the block they compute (about 16 KiB: decQ4_0VNNIQ, with T0, on one
// thread ran 26, 28, 31, 36, 37 and 38 GB/s with 0.5, 1, 2, 4, 8 and 16
// KiB, the streaming-read probe 41). The hardware prefetchers stop at a
// 4 KiB page, so a kernel that computes between its loads keeps too few
// misses in flight on its own; a prefetch also crosses the page and walks
// its translation ahead of the loads. Prefetching past the end of a chunk of
// rows reads a little the kernel will not use; it never faults.
#define DEC_PFD 16384

// The avx512 decode kernels ask with PREFETCHNTA instead (DEC_PFZ), but
// for decQ8_0Z8, which on its aligned runs asks for nothing (see there).
// On a Zen 5 (EPYC, family 26 model 2) decoding bench's stack of
// Qwen2.5-0.5B-shaped layers (256 MiB on huge pages), T0 and NTA
// alternated in one process, every format:
//   - a step each in turn, 30 pairs, the median of NTA/T0 in two runs:
//     one thread 1.00-1.06 (Q8_0 1.06 and 1.02, Q4_K 1.04 and 1.06, Q5_K
//     1.03 and 1.04), two threads 0.99-1.06 (Q4_0 0.99 and 1.06, Q8_0
//     1.04 and 1.00, Q5_0 1.00 and 1.04);
//   - two steps each in turn, ten to twelve rounds, four to six runs,
//     NTA over T0: two threads Q8_0 +9 to +20%, Q4_0 +4 to +10%, Q6_K +1
//     to +16%, Q4_K -1 to +4%, the others within 5% either way; one
//     thread -7% to +10% (Q5_K and Q5_1 lost 6-7% once each).
// What makes the difference was not measured: a line fetched NTA is the
// first its cache drops, so weights read once may push out less of what
// the kernels read again (the token's records). T1 DEC_PFD ahead with NTA
// DEC_NEAR ahead, as the avx2 Interleaved8 kernels pair T1 and T0 below,
// lost up to 14% to NTA alone (Q6_K and Q5_K at one thread) and gained
// nowhere more than 1%. The avx2 kernels keep T0: the CPUs that run that
// path in earnest are Zen 3, where it was tuned (see below).
#define DEC_PFZ(OFF, R) PREFETCHNTA (DEC_PFD+OFF)(R)
// The avx2 kernels' hint.
#define DEC_PFT(OFF, R) PREFETCHT0 (DEC_PFD+OFF)(R)

// The Interleaved8 kernels (interleave*_amd64.s, avx2) ask for every line
// twice: into L2 (PREFETCHT1) DEC_PFD ahead, and into L1 (PREFETCHT0)
// DEC_NEAR ahead. On a Zen 4 without AVX-512, one thread decoding from
// memory with PREFETCHT0 alone at 16 KiB read at 54-77% of the read probe
// sampled beside it (medians of two runs of 8 and 10 rounds, alternated
// in one process: Q4_0 60/63%, Q8_0 77/67%, Q4_K 67/54%, Q6_K 60/59%),
// this way at 75-84% (76/76, 80/79, 82/75, 84/77). Likely why: far T0
// prefetches keep half the 32 KiB L1 full of lines not needed yet and
// hold its miss buffers for a whole DRAM round trip. T1 alone left the L1
// fill to the hardware and lost Q8_0 5-10%. Also tried: T0 alone at 4 and
// 8 KiB (Q6_K lost), T1 alone at 16 and 24 KiB, T1 at 12 and 24 KiB with
// T0 at 1, 2 or 4 KiB (no better). Two threads sharing the memory system
// read about as fast either way. On a Zen 3, decQ8_0X8AVX2 gains from this
// prefetch where the Zen 4 above lost: see there.
#define DEC_NEAR 2048
#define X8_PF(OFF) \
	PREFETCHT1 (DEC_PFD+OFF)(R9); \
	PREFETCHT0 (DEC_NEAR+OFF)(R9)

// A row's start in the rows kernels of dot1_amd64.s and kquant_amd64.s
// (R12 the row): CX its blocks, SI its weights, DI the token's records,
// the sums Y0 and X1 cleared.
#define ROW_START \
	MOVQ nb+0(FP), CX; \
	MOVQ R12, SI; \
	MOVQ x+24(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS X1, X1, X1

// The Interleaved8 repacks' arguments (nb int, w *byte, wrb int, rmask
// int, dst *byte): CX nb, W w, DI dst; YM 0x0f bytes (XM its low half).
// wrb and rmask are unused: a group always has its eight rows.
#define X8_REPACK_ARGS(W, XM, YM) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), W; \
	MOVQ dst+32(FP), DI; \
	MOVL $0x0f0f0f0f, AX; \
	VMOVD AX, XM; \
	VPBROADCASTD XM, YM

// The Interleaved8 decode kernels (interleave*_amd64.s), whose signature
// is (nb int, w *byte, wstride int, x *byte, out *float32, groups int):
// SI the first group, R8 wstride (a group's bytes), R11 out, R10 the
// groups.
#define X8_ARGS \
	MOVQ w+8(FP), SI; \
	MOVQ wstride+16(FP), R8; \
	MOVQ out+32(FP), R11; \
	MOVQ groups+40(FP), R10

// A group's start: CX its blocks, DI the token's records, R9 the group's
// first block, the sums Y0 cleared.
#define X8_GROUP \
	MOVQ nb+0(FP), CX; \
	MOVQ x+24(FP), DI; \
	MOVQ SI, R9; \
	VXORPS Y0, Y0, Y0

// The group's eight sums in Y0 to out; on to the next group (LOOP).
#define X8_NEXT(LOOP) \
	VMOVUPS Y0, (R11); \
	ADDQ $32, R11; \
	ADDQ R8, SI; \
	DECQ R10; \
	JNZ LOOP

// The end of a legacy block of an Interleaved8 group (decQ4_0X8AVX2,
// decQ5_0X8AVX2, decQ8_0X8AVX2): the rows' int32 sums in Y12, the record's correction
// (at X+32) added, converted, times the rows' F16 d (at W(R9)) and the
// record's dx (at X+36), to ACC. Y13 and Y14 temporaries.
#define X8_BLOCK_END(W, X, ACC) \
	VPBROADCASTD (X+32)(DI), Y13; \
	VPADDD Y13, Y12, Y12; \
	VCVTDQ2PS Y12, Y12; \
	VCVTPH2PS (W)(R9), Y13; \
	VBROADCASTSS (X+36)(DI), Y14; \
	VMULPS Y14, Y13, Y13; \
	VFMADD231PS Y13, Y12, ACC

// The end of a Q4_1 or Q5_1 block of an Interleaved8 group
// (decQ4_1X8AVX2, decQ5_1X8AVX2): the rows' int32 sums in Y12, the rows'
// F16 d at W(R9) and m at W+16, the record's (decRecordsX8_1AVX2: no
// correction) dx and s at X+32 and X+36; d·dx·sum + m·s, as ggml's dot
// product, to ACC. Y13 and Y14 temporaries.
#define X8_BLOCK_END_M(W, X, ACC) \
	VCVTDQ2PS Y12, Y12; \
	VCVTPH2PS (W)(R9), Y13; \
	VBROADCASTSS (X+32)(DI), Y14; \
	VMULPS Y14, Y13, Y13; \
	VFMADD231PS Y13, Y12, ACC; \
	VCVTPH2PS (W+16)(R9), Y13; \
	VBROADCASTSS (X+36)(DI), Y14; \
	VFMADD231PS Y14, Y13, ACC

// The body of the legacy Interleaved8 decode kernels (decQ4_0X8AVX2,
// decQ4_1X8AVX2, decQ5_0X8AVX2, decQ5_1X8AVX2; decQ8_0X8AVX2 has runs of
// four blocks and a loop of its own): CONSTS sets up the registers BLOCK
// takes, BLOCK computes one block of BB bytes a group's column, two at a
// time, PREFETCH asks for the weights of the next pairs (X8_PF5 covers
// two blocks of up to 160 bytes, X8_PF6 of 192). Labels are the
// function's own.
//
// Register plan: SI the group, R8 wstride, R11 out, R10 groups left; per
// group CX blocks left, R9 the block, DI its record; Y0 Y1 the sums.
#define X8_KERNEL(CONSTS, PREFETCH, BLOCK, BB) \
	X8_ARGS; \
	CONSTS; \
	TESTQ R10, R10; \
	JZ x8done; \
x8group: \
	X8_GROUP; \
	VXORPS Y1, Y1, Y1; \
	CMPQ CX, $2; \
	JLT x8one; \
x8loop: \
	PREFETCH; \
	BLOCK(0, 0, Y0); \
	BLOCK(BB, 40, Y1); \
	ADDQ $(2*BB), R9; \
	ADDQ $80, DI; \
	SUBQ $2, CX; \
	CMPQ CX, $2; \
	JGE x8loop; \
x8one: \
	TESTQ CX, CX; \
	JZ x8end; \
	BLOCK(0, 0, Y0); \
x8end: \
	VADDPS Y1, Y0, Y0; \
	X8_NEXT(x8group); \
x8done: \
	VZEROUPPER; \
	RET

#define X8_PF5 \
	X8_PF(0); \
	X8_PF(64); \
	X8_PF(128); \
	X8_PF(192); \
	X8_PF(256)
#define X8_PF6 \
	X8_PF5; \
	X8_PF(320)

// The start of a run of an Interleaved8 Q8_0 group (interleave_q8.go) in
// the prefill repacks (repackV8Q8_0X8, repackVQ8_0X8): BX its blocks,
// four or the fewer left in CX, taken off CX; R12 its values, after BX·16
// bytes of scales at SI.
#define X8_Q8_RUN \
	MOVQ $4, BX; \
	CMPQ CX, BX; \
	CMOVQLT CX, BX; \
	SUBQ BX, CX; \
	MOVQ BX, R12; \
	SHLQ $4, R12; \
	ADDQ SI, R12

// Values 4G..4G+3 of rows 0-7 (Y2, row r in dword lane r, signed bytes)
// widened to the avx2 Q8_0 prefill tile's pair registers 2G (values 4G,
// 4G+1) and 2G+1 at 64G(DI) and 64G+32(DI): int16 pairs, row r in dword
// lane r (gemmv2_amd64.s). Y3 the even bytes sign-extended (words 4G and
// 4G+2 of a row), Y4 the odd ones, Y5 a temporary.
#define WIDEN_PAIRS(G) \
	VPSLLW $8, Y2, Y3; \
	VPSRAW $8, Y3, Y3; \
	VPSRAW $8, Y2, Y4; \
	VPSLLD $16, Y4, Y5; \
	VPBLENDW $0xaa, Y5, Y3, Y5; \
	VMOVDQU Y5, (64*G)(DI); \
	VPSRLD $16, Y3, Y3; \
	VPBLENDW $0xaa, Y4, Y3, Y3; \
	VMOVDQU Y3, (64*G+32)(DI)
