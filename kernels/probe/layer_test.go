package probe

import (
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestLayerRead(t *testing.T) {
	o := Options{Threads: 2, Bytes: 16 << 20, Repeats: 1, MinTime: 5 * time.Millisecond}
	for _, c := range []struct {
		name     string
		products []int
		ok       bool
	}{
		{"layer", []int{580 << 10, 450 << 10, 4 << 20, 2 << 20}, true},
		{"uneven sizes", []int{3*readStep + 17, 1<<20 + 5}, true},
		{"one product", []int{1 << 20}, true},
		{"none", nil, false},
		{"less than a step a thread", []int{1 << 20, readStep}, false},
		{"larger than the buffer", []int{32 << 20}, false},
		{"negative", []int{-1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := LayerRead(o, c.products)
			if c.ok && !(got > 0.1) || !c.ok && got != 0 {
				t.Errorf("LayerRead(%v) = %v GB/s", c.products, got)
			}
		})
	}
}

// tracedPiece is one range of the buffer a thread read in a round.
type tracedPiece struct {
	round  int64
	lo, hi int
}

// traceLayerRead runs LayerRead with layerTrace set and returns the pieces
// each thread read and the round each stopped after (-1: it never said).
func traceLayerRead(t *testing.T, o Options, products []int) (pieces [][]tracedPiece, stops []int64, rate float64) {
	t.Helper()
	o = o.withDefaults()
	pieces, stops = make([][]tracedPiece, o.Threads), make([]int64, o.Threads)
	t.Cleanup(func() { layerTrace.read, layerTrace.stop = nil, nil })
	for i := range stops {
		stops[i] = -1
	}
	// Each thread writes only its own slot; LayerRead returns after its
	// threads have finished, so reading them afterwards is ordered.
	layerTrace.read = func(t int, round int64, lo, hi int) {
		pieces[t] = append(pieces[t], tracedPiece{round, lo, hi})
	}
	layerTrace.stop = func(t int, round int64) { stops[t] = round }
	o.Repeats = 1 // one sample, so that the trace is of one run
	rate = LayerRead(o, products)
	return pieces, stops, rate
}

// TestLayerReadPieces checks the work sharing of LayerRead against its
// contract, whatever the threads' timing: every thread stops after the same
// round, and each round reads the next product's bytes of the buffer (from
// its start when they would run past its end) exactly once, no piece
// missed, none read twice.
func TestLayerReadPieces(t *testing.T) {
	for _, c := range []struct {
		name     string
		o        Options
		products []int
	}{
		{"one thread", Options{Threads: 1, Bytes: 1 << 20, MinTime: time.Millisecond}, []int{580 << 10, 3*stealPiece + 5*readStep + 3, 450 << 10}},
		{"two threads, wrapping", Options{Threads: 2, Bytes: 1 << 20, MinTime: 2 * time.Millisecond}, []int{580 << 10, 450 << 10, 3*readStep + 17, 2 * stealPiece}},
		// More threads than this machine's cores: threads wait for ones
		// the OS has not run yet, and take their pieces.
		{"more threads than cores", Options{Threads: 2 * runtime.NumCPU(), Bytes: 1 << 20, MinTime: 2 * time.Millisecond}, []int{1 << 20, 5*stealPiece + 7*readStep, 2 * runtime.NumCPU() * readStep}},
		{"no time", Options{Threads: 3, Bytes: 1 << 20, MinTime: time.Nanosecond}, []int{700 << 10}},
		{"fewer pieces than threads", Options{Threads: 5, Bytes: 2 << 20, MinTime: time.Millisecond}, []int{2*stealPiece + readStep, 5 * readStep}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pieces, stops, rate := traceLayerRead(t, c.o, c.products)
			if !(rate > 0) {
				t.Fatalf("rate %v", rate)
			}
			last := stops[0]
			for i, s := range stops {
				if s != last || s < 0 {
					t.Fatalf("threads stopped after rounds %v", stops)
				}
				for _, p := range pieces[i] {
					if p.round > last {
						t.Fatalf("thread %d read %v after the last round, %d", i, p, last)
					}
				}
			}
			byRound := make([][]tracedPiece, last+1)
			for _, ps := range pieces {
				for _, p := range ps {
					byRound[p.round] = append(byRound[p.round], p)
				}
			}
			end := 0 // where the last round's product ended
			for r, ps := range byRound {
				n := c.products[r%len(c.products)] &^ (readStep - 1)
				start := end
				if start+n > len(touched(c.o.Bytes)) {
					start = 0
				}
				slices.SortFunc(ps, func(a, b tracedPiece) int { return a.lo - b.lo })
				at := start
				for _, p := range ps {
					if p.lo != at || p.hi <= p.lo || p.hi-p.lo > stealPiece || (p.hi-p.lo)%readStep != 0 {
						t.Fatalf("round %d (%d bytes from %d): pieces %v", r, n, start, ps)
					}
					at = p.hi
				}
				if at != start+n {
					t.Fatalf("round %d (%d bytes from %d): pieces %v", r, n, start, ps)
				}
				end = at
			}
			t.Logf("%d rounds", last+1)
		})
	}
}

// TestLayerReadRoundLimit checks that a sample stops after the last round
// the shares' tags can tell apart, however long its MinTime, every thread
// after the same round.
func TestLayerReadRoundLimit(t *testing.T) {
	defer func(m int64) { maxRounds = m }(maxRounds)
	maxRounds = 5
	_, stops, rate := traceLayerRead(t, Options{Threads: 3, Bytes: 1 << 20, MinTime: time.Hour}, []int{300 << 10})
	if !(rate > 0) || !slices.Equal(stops, []int64{4, 4, 4}) {
		t.Errorf("rate %v, threads stopped after rounds %v", rate, stops)
	}
}
