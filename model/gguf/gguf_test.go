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

// hostile builds a file from raw pieces for cases the writer refuses to make.
func hostile(version uint32, nTensors, nKV uint64, body ...[]byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = binary.LittleEndian.AppendUint64(b, nTensors)
	b = binary.LittleEndian.AppendUint64(b, nKV)
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func gstr(s string) []byte { return append(le64(uint64(len(s))), s...) }

func TestHostileHeaders(t *testing.T) {
	tensor := func(name string, dims []uint64, typ uint32, off uint64) []byte {
		b := append(gstr(name), le32(uint32(len(dims)))...)
		for _, d := range dims {
			b = append(b, le64(d)...)
		}
		return append(append(b, le32(typ)...), le64(off)...)
	}
	pad := make([]byte, 4096)
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"big-endian", hostile(3<<24, 0, 0), "big-endian"},
		{"v1", hostile(1, 0, 0), "version 1 is not supported"},
		{"huge key", hostile(3, 0, 1, le64(1<<62), pad), "string of 4611686018427387904 bytes"},
		{"huge string value", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeString)), le64(1<<60)), `metadata "k"`},
		{"huge array", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeArray)), le32(uint32(TypeUint64)), le64(1<<61), pad), "array of 2305843009213693952 uint64 cannot fit"},
		{"array of strings", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeArray)), le32(uint32(TypeString)), le64(600), pad), "cannot fit"},
		{"unknown value type", hostile(3, 0, 1, gstr("k"), le32(13), pad), `metadata "k": unknown value type 13`},
		{"unknown element type", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeArray)), le32(40), le64(1), pad), "array of unknown type 40"},
		{"bool 2", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeBool)), []byte{2}), "bool value 2"},
		{"deep arrays", hostile(3, 0, 1, gstr("k"), le32(uint32(TypeArray)),
			bytes.Repeat(append(le32(uint32(TypeArray)), le64(1)...), 6), pad), "nested more than 4 deep"},
		{"duplicate key", hostile(3, 0, 2, gstr("k"), le32(uint32(TypeUint8)), []byte{1}, gstr("k"), le32(uint32(TypeUint8)), []byte{1}), `"k" appears twice`},
		{"alignment type", hostile(3, 0, 1, gstr("general.alignment"), le32(uint32(TypeUint64)), le64(32)), `"general.alignment"`},
		{"alignment 0", hostile(3, 0, 1, gstr("general.alignment"), le32(uint32(TypeUint32)), le32(0)), "not a power of two"},
		{"dims overflow", hostile(3, 1, 0, tensor("blk.3.attn_q.weight", []uint64{1 << 32, 1 << 32, 1 << 32}, 0, 0), pad), `tensor 0 ("blk.3.attn_q.weight"): dimension 1`},
		{"zero dim", hostile(3, 1, 0, tensor("w", []uint64{4, 0}, 0, 0), pad), "dimension 1 = 0"},
		{"partial block", hostile(3, 1, 0, tensor("w", []uint64{48}, uint32(kernels.Q8_0), 0), pad), "not a whole number"},
		{"empty name", hostile(3, 1, 0, tensor("", []uint64{4}, 0, 0), pad), "name of 0 bytes"},
		{"past the file", hostile(3, 1, 0, tensor("blk.3.attn_q.weight", []uint64{4096, 4096}, 0, 0), pad),
			`gguf: tensor "blk.3.attn_q.weight": data ends past the file (offset`},
		{"offset overflow", hostile(3, 1, 0, tensor("w", []uint64{4}, 0, 1<<63+32), pad), "data ends past the file"},
		{"duplicate tensor", hostile(3, 2, 0, tensor("w", []uint64{4}, 0, 0), tensor("w", []uint64{4}, 0, 32), pad), `"w" appears twice`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.file)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// rewrite parses data and writes it back with Writer.
func rewrite(data []byte) ([]byte, error) {
	f, err := Parse(data)
	if err != nil {
		return nil, err
	}
	w := NewWriter()
	for _, kv := range f.Metadata {
		w.Set(kv.Key, kv.Value)
	}
	for _, ti := range f.Tensors {
		_, d, err := f.Tensor(ti.Name)
		if err != nil {
			return nil, err
		}
		w.AddTensor(ti.Name, ti.Type, ti.Dims, d)
	}
	var b bytes.Buffer
	_, err = w.WriteTo(&b)
	return b.Bytes(), err
}

// FuzzRead: any input either fails with an error or parses into a file
// whose tensors lie inside it and which the writer reproduces exactly
// (parse, write, parse, write gives the same bytes).
func FuzzRead(f *testing.F) {
	f.Add(sample(f))
	f.Add(writeAll(f, allTypes, 2))
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Add(hostile(2, 0, 1, gstr("k"), le32(uint32(TypeArray)), le32(uint32(TypeArray)), le64(1), le32(uint32(TypeString)), le64(1), gstr("x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "gguf: ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		for _, ti := range g.Tensors {
			if _, d, err := g.Tensor(ti.Name); err != nil || uint64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, %v", ti.Name, len(d), err)
			}
		}
		once, err := rewrite(data)
		if err != nil {
			t.Fatalf("writer refused a file the reader accepted: %v", err)
		}
		twice, err := rewrite(once)
		if err != nil {
			t.Fatalf("reader refused what the writer wrote: %v", err)
		}
		if !bytes.Equal(once, twice) {
			t.Fatal("parse and write is not stable")
		}
	})
}

func TestFileType(t *testing.T) {
	for _, tc := range []struct {
		value any // general.file_type, or nil for none
		want  string
	}{
		{uint32(15), "Q4_K_M"}, {uint32(2), "Q4_0"}, {uint32(32), "BF16"}, {uint32(99), ""}, {"q4_0", ""}, {nil, ""},
	} {
		w := NewWriter()
		w.Set("general.architecture", "llama")
		if tc.value != nil {
			w.Set("general.file_type", tc.value)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		f, err := Parse(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := f.FileType(); got != tc.want {
			t.Errorf("general.file_type %v: FileType() = %q, want %q", tc.value, got, tc.want)
		}
	}
}
