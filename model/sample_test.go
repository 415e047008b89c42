package model

import (
	"math"
	"testing"
)

func TestSamplerGreedyAndPenalty(t *testing.T) {
	opts := DefaultOptions()
	opts.Temperature = 0
	opts.RepeatPenalty = 1
	s := NewSampler(opts, 5, HeapAllocator{}, 1)
	if got := s.Sample([]float32{0.1, 3, 3, -1, 2}, nil); got != 1 {
		t.Errorf("greedy: got %d, want 1 (lowest index on ties)", got)
	}
	// A penalty of 2 halves token 1's logit (3 -> 1.5), so token 2 wins.
	opts.RepeatPenalty = 2
	s = NewSampler(opts, 5, HeapAllocator{}, 1)
	if got := s.Sample([]float32{0.1, 3, 3, -1, 2}, []int32{1, 1}); got != 2 {
		t.Errorf("penalised greedy: got %d, want 2", got)
	}
	l := []float32{-1, 4}
	s.penalize(l, []int32{0, 1})
	if l[0] != -2 || l[1] != 2 {
		t.Errorf("penalty: got %v, want [-2 2]", l)
	}
}

// With a fixed seed the draw is reproducible, and its frequencies follow the
// softmax of the logits at the given temperature.
func TestSamplerDistribution(t *testing.T) {
	logits := []float32{1, 2, 3, 0}
	opts := DefaultOptions()
	opts.Seed, opts.TopK, opts.TopP, opts.RepeatPenalty, opts.Temperature = 7, 0, 1, 1, 1
	s := NewSampler(opts, 4, HeapAllocator{}, 0)
	counts := make([]int, 4)
	const n = 200000
	buf := make([]float32, 4)
	for range n {
		copy(buf, logits)
		counts[s.Sample(buf, nil)]++
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l))
	}
	for i, l := range logits {
		want := math.Exp(float64(l)) / z
		got := float64(counts[i]) / n
		if math.Abs(got-want) > 0.005 {
			t.Errorf("token %d: frequency %.4f, softmax %.4f", i, got, want)
		}
	}
}

func TestSamplerTruncation(t *testing.T) {
	logits := []float32{5, 4.9, 0, -3, 1}
	tests := []struct {
		name    string
		mutate  func(*Options)
		allowed map[int32]bool
	}{
		{"top_k 2", func(o *Options) { o.TopK = 2 }, map[int32]bool{0: true, 1: true}},
		{"top_p tiny", func(o *Options) { o.TopK = 0; o.TopP = 0.01 }, map[int32]bool{0: true}},
		{"min_p 0.5", func(o *Options) { o.TopK = 0; o.MinP = 0.5 }, map[int32]bool{0: true, 1: true}},
	}
	for _, tt := range tests {
		opts := DefaultOptions()
		opts.Seed, opts.RepeatPenalty, opts.Temperature, opts.TopP = 3, 1, 1, 1
		tt.mutate(&opts)
		s := NewSampler(opts, len(logits), HeapAllocator{}, 0)
		buf := make([]float32, len(logits))
		for range 2000 {
			copy(buf, logits)
			if tok := s.Sample(buf, nil); !tt.allowed[tok] {
				t.Fatalf("%s: sampled %d, allowed %v", tt.name, tok, tt.allowed)
			}
		}
	}
}

func TestPartialSortMatchesFullSort(t *testing.T) {
	logits := []float32{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}
	idx := make([]int32, len(logits))
	for i := range idx {
		idx[i] = int32(i)
	}
	partialSortDesc(idx, logits, 4)
	want := []int32{5, 7, 4, 8}
	for i, w := range want {
		if idx[i] != w {
			t.Fatalf("top 4 = %v, want %v", idx[:4], want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []func(*Options){
		func(o *Options) { o.Temperature = -1 },
		func(o *Options) { o.TopP = 0 },
		func(o *Options) { o.MinP = 2 },
		func(o *Options) { o.RepeatPenalty = 0 },
		func(o *Options) { o.NumCtx = 0 },
		func(o *Options) { o.Stop = []string{""} },
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for i, m := range bad {
		o := DefaultOptions()
		m(&o)
		if o.Validate() == nil {
			t.Errorf("case %d: invalid options accepted: %+v", i, o)
		}
	}
}
