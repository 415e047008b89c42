package kernels

import "encoding/binary"

// Q2_K and Q3_K, the low-bit K-quants of llama-quantize's Q2_K and Q3_K_*
// presets (and of files published with them), as ggml-common.h lays them
// out and ggml-quants.c's quantize_row_*_ref produces them; conventions as
// in format_kquant.go.

const (
	q2KBytes = 84  // scales[16] (4-bit scale | 4-bit min), qs[64], d, dmin
	q3KBytes = 110 // hmask[32], qs[64], scales[12] (6-bit), d
)

// --- Q2_K: x = d*sc*q - dmin*m, q in 0..3, sc and m 4 bits per 16 ----------
// Element 128c + 32j + l is bits 2j..2j+1 of qs[32c + l].

func quantizeQ2_K(dst []byte, src []float32) {
	var (
		L       [QKK]uint8
		laux    [16]uint8
		weights [16]float32
		scales  [16]float32
		mins    [16]float32
	)
	const q4scale = 15
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q2KBytes : (b+1)*q2KBytes]
		var maxScale, maxMin float32
		for j := range 16 {
			xs := x[16*j : 16*j+16]
			for l, v := range xs {
				weights[l] = abs32(v)
			}
			scales[j], mins[j] = makeQKX2(3, xs, weights[:], L[16*j:16*j+16], laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[0:16]
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range 16 {
				sc[j] = uint8(nearestInt(float32(iscale * scales[j])))
			}
			putF16(y[80:], maxScale/q4scale)
		} else {
			clear(sc)
			putF16(y[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range 16 {
				sc[j] |= uint8(nearestInt(float32(iscale*mins[j])) << 4)
			}
			putF16(y[82:], maxMin/q4scale)
		} else {
			putF16(y[82:], 0)
		}
		d0, m0 := f16(y[80:]), f16(y[82:])
		for j := range 16 {
			d := float32(d0 * float32(sc[j]&0xf))
			if d == 0 {
				continue
			}
			dm := float32(m0 * float32(sc[j]>>4))
			for ii := range 16 {
				l := nearestInt((x[16*j+ii] + dm) / d)
				L[16*j+ii] = uint8(max(0, min(3, l)))
			}
		}
		qs := y[16:80]
		for j := 0; j < QKK; j += 128 {
			for l := range 32 {
				qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
			}
		}
	}
}

func dequantizeQ2_K(dst []float32, src []byte) {
	for b := range len(dst) / QKK {
		blk := src[b*q2KBytes : (b+1)*q2KBytes]
		y := dst[b*QKK : (b+1)*QKK]
		d, dmin := f16(blk[80:]), f16(blk[82:])
		sc, qs := blk[0:16], blk[16:80]
		for e := range QKK {
			c, j, l := e/128, e%128/32, e%32
			s := sc[e/16]
			dl, ml := d*float32(s&0xf), dmin*float32(s>>4)
			q := qs[32*c+l] >> (2 * j) & 3
			y[e] = float32(dl*float32(q)) - ml
		}
	}
}

// dotQ2_KQ8_K follows ggml_vec_dot_q2_K_q8_K_generic: one integer sum per
// block, scaled once.
func dotQ2_KQ8_K(n int, w, x []byte) float32 {
	var sumf float32
	for b := range n / QKK {
		bw := w[b*q2KBytes : (b+1)*q2KBytes]
		bx := x[b*q8KBytes : (b+1)*q8KBytes]
		sc, qs, q8 := bw[0:16], bw[16:80], bx[4:260]
		var summs, isum int32
		for j := range 16 {
			summs += int32(int16(binary.LittleEndian.Uint16(bx[260+2*j:]))) * int32(sc[j]>>4)
		}
		for e := range QKK {
			c, j, l := e/128, e%128/32, e%32
			q := int32(qs[32*c+l]>>(2*j)) & 3
			isum += int32(sc[e/16]&0xf) * q * int32(int8(q8[e]))
		}
		dy := f32le(bx)
		dall := float32(dy * f16(bw[80:]))
		dmin := float32(dy * f16(bw[82:]))
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

// --- Q3_K: x = d*(sc-32)*(q-4), q in 0..7, 6-bit sc per 16 ------------------
// The low two bits of element 128c + 32j + l are bits 2j..2j+1 of
// qs[32c + l]; its third bit is bit 4c+j of hmask[l]. Scale k's low four
// bits are a nibble of scales[k%8] (low for k<8), its top two bits sit in
// scales[8 + k%4] at bit 2*(k/4).

// makeQ3 is ggml's make_q3_quants with do_rmse: a symmetric fit weighted by
// x², refined by moving single levels while the fit improves.
func makeQ3(nmax int32, x []float32, L []int8) float32 {
	L = L[:len(x)]
	var vmax, amax float32
	for _, v := range x {
		if ax := abs32(v); ax > amax {
			amax, vmax = ax, v
		}
	}
	if amax < 1e-15 {
		clear(L)
		return 0
	}
	iscale := float32(-nmax) / vmax
	var sumlx, suml2 float32
	for i, v := range x {
		l := max(-nmax, min(nmax-1, nearestInt(float32(iscale*v))))
		L[i] = int8(l)
		w, fl := float32(v*v), float32(l)
		sumlx += float32(float32(w*v) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for range 5 {
		changed := 0
		for i, v := range x {
			w := float32(v * v)
			fL := float32(L[i])
			slx := sumlx - float32(float32(w*v)*fL)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*fL)*fL)
				nl := max(-nmax, min(nmax-1, nearestInt(float32(v*sl2)/slx)))
				if nl != int32(L[i]) {
					fn := float32(nl)
					slx += float32(float32(w*v) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i], sumlx, suml2 = int8(nl), slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range L {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// q3KScale is scale k of a Q3_K block, 0..63 (ggml subtracts 32).
func q3KScale(sc []byte, k int) int8 {
	lo := sc[k%8]
	if k >= 8 {
		lo >>= 4
	}
	return int8(lo&0xf | (sc[8+k%4]>>(2*(k/4))&3)<<4)
}

func quantizeQ3_K(dst []byte, src []float32) {
	var (
		L      [QKK]int8
		scales [16]float32
	)
	for b := range len(src) / QKK {
		x := src[b*QKK : (b+1)*QKK]
		y := dst[b*q3KBytes : (b+1)*q3KBytes]
		var maxScale, amax float32
		for j := range 16 {
			scales[j] = makeQ3(4, x[16*j:16*j+16], L[16*j:16*j+16])
			if s := abs32(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		sc := y[96:108]
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := range 16 {
				l := int8(nearestInt(float32(iscale * scales[j]))) // ggml stores it in an int8_t first
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					sc[j] = uint8(l) & 0xf
				} else {
					sc[j-8] |= (uint8(l) & 0xf) << 4
				}
				sc[j%4+8] |= uint8(l>>4) << (2 * (j / 4))
			}
			putF16(y[108:], 1/iscale)
		} else {
			putF16(y[108:], 0)
		}
		d0 := f16(y[108:])
		for j := range 16 {
			d := float32(d0 * float32(q3KScale(sc, j)-32))
			if d == 0 {
				continue
			}
			for ii := range 16 {
				l := max(-4, min(3, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 4)
			}
		}
		hmask, qs := y[0:32], y[32:96]
		clear(hmask)
		m, hm := 0, uint8(1)
		for j := range QKK {
			if L[j] > 3 {
				hmask[m] |= hm
				L[j] -= 4
			}
			if m++; m == QKK/8 {
				m, hm = 0, hm<<1
			}
		}
		for j := 0; j < QKK; j += 128 {
			for l := range 32 {
				qs[j/4+l] = uint8(L[j+l]) | uint8(L[j+l+32])<<2 | uint8(L[j+l+64])<<4 | uint8(L[j+l+96])<<6
			}
		}
	}
}

// unpackQ3K writes the 256 signed levels (q-4) of a Q3_K block.
func unpackQ3K(a *[QKK]int8, blk []byte) {
	hmask, qs := blk[0:32], blk[32:96]
	for e := range QKK {
		c, j, l := e/128, e%128/32, e%32
		q := int8(qs[32*c+l]>>(2*j)) & 3
		if hmask[l]&(1<<(4*c+j)) == 0 {
			q -= 4
		}
		a[e] = q
	}
}

func dequantizeQ3_K(dst []float32, src []byte) {
	var a [QKK]int8
	for b := range len(dst) / QKK {
		blk := src[b*q3KBytes : (b+1)*q3KBytes]
		y := dst[b*QKK : (b+1)*QKK]
		d := f16(blk[108:])
		unpackQ3K(&a, blk)
		for e := range QKK {
			dl := d * float32(q3KScale(blk[96:108], e/16)-32)
			y[e] = dl * float32(a[e])
		}
	}
}

func dotQ3_KQ8_K(n int, w, x []byte) float32 { return dotScaled16(Q3_K, n, w, x) }
