package kernels

import (
	"math/rand/v2"
	"testing"
)

// The activation type of each weight type is ggml's (type_traits_cpu's
// vec_dot_type), and activation-only types are refused as weights.
func TestVecDotTypes(t *testing.T) {
	tests := []struct{ w, x Type }{
		{F32, F32}, {F16, F32}, {BF16, F32},
		{Q4_0, Q8_0}, {Q5_0, Q8_0}, {Q8_0, Q8_0}, {Q4_1, Q8_1}, {Q5_1, Q8_1},
		{Q2_K, Q8_K}, {Q3_K, Q8_K}, {Q4_K, Q8_K}, {Q5_K, Q8_K}, {Q6_K, Q8_K},
	}
	for _, tt := range tests {
		if got := tt.w.VecDotType(); got != tt.x {
			t.Errorf("%v.VecDotType() = %v, want %v", tt.w, got, tt.x)
		}
	}
	for _, typ := range []Type{Q8_1, Q8_K} {
		if _, err := DotRow(typ, make([]byte, typ.BlockBytes()), make([]byte, typ.BlockBytes()), typ.BlockSize()); err == nil {
			t.Errorf("%v accepted as a weight type", typ)
		}
		if err := (Matrix{Type: typ, Rows: 1, Cols: typ.BlockSize(), Data: make([]byte, typ.BlockBytes())}).Check(); err == nil {
			t.Errorf("%v matrix accepted", typ)
		}
	}
}

// The row functions allocate nothing: they run per row on the hot path.
func TestRowFunctionsDoNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 4 * QKK
	x := randRow(r, n)
	out := make([]float32, n)
	for i, f := range portable {
		if f == nil {
			continue
		}
		typ := Type(i)
		rb, _ := typ.RowBytes(n)
		q := make([]byte, rb)
		if a := testing.AllocsPerRun(5, func() { _ = QuantizeRow(typ, q, x) }); a != 0 {
			t.Errorf("QuantizeRow(%v): %v allocations", typ, a)
		}
		if a := testing.AllocsPerRun(5, func() { _ = DequantizeRow(typ, out, q) }); a != 0 {
			t.Errorf("DequantizeRow(%v): %v allocations", typ, a)
		}
		if f.vecDot == nil {
			continue
		}
		xb, _ := f.vecDotType.RowBytes(n)
		xq := make([]byte, xb)
		_ = QuantizeRow(f.vecDotType, xq, x)
		if a := testing.AllocsPerRun(5, func() { _, _ = DotRow(typ, q, xq, n) }); a != 0 {
			t.Errorf("DotRow(%v): %v allocations", typ, a)
		}
	}
}

// Portable row throughput per type, in weight bytes read (DotRow) or F32
// bytes read (QuantizeRow): the reference the fast paths are measured
// against. go test ./kernels -run '^$' -bench 'Row/' -benchtime 200ms
func BenchmarkRow(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 4864 // Qwen2.5-0.5B's FFN width: whole blocks of every type
	x := randRow(r, n)
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
		rb, _ := typ.RowBytes(n)
		q := make([]byte, rb)
		_ = QuantizeRow(typ, q, x)
		vt := typ.VecDotType()
		xb, _ := vt.RowBytes(n)
		xq := make([]byte, xb)
		_ = QuantizeRow(vt, xq, x)
		b.Run("Dot/"+typ.String(), func(b *testing.B) {
			b.SetBytes(int64(rb))
			for b.Loop() {
				_, _ = DotRow(typ, q, xq, n)
			}
		})
		b.Run("Quantize/"+typ.String(), func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				_ = QuantizeRow(typ, q, x)
			}
		})
	}
}
