package bench

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Every line of each table: header, rule, rows.
	for _, want := range []string{
		"cpu:    Test CPU, 2 cores, flags avx2",
		"model:  m.gguf, qwen2 Q4_0, 1000000000 bytes (500000000 read per token)",
		// pith's pp128 median is half llama.cpp's.
		"pp128             2  tok/s    100 (90.0–110)  200 (180–220)             0.50×",
		// tg: 5e8 bytes × 20 tok/s = 10 GB/s = 24% of the probe's best
		// 41 GB/s; llama.cpp's 40 tok/s reads 20 GB/s = 49%.
		"tg64              2  tok/s              20.0           40.0             0.50×                             10.0 (24%)                                  20.0 (49%)",
		"ttft-pp128        2     ms  1250 (1200–1300)              -                 -",
		// The kernel's 20 GB/s against the probe's best 41 GB/s.
		"matvec Q4_0   avx2        2              20.0     GB/s                                            49%",
		// 26 GB/s: 63% of the probe's best, the paired median 65%, 81%
		// of the best layer-read sample, 32 GB/s, and the best sample
		// (28 GB/s) 68% of the probe's best.
		"decode Q8_0   avx2        2  26.0 (24.0–28.0)     GB/s  63% (paired 65%) (layer reads 81%) (best 68%)",
		"layer-read Q8_0        2  31.0 (30.0–32.0)     GB/s  builtin",
		// 160 GFLOP/s: 40% of the FMA probe's 400, 50% of the int8
		// probe's best 320, its samples' median against the int8
		// samples around each 55%, and its best sample, 170, 53% of 320.
		"prefill Q4_0  avx2        2     160 (150–170)  GFLOP/s           40% (int8 50%, paired 55%, best 53%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	// The shares' words are explained, in lines a terminal shows whole.
	at := strings.Index(out, "Each figure:")
	if at < 0 {
		t.Fatalf("text output has no legend:\n%s", out)
	}
	legend := strings.Join(strings.Fields(out[at:]), " ")
	for _, want := range []string{"a paired figure is", "its layer-reads figure divides", "its best figure is"} {
		if !strings.Contains(legend, want) {
			t.Errorf("text output's legend lacks %q", want)
		}
	}
	for l := range strings.Lines(out[at:]) {
		if n := len([]rune(strings.TrimSuffix(l, "\n"))); n > 76 {
			t.Errorf("legend line of %d characters: %q", n, l)
		}
	}
	if t.Failed() {
		t.Log("\n" + out)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### Model m.gguf (Q4_0, 1000 MB)",
		"| test | threads | unit | pith | llama.cpp | pith / llama.cpp |",
		"|---|---:|---:|---:|",
		"| pp128 | 2 | tok/s | 100 (90.0–110) | 200 (180–220) | 0.50× | - | - |",
		"- **cpu**: Test CPU",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row %q has %d separators, header %d", l, n, cols)
		}
	}
	if t.Failed() {
		t.Log("\n" + out)
	}
}

func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {1.234, "1.23"}, {12.34, "12.3"}, {123.4, "123"}, {-5, "-5.00"}} {
		if got := num(c.v); got != c.want {
			t.Errorf("num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// Each path's prefill is a share of its own instructions' int8 peak where
// the run measured one ("int8-dot avx2" on a CPU with AVX-512 VNNI), of
// the widest one otherwise.
func TestPrefillShareOfItsPathsInt8(t *testing.T) {
	r := NewReport(Env{CPU: "Test CPU", Cores: 2, KernelPath: "avx512", KernelPaths: []string{"avx512", "avx2", "portable"}})
	for _, f := range []struct {
		test, path string
		unit       string
		v          float64
	}{
		{"int8-dot", "kernels/probe", UnitGOPS, 1000},
		{"int8-dot avx2", "kernels/probe", UnitGOPS, 250},
		{"prefill Q8_0", "avx512", UnitGFLOPS, 500},
		{"prefill Q8_0", "avx2", UnitGFLOPS, 150},
		{"prefill Q8_0", "portable", UnitGFLOPS, 10},
	} {
		suite, system := SuiteKernels, SystemPith
		if f.unit == UnitGOPS {
			suite, system = SuiteProbe, SystemProbe
		}
		r.Add(Figure{Suite: suite, System: system, Test: f.test, Threads: 2, Path: f.path, Unit: f.unit, Samples: []float64{f.v}})
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var lines []string // each with its cells one space apart
	for l := range strings.Lines(out) {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	for _, want := range []string{
		"int8-dot avx2 2 250 GOP/s kernels/probe",
		// 500 of the widest (VPDPBUSD's) 1000.
		"prefill Q8_0 avx512 2 500 GFLOP/s - (int8 50%, best 50%)",
		// 150 of the avx2 path's own 250, not of 1000.
		"prefill Q8_0 avx2 2 150 GFLOP/s - (int8 60%, best 60%)",
		// A path with no int8 instructions of its own: the widest.
		"prefill Q8_0 portable 2 10.0 GFLOP/s - (int8 1%, best 1%)",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log("\n" + out)
	}
}
