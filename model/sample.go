package model

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Sampler picks the next token from logits the way ollama does: repeat
// penalty over the recent tokens, then greedy when the temperature is 0;
// otherwise top-k, temperature, softmax, top-p, min-p and a seeded draw.
//
// Its buffers come from the caller's allocator because they hold
// request-derived data (logits, candidate order).
type Sampler struct {
	opts  Options
	rng   *rand.Rand
	idx   []int32   // candidate token ids, sorted by logit
	probs []float32 // candidate probabilities
}

// NewSampler prepares a sampler for a vocabulary of n tokens. seed is used
// when opts.Seed is -1 (the caller supplies fresh randomness).
func NewSampler(opts Options, n int, alloc Allocator, seed uint64) *Sampler {
	s := &Sampler{opts: opts, idx: alloc.Int32s(n), probs: alloc.Float32s(n)}
	if opts.Seed >= 0 {
		seed = uint64(opts.Seed)
	}
	s.rng = rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	return s
}

// Sample returns the next token. logits is modified in place (penalties,
// temperature). history is the context so far, newest last.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	s.penalize(logits, history)
	if s.opts.Temperature == 0 {
		return Argmax(logits)
	}
	n := len(logits)
	idx := s.idx[:n]
	for i := range idx {
		idx[i] = int32(i)
	}
	k := n
	if s.opts.TopK > 0 && s.opts.TopK < n {
		k = s.opts.TopK
		partialSortDesc(idx, logits, k)
	} else {
		slices.SortFunc(idx, func(a, b int32) int { return cmpDesc(logits[a], logits[b], a, b) })
	}
	idx = idx[:k]
	probs := s.probs[:k]
	// Softmax of the temperature-scaled candidates; the maximum is idx[0].
	inv := 1 / s.opts.Temperature
	maxl := logits[idx[0]]
	var sum float64
	for i, t := range idx {
		p := math.Exp(float64((logits[t] - maxl) * inv))
		probs[i] = float32(p)
		sum += p
	}
	for i := range probs {
		probs[i] = float32(float64(probs[i]) / sum)
	}
	// top-p: the smallest prefix whose mass reaches p (at least one token).
	if s.opts.TopP < 1 {
		var cum float32
		for i, p := range probs {
			cum += p
			if cum >= s.opts.TopP {
				k = i + 1
				break
			}
		}
		probs, idx = probs[:k], idx[:k]
	}
	// min-p: drop candidates below min_p times the most likely one.
	if s.opts.MinP > 0 {
		limit := probs[0] * s.opts.MinP
		for i, p := range probs {
			if p < limit {
				k = i
				break
			}
		}
		probs, idx = probs[:k], idx[:k]
	}
	var total float32
	for _, p := range probs {
		total += p
	}
	r := s.rng.Float32() * total
	for i, p := range probs {
		r -= p
		if r < 0 {
			return idx[i]
		}
	}
	return idx[len(idx)-1]
}

// penalize applies llama.cpp's repeat penalty (as ollama does): each distinct
// token among the last RepeatLastN has its logit divided by the penalty when
// positive and multiplied when negative.
func (s *Sampler) penalize(logits []float32, history []int32) {
	p := s.opts.RepeatPenalty
	if p == 1 || len(history) == 0 {
		return
	}
	last := s.opts.RepeatLastN
	if last < 0 || last > len(history) {
		last = len(history)
	}
	recent := history[len(history)-last:]
	for i, t := range recent {
		if t < 0 || int(t) >= len(logits) || slices.Contains(recent[:i], t) {
			continue
		}
		if logits[t] > 0 {
			logits[t] /= p
		} else {
			logits[t] *= p
		}
	}
}

// Argmax returns the index of the largest logit, the lowest index on ties,
// as llama.cpp's greedy sampler does. NaNs never win.
func Argmax(logits []float32) int32 {
	best := int32(0)
	bv := float32(math.Inf(-1))
	for i, v := range logits {
		if v > bv {
			best, bv = int32(i), v
		}
	}
	return best
}

func cmpDesc(x, y float32, a, b int32) int {
	switch {
	case x > y:
		return -1
	case x < y:
		return 1
	}
	return int(a - b)
}

// partialSortDesc moves the k largest logits' ids to the front of idx, in
// descending order, in O(n log k) with a min-heap of size k.
func partialSortDesc(idx []int32, logits []float32, k int) {
	h := idx[:k]
	less := func(i, j int) bool { return cmpDesc(logits[h[i]], logits[h[j]], h[i], h[j]) > 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= k {
				return
			}
			m := l
			if r := l + 1; r < k && less(r, l) {
				m = r
			}
			if !less(m, i) {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for _, t := range idx[k:] {
		if cmpDesc(logits[t], logits[h[0]], t, h[0]) < 0 {
			h[0] = t
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b int32) int { return cmpDesc(logits[a], logits[b], a, b) })
}
