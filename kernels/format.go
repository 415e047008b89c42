package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// formatFuncs is what the package knows how to do with one storage type.
// The portable functions below are the reference; a faster path may
// replace vecDot for a CPU, and must equal it (see the property tests).
//
//   - dequantize and quantize work on whole blocks: len(src) and len(dst)
//     are exact multiples of the block geometry.
//   - vecDot is the dot product of n elements of a weight row (this type)
//     with activations already converted to vecDotType.
type formatFuncs struct {
	dequantize func(dst []float32, src []byte)
	quantize   func(dst []byte, src []float32)
	vecDot     func(n int, w, x []byte) float32
	vecDotType Type
}

// portable holds every type the package stores. Q8_1 and Q8_K are
// activation formats only (ggml has no dot product with them as weights),
// so their vecDot is nil and funcs refuses them for computation.
var portable = [typeSlots]*formatFuncs{
	F32:  {dequantizeF32, quantizeF32, dotF32, F32},
	F16:  {dequantizeF16, quantizeF16, dotF16F32, F32},
	BF16: {dequantizeBF16, quantizeBF16, dotBF16F32, F32},
	Q8_0: {dequantizeQ8_0, quantizeQ8_0, dotQ8_0Q8_0, Q8_0},
	Q4_0: {dequantizeQ4_0, quantizeQ4_0, dotQ4_0Q8_0, Q8_0},
	Q4_1: {dequantizeQ4_1, quantizeQ4_1, dotQ4_1Q8_1, Q8_1},
	Q5_0: {dequantizeQ5_0, quantizeQ5_0, dotQ5_0Q8_0, Q8_0},
	Q5_1: {dequantizeQ5_1, quantizeQ5_1, dotQ5_1Q8_1, Q8_1},
	Q8_1: {dequantizeQ8_1, quantizeQ8_1, nil, Q8_1},
	Q2_K: {dequantizeQ2_K, quantizeQ2_K, dotQ2_KQ8_K, Q8_K},
	Q3_K: {dequantizeQ3_K, quantizeQ3_K, dotQ3_KQ8_K, Q8_K},
	Q4_K: {dequantizeQ4_K, quantizeQ4_K, dotQ4_KQ8_K, Q8_K},
	Q5_K: {dequantizeQ5_K, quantizeQ5_K, dotQ5_KQ8_K, Q8_K},
	Q6_K: {dequantizeQ6_K, quantizeQ6_K, dotQ6_KQ8_K, Q8_K},
	Q8_K: {dequantizeQ8_K, quantizeQ8_K, nil, Q8_K},
}

// portableFor is t's portable functions, or nil where t has none.
func portableFor(t Type) *formatFuncs {
	if t < typeSlots {
		return portable[t]
	}
	return nil
}

// funcs returns the functions of a type that can hold weights.
func funcs(t Type) (*formatFuncs, error) {
	f, err := codec(t)
	if err != nil {
		return nil, err
	}
	if f.vecDot == nil {
		return nil, fmt.Errorf("kernels: type %v holds activations only, not weights", t)
	}
	return f, nil
}

// codec returns the functions of any stored type, weights or activations.
func codec(t Type) (*formatFuncs, error) {
	f := portableFor(t)
	if f == nil {
		return nil, fmt.Errorf("kernels: type %v is not supported for computation", t)
	}
	return f, nil
}

// VecDotType is the type activations are converted to before a dot product
// with weights of type t, as ggml chooses it: Q8_0 for Q4_0, Q5_0 and Q8_0;
// Q8_1 (which also stores each block's sum) for Q4_1 and Q5_1; Q8_K for the
// K-quants; F32
// for float weights, where ggml would round activations to F16: keeping
// them in F32 is at least as accurate).
func (t Type) VecDotType() Type {
	if f := portableFor(t); f != nil {
		return f.vecDotType
	}
	return F32
}

// DequantizeRow converts len(dst) elements stored as type t in src.
func DequantizeRow(t Type, dst []float32, src []byte) error {
	f, err := codec(t)
	if err != nil {
		return err
	}
	n, err := t.RowBytes(len(dst))
	if err != nil {
		return err
	}
	if len(src) < n {
		return fmt.Errorf("kernels: %v row of %d elements needs %d bytes, have %d", t, len(dst), n, len(src))
	}
	f.dequantize(dst, src[:n])
	return nil
}

// QuantizeRow stores src as type t in dst with ggml's reference quantiser.
func QuantizeRow(t Type, dst []byte, src []float32) error {
	f, err := codec(t)
	if err != nil {
		return err
	}
	n, err := t.RowBytes(len(src))
	if err != nil {
		return err
	}
	if len(dst) < n {
		return fmt.Errorf("kernels: %v row of %d elements needs %d bytes, have %d", t, len(src), n, len(dst))
	}
	f.quantize(dst[:n], src)
	return nil
}

// DotRow is the reference dot product of n elements: a weight row of type t
// with activations x already stored as t.VecDotType().
func DotRow(t Type, w, x []byte, n int) (float32, error) {
	f, err := funcs(t)
	if err != nil {
		return 0, err
	}
	wn, err := t.RowBytes(n)
	if err != nil {
		return 0, err
	}
	xn, err := f.vecDotType.RowBytes(n)
	if err != nil {
		return 0, err
	}
	if len(w) < wn || len(x) < xn {
		return 0, fmt.Errorf("kernels: %v dot of %d elements: short buffers (%d, %d bytes)", t, n, len(w), len(x))
	}
	return f.vecDot(n, w, x), nil
}

func f16(b []byte) float32 { return F16ToF32(binary.LittleEndian.Uint16(b)) }

func putF16(b []byte, v float32) { binary.LittleEndian.PutUint16(b, F32ToF16(v)) }

// --- float types -----------------------------------------------------------

func dequantizeF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF32(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantizeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = f16(src[2*i:])
	}
}

func quantizeF16(dst []byte, src []float32) {
	for i, v := range src {
		putF16(dst[2*i:], v)
	}
}

func dequantizeBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

func quantizeBF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

func dotF32(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
	}
	return s
}

func dotF16F32(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += f16(w[2*i:]) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
	}
	return s
}

func dotBF16F32(n int, w, x []byte) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
	}
	return s
}

// --- Q8_0: fp16 scale d, 32 int8; x = d*q --------------------------------

func quantizeQ8_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*34 : (b+1)*34]
		var amax float32
		for _, v := range x {
			amax = cMax(amax, abs32(v))
		}
		d := amax / 127
		id := float32(0)
		if d != 0 {
			id = 1 / d
		}
		putF16(out, d)
		for j, v := range x {
			out[2+j] = byte(cToInt8(roundAway(float32(v * id))))
		}
	}
}

func dequantizeQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*34:]
		d := f16(blk)
		for j := 0; j < QK; j++ {
			dst[b*QK+j] = float32(int8(blk[2+j])) * d
		}
	}
}

func dotQ8_0Q8_0(n int, w, x []byte) float32 {
	var s float32
	for b := 0; b < n/QK; b++ {
		bw, bx := w[b*34:b*34+34], x[b*34:b*34+34]
		var acc int32
		for j := 2; j < 34; j++ {
			acc += int32(int8(bw[j])) * int32(int8(bx[j]))
		}
		// ggml_vec_dot_q8_0_q8_0_generic multiplies the two scales first.
		s += float32(float32(acc) * float32(f16(bw)*f16(bx)))
	}
	return s
}

// --- Q4_0: fp16 scale d, 16 bytes of nibbles; x = d*(q-8) -------------------
// Element j of a block is the low nibble of byte j, element j+16 the high.

func quantizeQ4_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*18 : (b+1)*18]
		var amax, vmax float32
		for _, v := range x {
			if abs32(v) > amax {
				amax, vmax = abs32(v), v
			}
		}
		d := vmax / -8
		id := float32(0)
		if d != 0 {
			id = 1 / d
		}
		putF16(out, d)
		for j := 0; j < QK/2; j++ {
			q0 := uint8(min(15, int(cToInt8(float32(x[j]*id)+8.5))))
			q1 := uint8(min(15, int(cToInt8(float32(x[j+QK/2]*id)+8.5))))
			out[2+j] = q0 | q1<<4
		}
	}
}

func dequantizeQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*18:]
		d := f16(blk)
		for j := 0; j < QK/2; j++ {
			dst[b*QK+j] = float32(int(blk[2+j]&0xf)-8) * d
			dst[b*QK+j+QK/2] = float32(int(blk[2+j]>>4)-8) * d
		}
	}
}

func dotQ4_0Q8_0(n int, w, x []byte) float32 {
	var s float32
	for b := 0; b < n/QK; b++ {
		bw, bx := w[b*18:b*18+18], x[b*34:b*34+34]
		var acc int32
		for j := 0; j < QK/2; j++ {
			q := bw[2+j]
			acc += (int32(q&0xf) - 8) * int32(int8(bx[2+j]))
			acc += (int32(q>>4) - 8) * int32(int8(bx[2+j+QK/2]))
		}
		s += float32(float32(float32(acc)*f16(bw)) * f16(bx))
	}
	return s
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundAway rounds half away from zero, as C's roundf.
func roundAway(v float32) float32 { return float32(math.Round(float64(v))) }
