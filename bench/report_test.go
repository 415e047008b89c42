package bench

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleReport is a crafted report with both systems, a probe and a
// kernel figure, used by the rendering and schema tests.
func sampleReport() *Report {
	r := NewReport(Env{CPU: "Test CPU", CPUFlags: []string{"avx2"}, Cores: 2, OS: "linux/amd64", KernelPath: "avx2",
		KernelPaths: []string{"avx2", "portable"}, GoVersion: "go1.26.8", Version: "v0.1", Commit: "abc",
		Models: []Model{{File: "m.gguf", SHA256: strings.Repeat("ab", 32), Size: 1e9, WeightBytes: 5e8, Arch: "qwen2", Type: "Q4_0"}}})
	r.Started = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: "read-bandwidth", Threads: 2, Path: "builtin", Unit: UnitGBPerSec, Samples: []float64{40, 39, 41}})
	r.Add(Figure{Suite: SuiteKernels, System: SystemPith, Test: "matvec Q4_0", Threads: 2, Path: "avx2", Unit: UnitGBPerSec, Samples: []float64{20, 20, 20}})
	r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: "layer-read Q8_0", Threads: 2, Path: "builtin", Unit: UnitGBPerSec, Samples: []float64{30, 32}})
	r.Add(Figure{Suite: SuiteKernels, System: SystemPith, Test: "decode Q8_0", Threads: 2, Path: "avx2", Unit: UnitGBPerSec, Samples: []float64{24, 28, 26}, Paired: []float64{0.6, 0.7, 0.65}})
	r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: "fma-f32", Threads: 2, Path: "builtin", Unit: UnitGFLOPS, Samples: []float64{400}})
	r.Add(Figure{Suite: SuiteProbe, System: SystemProbe, Test: "int8-dot", Threads: 2, Path: "builtin", Unit: UnitGOPS, Samples: []float64{300, 320}})
	r.Add(Figure{Suite: SuiteKernels, System: SystemPith, Test: "prefill Q4_0", Threads: 2, Path: "avx2", Unit: UnitGFLOPS, Samples: []float64{150, 170, 160}, Paired: []float64{0.5, 0.6, 0.55}})
	for _, sys := range []string{SystemPith, SystemLlama} {
		scale := 1.0
		if sys == SystemLlama {
			scale = 2
		}
		r.Add(Figure{Suite: SuiteModel, System: sys, Model: "m.gguf", Test: "pp128", Threads: 2, Unit: UnitTokPerSec, Samples: []float64{100 * scale, 90 * scale, 110 * scale}})
		r.Add(Figure{Suite: SuiteModel, System: sys, Model: "m.gguf", Test: "tg64", Threads: 2, Unit: UnitTokPerSec, Samples: []float64{20 * scale, 20 * scale, 20 * scale}})
	}
	r.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: "m.gguf", Test: "ttft-pp128", Threads: 2, Unit: UnitMillis, Samples: []float64{1300, 1200, 1250}})
	return r
}

func TestReportRoundTrip(t *testing.T) {
	r := sampleReport()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"format": "`+Format+`"`) {
		t.Fatalf("no format member:\n%s", buf.String())
	}
	back, err := ReadReport(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, back) {
		t.Fatalf("round trip changed the report:\n%+v\n%+v", r, back)
	}
}

func TestAddAccumulates(t *testing.T) {
	r := NewReport(Env{})
	for _, v := range []float64{3, 1, 2, 10} {
		r.Add(Figure{Suite: SuiteModel, System: SystemPith, Test: "tg1", Threads: 1, Unit: UnitTokPerSec, Samples: []float64{v}})
	}
	if len(r.Figures) != 1 {
		t.Fatalf("%d figures, want 1", len(r.Figures))
	}
	f := r.Figures[0]
	if !reflect.DeepEqual(f.Samples, []float64{3, 1, 2, 10}) || f.Min != 1 || f.Median != 2.5 || f.Max != 10 {
		t.Fatalf("figure %+v", f)
	}
}

func TestReadReportRefuses(t *testing.T) {
	good := func() string {
		var b bytes.Buffer
		sampleReport().WriteJSON(&b)
		return b.String()
	}()
	for _, c := range []struct {
		name, doc string
		is        error
	}{
		{"other format", strings.Replace(good, Format, "https://github.com/pith-project/pith/bench/v2", 1), ErrFormat},
		{"no format", `{"figures":[]}`, ErrFormat},
		{"unknown member", strings.Replace(good, `"cpu":`, `"surprise": 1, "cpu":`, 1), nil},
		{"summary not matching samples", strings.Replace(good, `"median": 100,`, `"median": 101,`, 1), nil},
		{"negative sample", strings.Replace(good, `"samples": [
        20,`, `"samples": [
        -20,`, 1), nil},
		{"negative paired", `{"format":"` + Format + `","figures":[{"suite":"kernels","system":"pith","test":"decode Q4_0","threads":1,"unit":"GB/s","samples":[10,12],"paired":[0.5,-0.6],"min":10,"median":11,"max":12}]}`, nil},
		{"more paired than samples", `{"format":"` + Format + `","figures":[{"suite":"kernels","system":"pith","test":"decode Q4_0","threads":1,"unit":"GB/s","samples":[10],"paired":[0.5,0.6],"min":10,"median":10,"max":10}]}`, nil},
		{"no samples", `{"format":"` + Format + `","figures":[{"suite":"model","system":"pith","test":"pp1","threads":1,"unit":"tok/s","samples":[],"min":0,"median":0,"max":0}]}`, nil},
		{"duplicate figure", `{"format":"` + Format + `","figures":[` +
			`{"suite":"model","system":"pith","test":"pp1","threads":1,"unit":"tok/s","samples":[1],"min":1,"median":1,"max":1},` +
			`{"suite":"model","system":"pith","test":"pp1","threads":1,"unit":"tok/s","samples":[1],"min":1,"median":1,"max":1}]}`, nil},
		{"trailing data", good + "{}", nil},
		{"not JSON", "format: v1", nil},
		{"missing test", `{"format":"` + Format + `","figures":[{"suite":"model","system":"pith","threads":1,"unit":"tok/s","samples":[1],"min":1,"median":1,"max":1}]}`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.doc == good {
				t.Fatal("the test's edit did not apply")
			}
			_, err := ReadReport(strings.NewReader(c.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
			if !strings.HasPrefix(err.Error(), "bench: ") {
				t.Fatalf("error %q is not wrapped with the package name", err)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	for _, c := range []struct {
		in          []float64
		lo, med, hi float64
	}{
		{nil, 0, 0, 0},
		{[]float64{5}, 5, 5, 5},
		{[]float64{3, 1}, 1, 2, 3},
		{[]float64{9, 1, 5}, 1, 5, 9},
		{[]float64{4, 1, 3, 2}, 1, 2.5, 4},
	} {
		lo, med, hi := Summary(c.in)
		if lo != c.lo || med != c.med || hi != c.hi {
			t.Errorf("Summary(%v) = %v %v %v, want %v %v %v", c.in, lo, med, hi, c.lo, c.med, c.hi)
		}
	}
}

func FuzzReadReport(f *testing.F) {
	var b bytes.Buffer
	sampleReport().WriteJSON(&b)
	f.Add(b.Bytes())
	f.Add([]byte(`{"format":"` + Format + `","figures":null}`))
	f.Add([]byte(`{"format":"` + Format + `","figures":[{"suite":"a","system":"b","test":"c","threads":1,"unit":"ms","samples":[1e308,0],"min":0,"median":5e307,"max":1e308}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever is accepted must survive a round trip and render.
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReport(&out); err != nil {
			t.Fatalf("re-reading an accepted report: %v", err)
		}
		r.WriteText(&bytes.Buffer{})
		r.WriteMarkdown(&bytes.Buffer{})
		r.WriteSVG(&bytes.Buffer{})
		Diff(r, r)
	})
}

// A figure's name in bench diff's table and in errors says what its
// number is: threads, or for a serving figure the concurrency.
func TestKeyString(t *testing.T) {
	for _, c := range []struct {
		k    Key
		want string
	}{
		{Key{Suite: SuiteModel, System: SystemPith, Model: "q.gguf", Test: "tg128", Threads: 2, Unit: UnitTokPerSec}, "model/pith/q.gguf/tg128/t2"},
		{Key{Suite: SuiteKernels, System: SystemPith, Test: "decode Q4_0", Threads: 1, Path: "avx2", Unit: UnitGBPerSec}, "kernels/pith/decode Q4_0/t1/avx2"},
		{Key{Suite: SuiteServe, System: SystemPithPlain, Test: "latency", Threads: 8, Unit: UnitMillis}, "serve/pith-plaintext/latency/c8"},
	} {
		if got := c.k.String(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.k, got, c.want)
		}
	}
}
