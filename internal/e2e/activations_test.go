package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"testing"

	"github.com/pith-project/pith/arena"
	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/model"
)

// recorder is a heap allocator that keeps every float and uint16 buffer
// it hands out, so the test can read what a generation left in them.
type recorder struct {
	arena.Heap
	f32 [][]float32
	u16 [][]uint16
}

func (r *recorder) Float32s(n int) []float32 {
	b := make([]float32, n)
	r.f32 = append(r.f32, b)
	return b
}

func (r *recorder) Uint16s(n int) []uint16 {
	b := make([]uint16, n)
	r.u16 = append(r.u16, b)
	return b
}

// innerSpan is how many of a canary's tokens an activation needle covers:
// enough that no other text's values could match (each token's row is
// hundreds of bytes), few enough that the needle is the canary's alone.
const innerSpan = 4

// activationForms are the model's own forms of a canary, text, that a
// summary of msgs carries, as needles named after name: the canary
// tokens' values in the KV cache (the first layer's values, the last
// layer's keys, F16 as the cache holds them) and their residual stream
// after the last layer (float32, the rows of the prompt batches that
// decoding does not overwrite). They are worked out by running the same
// summary through the same model file on the same kernels here; the
// control run must find each of them, which shows that the server makes
// exactly these bytes.
func (s *served) activationForms(t *testing.T, name string, msgs []model.Message, maxWords int, text string) []memscan.Needle {
	t.Helper()
	m := s.model
	if m.Cache != model.CacheF16 {
		t.Fatalf("the test model's cache is %s; pith serve's default is f16", m.Cache)
	}
	rec := &recorder{}
	ids, opts, err := m.SummaryTokens(msgs, maxWords, rec)
	if err != nil {
		t.Fatal(err)
	}
	// As handleSummarize applies the server's limit.
	opts.NumCtx = min(opts.NumCtx, serveMaxContext)
	if _, err := m.Generate(context.Background(), ids, opts, rec, 0, func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(memscan.Int32LE(ids), memscan.Int32LE(s.canaryIDs(t, text)))
	if at < 0 || at%4 != 0 {
		t.Fatal("the summary prompt does not hold the canary's token ids")
	}
	// From the canary's third token: its first may join the text before.
	pos := at/4 + 2
	c := m.Config
	kvDim := c.KVHeads * c.HeadDim
	var cache [][]uint16
	for _, b := range rec.u16 {
		if len(b) == opts.NumCtx*kvDim {
			cache = append(cache, b)
		}
	}
	batch := min(len(ids), model.GenerateBatch)
	if len(cache) != 2*c.Layers || len(rec.f32) == 0 || len(rec.f32[0]) != batch*c.Embd {
		t.Fatalf("the generation's buffers are not those of model.NewState (%d cache buffers for %d layers): update this test", len(cache), c.Layers)
	}
	u16 := func(v []uint16) []byte {
		out := make([]byte, 0, 2*len(v))
		for _, x := range v {
			out = binary.LittleEndian.AppendUint16(out, x)
		}
		return out
	}
	f32 := func(v []float32) []byte {
		out := make([]byte, 0, 4*len(v))
		for _, x := range v {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		}
		return out
	}
	span := func(at, n int) (int, int) { return at * n, (at + innerSpan) * n }
	v0lo, v0hi := span(pos, kvDim)
	// The prompt goes through in batches that share one residual buffer,
	// and each decoding step writes its row 0: a row keeps the position
	// of the last batch that reached it.
	last := (len(ids) - 1) / batch * batch
	row := -1
	switch {
	case pos >= last:
		row = pos - last
	case pos >= last-batch:
		row = pos - (last - batch)
	}
	if row < 1 || pos < last && (row < len(ids)-last || row+innerSpan > batch) {
		t.Fatalf("the canary's residual rows (positions %d to %d of %d) are overwritten by later batches: move the canary", pos, pos+innerSpan, len(ids))
	}
	eLo, eHi := span(row, c.Embd)
	// Cache buffers come in layer order, keys then values.
	return []memscan.Needle{
		{Name: name + "'s first layer's cached values (f16)", Bytes: u16(cache[1][v0lo:v0hi])},
		{Name: name + "'s last layer's cached keys (f16)", Bytes: u16(cache[2*c.Layers-2][v0lo:v0hi])},
		{Name: name + "'s residual stream after the last layer (f32)", Bytes: f32(rec.f32[0][eLo:eHi])},
	}
}
