package kernels

// The SwiGLU, softmax-exponential and F16-rounding loops of
// swiglu_amd64.s; see the comment there.

//go:noescape
func swigluF32AVX2(n int, dst, gate, up *float32)

// swigluVec is swigluGo with whole steps of 8 in swigluF32AVX2, on both
// paths, as expShiftVec.
func swigluVec(dst, gate, up []float32) {
	k := len(gate) &^ 7
	if k > 0 {
		swigluF32AVX2(k, &dst[0], &gate[0], &up[0])
	}
	swigluGo(dst[k:], gate[k:], up[k:])
}

//go:noescape
func expShiftF32AVX2(n int, dst, src *float32, m float32)

//go:noescape
func roundF16sF16C(n int, dst, src *float32, s float32)

// expShiftVec is expShiftGo with whole steps of 8 in expShiftF32AVX2.
func expShiftVec(dst, src []float32, m float32) {
	k := len(src) &^ 7
	if k > 0 {
		expShiftF32AVX2(k, &dst[0], &src[0], m)
	}
	expShiftGo(dst[k:], src[k:], m)
}

// roundF16sVec is roundF16s with whole steps of 8 in F16C.
func roundF16sVec(dst, src []float32, s float32) {
	k := len(src) &^ 7
	if k > 0 {
		roundF16sF16C(k, &dst[0], &src[0], s)
	}
	roundF16sGo(dst[k:], src[k:], s)
}

//go:noescape
func expShiftF32Z(n int, dst, src *float32, m float32)

//go:noescape
func roundF16sF16CZ(n int, dst, src *float32, s float32)

// expShiftZ is expShiftVec with whole steps of 16 in expShiftF32Z, the
// avx512 path's: the same bits (TestAttentionLoopsBitExact).
func expShiftZ(dst, src []float32, m float32) {
	k := len(src) &^ 15
	if k > 0 {
		expShiftF32Z(k, &dst[0], &src[0], m)
	}
	expShiftVec(dst[k:], src[k:], m)
}

// roundF16sZ is roundF16sVec with whole steps of 16 in roundF16sF16CZ,
// the avx512 path's: the same bits.
func roundF16sZ(dst, src []float32, s float32) {
	k := len(src) &^ 15
	if k > 0 {
		roundF16sF16CZ(k, &dst[0], &src[0], s)
	}
	roundF16sVec(dst[k:], src[k:], s)
}

//go:noescape
func f32ToF16F16C(n int, dst *uint16, src *float32)

// f32ToF16Vec is f32ToF16Go with whole steps of 8 in F16C.
func f32ToF16Vec(dst []uint16, src []float32) {
	k := len(src) &^ 7
	if k > 0 {
		f32ToF16F16C(k, &dst[0], &src[0])
	}
	f32ToF16Go(dst[k:], src[k:])
}

//go:noescape
func roundBF16sAVX2(n int, dst, src *float32)

// roundBF16sVec is roundBF16sGo with whole steps of 8 in roundBF16sAVX2.
func roundBF16sVec(dst, src []float32) {
	k := len(src) &^ 7
	if k > 0 {
		roundBF16sAVX2(k, &dst[0], &src[0])
	}
	roundBF16sGo(dst[k:], src[k:])
}
