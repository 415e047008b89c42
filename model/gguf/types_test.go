package gguf

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pith-project/pith/internal/hugemem"
	"github.com/pith-project/pith/kernels"
)

// allTypes holds one metadata value of every GGUF type, arrays of every
// element type (empty ones too) and arrays of arrays.
var allTypes = []KV{
	{Key: "t.u8", Value: uint8(200)},
	{Key: "t.i8", Value: int8(-100)},
	{Key: "t.u16", Value: uint16(60000)},
	{Key: "t.i16", Value: int16(-30000)},
	{Key: "t.u32", Value: uint32(4000000000)},
	{Key: "t.i32", Value: int32(-2000000000)},
	{Key: "t.f32", Value: float32(1.5)},
	{Key: "t.bool", Value: true},
	{Key: "t.str", Value: "héllo"},
	{Key: "t.u64", Value: uint64(1 << 63)},
	{Key: "t.i64", Value: int64(-1 << 62)},
	{Key: "t.f64", Value: math.Pi},
	{Key: "a.u8", Value: []uint8{1, 2}},
	{Key: "a.i8", Value: []int8{-1, 2}},
	{Key: "a.u16", Value: []uint16{1, 65535}},
	{Key: "a.i16", Value: []int16{-1, 2}},
	{Key: "a.u32", Value: []uint32{7}},
	{Key: "a.i32", Value: []int32{-7, 7}},
	{Key: "a.f32", Value: []float32{0.25, -2}},
	{Key: "a.bool", Value: []bool{true, false}},
	{Key: "a.str", Value: []string{"a", "", "ccc"}},
	{Key: "a.u64", Value: []uint64{1 << 40}},
	{Key: "a.i64", Value: []int64{-5}},
	{Key: "a.f64", Value: []float64{1e300}},
	{Key: "a.empty", Value: []int32{}},
	{Key: "a.nested", Value: []any{[]string{"x", "y"}, []uint8{}, []any{[]float32{3}}}},
}

func writeAll(t testing.TB, kvs []KV, tensors int) []byte {
	t.Helper()
	w := NewWriter()
	for _, kv := range kvs {
		w.Set(kv.Key, kv.Value)
	}
	for i := range tensors {
		data := make([]byte, 34*3)
		for j := range data {
			data[j] = byte(i + j)
		}
		if err := w.AddTensor("blk."+string(rune('a'+i))+".weight", kernels.Q8_0, []uint64{32, 3}, data); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestEveryValueTypeRoundTrips(t *testing.T) {
	f, err := Parse(writeAll(t, allTypes, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metadata) != len(allTypes) {
		t.Fatalf("%d entries, want %d", len(f.Metadata), len(allTypes))
	}
	for i, want := range allTypes {
		got := f.Metadata[i]
		if got.Key != want.Key || !reflect.DeepEqual(got.Value, want.Value) {
			t.Errorf("entry %d: got %s = %#v, want %s = %#v", i, got.Key, got.Value, want.Key, want.Value)
		}
	}
	if got, _ := f.Ints("a.u16"); !reflect.DeepEqual(got, []int64{1, 65535}) {
		t.Errorf("Ints(a.u16) = %v", got)
	}
	if got, _ := f.Floats("a.f32"); !reflect.DeepEqual(got, []float64{0.25, -2}) {
		t.Errorf("Floats(a.f32) = %v", got)
	}
	if v, err := f.Uint("t.u64"); err != nil || v != 1<<63 {
		t.Errorf("Uint(t.u64) = %d, %v", v, err)
	}
	for _, tc := range []struct {
		call func() error
		want string
	}{
		{func() error { _, err := f.Uint("t.i8"); return err }, `"t.i8" is negative`},
		{func() error { _, err := f.Uint("t.str"); return err }, `"t.str" is string, not an integer`},
		{func() error { _, err := f.Float("t.u8"); return err }, "not a float"},
		{func() error { _, err := f.Bool("t.u8"); return err }, "not bool"},
		{func() error { _, err := f.Strings("a.i32"); return err }, "array of int32, not a string array"},
		{func() error { _, err := f.Ints("a.str"); return err }, "not an integer array"},
		{func() error { _, err := f.Ints("a.nested"); return err }, "array of array"},
		{func() error { _, err := f.Floats("t.f32"); return err }, "not a float array"},
		{func() error { _, err := f.String("no.such"); return err }, `"no.such" is missing`},
		{func() error { _, _, err := f.Tensor("no.such"); return err }, `no tensor "no.such"`},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one containing %q", err, tc.want)
		}
	}
	ti, data, err := f.Tensor("blk.b.weight")
	if err != nil || ti.Elements() != 96 || ti.Rows() != 3 || len(data) != 102 || data[0] != 1 {
		t.Errorf("blk.b.weight: %+v, %d bytes, %v", ti, len(data), err)
	}
}

// The writer refuses what the reader would refuse, with the key or tensor
// in the message, and keeps the first error for WriteTo.
func TestWriterRefuses(t *testing.T) {
	tests := []struct {
		name  string
		build func(w *Writer)
		want  string
	}{
		{"unsupported value", func(w *Writer) { w.Set("k", struct{}{}) }, `"k": unsupported value`},
		{"int slice", func(w *Writer) { w.Set("k", []int{1}) }, "unsupported value of Go type []int"},
		{"duplicate key", func(w *Writer) { w.Set("k", "a"); w.Set("k", "b") }, `"k" set twice`},
		{"bad alignment", func(w *Writer) { w.Set("general.alignment", uint32(24)) }, "not a power of two"},
		{"alignment type", func(w *Writer) { w.Set("general.alignment", uint64(32)) }, "not a power of two"},
		{"mixed nesting", func(w *Writer) { w.Set("k", []any{"x"}) }, "array of arrays holds a string"},
		{"deep nesting", func(w *Writer) { w.Set("k", []any{[]any{[]any{[]any{[]int8{}}}}}) }, "nested more than"},
		{"long name", func(w *Writer) {
			w.AddTensor(strings.Repeat("x", 64), kernels.F32, []uint64{1}, make([]byte, 4))
		}, "name must be"},
		{"partial block", func(w *Writer) { w.AddTensor("q", kernels.Q4_0, []uint64{48}, make([]byte, 27)) }, `"q": kernels: Q4_0 row of 48`},
		{"wrong size", func(w *Writer) { w.AddTensor("q", kernels.F16, []uint64{4, 2}, make([]byte, 15)) }, "15 bytes of data"},
		{"unknown type", func(w *Writer) { w.AddTensor("q", kernels.Type(99), []uint64{4}, nil) }, "unknown tensor type 99"},
		{"duplicate tensor", func(w *Writer) {
			w.AddTensor("q", kernels.F32, []uint64{1}, make([]byte, 4))
			w.AddTensor("q", kernels.F32, []uint64{1}, make([]byte, 4))
		}, `"q" added twice`},
		{"five dims", func(w *Writer) { w.AddTensor("q", kernels.F32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)) }, "5 dimensions"},
	}
	for _, tt := range tests {
		w := NewWriter()
		tt.build(w)
		_, err := w.WriteTo(&bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestAlignment(t *testing.T) {
	w := NewWriter()
	w.Set("general.alignment", uint32(64))
	w.AddTensor("a", kernels.F32, []uint64{3}, make([]byte, 12))
	w.AddTensor("b", kernels.F32, []uint64{5}, make([]byte, 20))
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Alignment != 64 || f.DataStart%64 != 0 || f.Tensors[1].Offset != 64 {
		t.Errorf("alignment %d, data start %d, offset of b %d", f.Alignment, f.DataStart, f.Tensors[1].Offset)
	}
}

// The enclave path checks the digest of exactly the bytes it parses; the
// development path maps the file and must give the same view.
func TestReadFileAndMmap(t *testing.T) {
	data := writeAll(t, allTypes[:3], 2)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	f, err := ReadFile(path, good)
	if err != nil || f.SHA256 != sum {
		t.Fatalf("ReadFile with the right digest: %v", err)
	}
	bad := strings.Repeat("0", 64)
	if _, err := ReadFile(path, bad); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("wrong digest: %v", err)
	}
	if _, err := ReadFile(path, "xyz"); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("malformed digest: %v", err)
	}
	m, err := Mmap(path)
	if err != nil {
		t.Fatal(err)
	}
	_, a, _ := f.Tensor("blk.b.weight")
	_, b, _ := m.Tensor("blk.b.weight")
	if !bytes.Equal(a, b) {
		t.Error("mapped tensor differs")
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	empty := filepath.Join(t.TempDir(), "empty.gguf")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Mmap(empty); err == nil {
		t.Error("empty file mapped")
	}
}

// A model-sized file comes into memory whole and equal, advised for huge
// pages where the kernel offers them (decode streams it once per token).
func TestReadFileLargeOnHugePages(t *testing.T) {
	w := NewWriter()
	const rows = 1 << 19 // blocks of 32 Q8_0 weights, 34 bytes each: 17 MiB
	data := make([]byte, 34*rows)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := w.AddTensor("big.weight", kernels.Q8_0, []uint64{32 * 16, rows / 16}, data); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.gguf")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, b.Bytes()) {
		t.Fatal("ReadFile's bytes differ from the file's")
	}
	if !hugemem.Enabled() {
		t.Skip("this kernel gives no transparent huge pages on request")
	}
	st, err := hugemem.Stat(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	// The buffer starts on a huge page, and the file up to a cache line
	// into it (AlignData): the advised bytes are the file's in the
	// buffer's whole huge pages.
	skip := int64(addr(f.Data) & (hugemem.Size - 1))
	if whole := (skip+int64(len(f.Data)))&^(hugemem.Size-1) - skip; st.Advised != whole {
		t.Errorf("%d bytes of a %d-byte file advised for huge pages, want %d", st.Advised, len(f.Data), whole)
	}
}
