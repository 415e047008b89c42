package kernels

import "math"

// expf32 is e^x in float32 arithmetic, for softmax's exponentials, where a
// float64 exp (math.Exp) cost as much as the attention scores themselves
// (9% of a 2048-token prefill), and SwiGLU's. ggml's are float32 too: its
// own approximation (ggml_v_expf) on whole vectors, libm's expf on the
// rest.
//
// The method is Cephes' expf: n = round(x·log2 e); r = x - n·ln 2 with
// ln 2 in two parts (the first, 0.693359375, exact in nine bits, so n times
// it is exact); e^r by r + 1 + r²·P(r), P of degree 5; then 2^n by the
// exponent field, as 2^(n-1) times 2 so that n may be 128 near the top. Every step is one float32 operation rounded on its own
// (the conversions stop Go fusing a product and a sum into an FMA), so the
// vector loops (swiglu_amd64.s) compute the same bits on eight lanes.
// Within 1 ULP of the correctly rounded e^x on every x in [-86.5, 88.72]
// that TestExpf32Accuracy tries (it allows 2), and +Inf exactly where
// float32's e^x overflows. Below -86.5 it is 0: e^x is under 2^-124 there,
// a softmax weight nothing can see beside the maximum's 1, and SwiGLU's
// silu(g) = g / (1 + e^-g) is g to float32's precision for such -g. NaN
// stays NaN.
func expf32(x float32) float32 {
	switch {
	case x < expLo:
		return 0
	case x > expHi:
		return float32(math.Inf(1))
	}
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - float32(n*expC1)
	r -= float32(n * expC2)
	z := float32(r * r)
	p := float32(expP0*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	y := float32(float32(p*z)+r) + 1
	return y * math.Float32frombits(uint32(int32(n)+126)<<23) * 2
}

// expf32's constants, as bits so that the assembly's DATA are the same
// numbers (swiglu_amd64.s).
var (
	expLo    = math.Float32frombits(0xc2ad0000) // -86.5
	expHi    = math.Float32frombits(0x42b17217) // 88.722832, the largest x whose e^x is finite
	expLog2e = math.Float32frombits(0x3fb8aa3b) // 1.442695
	expC1    = math.Float32frombits(0x3f318000) // 0.693359375
	expC2    = math.Float32frombits(0xb95e8083) // -2.12194440e-4
	expP0    = math.Float32frombits(0x39506967) // 1.9875691500e-4
	expP1    = math.Float32frombits(0x3ab743ce) // 1.3981999507e-3
	expP2    = math.Float32frombits(0x3c088908) // 8.3334519073e-3
	expP3    = math.Float32frombits(0x3d2aa9c1) // 4.1665795894e-2
	expP4    = math.Float32frombits(0x3e2aaaaa) // 1.6666665459e-1
	expP5    = math.Float32frombits(0x3f000000) // 5.0000001201e-1
)
