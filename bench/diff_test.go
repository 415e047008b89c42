package bench

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func reportWith(unit string, samples ...[]float64) *Report {
	r := NewReport(Env{})
	for i, s := range samples {
		r.Add(Figure{Suite: SuiteModel, System: SystemPith, Test: fmt.Sprintf("t%d", i), Threads: 1, Unit: unit, Samples: s})
	}
	return r
}

func TestDiffNoiseRule(t *testing.T) {
	for _, c := range []struct {
		name     string
		unit     string
		old, new []float64
		verdict  Verdict
		rule     string
		better   bool
	}{
		{"5+5 separated: U test, p=0.008", UnitTokPerSec, []float64{10, 11, 12, 13, 14}, []float64{20, 21, 22, 23, 24}, Significant, "mann-whitney", true},
		{"5+5 interleaved: noise", UnitTokPerSec, []float64{10, 12, 14, 16, 18}, []float64{11, 13, 15, 17, 19}, Noise, "mann-whitney", true},
		{"5+5 slower", UnitTokPerSec, []float64{20, 21, 22, 23, 24}, []float64{10, 11, 12, 13, 14}, Significant, "mann-whitney", false},
		{"ms: lower is better", UnitMillis, []float64{20, 21, 22, 23, 24}, []float64{10, 11, 12, 13, 14}, Significant, "mann-whitney", true},
		{"3+3 separated: ranges", UnitTokPerSec, []float64{10, 11, 12}, []float64{13, 14, 15}, Significant, "range", true},
		{"3+3 touching ranges: noise", UnitTokPerSec, []float64{10, 11, 13}, []float64{13, 14, 15}, Noise, "range", true},
		{"2+2 overlapping: noise", UnitTokPerSec, []float64{10, 20}, []float64{15, 16}, Noise, "range", false},
		{"1+1: too few", UnitTokPerSec, []float64{10}, []float64{20}, TooFew, "", true},
		{"1+5: too few", UnitTokPerSec, []float64{10}, []float64{20, 21, 22, 23, 24}, TooFew, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ch := Diff(reportWith(c.unit, c.old), reportWith(c.unit, c.new))
			if len(ch) != 1 {
				t.Fatalf("%d changes", len(ch))
			}
			got := ch[0]
			if got.Verdict != c.verdict || got.Rule != c.rule {
				t.Fatalf("verdict %v rule %q (p=%v), want %v %q", got.Verdict, got.Rule, got.P, c.verdict, c.rule)
			}
			if got.Verdict == Significant && got.Better != c.better {
				t.Fatalf("better = %v", got.Better)
			}
		})
	}
}

func TestDiffOneSided(t *testing.T) {
	a := reportWith(UnitTokPerSec, []float64{1, 2})
	b := reportWith(UnitTokPerSec, []float64{1, 2}, []float64{3, 4})
	ch := Diff(a, b)
	if len(ch) != 2 || ch[1].Old != nil || ch[1].New == nil {
		t.Fatalf("changes %+v", ch)
	}
	var out bytes.Buffer
	if err := WriteDiff(&out, ch); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"only in new", "Rule: ", "Mann-Whitney"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("diff output lacks %q:\n%s", want, out.String())
		}
	}
}

func ExampleDiff() {
	old := NewReport(Env{})
	old.Add(Figure{Suite: SuiteModel, System: SystemPith, Test: "tg128", Threads: 2, Unit: UnitTokPerSec, Samples: []float64{50, 51, 52, 50.5, 51.5}})
	new := NewReport(Env{})
	new.Add(Figure{Suite: SuiteModel, System: SystemPith, Test: "tg128", Threads: 2, Unit: UnitTokPerSec, Samples: []float64{60, 61, 59, 60.5, 62}})
	for _, c := range Diff(old, new) {
		fmt.Printf("%s: %+.1f%% %s (p=%.3f)\n", c.Key, 100*c.Delta, c.Verdict, c.P)
	}
	// Output: model/pith/tg128/t2: +18.6% significant (p=0.008)
}

func TestDiffMatchesModelsByDigest(t *testing.T) {
	mk := func(file, sha string, v float64) *Report {
		r := NewReport(Env{Models: []Model{{File: file, SHA256: sha}}})
		r.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: file, Test: "tg64", Threads: 1, Unit: UnitTokPerSec, Samples: []float64{v, v + 1}})
		return r
	}
	if ch := Diff(mk("a.gguf", "11", 10), mk("b.gguf", "11", 20)); len(ch) != 1 || ch[0].New == nil || ch[0].New.Median != 20.5 {
		t.Fatalf("same digest, other name: %+v", ch)
	}
	if ch := Diff(mk("a.gguf", "11", 10), mk("a.gguf", "22", 20)); len(ch) != 1 || ch[0].New == nil {
		t.Fatalf("same name: %+v", ch)
	}
	if ch := Diff(mk("a.gguf", "11", 10), mk("b.gguf", "22", 20)); len(ch) != 2 {
		t.Fatalf("different files paired: %+v", ch)
	}
	// a.gguf's contents are b.gguf in the new report, whose a.gguf is
	// another file: old a.gguf pairs with new b.gguf, and new a.gguf is
	// only in the new report, not left out.
	renamed := NewReport(Env{Models: []Model{{File: "a.gguf", SHA256: "22"}, {File: "b.gguf", SHA256: "11"}}})
	renamed.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: "a.gguf", Test: "tg64", Threads: 1, Unit: UnitTokPerSec, Samples: []float64{30, 31}})
	renamed.Add(Figure{Suite: SuiteModel, System: SystemPith, Model: "b.gguf", Test: "tg64", Threads: 1, Unit: UnitTokPerSec, Samples: []float64{20, 21}})
	ch := Diff(mk("a.gguf", "11", 10), renamed)
	if len(ch) != 2 || ch[0].New == nil || ch[0].New.Model != "b.gguf" || ch[1].Old != nil || ch[1].New == nil || ch[1].New.Model != "a.gguf" {
		t.Fatalf("renamed, and the old name reused for another file: want old a.gguf against new b.gguf, then new a.gguf alone; got %d changes %+v", len(ch), ch)
	}
}

// Figures pair by name whatever the machine or file, so every difference
// of setup beyond the build is said.
func TestSetupChanges(t *testing.T) {
	base := Env{CPU: "AMD EPYC", Cores: 2, OS: "linux/amd64", KernelPath: "avx2", Commit: "aaa", KVCache: "f16", ServeThreads: 1,
		Models: []Model{{File: "q.gguf", SHA256: "11"}}}
	for _, c := range []struct {
		name string
		edit func(e *Env)
		want []string // substrings of the notes, one per note
	}{
		{"only the build", func(e *Env) { e.Commit, e.Version, e.GoVersion = "bbb", "v2", "go1.27" }, nil},
		{"another CPU", func(e *Env) { e.CPU = "Intel Xeon" }, []string{`different CPU: old "AMD EPYC", new "Intel Xeon"`}},
		{"more cores", func(e *Env) { e.Cores = 8 }, []string{`different core count: old "2", new "8"`}},
		{"portable path", func(e *Env) { e.KernelPath = "portable" }, []string{`kernel path (of the model and serve runs): old "avx2", new "portable"`}},
		{"f32 cache", func(e *Env) { e.KVCache = "f32" }, []string{`different KV cache type: old "f16", new "f32"`}},
		{"servers' threads", func(e *Env) { e.ServeThreads = 2 }, []string{`different thread count of the servers: old "1", new "2"`}},
		{"no model runs", func(e *Env) { e.KVCache, e.Models = "", nil }, nil},
		{"another file, same name", func(e *Env) { e.Models = []Model{{File: "q.gguf", SHA256: "22"}} }, []string{"model q.gguf is another file"}},
		{"renamed, and the name reused", func(e *Env) { e.Models = []Model{{File: "q.gguf", SHA256: "22"}, {File: "r.gguf", SHA256: "11"}} }, nil},
		{"two at once", func(e *Env) { e.CPU, e.Cores = "Intel Xeon", 4 }, []string{"different CPU", "different core count"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			nb := base
			nb.Models = slices.Clone(base.Models)
			c.edit(&nb)
			got := SetupChanges(&Report{Env: base}, &Report{Env: nb})
			if len(got) != len(c.want) {
				t.Fatalf("notes %q, want %d", got, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("note %q lacks %q", got[i], w)
				}
			}
		})
	}
}
