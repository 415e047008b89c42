package gguf

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/pith-project/pith/kernels"
)

func sample(t testing.TB) []byte {
	w := NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.block_count", uint32(2))
	w.Set("llama.rope.freq_base", float32(500000))
	w.Set("tokenizer.ggml.tokens", []string{"a", "b", "c"})
	w.Set("tokenizer.ggml.token_type", []int32{1, 1, 3})
	w.Set("general.flag", true)
	w.Set("general.big", uint64(1<<40))
	if err := w.AddTensor("w1", kernels.F32, []uint64{4, 2}, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("w2", kernels.F16, []uint64{3}, []byte{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	f, err := Parse(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := f.String("general.architecture"); s != "llama" {
		t.Errorf("architecture %q", s)
	}
	if n, _ := f.Int("llama.block_count", 1000); n != 2 {
		t.Errorf("block_count %d", n)
	}
	if v, _ := f.Float("llama.rope.freq_base"); v != 500000 {
		t.Errorf("freq_base %v", v)
	}
	if v, _ := f.Strings("tokenizer.ggml.tokens"); !reflect.DeepEqual(v, []string{"a", "b", "c"}) {
		t.Errorf("tokens %v", v)
	}
	if v, _ := f.Int32s("tokenizer.ggml.token_type"); !reflect.DeepEqual(v, []int32{1, 1, 3}) {
		t.Errorf("token types %v", v)
	}
	if b, _ := f.Bool("general.flag"); !b {
		t.Error("flag")
	}
	ti, data, err := f.Tensor("w2")
	if err != nil || ti.Type != kernels.F16 || !bytes.Equal(data, []byte{1, 2, 3, 4, 5, 6}) {
		t.Errorf("w2: %+v %v %v", ti, data, err)
	}
	if ti.Offset%32 != 0 || f.DataStart%32 != 0 {
		t.Errorf("unaligned: offset %d, data start %d", ti.Offset, f.DataStart)
	}
	if _, err := f.Int("general.big", 1<<20); err == nil {
		t.Error("out-of-range integer accepted")
	}
	if _, err := f.String("llama.block_count"); err == nil || !strings.Contains(err.Error(), "not string") {
		t.Errorf("type mismatch error: %v", err)
	}
}

// Each corruption must be refused with an error that names what is wrong.
func TestCorruptFiles(t *testing.T) {
	good := sample(t)
	f, _ := Parse(good)
	// Offsets of fields in the first tensor info, found by searching the name.
	ti := bytes.Index(good, []byte("w1")) + 2
	dataStart := int(f.DataStart)
	tests := []struct {
		name string
		edit func(b []byte) []byte
		want string
	}{
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, "bad magic"},
		{"version", func(b []byte) []byte { b[4] = 9; return b }, "version 9"},
		{"truncated header", func(b []byte) []byte { return b[:20] }, "unexpected EOF"},
		{"truncated metadata", func(b []byte) []byte { return b[:60] }, "cannot fit"},
		{"truncated data", func(b []byte) []byte { return b[:dataStart+8] }, "data ends past the file"},
		{"huge tensor count", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[8:], 1<<40); return b }, "cannot fit"},
		{"huge kv count", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[16:], 1<<40); return b }, "cannot fit"},
		{"zero dims", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[ti:], 0); return b }, "0 dimensions"},
		{"unknown type", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[ti+4+16:], 77); return b }, "unknown tensor type 77"},
		{"misaligned", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[ti+4+16+4:], 4); return b }, "not aligned"},
		{"overlap", func(b []byte) []byte {
			// Point w2 at w1's data.
			j := bytes.Index(b, []byte("w2")) + 2
			binary.LittleEndian.PutUint64(b[j+4+8+4:], 0)
			return b
		}, "overlaps"},
	}
	for _, tt := range tests {
		b := tt.edit(bytes.Clone(good))
		_, err := Parse(b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		for _, ti := range g.Tensors {
			if _, d, err := g.Tensor(ti.Name); err != nil || uint64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, %v", ti.Name, len(d), err)
			}
		}
	})
}
