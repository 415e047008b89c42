package bench

import (
	"strings"
	"testing"
)

func TestMerge(t *testing.T) {
	a := sampleReport()
	b := NewReport(a.Env)
	b.Env.Models = append(b.Env.Models, Model{File: "other.gguf"})
	b.Env.Llama = "llama-server"
	b.Add(Figure{Suite: SuiteServe, System: SystemPith, Test: "latency", Threads: 4, Unit: UnitMillis, Samples: []float64{10, 20}})
	m, err := Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Figures) != len(a.Figures)+1 || len(m.Env.Models) != 2 || m.Env.Llama != "llama-server" || !m.Started.Equal(a.Started) {
		t.Fatalf("merged %+v", m)
	}
	if m.Find(Key{Suite: SuiteServe, System: SystemPith, Test: "latency", Threads: 4, Unit: UnitMillis}) == nil {
		t.Fatal("serve figure lost")
	}
	for _, c := range []struct {
		name string
		edit func(r *Report)
		want string
	}{
		{"same figure twice", func(r *Report) { r.Figures = append(r.Figures, a.Figures[0]) }, "appears in more than one"},
		{"other machine", func(r *Report) { r.Env.CPU = "other" }, "different CPU"},
		{"other build", func(r *Report) { r.Env.Commit = "def" }, "different pith commit"},
		{"other cores", func(r *Report) { r.Env.Cores = 64 }, "different core counts"},
		{"another file of a model's name", func(r *Report) {
			m := a.Env.Models[0]
			m.SHA256 = "ff" + m.SHA256
			r.Env.Models = []Model{m}
		}, "report 2: model " + a.Env.Models[0].File + " is another file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReport(a.Env)
			c.edit(r)
			if _, err := Merge(a, r); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Merge(); err == nil {
		t.Fatal("merged nothing")
	}
	// A report without model runs takes the other's KV cache; two whose
	// model runs had different caches do not merge.
	k16, k32 := NewReport(a.Env), NewReport(a.Env)
	k16.Env.KVCache, k32.Env.KVCache = "f16", "f32"
	if m, err := Merge(a, k16); err != nil || m.Env.KVCache != "f16" {
		t.Errorf("merged cache %q, %v", m.Env.KVCache, err)
	}
	if _, err := Merge(k16, k32); err == nil || !strings.Contains(err.Error(), "different KV cache") {
		t.Errorf("caches f16 and f32 merged: %v", err)
	}
	// Likewise the servers' threads, which serve reports alone have.
	s1, s2 := NewReport(a.Env), NewReport(a.Env)
	s1.Env.ServeThreads, s2.Env.ServeThreads = 1, 2
	if m, err := Merge(a, s2); err != nil || m.Env.ServeThreads != 2 {
		t.Errorf("merged servers' threads %d, %v", m.Env.ServeThreads, err)
	}
	if _, err := Merge(s1, s2); err == nil || !strings.Contains(err.Error(), "servers of different thread counts") {
		t.Errorf("servers of 1 and 2 threads merged: %v", err)
	}
}
