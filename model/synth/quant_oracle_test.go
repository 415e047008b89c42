package synth

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
)

// sameAsLlamaQuantize checks every tensor of q, a file llama-quantize made
// from orig (all F32), against package kernels: without an importance
// matrix llama-quantize runs ggml's quantize_row_*_ref, so our quantiser
// must give the same bytes from the same rows. (That our dequantisers read
// those bytes as ggml does is kernels' TestAgainstGGML.) It returns how many
// tensors of each type it compared.
func sameAsLlamaQuantize(t *testing.T, orig, q *gguf.File) map[kernels.Type]int {
	t.Helper()
	counts := map[kernels.Type]int{}
	for _, qi := range q.Tensors {
		_, qdata, err := q.Tensor(qi.Name)
		if err != nil {
			t.Fatal(err)
		}
		oi, odata, err := orig.Tensor(qi.Name)
		if err != nil {
			t.Fatal(err)
		}
		if oi.Type != kernels.F32 {
			t.Fatalf("%s: source tensor is %v, want F32", qi.Name, oi.Type)
		}
		counts[qi.Type]++
		n := int(qi.Dims[0])
		rb, err := qi.Type.RowBytes(n)
		if err != nil {
			t.Fatalf("%s: %v", qi.Name, err)
		}
		src := make([]float32, n)
		dst := make([]byte, rb)
		for r := range qi.Rows() {
			for i := range src {
				src[i] = math.Float32frombits(binary.LittleEndian.Uint32(odata[4*(r*n+i):]))
			}
			if err := kernels.QuantizeRow(qi.Type, dst, src); err != nil {
				t.Fatalf("%s: %v", qi.Name, err)
			}
			if want := qdata[r*rb : (r+1)*rb]; !bytes.Equal(dst, want) {
				j := 0
				for dst[j] == want[j] {
					j++
				}
				t.Errorf("%s (%v) row %d: byte %d is %#02x, llama-quantize wrote %#02x", qi.Name, qi.Type, r, j, dst[j], want[j])
				break
			}
		}
	}
	return counts
}

// llama-quantize's presets beyond synth's --type choices (the legacy
// formats with offsets, the _S K-quant mixes) also produce exactly our
// bytes, tensor by tensor.
func TestQuantizersMatchLlamaQuantize(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	dir := t.TempDir()
	src := filepath.Join(dir, "f32.gguf")
	writeFile(t, src, mixShape, Options{Type: "f32", Builtin: true, Seed: 2})
	orig, err := gguf.ReadFile(src, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[kernels.Type]int{}
	for _, preset := range []string{"Q4_1", "Q5_0", "Q5_1", "Q4_K_S", "Q5_K_S"} {
		t.Run(preset, func(t *testing.T) {
			out := filepath.Join(dir, preset+".gguf")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := oracle.Quantize(ctx, src, out, preset); err != nil {
				t.Fatal(err)
			}
			q, err := gguf.ReadFile(out, "")
			if err != nil {
				t.Fatal(err)
			}
			for typ, c := range sameAsLlamaQuantize(t, orig, q) {
				seen[typ] += c
			}
		})
	}
	t.Logf("tensors compared by type: %v", seen)
	for _, typ := range []kernels.Type{kernels.Q4_1, kernels.Q5_0, kernels.Q5_1, kernels.Q4_K, kernels.Q5_K, kernels.Q8_0} {
		if seen[typ] == 0 {
			t.Errorf("no %v tensor compared", typ)
		}
	}
}

// qwenMixShape has Qwen2.5-0.5B's width (896, not a multiple of 256), head
// layout, biases, tying and 24 layers, so llama-quantize's per-tensor
// choices are those of the real model; only the FFN width (a multiple of
// 256, as 4864 is) and the vocabulary (SmolLM2's built-in stand-in, whose
// special tokens fit in 1024 ids) are cut to keep the file small.
func qwenMixShape() Shape {
	s, _ := Lookup("qwen2.5-0.5b")
	s.FFN, s.Vocab, s.Context, s.Family = 512, 1024, 2048, "smollm"
	return s
}

// For the Qwen2.5-0.5B layout, every --type's per-tensor types equal
// llama-quantize's (the Q5_0/Q8_0 fallbacks of 896-wide rows included), and
// every quantised tensor has the bytes llama-quantize wrote.
func TestQwenMixMatchesLlamaQuantize(t *testing.T) {
	oracle.Require(t, oracle.Llama)
	if testing.Short() {
		t.Skip("a 300 MB F32 file quantised five times; runs without -short")
	}
	s := qwenMixShape()
	dir := t.TempDir()
	src := filepath.Join(dir, "f32.gguf")
	writeFile(t, src, s, Options{Type: "f32", Builtin: true, Seed: 4})
	orig, err := gguf.ReadFile(src, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ft := range fileTypes[2:] { // the quantised ones
		t.Run(ft.Name, func(t *testing.T) {
			out := filepath.Join(dir, ft.Name+".gguf")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := oracle.Quantize(ctx, src, out, llamaPreset(ft)); err != nil {
				t.Fatal(err)
			}
			q, err := gguf.ReadFile(out, "")
			if err != nil {
				t.Fatal(err)
			}
			plan := Plan(s, ft)
			for _, p := range plan {
				got, _, err := q.Tensor(p.Name)
				if err != nil {
					t.Fatal(err)
				}
				if got.Type != p.Type {
					t.Errorf("%s: llama-quantize %v, plan %v", p.Name, got.Type, p.Type)
				}
			}
			t.Logf("%s: %v", ft.Name, sameAsLlamaQuantize(t, orig, q))
		})
	}
}

// llamaPreset is llama-quantize's name for a --type.
func llamaPreset(ft FileType) string {
	p := map[string]string{"f16": "F16", "q4_0": "Q4_0", "q4_1": "Q4_1", "q8_0": "Q8_0", "q4_k_m": "Q4_K_M", "q5_k_m": "Q5_K_M", "q6_k": "Q6_K"}[ft.Name]
	if p == "" {
		panic(fmt.Sprintf("no llama-quantize preset for --type %s", ft.Name))
	}
	return p
}
