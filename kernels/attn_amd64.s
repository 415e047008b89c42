#include "textflag.h"

// Attention's two products over an F16 cache (or a float32 one: the same
// loops with plain loads), a few queries at a time:
// the scores of queries against keys, and the softmax weights' sums of
// values (attendTiled in attn.go). One F16 key or value converted to
// float32 serves four queries, where a dot product and an axpy per query
// and position converted it once per query and paid a call for every 64
// products.
//
// Every result is summed in one order whatever the number of queries a
// call takes, so a batch of tokens gets the bits one token at a time
// gets: a score is eight float32 lanes, each summing its dimensions (8c+l
// for chunk c) in chunk order, then ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7));
// an output element adds its positions' products in position order to
// what out held. Over an F16 cache the products are exact (F16 times
// F16-rounded values), so an FMA rounds as a product and an add would.

// Four accumulators' scores: A0/A1 (query A, keys t and t+1) and B0/B1
// (query B) to X_A (A0's low half) as (A t, A t+1, B t, B t+1), times the
// scale in X15. A0, B0 and X_T are clobbered.
#define REDUCE_PAIR(A0, A1, B0, B1, X_A, X_T) \
	VHADDPS A1, A0, A0; \
	VHADDPS B1, B0, B0; \
	VHADDPS B0, A0, A0; \
	VEXTRACTF128 $1, A0, X_T; \
	VADDPS X_T, X_A, X_A; \
	VMULPS X15, X_A, X_A

// The element loads of the two caches' loops: eight F16 converted, or
// eight float32; a dimension's offset in a cache row is KS times its
// offset in F16 bytes.
#define LOADF16(M, Y) VCVTPH2PS M, Y
#define LOADF32(M, Y) VMOVUPS M, Y

// attnScores4AVX2 and attnScores4F32AVX2 (LOADK and KS for the cache):
// scores of four queries (q, q+qs, q+2qs, q+3qs: d float32 each)
// against keys 0..n-1 (key t: d elements at k+t·ks), times scale, to row
// j's sc+j·ss+4t (strides in bytes). d is a multiple of 8.
//
// Register plan: CX keys left, SI key t, DI key t+1 (key t again for an
// odd last key), BX the chunk's offset in F16 bytes (2 a dimension; the
// keys' is KS·BX, the queries' 2·BX), DX 2d, R8-R11 the queries, R12 row 0's score t, R13
// ss, R14 the keys' step; Y0-Y7 the accumulators (query j, key t+u in
// Y(2j+u)), Y12/Y13 the keys' chunks, Y14 a query's chunk, X15 scale.
#define SCORES4W(LOADK, KS, STEP, FOLD, A0, A1, A2, A3, A4, A5, A6, A7, KA, KB, QC) \
	MOVQ n+0(FP), CX; \
	MOVQ d+8(FP), DX; \
	SHLQ $1, DX; \
	MOVQ q+16(FP), R8; \
	MOVQ qs+24(FP), AX; \
	LEAQ (R8)(AX*1), R9; \
	LEAQ (R9)(AX*1), R10; \
	LEAQ (R10)(AX*1), R11; \
	MOVQ k+32(FP), SI; \
	MOVQ ks+40(FP), R14; \
	VBROADCASTSS scale+48(FP), X15; \
	MOVQ sc+56(FP), R12; \
	MOVQ ss+64(FP), R13; \
	TESTQ CX, CX; \
	JZ s4done; \
s4pair: \
	LEAQ (SI)(R14*1), DI; \
	CMPQ CX, $1; \
	JNE s4keys; \
	MOVQ SI, DI; \
s4keys: \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	XORQ BX, BX; \
s4chunk: \
	LOADK((SI)(BX*KS), KA); \
	LOADK((DI)(BX*KS), KB); \
	VMOVUPS (R8)(BX*2), QC; \
	VFMADD231PS QC, KA, A0; \
	VFMADD231PS QC, KB, A1; \
	VMOVUPS (R9)(BX*2), QC; \
	VFMADD231PS QC, KA, A2; \
	VFMADD231PS QC, KB, A3; \
	VMOVUPS (R10)(BX*2), QC; \
	VFMADD231PS QC, KA, A4; \
	VFMADD231PS QC, KB, A5; \
	VMOVUPS (R11)(BX*2), QC; \
	VFMADD231PS QC, KA, A6; \
	VFMADD231PS QC, KB, A7; \
	ADDQ $STEP, BX; \
	CMPQ BX, DX; \
	JLT s4chunk; \
	FOLD; \
	REDUCE_PAIR(Y0, Y1, Y2, Y3, X0, X1); \
	REDUCE_PAIR(Y4, Y5, Y6, Y7, X4, X5); \
	LEAQ (R12)(R13*2), AX; \
	CMPQ CX, $1; \
	JEQ s4last; \
	VMOVLPS X0, (R12); \
	VMOVHPS X0, (R12)(R13*1); \
	VMOVLPS X4, (AX); \
	VMOVHPS X4, (AX)(R13*1); \
	ADDQ $8, R12; \
	LEAQ (SI)(R14*2), SI; \
	SUBQ $2, CX; \
	JNZ s4pair; \
	JMP s4done; \
s4last: \
	VMOVSS X0, (R12); \
	VEXTRACTPS $2, X0, (R12)(R13*1); \
	VMOVSS X4, (AX); \
	VEXTRACTPS $2, X4, (AX)(R13*1); \
s4done: \
	VZEROUPPER; \
	RET

#define SCORES4(LOADK, KS) SCORES4W(LOADK, KS, 16, NOFOLD, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y12, Y13, Y14)

// attnScores1AVX2 and attnScores1F32AVX2: SCORES4 for one query, four keys at a time (the reduction of
// keys t, t+1 and t+2, t+3 is REDUCE_PAIR's of two queries), its scores to
// sc+4t. For the last n%4 keys the missing ones repeat key n-1, their
// scores not stored.
//
// Register plan: CX keys left, SI R9 R10 R11 keys t..t+3, BX the chunk's
// offset, DX 2d, R8 the query, R12 score t, R14 the keys' step; Y0-Y3 the
// accumulators, Y12 the query's chunk.
#define SCORES1W(LOADK, KS, STEP, FOLD, A0, A1, A2, A3, QC, KC) \
	MOVQ n+0(FP), CX; \
	MOVQ d+8(FP), DX; \
	SHLQ $1, DX; \
	MOVQ q+16(FP), R8; \
	MOVQ k+24(FP), SI; \
	MOVQ ks+32(FP), R14; \
	VBROADCASTSS scale+40(FP), X15; \
	MOVQ sc+48(FP), R12; \
	TESTQ CX, CX; \
	JZ s1done; \
s1quad: \
	MOVQ SI, R9; \
	CMPQ CX, $1; \
	JEQ s1k2; \
	ADDQ R14, R9; \
s1k2: \
	MOVQ R9, R10; \
	CMPQ CX, $2; \
	JLE s1k3; \
	ADDQ R14, R10; \
s1k3: \
	MOVQ R10, R11; \
	CMPQ CX, $3; \
	JLE s1keys; \
	ADDQ R14, R11; \
s1keys: \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	XORQ BX, BX; \
s1chunk: \
	VMOVUPS (R8)(BX*2), QC; \
	LOADK((SI)(BX*KS), KC); \
	VFMADD231PS QC, KC, A0; \
	LOADK((R9)(BX*KS), KC); \
	VFMADD231PS QC, KC, A1; \
	LOADK((R10)(BX*KS), KC); \
	VFMADD231PS QC, KC, A2; \
	LOADK((R11)(BX*KS), KC); \
	VFMADD231PS QC, KC, A3; \
	ADDQ $STEP, BX; \
	CMPQ BX, DX; \
	JLT s1chunk; \
	FOLD; \
	REDUCE_PAIR(Y0, Y1, Y2, Y3, X0, X1); \
	CMPQ CX, $4; \
	JLT s1tail; \
	VMOVUPS X0, (R12); \
	ADDQ $16, R12; \
	LEAQ (R11)(R14*1), SI; \
	SUBQ $4, CX; \
	JNZ s1quad; \
	JMP s1done; \
s1tail: \
	VMOVSS X0, (R12); \
	CMPQ CX, $1; \
	JEQ s1done; \
	VEXTRACTPS $1, X0, 4(R12); \
	CMPQ CX, $2; \
	JEQ s1done; \
	VEXTRACTPS $2, X0, 8(R12); \
s1done: \
	VZEROUPPER; \
	RET

#define SCORES1(LOADK, KS) SCORES1W(LOADK, KS, 16, NOFOLD, Y0, Y1, Y2, Y3, Y12, Y13)

// attnPV4AVX2 and attnPV4F32AVX2: for four queries j (weights at p+j·ps,
// outputs at out+j·os, strides in bytes): out_j[i] += p_j[t]·v_t[i] for
// t = 0..n-1 in order, value t's d elements at v+t·vs. d is a multiple
// of 8: sixteen dimensions a pass over the positions, then eight if d%16
// is 8.
//
// Register plan: DX dimensions left, CX positions left in the pass, AX
// the weights' offset (4t), SI value t's chunk, R14 vs, BX the chunk's
// offset in F16 bytes (the values' is KS·BX, the outputs' 2·BX), R8-R11 the weights, DI and
// R12 outputs 0 and 2 (1 and 3 os = R13 past them); Y0-Y7 the
// accumulators (query j, chunk u in Y(2j+u)), Y8/Y9 the chunks, Y10 a
// weight.
#define PV4(LOADV, KS) \
	MOVQ d+8(FP), DX; \
	MOVQ p+16(FP), R8; \
	MOVQ ps+24(FP), AX; \
	LEAQ (R8)(AX*1), R9; \
	LEAQ (R9)(AX*1), R10; \
	LEAQ (R10)(AX*1), R11; \
	MOVQ vs+40(FP), R14; \
	MOVQ out+48(FP), DI; \
	MOVQ os+56(FP), R13; \
	LEAQ (DI)(R13*2), R12; \
	XORQ BX, BX; \
	CMPQ n+0(FP), $0; \
	JEQ pv4done; \
pv4pass: \
	CMPQ DX, $16; \
	JLT pv4one; \
	VMOVUPS (DI)(BX*2), Y0; \
	VMOVUPS 32(DI)(BX*2), Y1; \
	LEAQ (DI)(R13*1), AX; \
	VMOVUPS (AX)(BX*2), Y2; \
	VMOVUPS 32(AX)(BX*2), Y3; \
	VMOVUPS (R12)(BX*2), Y4; \
	VMOVUPS 32(R12)(BX*2), Y5; \
	LEAQ (R12)(R13*1), AX; \
	VMOVUPS (AX)(BX*2), Y6; \
	VMOVUPS 32(AX)(BX*2), Y7; \
	MOVQ v+32(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
pv4pos: \
	LOADV((SI), Y8); \
	LOADV((16*KS)(SI), Y9); \
	VBROADCASTSS (R8)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y0; \
	VFMADD231PS Y10, Y9, Y1; \
	VBROADCASTSS (R9)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y2; \
	VFMADD231PS Y10, Y9, Y3; \
	VBROADCASTSS (R10)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y4; \
	VFMADD231PS Y10, Y9, Y5; \
	VBROADCASTSS (R11)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y6; \
	VFMADD231PS Y10, Y9, Y7; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ pv4pos; \
	VMOVUPS Y0, (DI)(BX*2); \
	VMOVUPS Y1, 32(DI)(BX*2); \
	LEAQ (DI)(R13*1), AX; \
	VMOVUPS Y2, (AX)(BX*2); \
	VMOVUPS Y3, 32(AX)(BX*2); \
	VMOVUPS Y4, (R12)(BX*2); \
	VMOVUPS Y5, 32(R12)(BX*2); \
	LEAQ (R12)(R13*1), AX; \
	VMOVUPS Y6, (AX)(BX*2); \
	VMOVUPS Y7, 32(AX)(BX*2); \
	ADDQ $32, BX; \
	SUBQ $16, DX; \
	JNZ pv4pass; \
	JMP pv4done; \
pv4one: \
	VMOVUPS (DI)(BX*2), Y0; \
	LEAQ (DI)(R13*1), AX; \
	VMOVUPS (AX)(BX*2), Y2; \
	VMOVUPS (R12)(BX*2), Y4; \
	LEAQ (R12)(R13*1), AX; \
	VMOVUPS (AX)(BX*2), Y6; \
	MOVQ v+32(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
pv4pos1: \
	LOADV((SI), Y8); \
	VBROADCASTSS (R8)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y0; \
	VBROADCASTSS (R9)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y2; \
	VBROADCASTSS (R10)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y4; \
	VBROADCASTSS (R11)(AX*1), Y10; \
	VFMADD231PS Y10, Y8, Y6; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ pv4pos1; \
	VMOVUPS Y0, (DI)(BX*2); \
	LEAQ (DI)(R13*1), AX; \
	VMOVUPS Y2, (AX)(BX*2); \
	VMOVUPS Y4, (R12)(BX*2); \
	LEAQ (R12)(R13*1), AX; \
	VMOVUPS Y6, (AX)(BX*2); \
pv4done: \
	VZEROUPPER; \
	RET

// attnPV1AVX2 and attnPV1F32AVX2: PV4 for one query: 32 dimensions a pass, then eight at a time.
//
// Register plan: DX dimensions left, CX positions left in the pass, AX
// the weights' offset, SI value t's chunk, BX the chunk's offset in a
// value, R8 the weights, DI the outputs; Y0-Y3 the accumulators, Y4-Y7
// the chunks, Y8 a weight.
#define PV1(LOADV, KS) \
	MOVQ d+8(FP), DX; \
	MOVQ p+16(FP), R8; \
	MOVQ vs+32(FP), R14; \
	MOVQ out+40(FP), DI; \
	XORQ BX, BX; \
	CMPQ n+0(FP), $0; \
	JEQ pv1done; \
pv1pass: \
	CMPQ DX, $32; \
	JLT pv1one; \
	VMOVUPS (DI)(BX*2), Y0; \
	VMOVUPS 32(DI)(BX*2), Y1; \
	VMOVUPS 64(DI)(BX*2), Y2; \
	VMOVUPS 96(DI)(BX*2), Y3; \
	MOVQ v+24(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
pv1pos: \
	VBROADCASTSS (R8)(AX*1), Y8; \
	LOADV((SI), Y4); \
	LOADV((16*KS)(SI), Y5); \
	LOADV((32*KS)(SI), Y6); \
	LOADV((48*KS)(SI), Y7); \
	VFMADD231PS Y8, Y4, Y0; \
	VFMADD231PS Y8, Y5, Y1; \
	VFMADD231PS Y8, Y6, Y2; \
	VFMADD231PS Y8, Y7, Y3; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ pv1pos; \
	VMOVUPS Y0, (DI)(BX*2); \
	VMOVUPS Y1, 32(DI)(BX*2); \
	VMOVUPS Y2, 64(DI)(BX*2); \
	VMOVUPS Y3, 96(DI)(BX*2); \
	ADDQ $64, BX; \
	SUBQ $32, DX; \
	JNZ pv1pass; \
	JMP pv1done; \
pv1one: \
	VMOVUPS (DI)(BX*2), Y0; \
	MOVQ v+24(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
pv1pos1: \
	VBROADCASTSS (R8)(AX*1), Y8; \
	LOADV((SI), Y4); \
	VFMADD231PS Y8, Y4, Y0; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ pv1pos1; \
	VMOVUPS Y0, (DI)(BX*2); \
	ADDQ $16, BX; \
	SUBQ $8, DX; \
	JNZ pv1pass; \
pv1done: \
	VZEROUPPER; \
	RET

// ---------------------------------------------------------------------------
// The avx512 path's loops: the same products on Z registers, sixteen
// dimensions an instruction where the AVX2 loops take eight. The AVX2
// loops were bound by their loads, conversions and broadcasts, and a Z
// register halves those per product; PV4Z also keeps four queries' 64
// dimensions in registers, so that a pass converts each value once where
// PV4 made four passes of sixteen. BenchmarkAttention (one thread,
// Qwen2.5-0.5B's 14 heads over 2 KV heads of 64, F16 cache, Zen 5):
// prefill512 60 → 80 GFLOP/s, decode@2048 56 → 77 (then 92 and 84 with
// softmax's exponentials on Z registers, swiglu_amd64.s). The scores
// gained least: their reductions (FOLD16, REDUCE_PAIR) are now most of
// SCORES4Z's time.
//
// PV4Z and PV1Z add each output element's products in position order, as
// PV4 and PV1 do, so their results are those loops' bit for bit; they take
// any d that is a multiple of 8 (64 dimensions a pass over the positions,
// then 16, then a last 8 on Y registers).
//
// SCORES4Z and SCORES1Z take d a multiple of 16 (attendTiled keeps the
// AVX2 loops, both of them, for other sizes): a score is sixteen lanes,
// each summing its dimensions (16c+l for chunk c) in chunk order, folded
// to eight (lane l plus lane l+8), then SCORES4's tree; the same order in
// both, so a batch of tokens still gets the bits one token at a time gets.

#define LOADF16Z(M, Z) VCVTPH2PS M, Z
#define LOADF32Z(M, Z) VMOVUPS M, Z

// Z's sixteen lanes folded to eight in its Y half (lane l plus lane l+8).
#define FOLD16(Z, Y) \
	VEXTRACTF64X4 $1, Z, Y16; \
	VADDPS Y16, Y, Y

// The folds before SCORES4W's and SCORES1W's tree: none on Y registers,
// and on Z registers (FOLD16) the first eight or four accumulators'.
#define NOFOLD
#define FOLD16X8 \
	FOLD16(Z0, Y0); \
	FOLD16(Z1, Y1); \
	FOLD16(Z2, Y2); \
	FOLD16(Z3, Y3); \
	FOLD16(Z4, Y4); \
	FOLD16(Z5, Y5); \
	FOLD16(Z6, Y6); \
	FOLD16(Z7, Y7)
#define FOLD16X4 \
	FOLD16(Z0, Y0); \
	FOLD16(Z1, Y1); \
	FOLD16(Z2, Y2); \
	FOLD16(Z3, Y3)

// SCORES4 and SCORES1 on Z registers: chunks of sixteen dimensions (32
// F16 bytes).
#define SCORES4Z(LOADK, KS) SCORES4W(LOADK, KS, 32, FOLD16X8, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z12, Z13, Z14)
#define SCORES1Z(LOADK, KS) SCORES1W(LOADK, KS, 32, FOLD16X4, Z0, Z1, Z2, Z3, Z12, Z13)

// A chunk of sixteen (or eight) of a query's outputs (its row at R), at
// OFF bytes past the pass's first dimension: loaded before a pass over
// the positions and stored after it.
#define PVZ_LOAD(R, OFF, Z) VMOVUPS OFF(R)(BX*2), Z
#define PVZ_STORE(R, OFF, Z) VMOVUPS Z, OFF(R)(BX*2)

// OP (PVZ_LOAD or PVZ_STORE) on four chunks of a query's outputs at R.
#define PVZ4(OP, R, Z0, Z1, Z2, Z3) \
	OP(R, 0, Z0); \
	OP(R, 64, Z1); \
	OP(R, 128, Z2); \
	OP(R, 192, Z3)

// OP on one chunk of each query's outputs (query 0's row at DI, 2's at
// R12, 1 and 3 R13 past them), AX clobbered.
#define PVQ4(OP, A, B, C, D) \
	OP(DI, 0, A); \
	LEAQ (DI)(R13*1), AX; \
	OP(AX, 0, B); \
	OP(R12, 0, C); \
	LEAQ (R12)(R13*1), AX; \
	OP(AX, 0, D)

// Register plan: as PV4's, with Z0-Z15 the accumulators of a 64-dimension
// pass (query j, chunk u in Z(4j+u); a 16-dimension pass uses Z(4j), an
// 8-dimension one Y(4j)), Z16-Z19 the chunks, Z20 a weight; CX positions
// left, AX the weights' offset (and a pointer to queries 1 and 3's
// outputs around a pass).
#define PV4Z(LOADV, KS) \
	MOVQ d+8(FP), DX; \
	MOVQ p+16(FP), R8; \
	MOVQ ps+24(FP), AX; \
	LEAQ (R8)(AX*1), R9; \
	LEAQ (R9)(AX*1), R10; \
	LEAQ (R10)(AX*1), R11; \
	MOVQ vs+40(FP), R14; \
	MOVQ out+48(FP), DI; \
	MOVQ os+56(FP), R13; \
	LEAQ (DI)(R13*2), R12; \
	XORQ BX, BX; \
	CMPQ n+0(FP), $0; \
	JEQ p4zdone; \
p4zpass: \
	CMPQ DX, $64; \
	JLT p4z16; \
	PVZ4(PVZ_LOAD, DI, Z0, Z1, Z2, Z3); \
	LEAQ (DI)(R13*1), AX; \
	PVZ4(PVZ_LOAD, AX, Z4, Z5, Z6, Z7); \
	PVZ4(PVZ_LOAD, R12, Z8, Z9, Z10, Z11); \
	LEAQ (R12)(R13*1), AX; \
	PVZ4(PVZ_LOAD, AX, Z12, Z13, Z14, Z15); \
	MOVQ v+32(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p4zpos: \
	LOADV((SI), Z16); \
	LOADV((32*KS)(SI), Z17); \
	LOADV((64*KS)(SI), Z18); \
	LOADV((96*KS)(SI), Z19); \
	VBROADCASTSS (R8)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z0; \
	VFMADD231PS Z20, Z17, Z1; \
	VFMADD231PS Z20, Z18, Z2; \
	VFMADD231PS Z20, Z19, Z3; \
	VBROADCASTSS (R9)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z4; \
	VFMADD231PS Z20, Z17, Z5; \
	VFMADD231PS Z20, Z18, Z6; \
	VFMADD231PS Z20, Z19, Z7; \
	VBROADCASTSS (R10)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z8; \
	VFMADD231PS Z20, Z17, Z9; \
	VFMADD231PS Z20, Z18, Z10; \
	VFMADD231PS Z20, Z19, Z11; \
	VBROADCASTSS (R11)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z12; \
	VFMADD231PS Z20, Z17, Z13; \
	VFMADD231PS Z20, Z18, Z14; \
	VFMADD231PS Z20, Z19, Z15; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p4zpos; \
	PVZ4(PVZ_STORE, DI, Z0, Z1, Z2, Z3); \
	LEAQ (DI)(R13*1), AX; \
	PVZ4(PVZ_STORE, AX, Z4, Z5, Z6, Z7); \
	PVZ4(PVZ_STORE, R12, Z8, Z9, Z10, Z11); \
	LEAQ (R12)(R13*1), AX; \
	PVZ4(PVZ_STORE, AX, Z12, Z13, Z14, Z15); \
	ADDQ $128, BX; \
	SUBQ $64, DX; \
	JNZ p4zpass; \
	JMP p4zdone; \
p4z16: \
	CMPQ DX, $16; \
	JLT p4z8; \
	PVQ4(PVZ_LOAD, Z0, Z4, Z8, Z12); \
	MOVQ v+32(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p4zpos16: \
	LOADV((SI), Z16); \
	VBROADCASTSS (R8)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z0; \
	VBROADCASTSS (R9)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z4; \
	VBROADCASTSS (R10)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z8; \
	VBROADCASTSS (R11)(AX*1), Z20; \
	VFMADD231PS Z20, Z16, Z12; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p4zpos16; \
	PVQ4(PVZ_STORE, Z0, Z4, Z8, Z12); \
	ADDQ $32, BX; \
	SUBQ $16, DX; \
	JNZ p4z16; \
	JMP p4zdone; \
p4z8: \
	PVQ4(PVZ_LOAD, Y0, Y4, Y8, Y12); \
	MOVQ v+32(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p4zpos8: \
	LOADV((SI), Y1); \
	VBROADCASTSS (R8)(AX*1), Y2; \
	VFMADD231PS Y2, Y1, Y0; \
	VBROADCASTSS (R9)(AX*1), Y2; \
	VFMADD231PS Y2, Y1, Y4; \
	VBROADCASTSS (R10)(AX*1), Y2; \
	VFMADD231PS Y2, Y1, Y8; \
	VBROADCASTSS (R11)(AX*1), Y2; \
	VFMADD231PS Y2, Y1, Y12; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p4zpos8; \
	PVQ4(PVZ_STORE, Y0, Y4, Y8, Y12); \
p4zdone: \
	VZEROUPPER; \
	RET

// Register plan: as PV1's, with Z0-Z3 the accumulators of a 64-dimension
// pass (Z0 a 16-dimension one's, Y0 an 8-dimension one's), Z4-Z7 the
// chunks, Z8 the weight.
#define PV1Z(LOADV, KS) \
	MOVQ d+8(FP), DX; \
	MOVQ p+16(FP), R8; \
	MOVQ vs+32(FP), R14; \
	MOVQ out+40(FP), DI; \
	XORQ BX, BX; \
	CMPQ n+0(FP), $0; \
	JEQ p1zdone; \
p1zpass: \
	CMPQ DX, $64; \
	JLT p1z16; \
	PVZ4(PVZ_LOAD, DI, Z0, Z1, Z2, Z3); \
	MOVQ v+24(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p1zpos: \
	VBROADCASTSS (R8)(AX*1), Z8; \
	LOADV((SI), Z4); \
	LOADV((32*KS)(SI), Z5); \
	LOADV((64*KS)(SI), Z6); \
	LOADV((96*KS)(SI), Z7); \
	VFMADD231PS Z8, Z4, Z0; \
	VFMADD231PS Z8, Z5, Z1; \
	VFMADD231PS Z8, Z6, Z2; \
	VFMADD231PS Z8, Z7, Z3; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p1zpos; \
	PVZ4(PVZ_STORE, DI, Z0, Z1, Z2, Z3); \
	ADDQ $128, BX; \
	SUBQ $64, DX; \
	JNZ p1zpass; \
	JMP p1zdone; \
p1z16: \
	CMPQ DX, $16; \
	JLT p1z8; \
	PVZ_LOAD(DI, 0, Z0); \
	MOVQ v+24(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p1zpos16: \
	VBROADCASTSS (R8)(AX*1), Z8; \
	LOADV((SI), Z4); \
	VFMADD231PS Z8, Z4, Z0; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p1zpos16; \
	PVZ_STORE(DI, 0, Z0); \
	ADDQ $32, BX; \
	SUBQ $16, DX; \
	JNZ p1z16; \
	JMP p1zdone; \
p1z8: \
	PVZ_LOAD(DI, 0, Y0); \
	MOVQ v+24(FP), SI; \
	LEAQ (SI)(BX*KS), SI; \
	MOVQ n+0(FP), CX; \
	XORQ AX, AX; \
p1zpos8: \
	VBROADCASTSS (R8)(AX*1), Y8; \
	LOADV((SI), Y4); \
	VFMADD231PS Y8, Y4, Y0; \
	ADDQ $4, AX; \
	ADDQ R14, SI; \
	DECQ CX; \
	JNZ p1zpos8; \
	PVZ_STORE(DI, 0, Y0); \
p1zdone: \
	VZEROUPPER; \
	RET

// func attnScores4AVX2(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)
TEXT ·attnScores4AVX2(SB), NOSPLIT, $0-72
	SCORES4(LOADF16, 1)

// func attnScores4F32AVX2(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)
TEXT ·attnScores4F32AVX2(SB), NOSPLIT, $0-72
	SCORES4(LOADF32, 2)

// func attnScores1AVX2(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)
TEXT ·attnScores1AVX2(SB), NOSPLIT, $0-56
	SCORES1(LOADF16, 1)

// func attnScores1F32AVX2(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)
TEXT ·attnScores1F32AVX2(SB), NOSPLIT, $0-56
	SCORES1(LOADF32, 2)

// func attnPV4AVX2(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)
TEXT ·attnPV4AVX2(SB), NOSPLIT, $0-64
	PV4(LOADF16, 1)

// func attnPV4F32AVX2(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)
TEXT ·attnPV4F32AVX2(SB), NOSPLIT, $0-64
	PV4(LOADF32, 2)

// func attnPV1AVX2(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
TEXT ·attnPV1AVX2(SB), NOSPLIT, $0-48
	PV1(LOADF16, 1)

// func attnPV1F32AVX2(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
TEXT ·attnPV1F32AVX2(SB), NOSPLIT, $0-48
	PV1(LOADF32, 2)

// func attnMaxAVX2(n int, x *float32) float32
//
// The largest of x[0..n-1] (n a positive multiple of 8), or NaN if any is
// NaN, as Go's max: VMAXPS alone would pass a NaN over.
TEXT ·attnMaxAVX2(SB), NOSPLIT, $0-20
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VMOVUPS (SI), Y0
	VCMPPS $3, Y0, Y0, Y2
	ADDQ $32, SI
	SUBQ $8, CX
	JZ mxfold
mxloop:
	VMOVUPS (SI), Y3
	VMAXPS Y3, Y0, Y0
	VCMPPS $3, Y3, Y3, Y4
	VORPS Y4, Y2, Y2
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ mxloop
mxfold:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VPTEST Y2, Y2
	JZ mxdone
	MOVL $0x7fc00000, AX
	VMOVD AX, X0
mxdone:
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func attnSumAVX2(n int, x *float32) float64
//
// The sum of x[0..n-1] (n a multiple of 8) in float64: the softmax's
// denominator, as ggml sums its exponentials, in eight running sums.
TEXT ·attnSumAVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	VXORPD Y0, Y0, Y0
	VXORPD Y2, Y2, Y2
	SHRQ $3, CX
	JZ smfold
smloop:
	VCVTPS2PD (SI), Y1
	VADDPD Y1, Y0, Y0
	VCVTPS2PD 16(SI), Y3
	VADDPD Y3, Y2, Y2
	ADDQ $32, SI
	DECQ CX
	JNZ smloop
smfold:
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+16(FP)
	RET

// func attnScores4Z(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)
TEXT ·attnScores4Z(SB), NOSPLIT, $0-72
	SCORES4Z(LOADF16Z, 1)

// func attnScores4F32Z(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)
TEXT ·attnScores4F32Z(SB), NOSPLIT, $0-72
	SCORES4Z(LOADF32Z, 2)

// func attnScores1Z(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)
TEXT ·attnScores1Z(SB), NOSPLIT, $0-56
	SCORES1Z(LOADF16Z, 1)

// func attnScores1F32Z(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)
TEXT ·attnScores1F32Z(SB), NOSPLIT, $0-56
	SCORES1Z(LOADF32Z, 2)

// func attnPV4Z(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)
TEXT ·attnPV4Z(SB), NOSPLIT, $0-64
	PV4Z(LOADF16Z, 1)

// func attnPV4F32Z(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)
TEXT ·attnPV4F32Z(SB), NOSPLIT, $0-64
	PV4Z(LOADF32Z, 2)

// func attnPV1Z(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
TEXT ·attnPV1Z(SB), NOSPLIT, $0-48
	PV1Z(LOADF16Z, 1)

// func attnPV1F32Z(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
TEXT ·attnPV1F32Z(SB), NOSPLIT, $0-48
	PV1Z(LOADF32Z, 2)
