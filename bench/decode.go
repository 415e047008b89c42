package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/pith-project/pith/internal/hugemem"
	"github.com/pith-project/pith/kernels"
)

// LayerShape is the shape of one transformer layer's weight matrices, as
// the decode benchmark multiplies them: attention q and o (Hidden×Hidden),
// k and v (KV×Hidden), feed-forward gate and up (FFN×Hidden) and down
// (Hidden×FFN), as rows×columns.
type LayerShape struct {
	Hidden, KV, FFN int
}

// Qwen05B is Qwen2.5-0.5B's layer (24 of them make the model).
var Qwen05B = LayerShape{Hidden: 896, KV: 128, FFN: 4864}

// decodeStack is a stack of layers in one weight format, multiplied one
// matrix after the other as a decode step does. Its working set is far
// larger than the last-level cache (32 MiB here), so every weight comes from
// DRAM on every step, as in real decoding, and its rate is comparable with
// the streaming-read probe (256 MiB). A single matrix of a few tens of MiB
// is partly served from L3 and read "faster than memory" (shares of the
// probe above 100% were measured that way); and a model's matrices are far
// smaller than that, so per-call overhead and the split of a few hundred
// rows over the cores count too, which one big matrix hides.
type decodeStack struct {
	mats  []kernels.Matrix
	bytes int // weight bytes read per step
	// products are the weight bytes of one layer's products (layerGroups),
	// in order: what LayerProbe reads to give decode's ceiling.
	products []int
	x        []float32
	y        []float32
	work     []byte
}

// newDecodeStack builds enough layers of shape s in format t to hold at
// least minBytes of weights. Columns must be whole blocks: a K-quant's 256
// does not divide Qwen2.5-0.5B's 896 (llama-quantize then falls back to a
// legacy format for those tensors), so for such formats Hidden is rounded
// up to the next multiple of the block, as a model of that width would be.
// Quantising hundreds of MiB would take longer than measuring them, so 16
// random rows per row length are quantised and repeated: the kernels cannot
// tell, as no row is cached from one step to the next.
func newDecodeStack(t kernels.Type, s LayerShape, minBytes int, rng *rand.Rand) (*decodeStack, error) {
	bs := t.BlockSize()
	if bs <= 0 {
		return nil, fmt.Errorf("bench: %v has no block size", t)
	}
	h := (s.Hidden + bs - 1) / bs * bs
	if s.FFN%bs != 0 || s.KV <= 0 || h <= 0 {
		return nil, fmt.Errorf("bench: layer %+v does not fit %v's %d-element blocks", s, t, bs)
	}
	type shape struct{ rows, cols int }
	layer := []shape{{h, h}, {s.KV, h}, {s.KV, h}, {h, h}, {s.FFN, h}, {s.FFN, h}, {h, s.FFN}}
	rowSets := map[int][]byte{}
	layerBytes := 0
	for _, m := range layer {
		rb, err := t.RowBytes(m.cols)
		if err != nil {
			return nil, err
		}
		layerBytes += rb * m.rows
		if _, ok := rowSets[m.cols]; ok {
			continue
		}
		rows, err := randomRows(t, m.cols, rng)
		if err != nil {
			return nil, err
		}
		rowSets[m.cols] = rows
	}
	layers := max(1, (minBytes+layerBytes-1)/layerBytes)
	// One buffer on huge pages holds every matrix, as one file's bytes on
	// huge pages hold a model's (gguf.ReadFile): a stream of weights reads
	// faster than from 4 KiB pages (internal/hugemem).
	arena := hugemem.Make(layers * (layerBytes + 64*len(layer)))
	st := &decodeStack{}
	maxCols, maxRows, work := 0, 0, 0
	for range layers {
		for _, sh := range layer {
			rows := rowSets[sh.cols]
			data := carve(&arena, sh.rows*len(rows)/distinctRows)
			for off := 0; off < len(data); off += len(rows) {
				copy(data[off:], rows)
			}
			m := kernels.Matrix{Type: t, Rows: sh.rows, Cols: sh.cols, Data: data}
			if err := m.Check(); err != nil {
				return nil, err
			}
			st.mats = append(st.mats, m)
			st.bytes += len(data)
			maxCols, maxRows = max(maxCols, sh.cols), max(maxRows, sh.rows)
			work = max(work, kernels.MatMulWork(m, 1))
		}
	}
	for _, g := range layerGroups {
		n := 0
		for _, m := range st.mats[g[0]:g[1]] {
			n += len(m.Data)
		}
		st.products = append(st.products, n)
	}
	st.x = make([]float32, maxCols)
	for i := range st.x {
		st.x[i] = float32(rng.NormFloat64())
	}
	st.y = make([]float32, 2*maxRows+2*s.KV) // the largest group's outputs side by side
	st.work = make([]byte, work)
	return st, nil
}

// laidOut is the stack with its matrices as model.Load lays them out for
// the active kernel path (laidOut), sharing its other buffers.
func (st *decodeStack) laidOut() (*decodeStack, error) {
	mats, err := laidOutAll(st.mats)
	if err != nil {
		return nil, err
	}
	c := *st
	c.mats = mats
	return &c, nil
}

// step multiplies every matrix of the stack by the activations once,
// grouped as the model's decode groups them (kernels.MatVecGroup): q, k
// and v read the same input, so do gate and up.
func (st *decodeStack) step() {
	per := layerGroups[len(layerGroups)-1][1]
	for l := 0; l+per <= len(st.mats); l += per {
		for _, g := range layerGroups {
			mats := st.mats[l+g[0] : l+g[1]]
			ys := groupOutputs(st.y, mats, 1)
			kernels.MatVecGroup(ys[:len(mats)], mats, st.x, st.work)
		}
	}
}

// groupOutputs splits y into the outputs of a group's matrices for tokens
// tokens, side by side.
func groupOutputs(y []float32, mats []kernels.Matrix, tokens int) [kernels.MaxGroup][]float32 {
	var ys [kernels.MaxGroup][]float32
	off := 0
	for i, m := range mats {
		ys[i] = y[off : off+m.Rows*tokens]
		off += m.Rows * tokens
	}
	return ys
}

// layerGroups are the products of a layer's seven matrices (in
// newDecodeStack's order q, k, v, o, gate, up, down) that share an input,
// in order: the last group ends at the layer's end.
var layerGroups = [][2]int{{0, 3}, {3, 4}, {4, 6}, {6, 7}}

// distinctRows is how many different random rows testMatrices and
// newDecodeStack quantise per row length.
const distinctRows = 16

// randomRows quantises distinctRows random rows of cols elements into t.
func randomRows(t kernels.Type, cols int, rng *rand.Rand) ([]byte, error) {
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	rows := make([]byte, distinctRows*rb)
	src := make([]float32, cols)
	for i := range distinctRows {
		for j := range src {
			src[j] = float32(rng.NormFloat64() * 0.05)
		}
		if err := kernels.QuantizeRow(t, rows[i*rb:(i+1)*rb], src); err != nil {
			return nil, err
		}
	}
	return rows, nil
}
