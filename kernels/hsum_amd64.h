// The horizontal sums that end the float results of the dot-product
// kernels (decode_amd64.s, dot_amd64.s, dot1_amd64.s, float_amd64.s,
// gemm_amd64.s), written once so that every kernel adds its lanes in the
// same order: lane i with lane i+4 (for sixteen lanes, with i+8 first),
// then neighbouring pairs, then the two pairs' sums.

// Y's eight float lanes summed to X's lane 0 (X is Y's low half); XT a
// temporary.
#define HSUM8(Y, X, XT) \
	VEXTRACTF128 $1, Y, XT; \
	VADDPS XT, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// HSUM8, its sum stored at OUT.
#define HSUM8TO(Y, X, XT, OUT) \
	HSUM8(Y, X, XT); \
	VMOVSS X, OUT

// Z's sixteen float lanes summed to X's lane 0 (Y and X its low halves);
// YT and XT (the low half of YT) temporaries, which may be Y16-Y31: the
// extracts are the EVEX ones, so this is for the avx512 kernels only.
#define HSUM16(Z, Y, X, YT, XT) \
	VEXTRACTF64X4 $1, Z, YT; \
	VADDPS YT, Y, Y; \
	VEXTRACTF32X4 $1, Y, XT; \
	VADDPS XT, X, X; \
	VHADDPS X, X, X; \
	VHADDPS X, X, X

// HSUM16, its sum stored at OUT.
#define HSUM16TO(Z, Y, X, YT, XT, OUT) \
	HSUM16(Z, Y, X, YT, XT); \
	VMOVSS X, OUT
