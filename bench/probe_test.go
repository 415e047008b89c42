package bench

import (
	"context"
	"testing"
)

func TestProbeThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the machine")
	}
	r := NewReport(Env{})
	var lines int
	p := KernelsProbe{Bytes: 16 << 20, Repeats: 1}
	if err := ProbeThreads(context.Background(), r, p, []int{1, 2}, 2, func(string, ...any) { lines++ }); err != nil {
		t.Fatal(err)
	}
	for _, th := range []int{1, 2} {
		bw := r.probe("read-bandwidth", th)
		fl := r.probe("fma-f32", th)
		// Wide bounds: any machine streams between 0.1 and 10,000 GB/s and
		// computes between 0.1 and 100,000 GFLOP/s per core.
		if bw == nil || len(bw.Samples) != 2 || bw.Min < 0.1 || bw.Max > 1e4 {
			t.Errorf("bandwidth t%d: %+v", th, bw)
		}
		if fl == nil || len(fl.Samples) != 2 || fl.Min < 0.1 || fl.Max > 1e5*float64(th) {
			t.Errorf("FMA t%d: %+v", th, fl)
		}
		// The int8 probe exists where the CPU has int8 vector
		// instructions.
		if i8 := r.probe("int8-dot", th); i8 != nil && (len(i8.Samples) != 2 || i8.Min < 0.1 || i8.Max > 1e6*float64(th)) {
			t.Errorf("int8 t%d: %+v", th, i8)
		}
	}
	if n := len(r.Figures); lines != n || n != 4 && n != 6 {
		t.Errorf("%d progress lines, %d figures", lines, len(r.Figures))
	}
	if err := ProbeThreads(context.Background(), r, p, []int{0}, 1, nil); err == nil {
		t.Error("0 threads accepted")
	}
}

// A sample that is the best of several runs and one that is a single run
// measure different things, so their figures must not share a key.
func TestKernelsProbeName(t *testing.T) {
	for _, c := range []struct {
		p    KernelsProbe
		want string
	}{
		{KernelsProbe{Repeats: 1}, "kernels/probe"},
		{KernelsProbe{}, "kernels/probe best of 3"},
		{KernelsProbe{Repeats: 5}, "kernels/probe best of 5"},
	} {
		if got := c.p.Name(); got != c.want {
			t.Errorf("%+v: Name() = %q, want %q", c.p, got, c.want)
		}
	}
}
