// The row-lane kernels' repacking (gemmv_amd64.s, gemmvk_amd64.s): the
// arguments and gathers both files' repacks share, and transposing sixteen
// weight rows by loads and permutes instead of gathers, which cost a fifth
// to a sixth of a prefill. The tables vLanes, vPermLo and vPermHi are in
// gemmv_amd64.s.

// A repacking kernel's arguments: CX blocks, SI the first row's block, DX
// the valid-row mask, DI the destination, Z30 the rows' offsets r·wrb.
#define VREPACK_ARGS \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ wrb+16(FP), AX; \
	VPBROADCASTD AX, Z30; \
	VPMULLD ·vLanes(SB), Z30, Z30; \
	MOVQ rmask+24(FP), DX; \
	MOVQ dst+32(FP), DI

// Z of dword OFF of the sixteen rows' current block (zero in invalid rows):
// the mask re-armed in K1 from DX, as the gather clears it. The offsets
// are swapped from Z30 into Z15 for the gather and back (three XORs each
// way leave both registers as they were; Z15 is never a gather's Z),
// because Bochs 2.7, the emulator that tests this path on machines
// without AVX-512 (internal/cmd/emutest), faults on an EVEX gather whose
// index is Z16-Z31, which the hardware takes. Six XORs a gather cost
// little: the gathers serve only partial tiles and Q5_0's fifth bits.
#define GATHERV(OFF, Z) \
	KMOVW DX, K1; \
	VPXORD Z, Z, Z; \
	VPXORD Z30, Z15, Z15; \
	VPXORD Z15, Z30, Z30; \
	VPXORD Z30, Z15, Z15; \
	VPGATHERDD OFF(SI)(Z15*1), K1, Z; \
	VPXORD Z30, Z15, Z15; \
	VPXORD Z15, Z30, Z30; \
	VPXORD Z30, Z15, Z15

// Four rows' 16 bytes (at A0-A3) into Z (X its low quarter), row by
// 128-bit lane.
#define LOAD4V(A0, A1, A2, A3, X, Z) \
	VMOVDQU32 A0, X; \
	VINSERTI32X4 $1, A1, Z, Z; \
	VINSERTI32X4 $2, A2, Z, Z; \
	VINSERTI32X4 $3, A3, Z, Z

// A full tile's registers: R8 wrb, R9 3·wrb, R10 5·wrb, R11 7·wrb, R12
// row 8's block (SI row 0's), PLO and PHI the VPERMI2D indices.
#define FULLV_SETUP(PLO, PHI) \
	MOVQ wrb+16(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	LEAQ (R8)(R8*4), R10; \
	LEAQ (R9)(R8*4), R11; \
	LEAQ (SI)(R8*8), R12; \
	VMOVDQU32 ·vPermLo(SB), PLO; \
	VMOVDQU32 ·vPermHi(SB), PHI

// The 16 bytes at OFF of the sixteen rows' blocks, transposed: O0-O3 hold
// dword 0-3 of rows 0-15 (as four gathers would). Z0-Z7 temporaries.
#define TRANSPOSE4V(OFF, PLO, PHI, O0, O1, O2, O3) \
	LOAD4V(OFF(SI), OFF(SI)(R8*1), OFF(SI)(R8*2), OFF(SI)(R9*1), X0, Z0); \
	LOAD4V(OFF(SI)(R8*4), OFF(SI)(R10*1), OFF(SI)(R9*2), OFF(SI)(R11*1), X1, Z1); \
	LOAD4V(OFF(R12), OFF(R12)(R8*1), OFF(R12)(R8*2), OFF(R12)(R9*1), X2, Z2); \
	LOAD4V(OFF(R12)(R8*4), OFF(R12)(R10*1), OFF(R12)(R9*2), OFF(R12)(R11*1), X3, Z3); \
	VMOVDQA32 PLO, Z4; \
	VPERMI2D Z1, Z0, Z4; \
	VMOVDQA32 PHI, Z5; \
	VPERMI2D Z1, Z0, Z5; \
	VMOVDQA32 PLO, Z6; \
	VPERMI2D Z3, Z2, Z6; \
	VMOVDQA32 PHI, Z7; \
	VPERMI2D Z3, Z2, Z7; \
	VSHUFI64X2 $0x44, Z6, Z4, O0; \
	VSHUFI64X2 $0xee, Z6, Z4, O1; \
	VSHUFI64X2 $0x44, Z7, Z5, O2; \
	VSHUFI64X2 $0xee, Z7, Z5, O3

// TRANSPOSE4V to Z17-Z20.
#define TRANSPOSEV(OFF, PLO, PHI) TRANSPOSE4V(OFF, PLO, PHI, Z17, Z18, Z19, Z20)
