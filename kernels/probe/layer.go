package probe

import (
	"runtime"
	"sync/atomic"
	"time"
)

// LayerRead streams a buffer of o.Bytes the way a decode step reads a
// model's weights, and returns the best rate of o.Repeats samples in GB/s:
// one product after another of the given sizes in bytes (a layer's, say,
// repeated), each split into one contiguous share per thread, every thread
// waiting for the whole product to be read before it starts the next,
// because a decode step's next product reads the last one's output. Each
// product reads the next bytes of the buffer, so every byte comes from
// memory, as the weights do.
//
// It is the ceiling of decode on this memory system, with nothing but the
// reads and the cheapest hand-off: each product starts every thread's
// stream afresh and ends it at the meeting, which costs microseconds where
// a product is a few hundred KiB per thread (a Qwen2.5-0.5B layer's
// attention products are), so it is below ReadBandwidth's long streams.
// Decode kernels that reach it lose nothing of their own. (At one thread
// the products follow one another in the buffer, one stream, so it reads
// about as fast as ReadBandwidth.)
//
// As the kernels' pool does, a thread that has read its share takes
// pieces from the back of the others', so that a thread the OS has taken
// away (the machines here are shared) holds up a product by a piece, not
// by a time slice. Sizes must be at least one readStep per thread and at
// most the buffer; otherwise it returns 0. A sample ends after 2^24-1
// products even before o.MinTime (see tagRounds).
func LayerRead(o Options, products []int) float64 {
	o = o.withDefaults()
	if len(products) == 0 {
		return 0
	}
	for _, n := range products {
		if n < o.Threads*readStep || n > o.Bytes {
			return 0
		}
	}
	buf := touched(o.Bytes)
	best := 0.0
	for range o.Repeats {
		best = max(best, layerRead(buf, products, o.Threads, o.MinTime))
	}
	return best
}

// stealPiece is the most bytes a thread reads per claim: small enough that
// the others can share out a late thread's rest, large enough that the
// claims cost nothing against the reads.
const stealPiece = 64 << 10

// A share is one thread's range of the current product, in pieces, with
// the round it belongs to, and the bytes that thread has read in all
// rounds so far; on a cache line of its own.
type share struct {
	// word is (round+1)<<40 | lo<<20 | hi, lo and hi in pieces of the
	// product: an owner claims at lo, a thief at hi. A word of an older
	// round stands for the thread's whole share of the current one.
	word atomic.Uint64
	done atomic.Int64
	_    [48]byte
}

const (
	pieceBits = 20
	pieceMask = 1<<pieceBits - 1
	// tagRounds is how many rounds the tag of a share's word can tell
	// apart: a sample stops after the last of them even before minTime,
	// because the next round's tag would wrap to 0, read as an older
	// round's, and every claim would restore the whole share, forever.
	// (The smallest products, one readStep at one thread, go round in
	// 45 ns here: 0.7 s.)
	tagRounds = 1<<(64-2*pieceBits) - 1
)

// maxRounds is tagRounds, lowered by a test to see the stop at it.
var maxRounds int64 = tagRounds

// layerTrace, set only by tests, sees every range of buf a thread reads in
// a round, and the round after which each thread stops, so that a test can
// check that every round reads each byte of its product exactly once and
// that all threads stop together.
var layerTrace struct {
	read func(t int, round int64, lo, hi int)
	stop func(t int, round int64)
}

// layerRead is one sample of LayerRead: rounds of one product each until
// minTime has passed, then the rate of the rounds' bytes over the time.
func layerRead(buf []byte, products []int, threads int, minTime time.Duration) float64 {
	shares := make([]share, threads)
	// stop is the last round. A thread that sees the time is up sets it
	// before it counts a piece as read, so it is set before any thread
	// sees the round complete, and every thread stops after the same one.
	// A thread reads the clock once a round, before its first piece: the
	// vDSO's clock waits for the loads in flight (its RDTSC is ordered),
	// and read after every 64 KiB piece that cost the probe 4% of the
	// rate in a high-bandwidth window (means of 81.9 against 78.8 GB/s
	// over 168 alternated samples of Qwen2.5-0.5B's Q4_0 layer at two
	// threads), which made decode's ceiling look lower than it is.
	var stop atomic.Int64
	stop.Store(-1)
	var total int64 // bytes of the rounds read, as thread 0 counts them
	trace, last := layerTrace, maxRounds-1
	start := time.Now()
	sec := timeThreads(threads, func(t int) {
		var v uint64
		off, target := 0, int64(0)
		for round := int64(0); ; round++ {
			n := products[round%int64(len(products))] &^ (readStep - 1)
			if off+n > len(buf) {
				off = 0
			}
			target += int64(n)
			clocked := false
			pieces := (n + stealPiece - 1) / stealPiece
			// Thread i's share is pieces [i·pieces/threads, (i+1)·pieces/threads).
			claim := func(i int, front bool) (lo, hi int, ok bool) {
				s := &shares[i].word
				for {
					w := s.Load()
					a, b := int(w>>pieceBits&pieceMask), int(w&pieceMask)
					switch tag := int64(w >> (2 * pieceBits)); {
					case tag > round+1:
						return 0, 0, false // the others have finished this round
					case tag < round+1:
						a, b = i*pieces/threads, (i+1)*pieces/threads
					}
					if a >= b {
						return 0, 0, false
					}
					p := a
					if front {
						a++
					} else {
						b--
						p = b
					}
					if s.CompareAndSwap(w, uint64(round+1)<<(2*pieceBits)|uint64(a)<<pieceBits|uint64(b)) {
						return off + p*stealPiece, off + min((p+1)*stealPiece, n), true
					}
				}
			}
			for k := range threads {
				i := (t + k) % threads
				for {
					lo, hi, ok := claim(i, k == 0)
					if !ok {
						break
					}
					if !clocked {
						clocked = true
						if round == last || time.Since(start) >= minTime {
							stop.Store(round)
						}
					}
					v ^= readSum(buf[lo:hi])
					if trace.read != nil {
						trace.read(t, round, lo, hi)
					}
					shares[t].done.Add(int64(hi - lo))
				}
			}
			// Wait for the pieces the others are still reading.
			var since time.Time
			for spins := 0; ; spins++ {
				var sum int64
				for i := range shares {
					sum += shares[i].done.Load()
				}
				if sum >= target {
					break
				}
				// A wait this long (the pool's spinFor) is for a thread
				// the OS took away, perhaps to run another process on
				// this core: yield, which hands a locked thread's core
				// back to the OS for a moment and costs it microseconds,
				// so only then.
				if spins&255 == 255 {
					if since.IsZero() {
						since = time.Now()
					} else if time.Since(since) > 100*time.Microsecond {
						runtime.Gosched()
					}
				}
			}
			off += n
			if stop.Load() == round {
				if t == 0 {
					total = target
				}
				if trace.stop != nil {
					trace.stop(t, round)
				}
				break
			}
		}
		sink.Lock()
		sink.v += v
		sink.Unlock()
	})
	return float64(total) / sec / 1e9
}
