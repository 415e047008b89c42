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
// heads of 64) on each path at one thread, over an F16 cache and a
// float32 one: a 512-token prompt, and one token after 2048 positions. GFLOP/s counts the scores' and the values'
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
		kf, vf := randRow(r, len(kc)), randRow(r, len(vc))
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
			b.Run(c.name+"/f32cache/"+path, func(b *testing.B) {
				cpu0 := cpuSeconds()
				for b.Loop() {
					AttentionCausalF32(out, q, kf, vf, c.pos, c.nTok, heads, kvHeads, d, 0.125, sc)
				}
				reportGFLOPS(b, macs, cpu0)
			})
		}
	}
}

// attentionRefF32 is ggml's attention with a float32 cache in float64:
// nothing rounded to F16. It also returns, per output, the sum of
// |weight·value|, which bounds the rounding.
func attentionRefF32(q, kc, vc []float32, n, h, group, kvHeads, d int, scale float32) (out, mag []float64) {
	off, stride := (h/group)*d, kvHeads*d
	sc := make([]float64, n)
	mx := math.Inf(-1)
	for t := range n {
		var s float64
		for i := range d {
			s += float64(q[i]) * float64(kc[t*stride+off+i])
		}
		sc[t] = s * float64(scale)
		mx = max(mx, sc[t])
	}
	var sum float64
	for t := range sc {
		sc[t] = math.Exp(sc[t] - mx)
		sum += sc[t]
	}
	out, mag = make([]float64, d), make([]float64, d)
	for t := range n {
		w := sc[t] / sum
		for i := range d {
			v := w * float64(vc[t*stride+off+i])
			out[i] += v
			mag[i] += math.Abs(v)
		}
	}
	return out, mag
}

// AttentionCausalF32 matches the float64 reference with nothing rounded
// to F16 (so 1e-4, where F16's rounding would miss by more), and a batch
// its tokens one at a time bit for bit.
func TestAttentionCausalF32(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 29))
	checkAttention(t, r, 1e-4, func(sh attnShape, ctx int) (func(out, q []float32, pos, nTok int, sc []float32), func(q []float32, n, h int) ([]float64, []float64)) {
		heads, kvHeads, d := sh.heads, sh.kvHeads, sh.d
		kc, vc := randRow(r, ctx*kvHeads*d), randRow(r, ctx*kvHeads*d)
		run := func(out, q []float32, pos, nTok int, sc []float32) {
			AttentionCausalF32(out, q, kc, vc, pos, nTok, heads, kvHeads, d, 0.125, sc)
		}
		ref := func(q []float32, n, h int) ([]float64, []float64) {
			return attentionRefF32(q, kc, vc, n, h, heads/kvHeads, kvHeads, d, 0.125)
		}
		return run, ref
	})
}
