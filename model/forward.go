package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/kernels"
)

// layer holds one transformer block's weights, views into the model file.
type layer struct {
	attnNorm            []float32
	q, k, v, o          kernels.Matrix
	qBias, kBias, vBias []float32 // qwen2 only
	ffnNorm             []float32
	gate, up, down      kernels.Matrix
}

// State is one request's working memory: the KV cache and the activations
// of a batch of tokens. Everything in it comes from the caller's allocator,
// so the server's arena holds it and wipes it when the request ends.
type State struct {
	m      *Model
	ctx    int         // positions the cache holds
	batch  int         // tokens one forward step processes at most
	pos    int         // positions filled so far
	kCache [][]uint16  // per layer, positions × kvHeads·headDim, with CacheF16
	vCache [][]uint16  //
	kF32   [][]float32 // the same with CacheF32
	vF32   [][]float32 //

	x, xn    []float32       // residual stream and its normalised copy, batch × embd
	q, k, v  []float32       // batch × heads·headDim, batch × kvHeads·headDim (×2)
	att, tmp []float32       // attention output (batch × heads·headDim), projection out (batch × embd)
	gate, up []float32       // batch × ffn
	scores   []float32       // attention weights, heads × ctx
	logits   []float32       // vocab
	work     []byte          // quantised activations for the matrix kernels
	rounded  []float32       // activations rounded for F16/BF16 weights, batch × widest input
	history  []int32         // every token in the cache, for repeat penalties
	done     <-chan struct{} // ForwardContext's cancellation, checked between layers
}

// NewState prepares a request's working memory for up to ctx positions,
// processing prompts batch tokens at a time.
func (m *Model) NewState(alloc Allocator, ctx, batch int) *State {
	c := m.Config
	if batch < 1 {
		batch = 1
	}
	kvDim := c.KVHeads * c.HeadDim
	qDim := c.Heads * c.HeadDim
	s := &State{m: m, ctx: ctx, batch: batch}
	if m.Cache == CacheF32 {
		s.kF32, s.vF32 = make([][]float32, c.Layers), make([][]float32, c.Layers)
		for l := range c.Layers {
			s.kF32[l], s.vF32[l] = alloc.Float32s(ctx*kvDim), alloc.Float32s(ctx*kvDim)
		}
	} else {
		s.kCache, s.vCache = make([][]uint16, c.Layers), make([][]uint16, c.Layers)
		for l := range c.Layers {
			s.kCache[l], s.vCache[l] = alloc.Uint16s(ctx*kvDim), alloc.Uint16s(ctx*kvDim)
		}
	}
	s.x = alloc.Float32s(batch * c.Embd)
	s.xn = alloc.Float32s(batch * c.Embd)
	s.q = alloc.Float32s(batch * qDim)
	s.k = alloc.Float32s(batch * kvDim)
	s.v = alloc.Float32s(batch * kvDim)
	s.att = alloc.Float32s(batch * qDim)
	s.tmp = alloc.Float32s(batch * c.Embd)
	s.gate = alloc.Float32s(batch * c.FFN)
	s.up = alloc.Float32s(batch * c.FFN)
	s.scores = alloc.Float32s(kernels.AttentionScratch(ctx, c.Heads))
	s.logits = alloc.Float32s(c.Vocab)
	s.work = alloc.Bytes(m.workBytes(batch))
	if m.floatWeights() {
		s.rounded = alloc.Float32s(batch * max(c.Embd, c.FFN, qDim))
	}
	s.history = alloc.Int32s(ctx)
	return s
}

// StateBytes is the memory NewState(alloc, ctx, batch) takes from alloc,
// counting each allocation rounded up to a 64-byte cache line as the
// request arena aligns them, so that a server can size its arenas to what
// a request needs rather than to a guess (TestStateBytes holds it to
// NewState).
func (m *Model) StateBytes(ctx, batch int) int {
	c := m.Config
	batch = max(batch, 1)
	kvDim := c.KVHeads * c.HeadDim
	qDim := c.Heads * c.HeadDim
	n := 2 * c.Layers * line(m.Cache.Size()*ctx*kvDim)
	for _, floats := range []int{batch * c.Embd, batch * c.Embd, batch * qDim, batch * kvDim, batch * kvDim,
		batch * qDim, batch * c.Embd, batch * c.FFN, batch * c.FFN, kernels.AttentionScratch(ctx, c.Heads), c.Vocab} {
		n += line(4 * floats)
	}
	n += line(m.workBytes(batch))
	if m.floatWeights() {
		n += line(4 * batch * max(c.Embd, c.FFN, qDim))
	}
	return n + line(4*ctx)
}

// line rounds an allocation of n bytes up to the arena's alignment, as
// the request arena hands it out; StateBytes and GenerateBytes count with it.
func line(n int) int { return (n + arena.Align - 1) &^ (arena.Align - 1) }

// Pos is the number of positions already in the cache.
func (s *State) Pos() int { return s.pos }

// History is the tokens in the cache, oldest first.
func (s *State) History() []int32 { return s.history[:s.pos] }

// Forward runs tokens through the model at the next positions and returns
// the logits after the last one. The slice is reused by the next call.
func (s *State) Forward(tokens []int32) ([]float32, error) {
	return s.ForwardContext(context.Background(), tokens)
}

// ForwardContext is Forward that gives up, with ctx's error, between two
// layers once ctx is done: a long prompt's prefill takes seconds, and a
// cancelled request must stop promptly. After an error the State is
// unusable (some layers hold the new positions and some do not).
func (s *State) ForwardContext(ctx context.Context, tokens []int32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.done = ctx.Done()
	defer func() { s.done = nil }()
	logits, err := s.forward(tokens)
	if err == errCancelled {
		err = ctx.Err()
	}
	return logits, err
}

var errCancelled = errors.New("model: cancelled")

func (s *State) forward(tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errEmptyInput
	}
	if s.pos+len(tokens) > s.ctx {
		return nil, &ContextFullError{Context: s.ctx, Want: s.pos + len(tokens)}
	}
	for len(tokens) > 0 {
		n := min(len(tokens), s.batch)
		if err := s.step(tokens[:n]); err != nil {
			return nil, err
		}
		tokens = tokens[n:]
	}
	return s.logits, nil
}

// step is the transformer: n tokens at positions pos..pos+n-1, in place.
func (s *State) step(tokens []int32) error {
	m, c := s.m, s.m.Config
	n, E := len(tokens), c.Embd
	qDim, kvDim := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim

	for i, t := range tokens {
		if t < 0 || int(t) >= c.Vocab {
			return &TokenError{Token: t, Vocab: c.Vocab}
		}
		// A tied table is interleaved: its row comes from its group,
		// deinterleaved into the work buffer, free until the products.
		row, err := m.tokEmbd.Row(int(t), s.work)
		if err == nil {
			err = kernels.DequantizeRow(m.tokEmbd.Type, s.x[i*E:(i+1)*E], row)
		}
		if err != nil {
			return fmt.Errorf("model: embedding of token %d: %w", t, err)
		}
		s.history[s.pos+i] = t
	}

	x, xn := s.x[:n*E], s.xn[:n*E]
	for l := range m.layers {
		select {
		case <-s.done: // nil, so never ready, without ForwardContext
			return errCancelled
		default:
		}
		L := &m.layers[l]

		// Attention: normalise, project, rotate, remember, attend, project back.
		rmsNormRows(xn, x, L.attnNorm, c.NormEps, n)
		q, k, v := s.q[:n*qDim], s.k[:n*kvDim], s.v[:n*kvDim]
		s.matMuls(xn, n, product{q, L.q}, product{k, L.k}, product{v, L.v})
		addBiasRows(q, L.qBias, n)
		addBiasRows(k, L.kBias, n)
		addBiasRows(v, L.vBias, n)
		for i := range n {
			kernels.RoPE(q[i*qDim:(i+1)*qDim], c.Heads, m.rope, s.pos+i)
			kernels.RoPE(k[i*kvDim:(i+1)*kvDim], c.KVHeads, m.rope, s.pos+i)
		}
		att := s.att[:n*qDim]
		if s.kF32 != nil {
			copy(s.kF32[l][s.pos*kvDim:(s.pos+n)*kvDim], k)
			copy(s.vF32[l][s.pos*kvDim:(s.pos+n)*kvDim], v)
			kernels.AttentionCausalF32(att, q, s.kF32[l], s.vF32[l], s.pos, n, c.Heads, c.KVHeads, c.HeadDim, m.attnScale, s.scores)
		} else {
			kernels.F32ToF16Row(s.kCache[l][s.pos*kvDim:(s.pos+n)*kvDim], k)
			kernels.F32ToF16Row(s.vCache[l][s.pos*kvDim:(s.pos+n)*kvDim], v)
			// kernels rounds the query and the attention weights to F16,
			// as ggml's attention without flash attention does with an
			// F16 cache: on the synthetic models, whose attention is
			// sharp, leaving either in F32 moved log-probabilities by up
			// to 0.74 nats against llama.cpp (reference_test.go measures
			// both with and without).
			kernels.AttentionCausal(att, q, s.kCache[l], s.vCache[l], s.pos, n, c.Heads, c.KVHeads, c.HeadDim, m.attnScale, s.scores)
		}
		s.matMul(s.tmp[:n*E], L.o, att, n)
		kernels.Add(x, x, s.tmp[:n*E])

		// Feed-forward: SwiGLU.
		rmsNormRows(xn, x, L.ffnNorm, c.NormEps, n)
		gate, up := s.gate[:n*c.FFN], s.up[:n*c.FFN]
		s.matMuls(xn, n, product{gate, L.gate}, product{up, L.up})
		kernels.SwiGLU(gate, gate, up)
		s.matMul(s.tmp[:n*E], L.down, gate, n)
		kernels.Add(x, x, s.tmp[:n*E])
	}

	// Only the last token's logits are needed: generation continues from it.
	last := x[(n-1)*E : n*E]
	kernels.RMSNorm(s.xn[:E], last, m.outNorm, c.NormEps)
	s.matMul(s.logits, m.output, s.xn[:E], 1)
	s.pos += n
	return nil
}

// matMul is kernels.MatMul with ggml's rounding of the activations: ggml
// converts them to the weights' dot-product type, which for F16 and BF16
// weights is F16 and BF16 (kernels keeps F32, which is more accurate but
// moves log-probabilities by a few hundredths against llama.cpp).
// Quantised weights need nothing here: kernels already quantises to Q8_0
// as ggml does.
func (s *State) matMul(y []float32, w kernels.Matrix, x []float32, n int) {
	if w.Type == kernels.F16 || w.Type == kernels.BF16 {
		r := s.rounded[:n*w.Cols]
		if w.Type == kernels.F16 {
			kernels.RoundF16Row(r, x[:len(r)])
		} else {
			kernels.RoundBF16Row(r, x[:len(r)])
		}
		x = r
	}
	kernels.MatMul(y, w, x, n, s.work)
}

// product is one matrix product of matMuls: y = w·x.
type product struct {
	y []float32
	w kernels.Matrix
}

// matMuls runs products that share their input x. With quantised
// weights they go to the kernels as one group: decoding one token, one
// dispatch over all their rows (kernels.MatVecGroup); for a prompt, one
// conversion of the batch per run of matrices of one type
// (kernels.MatMulGroup). Otherwise one after the other through matMul.
func (s *State) matMuls(x []float32, n int, ps ...product) {
	quantised := true
	for _, p := range ps {
		quantised = quantised && p.w.Type != kernels.F16 && p.w.Type != kernels.BF16 && p.w.Type != kernels.F32
	}
	if !quantised || len(ps) > kernels.MaxGroup {
		for _, p := range ps {
			s.matMul(p.y, p.w, x, n)
		}
		return
	}
	var ys [kernels.MaxGroup][]float32
	var ws [kernels.MaxGroup]kernels.Matrix
	for i, p := range ps {
		ys[i], ws[i] = p.y, p.w
	}
	kernels.MatMulGroup(ys[:len(ps)], ws[:len(ps)], x, n, s.work)
}

// floatWeights reports whether any matrix is F16 or BF16 (see matMul).
func (m *Model) floatWeights() bool {
	float := func(w kernels.Matrix) bool { return w.Type == kernels.F16 || w.Type == kernels.BF16 }
	if float(m.output) {
		return true
	}
	for _, L := range m.layers {
		for _, w := range []kernels.Matrix{L.q, L.k, L.v, L.o, L.gate, L.up, L.down} {
			if float(w) {
				return true
			}
		}
	}
	return false
}

func rmsNormRows(dst, src, w []float32, eps float32, n int) {
	e := len(w)
	for i := range n {
		kernels.RMSNorm(dst[i*e:(i+1)*e], src[i*e:(i+1)*e], w, eps)
	}
}

func addBiasRows(x, bias []float32, n int) {
	if bias == nil {
		return
	}
	d := len(bias)
	for i := range n {
		kernels.Add(x[i*d:(i+1)*d], x[i*d:(i+1)*d], bias)
	}
}

// workBytes is the scratch the matrix kernels need for a batch: the
// largest activation row of any matrix, converted, times the batch; and
// at least a group of an interleaved (tied) embedding table's rows, which
// step deinterleaves there.
func (m *Model) workBytes(batch int) int {
	n := max(kernels.MatMulWork(m.output, 1), m.tokEmbd.RowScratch())
	for _, L := range m.layers {
		for _, w := range []kernels.Matrix{L.q, L.k, L.v, L.o, L.gate, L.up, L.down} {
			n = max(n, kernels.MatMulWork(w, batch))
		}
	}
	return n
}
