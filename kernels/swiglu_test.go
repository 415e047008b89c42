package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// SwiGLU split over the pool computes every element exactly as the serial
// loop does, at sizes on both sides of the split and with the odd tail.
func TestSwiGLUParallelExact(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for _, n := range []int{1, 7, swigluSerial - 1, swigluSerial, swigluSerial*3 + 5, 128 * 4864} {
		gate, up := make([]float32, n), make([]float32, n)
		for i := range gate {
			gate[i], up[i] = float32(r.NormFloat64()*4), float32(r.NormFloat64())
		}
		want, got := make([]float32, n), make([]float32, n)
		swiglu(want, gate, up)
		for i := range got {
			got[i] = float32(math.NaN())
		}
		SwiGLU(got, gate, up)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d is %v, serially %v", n, i, got[i], want[i])
			}
		}
		// In place, as the forward pass calls it.
		SwiGLU(gate, gate, up)
		for i := range want {
			if math.Float32bits(gate[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d in place: element %d is %v, serially %v", n, i, gate[i], want[i])
			}
		}
	}
	big := make([]float32, 3*swigluSerial)
	if a := testing.AllocsPerRun(10, func() { SwiGLU(big, big, big) }); a != 0 {
		t.Errorf("SwiGLU on the pool allocates %v times per call", a)
	}
}

// Every path's SwiGLU loop equals the Go reference bit for bit: on a
// stride through all float32 gate patterns (NaNs, infinities, subnormals,
// both signs), on the ranges where exp leaves float32 (around -104 and
// 88.7) and on random values, with tails of every length.
func TestSwiGLUPathsBitExact(t *testing.T) {
	defer SetPath(Path())
	r := rand.New(rand.NewPCG(rand.Uint64(), 5))
	gate := float32Patterns(4093, r, 8)
	for _, edge := range []float32{-104, 88.7, 103.9, -88.8, 110, -100, 0} {
		for range 2000 {
			gate = append(gate, edge+float32(r.NormFloat64()))
		}
	}
	gate = append(gate, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	up := make([]float32, len(gate))
	for i := range up {
		up[i] = float32(r.NormFloat64())
	}
	up[len(up)-1] = 0
	want := make([]float32, len(gate))
	swigluGo(want, gate, up)
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		for tail := range 9 {
			n := len(gate) - tail
			got := make([]float32, n)
			for i := range got {
				got[i] = float32(math.NaN())
			}
			opMu.Lock()
			swiglu(got, gate[:n], up[:n])
			opMu.Unlock()
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s: gate %v (%#x) up %v: %v, reference %v", path, gate[i], math.Float32bits(gate[i]), up[i], got[i], want[i])
				}
			}
		}
	}
}

// Attention's vector loops equal their Go references bit for bit on every
// path: softmax's exponentials on a stride through all float32 patterns
// shifted by maxima of several sizes (and NaN), and the F16 rounding of
// scaled values, with tails of every length.
func TestAttentionLoopsBitExact(t *testing.T) {
	defer SetPath(Path())
	// expf32's bounds and their neighbours first (with a maximum of 0),
	// where the vector loop, not the tail, takes them.
	var src []float32
	for _, b := range []float32{expLo, expHi} {
		src = append(src, b, math.Nextafter32(b, 0), math.Nextafter32(b, -1000))
	}
	src = append(src, float32Patterns(8191, rand.New(rand.NewPCG(rand.Uint64(), 6)), 30)...)
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
	}
	for _, path := range Paths() {
		if err := SetPath(path); err != nil {
			t.Fatal(err)
		}
		f := activeFloat
		if f.expShift == nil || f.roundF16s == nil {
			continue
		}
		// check runs a loop and its reference with argument a.
		check := func(name string, ref, fast func(dst, src []float32, a float32), a float32, n int) {
			want, got := make([]float32, n), make([]float32, n)
			ref(want, src[:n], a)
			fast(got, src[:n], a)
			for i := range got {
				if !same(got[i], want[i]) {
					t.Fatalf("%s: %s(%v, %v) = %v, reference %v", path, name, src[i], a, got[i], want[i])
				}
			}
		}
		for _, tail := range []int{0, 1, 7} {
			n := len(src) - tail
			for _, m := range []float32{0, 3.5, -20, 1e6, float32(math.NaN())} {
				check("expShift", expShiftGo, f.expShift, m, n)
			}
			for _, s := range []float32{1, 0.37, 1e-5, 3e4} {
				check("roundF16s", roundF16sGo, f.roundF16s, s, n)
			}
		}
	}
}

// float32Patterns is every stride-th float32 bit pattern, then 20000
// normal random values of standard deviation sd.
func float32Patterns(stride uint64, r *rand.Rand, sd float64) []float32 {
	var x []float32
	for b := uint64(0); b < 1<<32; b += stride {
		x = append(x, math.Float32frombits(uint32(b)))
	}
	for range 20000 {
		x = append(x, float32(r.NormFloat64()*sd))
	}
	return x
}
