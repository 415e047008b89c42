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
	for _, path := range []string{"", "avx512", "avx2", "portable"} {
		if _, ops := int8Loop(path, 0); ops != 0 {
			t.Errorf("%q: 0 iterations counted %v operations", path, ops)
		}
		_, ops := int8Loop(path, 1000)
		switch Int8Instructions(path) {
		case "":
			if ops != 0 {
				t.Errorf("%q: no instructions, but %v operations", path, ops)
			}
			continue
		case int8VNNI:
			if ops != 1000*12*64*2 {
				t.Errorf("%q: VNNI counted %v operations", path, ops)
			}
		case int8AVX2:
			if ops != 1000*12*32*2 {
				t.Errorf("%q: AVX2 counted %v operations", path, ops)
			}
		default:
			t.Errorf("%q: instructions %q", path, Int8Instructions(path))
		}
		if p := Int8Peak(Options{Threads: 1, Repeats: 1, Path: path}); p <= 0 {
			t.Errorf("%q: int8 peak %v", path, p)
		}
	}
	if kernel() != "portable" && Int8Instructions("") == "" {
		t.Error("a vector CPU without an int8 probe")
	}
	// The avx2 path never runs AVX-512's instructions; the default is the
	// widest there is.
	if got := Int8Instructions("avx2"); kernel() != "portable" && got != int8AVX2 {
		t.Errorf("avx2 path: %q", got)
	}
	if Int8Instructions("portable") != "" {
		t.Error("portable path has int8 instructions")
	}
	if Int8Instructions("") != Int8Instructions("avx512") {
		t.Error("the avx512 path's ceiling is not the widest")
	}
}
