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
