package kernels_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
)

// writeOneTensor writes a GGUF holding one llama FFN tensor of the given
// type: the least llama-quantize accepts as a model.
func writeOneTensor(t *testing.T, path string, typ kernels.Type, cols, rows int, data []byte) {
	t.Helper()
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.context_length", uint32(2048))
	w.Set("llama.embedding_length", uint32(cols))
	w.Set("llama.block_count", uint32(1))
	w.Set("llama.feed_forward_length", uint32(cols))
	w.Set("llama.attention.head_count", uint32(8))
	w.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	if err := w.AddTensor("blk.0.ffn_up.weight", typ, []uint64{uint64(cols), uint64(rows)}, data); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readOneTensor(t *testing.T, path string) (gguf.TensorInfo, []byte) {
	t.Helper()
	f, err := gguf.ReadFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	info, data, err := f.Tensor("blk.0.ffn_up.weight")
	if err != nil {
		t.Fatal(err)
	}
	return info, data
}

// The round trip through llama.cpp's own tools, both ways, for every type:
//   - llama-quantize turns an F32 tensor into the type; the bytes are ours,
//     and our dequantisation of them equals ggml's (the shim's);
//   - llama-quantize --allow-requantize turns our quantised file back into
//     F32 with ggml's dequantiser: the floats are ours.
func TestLlamaQuantizeRoundTrip(t *testing.T) {
	shim := kernels.NewGGMLShim(t)
	const cols, rows = 512, 16
	r := rand.New(rand.NewPCG(11, 12))
	src := make([]float32, cols*rows)
	for i := range src {
		src[i] = float32(r.NormFloat64()) * float32(math.Pow(10, float64(i/cols%4)-2))
	}
	for i := range cols { // an adversarial row: a spike over near-zeros
		src[5*cols+i] = 1e-6 * float32(i%7)
	}
	src[5*cols+100] = 40
	raw := make([]byte, 4*len(src))
	for i, v := range src {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	dir := t.TempDir()
	f32 := filepath.Join(dir, "f32.gguf")
	writeOneTensor(t, f32, kernels.F32, cols, rows, raw)
	tests := []struct {
		preset string
		typ    kernels.Type
	}{
		{"Q4_0", kernels.Q4_0}, {"Q4_1", kernels.Q4_1}, {"Q5_0", kernels.Q5_0}, {"Q5_1", kernels.Q5_1},
		{"Q8_0", kernels.Q8_0}, {"Q2_K", kernels.Q2_K}, {"Q3_K_S", kernels.Q3_K},
		{"Q4_K_S", kernels.Q4_K}, {"Q5_K_S", kernels.Q5_K}, {"Q6_K", kernels.Q6_K},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out := filepath.Join(dir, tt.preset+".gguf")
			if err := oracle.Quantize(ctx, f32, out, tt.preset); err != nil {
				t.Fatal(err)
			}
			info, theirs := readOneTensor(t, out)
			if info.Type != tt.typ {
				t.Fatalf("llama-quantize %s stored %v", tt.preset, info.Type)
			}
			rb, _ := tt.typ.RowBytes(cols)
			ours := make([]byte, rb*rows)
			for i := range rows {
				if err := kernels.QuantizeRow(tt.typ, ours[i*rb:(i+1)*rb], src[i*cols:(i+1)*cols]); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(ours, theirs) {
				t.Errorf("our %v bytes differ from llama-quantize's", tt.typ)
			}
			want := shim.Dequantize(t, tt.typ, cols, theirs)
			got := make([]float32, cols*rows)
			for i := range rows {
				if err := kernels.DequantizeRow(tt.typ, got[i*cols:(i+1)*cols], theirs[i*rb:(i+1)*rb]); err != nil {
					t.Fatal(err)
				}
			}
			for i := range got {
				if !kernels.SameFloat(got[i], want[i]) {
					t.Fatalf("element %d of llama-quantize's tensor: ours %v, ggml %v", i, got[i], want[i])
				}
			}

			// Our file, back to F32 by ggml.
			mine := filepath.Join(dir, "ours-"+tt.preset+".gguf")
			writeOneTensor(t, mine, tt.typ, cols, rows, ours)
			in, done, err := oracle.Stage(mine)
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			back := filepath.Join(filepath.Dir(in), "f32.gguf")
			if _, err := oracle.RunLlama(ctx, "llama-quantize", "--allow-requantize", in, back, "F32"); err != nil {
				t.Fatal(err)
			}
			info, data := readOneTensor(t, oracle.Outside(back))
			if info.Type != kernels.F32 {
				t.Fatalf("llama-quantize F32 stored %v", info.Type)
			}
			for i := range got {
				if v := math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])); !kernels.SameFloat(got[i], v) {
					t.Fatalf("element %d of our %v tensor: ggml reads %v, we read %v", i, tt.typ, v, got[i])
				}
			}
		})
	}
}
