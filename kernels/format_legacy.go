package kernels

import (
	"encoding/binary"
	"math"
)

// The legacy 32-element formats beyond Q4_0 and Q8_0, exactly as ggml's
// ggml-quants.c stores and produces them (quantize_row_*_ref). Float
// expressions keep ggml's evaluation order and wrap each product that is
// added to something in float32(...), which in Go forbids fusing it into an
// FMA: the C reference is compiled without contraction, and bit-for-bit
// equality with it is what the oracle tests check.

// cMax and cMin are C's MAX/MIN macros: unlike Go's max and min, a NaN in
// the second operand loses to the first only if the comparison says so,
// which decides what ggml stores for rows holding NaN.
func cMax(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

// cToInt8 is C's (int8_t) conversion of a float as GCC emits it on amd64:
// CVTTSS2SI to 32 bits (0x80000000 for NaN and out-of-range values), then
// the low byte.
func cToInt8(v float32) int8 { return int8(cvtt(v)) }

// cvtt truncates like CVTTSS2SI: values outside int32 (and NaN) give the
// "integer indefinite" 0x80000000 rather than Go's implementation-defined
// result, so the quantisers stay identical to ggml's on every input.
func cvtt(v float32) int32 {
	if !(v > -2147483904 && v < 2147483648) { // NaN fails both
		return math.MinInt32
	}
	return int32(v)
}

// minMax is the block's range as ggml's Q4_1/Q5_1 quantisers take it:
// starting from ±FLT_MAX, so NaNs are skipped and an all-NaN block keeps
// the start values.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// --- Q4_1: F16 d, F16 m, 16 bytes of nibbles; x = d*q + m ---------------

func quantizeQ4_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*20 : (b+1)*20]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(out[0:], d)
		putF16(out[2:], lo)
		for j := 0; j < QK/2; j++ {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+QK/2] - lo) * id)
			q0 := uint8(min(15, int(cToInt8(x0+0.5))))
			q1 := uint8(min(15, int(cToInt8(x1+0.5))))
			out[4+j] = q0 | q1<<4
		}
	}
}

func dequantizeQ4_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*20 : b*20+20]
		d, m := f16(blk[0:]), f16(blk[2:])
		y := dst[b*QK : b*QK+QK]
		for j := 0; j < QK/2; j++ {
			q := blk[4+j]
			y[j] = float32(float32(q&0xf)*d) + m
			y[j+QK/2] = float32(float32(q>>4)*d) + m
		}
	}
}

// --- Q5_0: F16 d, 32 high bits, 16 bytes of nibbles; x = d*(q-16) --------

func quantizeQ5_0(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*22 : (b+1)*22]
		var amax, vmax float32
		for _, v := range x {
			if amax < abs32(v) {
				amax, vmax = abs32(v), v
			}
		}
		d := vmax / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(out, d)
		var qh uint32
		for j := 0; j < QK/2; j++ {
			q0 := uint8(min(31, int(cToInt8(float32(x[j]*id)+16.5))))
			q1 := uint8(min(31, int(cToInt8(float32(x[j+QK/2]*id)+16.5))))
			out[6+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0&0x10) >> 4 << j
			qh |= uint32(q1&0x10) >> 4 << (j + QK/2)
		}
		binary.LittleEndian.PutUint32(out[2:], qh)
	}
}

func dequantizeQ5_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*22 : b*22+22]
		d := f16(blk)
		qh := binary.LittleEndian.Uint32(blk[2:])
		y := dst[b*QK : b*QK+QK]
		for j := 0; j < QK/2; j++ {
			q := blk[6+j]
			h0 := int32(qh>>j<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			y[j] = float32((int32(q&0xf)|h0)-16) * d
			y[j+QK/2] = float32((int32(q>>4)|h1)-16) * d
		}
	}
}

// --- Q5_1: F16 d, F16 m, 32 high bits, 16 bytes of nibbles; x = d*q + m --

func quantizeQ5_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*24 : (b+1)*24]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(out[0:], d)
		putF16(out[2:], lo)
		var qh uint32
		for j := 0; j < QK/2; j++ {
			// ggml converts straight to uint8_t here, which GCC also does
			// through a 32-bit truncation.
			q0 := uint8(cvtt(float32((x[j]-lo)*id) + 0.5))
			q1 := uint8(cvtt(float32((x[j+QK/2]-lo)*id) + 0.5))
			out[8+j] = q0&0xf | (q1&0xf)<<4
			qh |= uint32(q0&0x10) >> 4 << j
			qh |= uint32(q1&0x10) >> 4 << (j + QK/2)
		}
		binary.LittleEndian.PutUint32(out[4:], qh)
	}
}

func dequantizeQ5_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*24 : b*24+24]
		d, m := f16(blk[0:]), f16(blk[2:])
		qh := binary.LittleEndian.Uint32(blk[4:])
		y := dst[b*QK : b*QK+QK]
		for j := 0; j < QK/2; j++ {
			q := blk[8+j]
			h0 := uint32(qh>>j<<4) & 0x10
			h1 := uint32(qh>>(j+12)) & 0x10
			y[j] = float32(float32(uint32(q&0xf)|h0)*d) + m
			y[j+QK/2] = float32(float32(uint32(q>>4)|h1)*d) + m
		}
	}
}

// --- Q8_1: F16 d, F16 s = d*sum(q), 32 int8; activations for Q4_1/Q5_1 ---
// The stored sum lets the dot product apply a weight block's offset m with
// one multiplication instead of 32.

func quantizeQ8_1(dst []byte, src []float32) {
	for b := 0; b < len(src)/QK; b++ {
		x := src[b*QK : (b+1)*QK]
		out := dst[b*36 : (b+1)*36]
		var amax float32
		for _, v := range x {
			amax = cMax(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putF16(out, d)
		var sum int32
		for j := 0; j < QK; j++ {
			q := cToInt8(roundAway(float32(x[j] * id)))
			out[4+j] = byte(q)
			sum += int32(q)
		}
		putF16(out[2:], float32(sum)*d)
	}
}

func dequantizeQ8_1(dst []float32, src []byte) {
	for b := 0; b < len(dst)/QK; b++ {
		blk := src[b*36 : b*36+36]
		d := f16(blk)
		for j := 0; j < QK; j++ {
			dst[b*QK+j] = float32(int8(blk[4+j])) * d
		}
	}
}

// --- dot products, in the order of ggml's *_generic reference --------------

func dotQ4_1Q8_1(n int, w, x []byte) float32 {
	var s float32
	for b := 0; b < n/QK; b++ {
		bw, bx := w[b*20:b*20+20], x[b*36:b*36+36]
		var acc int32
		for j := 0; j < QK/2; j++ {
			q := bw[4+j]
			acc += int32(q&0xf) * int32(int8(bx[4+j]))
			acc += int32(q>>4) * int32(int8(bx[4+j+QK/2]))
		}
		dd := float32(f16(bw) * f16(bx))
		s += float32(float32(dd*float32(acc)) + float32(f16(bw[2:])*f16(bx[2:])))
	}
	return s
}

func dotQ5_0Q8_0(n int, w, x []byte) float32 {
	var s float32
	for b := 0; b < n/QK; b++ {
		bw, bx := w[b*22:b*22+22], x[b*34:b*34+34]
		qh := binary.LittleEndian.Uint32(bw[2:])
		var acc int32
		for j := 0; j < QK/2; j++ {
			q := bw[6+j]
			h0 := int32(qh>>j<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			acc += ((int32(q&0xf) | h0) - 16) * int32(int8(bx[2+j]))
			acc += ((int32(q>>4) | h1) - 16) * int32(int8(bx[2+j+QK/2]))
		}
		s += float32(float32(f16(bw)*f16(bx)) * float32(acc))
	}
	return s
}

func dotQ5_1Q8_1(n int, w, x []byte) float32 {
	var s float32
	for b := 0; b < n/QK; b++ {
		bw, bx := w[b*24:b*24+24], x[b*36:b*36+36]
		qh := binary.LittleEndian.Uint32(bw[4:])
		var acc int32
		for j := 0; j < QK/2; j++ {
			q := bw[8+j]
			h0 := int32(qh>>j<<4) & 0x10
			h1 := int32(qh>>(j+12)) & 0x10
			acc += (int32(q&0xf) | h0) * int32(int8(bx[4+j]))
			acc += (int32(q>>4) | h1) * int32(int8(bx[4+j+QK/2]))
		}
		dd := float32(f16(bw) * f16(bx))
		s += float32(float32(dd*float32(acc)) + float32(f16(bw[2:])*f16(bx[2:])))
	}
	return s
}
