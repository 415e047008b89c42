package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The softmax's vector max and sum (attnKernels.max, .sum) equal Go's max
// exactly (NaN if any score is NaN, wherever it is) and a float64 sum in
// order to within the rounding of eight running sums.
func TestAttnMaxSum(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 31))
	for path, fk := range floats {
		a := fk.attn
		if a == nil {
			continue
		}
		if _, err := paths[path](); err != nil {
			continue
		}
		for _, n := range []int{8, 16, 24, 64, 200, 1000} {
			x := randRow(r, n)
			for i := range x {
				x[i] *= 40
			}
			x[r.IntN(n)] = float32(math.Inf(-1))
			want := float32(math.Inf(-1))
			var sum, mag float64
			for _, v := range x {
				want = max(want, v)
				if !math.IsInf(float64(v), 0) {
					sum += float64(v)
					mag += math.Abs(float64(v))
				}
			}
			if got := a.max(n, &x[0]); got != want {
				t.Errorf("%s: max of %d = %v, want %v", path, n, got, want)
			}
			y := make([]float32, n)
			for i, v := range x {
				if !math.IsInf(float64(v), 0) {
					y[i] = v
				}
			}
			if got := a.sum(n, &y[0]); !(math.Abs(got-sum) <= 0x1p-50*mag) {
				t.Errorf("%s: sum of %d = %v, want %v", path, n, got, sum)
			}
			for _, at := range []int{0, n / 2, n - 1} {
				x[at] = float32(math.NaN())
				if got := a.max(n, &x[0]); got == got {
					t.Errorf("%s: max of %d with a NaN at %d = %v", path, n, at, got)
				}
				x[at] = 1
			}
		}
	}
}

// BenchmarkAttention runs Qwen2.5-0.5B's attention (14 heads over 2 KV
// heads of 64) on each path at one thread: a 512-token prompt, and one
// token after 2048 positions. GFLOP/s counts the scores' and the values'
// multiply-adds the causal mask leaves.
func BenchmarkAttention(b *testing.B) {
	defer SetPath(Path())
	defer SetThreads(Threads())
	SetThreads(1)
	r := rand.New(rand.NewPCG(3, 4))
	const heads, kvHeads, d = 14, 2, 64
	for _, c := range []struct {
		name      string
		pos, nTok int
	}{{"prefill512", 0, 512}, {"decode@2048", 2047, 1}} {
		ctx := c.pos + c.nTok
		q := randRow(r, c.nTok*heads*d)
		kc := make([]uint16, ctx*kvHeads*d)
		vc := make([]uint16, ctx*kvHeads*d)
		F32ToF16Row(kc, randRow(r, len(kc)))
		F32ToF16Row(vc, randRow(r, len(vc)))
		out := make([]float32, len(q))
		sc := make([]float32, AttentionScratch(ctx, heads))
		macs := 0
		for i := range c.nTok {
			macs += 2 * heads * d * (c.pos + i + 1)
		}
		for _, path := range Paths() {
			if SetPath(path) != nil {
				continue
			}
			b.Run(c.name+"/"+path, func(b *testing.B) {
				cpu0 := cpuSeconds()
				for b.Loop() {
					AttentionCausal(out, q, kc, vc, c.pos, c.nTok, heads, kvHeads, d, 0.125, sc)
				}
				reportGFLOPS(b, macs, cpu0)
			})
		}
	}
}
