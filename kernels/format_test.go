package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestF16Conversion(t *testing.T) {
	// Every half value survives a round trip through float32.
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f { // NaN: payload kept, quiet bit may be set
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Fatalf("round trip of %#04x: %v -> %#04x", h, f, got)
		}
	}
	tests := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0},
		{5.960464477539063e-08, 0x0001}, {1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00}, // halfway between 0x3c00 and 0x3c01: to even
		{1.00146484375, 0x3c02}, // halfway between 0x3c01 and 0x3c02: to even
	}
	for _, tt := range tests {
		if got := F32ToF16(tt.f); got != tt.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", tt.f, got, tt.want)
		}
	}
}

func randRow(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// Round trips stay within the format's step, and DotRow agrees with a
// float64 dot of the dequantised rows.
func TestFormatsRoundTripAndDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		t      Type
		relErr float64 // max |x - deq(q(x))| / max|x| per block
	}{
		// Block formats: half a step, plus the F16 rounding of the scale; Q4_0's
		// largest positive values are clamped to 7 steps, a whole step off.
		{F32, 0}, {F16, 1e-3}, {BF16, 8e-3}, {Q8_0, 0.6 / 127}, {Q4_0, 1.1 / 8},
		// Offset formats: half a step of (max-min)/levels, plus the F16
		// rounding of the offset.
		{Q4_1, 1.1 / 15}, {Q5_0, 1.1 / 16}, {Q5_1, 1.1 / 31}, {Q8_1, 0.6 / 127},
		// K-quants, relative to the super-block's largest value: half a step
		// of a sub-block, whose scale is itself rounded to 6 or 8 bits.
		{Q2_K, 2.1 / 3}, {Q3_K, 2.1 / 4}, {Q4_K, 2.1 / 15}, {Q5_K, 2.1 / 31}, {Q6_K, 2.1 / 63}, {Q8_K, 1.1 / 127},
	}
	for _, tt := range tests {
		for _, n := range []int{256, 512, 4864} {
			x := randRow(r, n)
			rb, _ := tt.t.RowBytes(n)
			q := make([]byte, rb)
			if err := QuantizeRow(tt.t, q, x); err != nil {
				t.Fatal(err)
			}
			back := make([]float32, n)
			for i := range back {
				back[i] = float32(math.NaN())
			}
			if err := DequantizeRow(tt.t, back, q); err != nil {
				t.Fatal(err)
			}
			bs := max(32, tt.t.BlockSize()) // amax over the block a scale covers
			for b := 0; b < n; b += bs {
				var amax float64
				for _, v := range x[b : b+bs] {
					amax = max(amax, math.Abs(float64(v)))
				}
				for i := b; i < b+bs; i++ {
					if e := math.Abs(float64(x[i] - back[i])); e > tt.relErr*amax+1e-7 && tt.t != F16 && tt.t != BF16 || e > tt.relErr*math.Abs(float64(x[i]))+1e-7 && (tt.t == F16 || tt.t == BF16) {
						t.Fatalf("%v n=%d: element %d: %v -> %v", tt.t, n, i, x[i], back[i])
					}
				}
			}
			if _, err := funcs(tt.t); err != nil {
				continue // an activation type: no dot product of its own
			}
			// Dot with activations converted the way MatMul converts them.
			y := randRow(r, n)
			vt := tt.t.VecDotType()
			yb, _ := vt.RowBytes(n)
			yq := make([]byte, yb)
			QuantizeRow(vt, yq, y)
			yd := make([]float32, n)
			DequantizeRow(vt, yd, yq)
			var want float64
			for i := range back {
				want += float64(back[i]) * float64(yd[i])
			}
			got, err := DotRow(tt.t, q, yq, n)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(got)-want) > 1e-3*math.Sqrt(float64(n))*math.Max(1, math.Abs(want)/10) {
				t.Errorf("%v n=%d: DotRow %v, float64 reference %v", tt.t, n, got, want)
			}
		}
	}
}

func TestBadLengths(t *testing.T) {
	if err := DequantizeRow(Q4_0, make([]float32, 32), make([]byte, 17)); err == nil {
		t.Error("short Q4_0 source accepted")
	}
	if err := QuantizeRow(Q8_0, make([]byte, 34), make([]float32, 33)); err == nil {
		t.Error("partial block accepted")
	}
	if err := DequantizeRow(Type(16), make([]float32, 256), make([]byte, 84)); err == nil {
		t.Error("unsupported type accepted")
	}
}

func FuzzDequantize(f *testing.F) {
	f.Add(uint8(2), []byte{0, 0x3c, 1, 2, 3})
	for _, typ := range []Type{Q4_1, Q5_0, Q5_1, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K} {
		// One block of each type with NaN and Inf F16 scales and a full one.
		b := make([]byte, typ.BlockBytes())
		for i := range b {
			b[i] = byte(i*37 + 11)
		}
		f.Add(uint8(typ), b)
		inf := append([]byte{0x00, 0x7c, 0x01, 0x7e}, b[4:]...)
		f.Add(uint8(typ), append(inf, b...))
	}
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		tt := Type(typ)
		if portableFor(tt) == nil {
			return
		}
		n := len(data) / tt.BlockBytes() * tt.BlockSize()
		dst := make([]float32, n+tt.BlockSize()) // one block more than data holds
		if err := DequantizeRow(tt, dst, data); err == nil {
			t.Fatalf("%v: %d elements from %d bytes accepted", tt, len(dst), len(data))
		}
		if err := DequantizeRow(tt, dst[:n], data); err != nil {
			t.Fatalf("%v: %v", tt, err)
		}
		// The same bytes as weights against arbitrary activations (the
		// data reversed): any block content is a valid operand.
		if _, err := funcs(tt); err != nil || n == 0 {
			return
		}
		xt := tt.VecDotType()
		xb, _ := xt.RowBytes(n)
		x := make([]byte, xb)
		for i := range x {
			x[i] = data[len(data)-1-i%len(data)]
		}
		if _, err := DotRow(tt, data, x, n); err != nil {
			t.Fatalf("%v dot: %v", tt, err)
		}
		if _, err := DotRow(tt, data, x[:xb-1], n); err == nil {
			t.Fatalf("%v dot: short activations accepted", tt)
		}
	})
}
