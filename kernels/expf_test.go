package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between two finite float32 values in units in the
// last place (adjacent values are 1 apart).
func ulps(a, b float32) int64 {
	key := func(f float32) int64 {
		i := int64(int32(math.Float32bits(f)))
		if i < 0 {
			i = math.MinInt32 - i
		}
		return i
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

// expf32 is within 2 ULP of the correctly rounded e^x over its range, on
// a grid of every 2^-10 and on random arguments, and exactly 1 at 0.
func TestExpf32Accuracy(t *testing.T) {
	worst, at := int64(0), float32(0)
	check := func(x float32) {
		want := float32(math.Exp(float64(x)))
		if d := ulps(expf32(x), want); d > worst {
			worst, at = d, x
		}
	}
	for x := float32(-86.5); x <= 88.72; x += 1.0 / 1024 {
		check(x)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(-86.5 + 175.2*r.Float32())
		check(-r.Float32() * 1e-3) // near 0, where most softmax weights of a sharp head sit
	}
	if worst > 2 {
		t.Errorf("expf32(%v) = %v is %d ULP from %v", at, expf32(at), worst, float32(math.Exp(float64(at))))
	}
	t.Logf("worst %d ULP, at %v", worst, at)
	if expf32(0) != 1 {
		t.Errorf("expf32(0) = %v", expf32(0))
	}
}

func TestExpf32Edges(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct{ x, want float32 }{
		{float32(math.Inf(-1)), 0},
		{-1000, 0},
		{-86.51, 0},
		{math.Nextafter32(expHi, 100), float32(math.Inf(1))},
		{float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := expf32(c.x); got != c.want {
			t.Errorf("expf32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expf32(nan); got == got {
		t.Errorf("expf32(NaN) = %v", got)
	}
	for _, x := range []float32{-86.5, expHi} {
		if got := expf32(x); got <= 0 || math.IsInf(float64(got), 0) {
			t.Errorf("expf32(%v) = %v", x, got)
		}
	}
}

// SwiGLU's reference with expf32 is within 4 ULP of silu(g)·up computed in
// float64 and rounded once, wherever that is a normal float32 and e^-g is
// finite in float32, and below 2^-110 in size elsewhere.
func TestSwiGLUAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	worst, at := int64(0), float32(0)
	var got [1]float32
	for i := range 1 << 20 {
		g := float32(r.NormFloat64() * 8)
		if i%16 == 0 {
			g = -100 + 200*r.Float32()
		}
		up := float32(r.NormFloat64())
		swigluGo(got[:], []float32{g}, []float32{up})
		want := float32(float64(g) / (1 + math.Exp(-float64(g))) * float64(up))
		// Where e^-g overflows float32 (as in ggml's float32 silu) or the
		// result is subnormal, it need only be as small.
		if -g > expHi || math.Abs(float64(want)) < 0x1p-126 {
			if math.Abs(float64(got[0])) > 0x1p-110 {
				t.Fatalf("swiglu(%v, %v) = %v, want %v", g, up, got[0], want)
			}
			continue
		}
		if d := ulps(got[0], want); d > worst {
			worst, at = d, g
		}
	}
	if worst > 4 {
		t.Errorf("swiglu at gate %v is %d ULP from float64's", at, worst)
	}
	t.Logf("worst %d ULP, at gate %v", worst, at)
}
