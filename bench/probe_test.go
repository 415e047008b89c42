package bench

import (
	"math/rand/v2"
	"testing"
)

// TestReadSumMatchesPortable: the wide-load sum equals the scalar one on
// fresh random data of every length around the vector widths.
func TestReadSumMatchesPortable(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 100 {
		b := make([]uint64, n)
		for i := range b {
			b[i] = rng.Uint64()
		}
		if got, want := readSum(b), readSumPortable(b); got != want {
			t.Fatalf("len %d: readSum %d, portable %d", n, got, want)
		}
	}
}

// TestFMALoopComputes: the SIMD chains compute what the scalar recurrence
// does (so the compiler cannot have dropped any of them) and the probe
// reports plausible figures.
func TestFMALoopComputes(t *testing.T) {
	// Each lane of chain k starts at k+1 and runs x = x*a + b; the SIMD
	// loop returns lane 0 of the sum of the twelve chains, the portable
	// one the sum of its ten chains in float64.
	const iters = 1000
	got := float64(fmaLoop(iters))
	want := 0.0
	chains, start := 12, 1.0
	if fmaFlopsPerIter() == 20 { // the portable loop
		chains, start = 10, 1.0
	}
	for k := range chains {
		x := start + float64(k)
		if chains == 10 {
			x = 1 + 0.1*float64(k)
		}
		for range iters {
			x = x*0.99999 + 1e-6
		}
		want += x
	}
	if d := got - want; d > 1e-3*want || d < -1e-3*want {
		t.Fatalf("fmaLoop = %v, scalar recurrence %v (%s)", got, want, probeKind())
	}
}

func TestBuiltinProbe(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for a quarter second")
	}
	p := &BuiltinProbe{Bytes: 16 << 20}
	bw, err := p.Bandwidth(1)
	if err != nil || bw <= 0.1 || bw > 10000 {
		t.Fatalf("bandwidth %v GB/s, %v", bw, err)
	}
	fl, err := p.FMA(1)
	if err != nil || fl <= 0.1 || fl > 100000 {
		t.Fatalf("FMA %v GFLOP/s, %v", fl, err)
	}
	if _, err := p.Bandwidth(0); err == nil {
		t.Fatal("0 threads accepted")
	}
}
