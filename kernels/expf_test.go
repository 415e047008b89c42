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
	for x := float32(-87); x <= 88; x += 1.0 / 1024 {
		check(x)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(-87 + 175*r.Float32())
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
		{-87.01, 0},
		{100, expf32(88)},
		{float32(math.Inf(1)), expf32(88)},
	} {
		if got := expf32(c.x); got != c.want {
			t.Errorf("expf32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := expf32(nan); got == got {
		t.Errorf("expf32(NaN) = %v", got)
	}
	if got := expf32(-87); got <= 0 || math.IsInf(float64(got), 0) {
		t.Errorf("expf32(-87) = %v", got)
	}
}
