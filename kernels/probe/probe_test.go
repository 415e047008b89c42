package probe

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The vector read loops see every byte: their XOR of all 64-bit words
// equals the portable loop's, and flipping any one bit changes it.
func TestReadSumSeesEveryByte(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 3))
	for _, n := range []int{0, 256, 512, 4096, 256 * 1001} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		want := readSumGo(b)
		if got := readSum(b); got != want {
			t.Fatalf("n=%d: readSum %#x, portable %#x", n, got, want)
		}
		if n == 0 {
			continue
		}
		i := r.IntN(n)
		b[i] ^= 1 << r.IntN(8)
		if got := readSum(b); got == want {
			t.Fatalf("n=%d: flipping a bit of byte %d went unseen", n, i)
		}
	}
}

func TestFMALoopCountsAndStaysFinite(t *testing.T) {
	for _, iters := range []int{0, 1, 1000} {
		v, flops := fmaLoop(iters)
		if v != v || v <= 0 || flops < float64(iters)*16 {
			t.Errorf("iters=%d: value %v, flops %v", iters, v, flops)
		}
	}
}

// A small roofline: every figure positive, the all-thread figures at least
// about the one-thread ones (the machine is shared, so only loosely).
func TestMeasure(t *testing.T) {
	r := Measure(Options{Threads: 2, Bytes: 16 << 20, Repeats: 2})
	t.Logf("%+v", r)
	for name, v := range map[string]float64{"read1": r.Read1GBps, "readN": r.ReadNGBps, "fma1": r.FMA1GFlops, "fmaN": r.FMANGFlops} {
		if !(v > 0.1) {
			t.Errorf("%s = %v", name, v)
		}
	}
	if r.ReadGBps(1) != r.Read1GBps || r.ReadGBps(2) != r.ReadNGBps || r.FMAGFlops(8) != r.FMANGFlops {
		t.Errorf("pick: %+v", r)
	}
}

func ExampleMeasure() {
	r := Measure(Options{Threads: 1, Bytes: 8 << 20, Repeats: 1})
	fmt.Println(r.Read1GBps > 0, r.FMA1GFlops > 0)
	// Output: true true
}

func BenchmarkRoofline(b *testing.B) {
	var r Roofline
	for b.Loop() {
		r = Measure(Options{})
	}
	b.ReportMetric(r.Read1GBps, "read1_GB/s")
	b.ReportMetric(r.ReadNGBps, "readN_GB/s")
	b.ReportMetric(r.FMA1GFlops, "fma1_GFLOP/s")
	b.ReportMetric(r.FMANGFlops, "fmaN_GFLOP/s")
}

func TestInt8LoopCounts(t *testing.T) {
	if _, ops := int8Loop(0); ops != 0 {
		t.Errorf("0 iterations counted %v operations", ops)
	}
	if kernel() == "portable" {
		return
	}
	if _, ops := int8Loop(1000); ops < 1000*8*32*2 {
		t.Errorf("1000 iterations counted %v operations", ops)
	}
	if p := Int8Peak(Options{Threads: 1, Repeats: 1}); p <= 0 {
		t.Errorf("int8 peak %v", p)
	}
}
