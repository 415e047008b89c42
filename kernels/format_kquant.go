package kernels

import (
	"encoding/binary"
	"math"
)

// The K-quants: 256-element super-blocks split into sub-blocks, each with a
// 6-bit (Q4_K, Q5_K) or 8-bit (Q6_K) scale relative to the super-block's F16
// scale. Layouts are ggml-common.h's block_q4_K, block_q5_K, block_q6_K and
// block_q8_K; the quantisers are ggml's quantize_row_*_ref (what
// llama-quantize runs when it has no importance matrix), kept in ggml's
// evaluation order so the output is the same bit for bit. As in
// format_legacy.go, float32(...) around a product stops Go from fusing it
// into an FMA that the C reference does not do.

const (
	q4KBytes = 144 // d, dmin, scales[12], qs[128]
	q5KBytes = 176 // d, dmin, scales[12], qh[32], qs[128]
	q6KBytes = 210 // ql[128], qh[64], scales[16], d
	q8KBytes = 292 // f32 d, qs[256], bsums[16] int16
)

// nearestInt is ggml's nearest_int: adding 1.5*2^23 leaves the rounded
// (half to even) integer in the low mantissa bits. It is exact for
// |v| < 2^22; beyond that ggml only asserts in debug builds, so the same bit
// trick keeps even nonsense inputs identical to ggml's output.
func nearestInt(v float32) int32 {
	f := v + 12582912
	return int32(math.Float32bits(f)&0x007fffff) - 0x00400000
}

func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }

func f32le(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

func putF32le(b []byte, v float32) { binary.LittleEndian.PutUint32(b, math.Float32bits(v)) }

// getScaleMinK4 unpacks sub-block j's 6-bit scale and min from the 12-byte
// packing of Q4_K and Q5_K: the first four pairs sit in the low six bits of
// bytes 0-7, the last four in nibbles of bytes 8-11 with their top two bits
// in the spare bits of bytes 0-7.
func getScaleMinK4(j int, q []byte) (d, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// scalesMinsK4 unpacks all eight pairs at once.
func scalesMinsK4(q []byte) (sc, mn [8]uint8) {
	for j := range 8 {
		sc[j], mn[j] = getScaleMinK4(j, q)
	}
	return
}

// makeQKX2 is ggml's make_qkx2_quants: fit x ≈ scale*L - theMin with L in
// [0, nmax] by trying nstep+1 scales around nmax/(max-min) and keeping the
// least weighted error (squared unless useMad).
func makeQKX2(nmax int32, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	n := len(x)
	// Equal lengths up front let the compiler drop the bounds checks in
	// the loops below, which run nstep+2 times per sub-block.
	weights, L, Laux = weights[:n], L[:n], Laux[:n]
	lo, hi := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		clear(L)
		return 0, -lo
	}
	iscale := float32(nmax) / (hi - lo)
	scale = 1 / iscale
	var bestErr float32
	for i, v := range x {
		l := nearestInt(float32(iscale * (v - lo)))
		L[i] = uint8(max(0, min(nmax, l)))
		diff := float32(scale*float32(L[i])) + lo - v
		if useMad {
			diff = abs32(diff)
		} else {
			diff = float32(diff * diff)
		}
		bestErr += float32(weights[i] * diff)
	}
	if nstep < 1 {
		return scale, -lo
	}
	for is := 0; is <= nstep; is++ {
		iscale = (rmin + float32(rdelta*float32(is)) + float32(nmax)) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := max(0, min(nmax, nearestInt(float32(iscale*(v-lo)))))
			Laux[i] = uint8(l)
			fl := float32(l)
			wl := float32(weights[i] * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if !(D > 0) {
			continue
		}
		thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
		thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
		if thisMin > 0 {
			thisMin = 0
			thisScale = sumXL / sumL2
		}
		var cur float32
		for i, v := range x {
			diff := float32(thisScale*float32(Laux[i])) + thisMin - v
			if useMad {
				diff = abs32(diff)
			} else {
				diff = float32(diff * diff)
			}
			cur += float32(weights[i] * diff)
		}
		if cur < bestErr {
			copy(L, Laux)
			bestErr = cur
			scale, lo = thisScale, thisMin
		}
	}
	return scale, -lo
}

// makeQX is ggml's make_qx_quants with rmse_type 1 and no importance
// weights (what quantize_row_q6_K_ref uses): a symmetric fit x ≈ scale*(L-nmax)
// weighted by x², trying 18 scales around nmax/max.
func makeQX(nmax int32, x []float32, L []int8) float32 {
	var vmax, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, vmax = ax, v
		}
	}
	if amax < 1e-15 { // GROUP_MAX_EPS: an all-zero group
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / vmax
	var sumlx, suml2 float32
	for i, v := range x {
		l := max(-nmax, min(nmax-1, nearestInt(float32(iscale*v))))
		L[i] = int8(l + nmax)
		w, fl := float32(v*v), float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / vmax
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := max(-nmax, min(nmax-1, nearestInt(float32(iscale*v))))
			w, fl := float32(v*v), float32(l)
			sumlx += float32(float32(w*v) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				l := nearestInt(float32(iscale * v))
				L[i] = int8(nmax + max(-nmax, min(nmax-1, l)))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// quantizeKx2 is the part Q4_K and Q5_K share: per 32-element sub-block a
// make_qkx2 fit, then 6-bit scales and mins relative to the largest, then
// the levels recomputed against the rounded scales. It fills y's d, dmin and
// scales and returns the levels in L.
func quantizeKx2(y []byte, x []float32, L *[QKK]uint8, nmax int32, rmin, rdelta float32, nstep int) {
	var (
		laux    [32]uint8
		weights [32]float32
		scales  [8]float32
		mins    [8]float32
	)
	var maxScale, maxMin float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	sc := y[4:16]
	for j := range 8 {
		ls := min(63, uint8(nearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(nearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			sc[j], sc[j+4] = ls, lm
		} else {
			sc[j+4] = ls&0xf | (lm&0xf)<<4
			sc[j-4] |= (ls >> 4) << 6
			sc[j] |= (lm >> 4) << 6
		}
	}
	putF16(y[0:], maxScale/63)
	putF16(y[2:], maxMin/63)
	d0, m0 := f16(y[0:]), f16(y[2:])
	for j := range 8 {
		s, m := getScaleMinK4(j, sc)
		d := float32(d0 * float32(s))
		if d == 0 {
			continue // keep the make_qkx2 levels, as ggml does
		}
		dm := float32(m0 * float32(m))
		for ii := range 32 {
			l := nearestInt((x[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(max(0, min(nmax, l)))
		}
	}
}

// --- Q4_K: x = d*sc*q - dmin*m, q in 0..15 ----------------------------------
// In each 64-element chunk, elements 0-31 are the low nibbles of 32 bytes
// and elements 32-63 the high nibbles.

func quantizeQ4_K(dst []byte, src []float32) {
	var L [QKK]uint8
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q4KBytes : (b+1)*q4KBytes]
		quantizeKx2(y, x, &L, 15, -1, 0.1, 20)
		q := y[16:]
		for j := 0; j < QKK; j += 64 {
			for l := range 32 {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

func dequantizeQ4_K(dst []float32, src []byte) {
	for b := range len(dst) / QKK {
		blk := src[b*q4KBytes : (b+1)*q4KBytes]
		y := dst[b*QKK : (b+1)*QKK]
		d, dmin := f16(blk[0:]), f16(blk[2:])
		sc, mn := scalesMinsK4(blk[4:16])
		q := blk[16:]
		for c := range 4 {
			d1, m1 := d*float32(sc[2*c]), dmin*float32(mn[2*c])
			d2, m2 := d*float32(sc[2*c+1]), dmin*float32(mn[2*c+1])
			for l := range 32 {
				y[64*c+l] = float32(d1*float32(q[32*c+l]&0xf)) - m1
				y[64*c+32+l] = float32(d2*float32(q[32*c+l]>>4)) - m2
			}
		}
	}
}

// --- Q5_K: as Q4_K with a fifth bit per element in qh -----------------------
// Chunk c of 64 takes bit 2c of qh[l] for element l and bit 2c+1 for l+32.

func quantizeQ5_K(dst []byte, src []float32) {
	var L [QKK]uint8
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q5KBytes : (b+1)*q5KBytes]
		quantizeKx2(y, x, &L, 31, -0.5, 0.1, 15)
		qh, ql := y[16:48], y[48:]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for c := 0; c < QKK; c += 64 {
			for j := range 32 {
				l1, l2 := L[c+j], L[c+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
			ql = ql[32:]
		}
	}
}

func dequantizeQ5_K(dst []float32, src []byte) {
	for b := range len(dst) / QKK {
		blk := src[b*q5KBytes : (b+1)*q5KBytes]
		y := dst[b*QKK : (b+1)*QKK]
		d, dmin := f16(blk[0:]), f16(blk[2:])
		sc, mn := scalesMinsK4(blk[4:16])
		qh, ql := blk[16:48], blk[48:]
		for c := range 4 {
			d1, m1 := d*float32(sc[2*c]), dmin*float32(mn[2*c])
			d2, m2 := d*float32(sc[2*c+1]), dmin*float32(mn[2*c+1])
			u1, u2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
			for l := range 32 {
				q, h := ql[32*c+l], qh[l]
				v1, v2 := q&0xf, q>>4
				if h&u1 != 0 {
					v1 += 16
				}
				if h&u2 != 0 {
					v2 += 16
				}
				y[64*c+l] = float32(d1*float32(v1)) - m1
				y[64*c+32+l] = float32(d2*float32(v2)) - m2
			}
		}
	}
}

// --- Q6_K: x = d*sc*(q-32), q in 0..63, an int8 scale per 16 elements ------
// In each 128-element half, ql[l] holds the low nibbles of elements l and
// l+64, ql[l+32] those of l+32 and l+96, and qh[l] their top two bits.

func quantizeQ6_K(dst []byte, src []float32) {
	var (
		L      [QKK]int8
		scales [16]float32
	)
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q6KBytes : (b+1)*q6KBytes]
		var maxScale, maxAbs float32
		for ib := range 16 {
			s := makeQX(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if abs32(s) > maxAbs {
				maxAbs, maxScale = abs32(s), s
			}
		}
		if maxAbs < 1e-15 {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		putF16(y[208:], 1/iscale)
		sc := y[192:208]
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, nearestInt(float32(iscale*scales[ib])))))
		}
		d0 := f16(y[208:])
		for j := range 16 {
			d := float32(d0 * float32(int8(sc[j])))
			if d == 0 {
				continue
			}
			for ii := range 16 {
				l := max(-32, min(31, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 32)
			}
		}
		ql, qh := y[0:128], y[128:192]
		for j := 0; j < QKK; j += 128 {
			for l := range 32 {
				a, b1, c, e := uint8(L[j+l]), uint8(L[j+l+32]), uint8(L[j+l+64]), uint8(L[j+l+96])
				ql[l] = a&0xf | (c&0xf)<<4
				ql[l+32] = b1&0xf | (e&0xf)<<4
				qh[l] = a>>4 | (b1>>4)<<2 | (c>>4)<<4 | (e>>4)<<6
			}
			ql = ql[64:]
			qh = qh[32:]
		}
	}
}

// unpackQ6K writes the 256 signed levels (q-32) of a Q6_K block.
func unpackQ6K(a *[QKK]int8, blk []byte) {
	ql, qh := blk[0:128], blk[128:192]
	for j := 0; j < QKK; j += 128 {
		for l := range 32 {
			h := qh[l]
			a[j+l] = int8(ql[l]&0xf|(h&3)<<4) - 32
			a[j+l+32] = int8(ql[l+32]&0xf|((h>>2)&3)<<4) - 32
			a[j+l+64] = int8(ql[l]>>4|((h>>4)&3)<<4) - 32
			a[j+l+96] = int8(ql[l+32]>>4|((h>>6)&3)<<4) - 32
		}
		ql = ql[64:]
		qh = qh[32:]
	}
}

func dequantizeQ6_K(dst []float32, src []byte) {
	var a [QKK]int8
	for b := range len(dst) / QKK {
		blk := src[b*q6KBytes : (b+1)*q6KBytes]
		y := dst[b*QKK : (b+1)*QKK]
		d := f16(blk[208:])
		unpackQ6K(&a, blk)
		for k := range QKK {
			y[k] = d * float32(int8(blk[192+k/16])) * float32(a[k])
		}
	}
}

// --- Q8_K: activations for the K-quants -------------------------------------
// An F32 scale and, per 16 elements, the sum of the levels, which lets the
// dot product apply a weight sub-block's min with one multiplication.

func quantizeQ8_K(dst []byte, src []float32) {
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q8KBytes : (b+1)*q8KBytes]
		var vmax, amax float32
		for _, v := range x {
			if ax := abs32(v); ax > amax {
				amax, vmax = ax, v
			}
		}
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / vmax
		qs := y[4:260]
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(float32(iscale*v)))))
		}
		for j := range 16 {
			var sum int32
			for _, q := range qs[16*j : 16*j+16] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint16(y[260+2*j:], uint16(int16(sum)))
		}
		putF32le(y, 1/iscale)
	}
}

func dequantizeQ8_K(dst []float32, src []byte) {
	for b := range len(dst) / QKK {
		blk := src[b*q8KBytes : (b+1)*q8KBytes]
		d := f32le(blk)
		for j := range QKK {
			dst[b*QKK+j] = float32(int8(blk[4+j])) * d
		}
	}
}

// --- dot products with Q8_K, in the order of ggml's *_generic reference ----
// ggml accumulates integer products in eight lanes (element k goes to lane
// k%8), scales each lane by the block's d into eight float sums, subtracts
// the min term per block, and adds the eight sums at the end. The integer
// parts are exact in any order; the float steps follow ggml's.

func dotKx2(n int, w, x []byte, blockBytes int, fifth bool) float32 {
	var sums [8]float32
	var sumf float32
	for b := range n / QKK {
		bw := w[b*blockBytes : (b+1)*blockBytes]
		bx := x[b*q8KBytes : (b+1)*q8KBytes]
		sc, mn := scalesMinsK4(bw[4:16])
		var sumi int32
		for j := range 16 {
			sumi += int32(int16(binary.LittleEndian.Uint16(bx[260+2*j:]))) * int32(mn[j/2])
		}
		q8 := bx[4:260]
		var q4, qh []byte
		if fifth {
			qh, q4 = bw[16:48], bw[48:176]
		} else {
			q4 = bw[16:144]
		}
		var aux [8]int32
		for c := range 4 {
			s1, s2 := int32(sc[2*c]), int32(sc[2*c+1])
			for l := range 32 {
				q := q4[32*c+l]
				v1, v2 := int32(q&0xf), int32(q>>4)
				if fifth {
					h := qh[l] >> (2 * c)
					v1 += int32(h&1) << 4
					v2 += int32(h&2) << 3
				}
				aux[l%8] += s1*v1*int32(int8(q8[64*c+l])) + s2*v2*int32(int8(q8[64*c+32+l]))
			}
		}
		dy := f32le(bx)
		d := float32(f16(bw[0:]) * dy)
		for l := range 8 {
			sums[l] += float32(d * float32(aux[l]))
		}
		dmin := float32(f16(bw[2:]) * dy)
		sumf -= float32(dmin * float32(sumi))
	}
	for l := range 8 {
		sumf += sums[l]
	}
	return sumf
}

func dotQ4_KQ8_K(n int, w, x []byte) float32 { return dotKx2(n, w, x, q4KBytes, false) }

func dotQ5_KQ8_K(n int, w, x []byte) float32 { return dotKx2(n, w, x, q5KBytes, true) }

func dotQ6_KQ8_K(n int, w, x []byte) float32 { return dotScaled16(Q6_K, n, w, x) }

// dotScaled16 is ggml's reference dot product of the K-quant blocks whose
// levels carry one integer scale per sixteen and one F16 super-block scale
// (Q6_K and Q3_K) with a Q8_K row: eight interleaved integer sums per
// block, scaled in float and summed at the end, in ggml's order. The
// format is a switch, not a function value, so the level buffer stays on
// the stack.
func dotScaled16(t Type, n int, w, x []byte) float32 {
	var (
		sums [8]float32
		a    [QKK]int8
		sc   [QKK / 16]int32
	)
	blockBytes := t.BlockBytes()
	for b := range n / QKK {
		bw := w[b*blockBytes : (b+1)*blockBytes]
		bx := x[b*q8KBytes : (b+1)*q8KBytes]
		var d float32
		switch t {
		case Q6_K:
			unpackQ6K(&a, bw)
			for i := range sc {
				sc[i] = int32(int8(bw[192+i]))
			}
			d = float32(f16(bw[208:]) * f32le(bx))
		case Q3_K:
			unpackQ3K(&a, bw)
			for i := range sc {
				sc[i] = int32(q3KScale(bw[96:108], i) - 32)
			}
			d = float32(f16(bw[108:]) * f32le(bx))
		default:
			panic("kernels: dotScaled16 of " + t.String())
		}
		q8 := bx[4:260]
		var aux [8]int32
		for k := range QKK {
			aux[k%8] += sc[k/16] * int32(a[k]) * int32(int8(q8[k]))
		}
		for l := range 8 {
			sums[l] += float32(d * float32(aux[l]))
		}
	}
	var sumf float32
	for l := range 8 {
		sumf += sums[l]
	}
	return sumf
}
