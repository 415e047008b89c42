package bench

import (
	"math/rand/v2"

	"github.com/pith-project/pith/kernels"
)

// PrefillTypes are the formats the prefill test measures: the legacy and
// K-quant formats, which have matrix-matrix kernels; the float ones run
// the row-by-row dot products and are covered by the matrix-vector tests.
var PrefillTypes = map[string]bool{"Q8_0": true, "Q4_0": true, "Q4_1": true, "Q5_0": true, "Q5_1": true, "Q4_K": true, "Q5_K": true, "Q6_K": true}

// PrefillTokens is the batch of the prefill test, llama-bench's pp128.
const PrefillTokens = 128

// prefillLayer is one layer of a LayerShape multiplied by a batch of
// tokens, matrix after matrix, as a prompt's forward pass does. Its figure
// is arithmetic: 2·rows·cols·tokens per matrix, over the time of the whole
// MatMul, which includes quantising the activations (per call, as the
// model calls it) and repacking the weights.
type prefillLayer struct {
	mats   []kernels.Matrix
	tokens int
	flops  float64
	x, y   []float32
	work   []byte
}

// newPrefillLayer builds one layer of shape s in format t (K-quant columns
// rounded up as newDecodeStack does) and random activations for tokens.
func newPrefillLayer(t kernels.Type, s LayerShape, tokens int, rng *rand.Rand) (*prefillLayer, error) {
	st, err := newDecodeStack(t, s, 0, rng)
	if err != nil {
		return nil, err
	}
	p := &prefillLayer{mats: st.mats, tokens: tokens}
	maxCols, maxRows, work := 0, 0, 0
	for _, m := range p.mats {
		p.flops += 2 * float64(m.Rows) * float64(m.Cols) * float64(tokens)
		maxCols, maxRows = max(maxCols, m.Cols), max(maxRows, m.Rows)
		work = max(work, kernels.MatMulWork(m, tokens))
	}
	p.x = make([]float32, maxCols*tokens)
	for i := range p.x {
		p.x[i] = float32(rng.NormFloat64())
	}
	p.y = make([]float32, (2*maxRows+2*s.KV)*tokens) // the largest group's outputs side by side
	p.work = make([]byte, work)
	return p, nil
}

// laidOut is the layer with its matrices as model.Load lays them out for
// the active kernel path (laidOut), sharing its other buffers.
func (p *prefillLayer) laidOut() (*prefillLayer, error) {
	mats, err := laidOutAll(p.mats)
	if err != nil {
		return nil, err
	}
	c := *p
	c.mats = mats
	return &c, nil
}

// step multiplies every matrix of the layer by the batch once, grouped as
// the model's prompt groups them (kernels.MatMulGroup): q, k and v
// convert their shared input once, and so do gate and up.
func (p *prefillLayer) step() {
	for _, g := range layerGroups {
		mats := p.mats[g[0]:g[1]]
		ys := groupOutputs(p.y, mats, p.tokens)
		kernels.MatMulGroup(ys[:len(mats)], mats, p.x[:mats[0].Cols*p.tokens], p.tokens, p.work)
	}
}
