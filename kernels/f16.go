package kernels

import "math"

// F16ToF32 converts an IEEE half-precision value exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN, keeping the payload
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: normalise.
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// F32ToF16 converts to half precision with round-to-nearest-even, as F16C's
// VCVTPS2PH and ggml's software path do; NaN stays NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := man >> shift
		rem := man & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is the correct rounding
	}
	return sign | uint16(r)
}

// BF16ToF32 widens a bfloat16.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds to nearest even as ggml_compute_fp32_to_bf16 does,
// quieting NaNs.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 64
	}
	return uint16((b + (0x7fff + (b>>16)&1)) >> 16)
}

// F32ToF16Row converts src into dst (same length), as F32ToF16 does each
// value: with F16C's VCVTPS2PH on the paths that have it (each layer's
// keys and values go into the cache this way, and one value at a time
// took 4% of a 2048-token prompt).
func F32ToF16Row(dst []uint16, src []float32) {
	dst = dst[:len(src)]
	if f := activeFloat.f32ToF16; f != nil {
		f(dst, src)
		return
	}
	f32ToF16Go(dst, src)
}

// f32ToF16Go is F32ToF16Row's reference.
func f32ToF16Go(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = F32ToF16(v)
	}
}

// RoundF16Row writes each value of src rounded to the nearest F16 value
// (ties to even) into dst (same length; it may be src): the value that
// F16ToF32(F32ToF16(v)) gives, NaN for NaN. The paths with F16C round
// sixteen or eight values an instruction: F16 weights' activations are
// rounded before each product, as ggml converts them, and a value at a
// time took about a quarter of an F16 model's prefill.
func RoundF16Row(dst, src []float32) {
	dst = dst[:len(src)]
	if f := activeFloat.roundF16s; f != nil {
		f(dst, src, 1)
		return
	}
	roundF16sGo(dst, src, 1)
}

// RoundBF16Row writes each value of src rounded to the nearest BF16 value
// (ties to even) into dst (same length; it may be src): the value that
// BF16ToF32(F32ToBF16(v)) gives, eight values a step on the paths that
// have AVX2 (BF16 weights' activations, as RoundF16Row F16 weights').
func RoundBF16Row(dst, src []float32) {
	dst = dst[:len(src)]
	if f := activeFloat.roundBF16s; f != nil {
		f(dst, src)
		return
	}
	roundBF16sGo(dst, src)
}

// roundBF16sGo is RoundBF16Row's reference.
func roundBF16sGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = BF16ToF32(F32ToBF16(v))
	}
}

// F16ToF32Row converts src into dst (same length).
func F16ToF32Row(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F16ToF32(v)
	}
}
