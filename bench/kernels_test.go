package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/kernels/probe"
)

// unsupportedType is a format the kernels know but cannot compute with
// (an activation-only one), or "" when there is none left.
func unsupportedType() string {
	for _, name := range []string{"Q8_1", "Q8_K", "I8", "I16", "I32"} {
		if typ, err := kernels.ParseType(name); err == nil {
			if _, err := testMatrix(typ, 256, rand.New(rand.NewPCG(1, 1))); err != nil {
				return name
			}
		}
	}
	return ""
}

func TestRunKernels(t *testing.T) {
	r := NewReport(Env{})
	before := kernels.Path()
	// As a user may type it: the figures still carry the canonical name,
	// and the prefill test still runs.
	types := []string{"q8_0", "Q4_0"}
	skip := unsupportedType()
	if skip != "" {
		types = append(types, skip)
	}
	err := RunKernels(context.Background(), r, KernelOptions{
		Types: types, Threads: []int{1, 2}, Reps: 2,
		MinTime: time.Millisecond, Cols: 256, BigBytes: 1 << 20,
		Layer: LayerShape{Hidden: 96, KV: 32, FFN: 160},
		Probe: KernelsProbe{Bytes: 1 << 20, Repeats: 1, MinTime: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if kernels.Path() != before {
		t.Fatalf("path left at %q, was %q", kernels.Path(), before)
	}
	for _, path := range kernels.Paths() {
		for _, typ := range []string{"Q8_0", "Q4_0"} {
			for _, k := range []Key{
				{SuiteKernels, SystemPith, "", "matvec-l2 " + typ, 1, path, UnitGFLOPS},
				{SuiteKernels, SystemPith, "", "decode " + typ, 1, path, UnitGBPerSec},
				{SuiteKernels, SystemPith, "", "decode " + typ, 2, path, UnitGBPerSec},
				{SuiteKernels, SystemPith, "", "prefill " + typ, 1, path, UnitGFLOPS},
				{SuiteKernels, SystemPith, "", "prefill " + typ, 2, path, UnitGFLOPS},
			} {
				f := r.Find(k)
				if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
					t.Errorf("%s: %+v", k, f)
				}
			}
		}
	}
	// A read-bandwidth sample before each decode sample and after the
	// last, at its threads, and each decode sample's ratio to those around
	// it.
	for _, path := range kernels.Paths() {
		f := r.Find(Key{SuiteKernels, SystemPith, "", "decode Q4_0", 2, path, UnitGBPerSec})
		if f == nil || len(f.Paired) != 2 || !(f.Paired[0] > 0) {
			t.Errorf("%s decode: paired %+v", path, f)
		}
	}
	// Likewise an int8 sample around each prefill sample, where the CPU
	// has an int8 instruction for the probe.
	if i8, _ := (KernelsProbe{Repeats: 1}).Int8("", 1); i8 > 0 {
		for _, path := range kernels.Paths() {
			for _, threads := range []int{1, 2} {
				f := r.Find(Key{SuiteKernels, SystemPith, "", "prefill Q8_0", threads, path, UnitGFLOPS})
				if f == nil || len(f.Paired) != 2 || !(f.Paired[0] > 0) {
					t.Errorf("%s prefill at %d threads: paired %+v", path, threads, f)
				}
			}
		}
		// Each path's prefill samples go to the figure of its own
		// instructions: the avx2 path's to "int8-dot avx2" where the CPU
		// has wider ones (AVX-512 VNNI), else all to "int8-dot".
		want := map[string]int{}
		for _, path := range kernels.Paths() {
			test, _ := int8Probe(path)
			want[test] += (2 + 1) * 2
		}
		if probe.Int8Instructions("avx512") == "vpdpbusd-zmm" && slices.Contains(kernels.Paths(), "avx2") && len(want) != 2 {
			t.Errorf("avx2 prefill judged against AVX-512 VNNI: %v", want)
		}
		for test, n := range want {
			for _, threads := range []int{1, 2} {
				f := r.Find(Key{SuiteProbe, SystemProbe, "", test, threads, "kernels/probe", UnitGOPS})
				if f == nil || len(f.Samples) != n {
					t.Errorf("%s probe at %d threads: %+v, want %d samples", test, threads, f, n)
				}
			}
		}
	}
	for _, threads := range []int{1, 2} {
		f := r.Find(Key{SuiteProbe, SystemProbe, "", "read-bandwidth", threads, "kernels/probe", UnitGBPerSec})
		if want := (2 + 1) * 2 * len(kernels.Paths()); f == nil || len(f.Samples) != want || f.Min <= 0 {
			t.Errorf("probe at %d threads: %+v, want %d samples", threads, f, want)
		}
	}
	// Each format's decode ceiling, once for all paths, at each thread count.
	for _, typ := range []string{"Q8_0", "Q4_0"} {
		for _, threads := range []int{1, 2} {
			f := r.Find(Key{SuiteProbe, SystemProbe, "", "layer-read " + typ, threads, "kernels/probe", UnitGBPerSec})
			if f == nil || len(f.Samples) != 2 || f.Min <= 0 {
				t.Errorf("layer-read %s at %d threads: %+v", typ, threads, f)
			}
		}
	}
	// A format the kernels cannot compute with is a note, not a failure.
	if skip != "" && (len(r.Notes) != 1 || !strings.Contains(r.Notes[0], skip)) {
		t.Errorf("notes %q", r.Notes)
	}
	// A layer the layer-read probe cannot split over the threads (less
	// than its read step a thread) loses only that figure, with a note.
	small := NewReport(Env{})
	err = RunKernels(context.Background(), small, KernelOptions{
		Types: []string{"Q8_0"}, Threads: []int{64}, Reps: 1, Paths: []string{kernels.Path()},
		MinTime: time.Millisecond, Cols: 256, BigBytes: 1 << 16,
		Layer: LayerShape{Hidden: 32, KV: 32, FFN: 32},
		Probe: KernelsProbe{Bytes: 1 << 20, Repeats: 1, MinTime: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if small.Find(Key{SuiteKernels, SystemPith, "", "decode Q8_0", 64, kernels.Path(), UnitGBPerSec}) == nil ||
		small.Find(Key{SuiteProbe, SystemProbe, "", "layer-read Q8_0", 64, "kernels/probe", UnitGBPerSec}) != nil ||
		len(small.Notes) != 1 || !strings.Contains(small.Notes[0], "layer-read Q8_0 at 64 threads skipped") {
		t.Errorf("a layer too small for the layer-read probe: figures %d, notes %q", len(small.Figures), small.Notes)
	}
	if err := RunKernels(context.Background(), r, KernelOptions{Types: []string{"Q9_9"}}); err == nil {
		t.Error("unknown type accepted")
	}
}

// The decode stack holds at least the bytes asked for, in whole layers of
// the shape asked for, with K-quant columns rounded up to whole blocks.
func TestDecodeStack(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		typ    kernels.Type
		hidden int
	}{{kernels.Q4_0, 896}, {kernels.Q4_K, 1024}} {
		st, err := newDecodeStack(c.typ, Qwen05B, 20<<20, rng)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.mats)%7 != 0 || st.bytes < 20<<20 {
			t.Fatalf("%v: %d matrices, %d bytes", c.typ, len(st.mats), st.bytes)
		}
		want := [][2]int{{c.hidden, c.hidden}, {128, c.hidden}, {128, c.hidden}, {c.hidden, c.hidden}, {4864, c.hidden}, {4864, c.hidden}, {c.hidden, 4864}}
		sum := 0
		for i, m := range st.mats {
			if w := want[i%7]; m.Rows != w[0] || m.Cols != w[1] {
				t.Fatalf("%v: matrix %d is %dx%d, want %dx%d", c.typ, i, m.Rows, m.Cols, w[0], w[1])
			}
			sum += len(m.Data)
		}
		if sum != st.bytes {
			t.Fatalf("%v: bytes %d, matrices hold %d", c.typ, st.bytes, sum)
		}
		// The layer-read probe reads a layer's products: q, k and v
		// together, o, gate and up together, down.
		layer := 0
		for _, m := range st.mats[:7] {
			layer += len(m.Data)
		}
		p := st.products
		if len(p) != 4 || p[0]+p[1]+p[2]+p[3] != layer || p[1] != len(st.mats[3].Data) || p[3] != len(st.mats[6].Data) {
			t.Fatalf("%v: products %v of a %d-byte layer", c.typ, p, layer)
		}
		st.step()
	}
}

func TestBracketedTakesTheFasterNeighbour(t *testing.T) {
	for _, c := range []struct {
		samples, bws, want []float64
	}{
		{[]float64{30, 60}, []float64{40, 80, 75}, []float64{30.0 / 80, 60.0 / 80}},
		{[]float64{30}, []float64{40, 35}, []float64{30.0 / 40}},
		{[]float64{30}, []float64{0, 50}, []float64{30.0 / 50}},
		{[]float64{30}, []float64{0, 0}, nil},
		{[]float64{30, 60}, []float64{40, 80}, nil}, // not bracketed
		{nil, []float64{40}, nil},
	} {
		got := bracketed(c.samples, c.bws)
		if len(got) != len(c.want) {
			t.Errorf("bracketed(%v, %v) = %v, want %v", c.samples, c.bws, got, c.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("bracketed(%v, %v) = %v, want %v", c.samples, c.bws, got, c.want)
			}
		}
	}
}
