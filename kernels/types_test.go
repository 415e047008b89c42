package kernels

import "testing"

// Block sizes as ggml's ggml-common.h static_asserts them.
func TestBlockBytesMatchGGML(t *testing.T) {
	want := map[Type]int{Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24, Q8_0: 34, Q8_1: 36,
		Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210, Q8_K: 292, F16: 2, BF16: 2, F32: 4}
	for typ, n := range want {
		if got := typ.BlockBytes(); got != n {
			t.Errorf("%v: %d bytes per block, ggml has %d", typ, got, n)
		}
	}
}

func TestRowBytes(t *testing.T) {
	tests := []struct {
		t       Type
		n, want int
		err     bool
	}{
		{Q4_0, 896, 896 / 32 * 18, false},
		{Q4_K, 896, 0, true},
		{Q4_K, 4864, 4864 / 256 * 144, false},
		{F16, 7, 14, false},
		{Type(99), 32, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.t.RowBytes(tt.n)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("%v.RowBytes(%d) = %d, %v; want %d, err=%v", tt.t, tt.n, got, err, tt.want, tt.err)
		}
	}
	if typ, err := ParseType("q4_k"); err != nil || typ != Q4_K {
		t.Errorf("ParseType(q4_k) = %v, %v", typ, err)
	}
}
