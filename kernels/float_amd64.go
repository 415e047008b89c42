package kernels

import (
	"encoding/binary"
	"maps"
	"math"
	"unsafe"
)

// The float kernels of float_amd64.s; see the comment there. Each wrapper
// runs whole 32-element steps (16 for axpy) in assembly and the tail in Go.

//go:noescape
func dotF16F32AVX2(n int, w *uint16, x *float32) float32

//go:noescape
func dotBF16F32AVX2(n int, w *uint16, x *float32) float32

//go:noescape
func dotF32F32AVX2(n int, w *float32, x *float32) float32

//go:noescape
func tile2F16F32AVX2(n int, w *uint16, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile2BF16F32AVX2(n int, w *uint16, x *float32, xstride int, out *float32, ostride int)

// Both AVX2 and AVX-512 paths use the dot products (256-bit: the loop is
// bound by loads and conversions, not by the vector width); the avx512
// path has its own attention loops and softmax exponentials and F16
// rounding (attn_amd64.s, swiglu_amd64.s), which were.
var (
	_ = registerFloat("avx2", floatKernels{dots: moreDotsAVX2(), tiles4: moreTilesAVX2(), swiglu: swigluVec, expShift: expShiftVec, roundF16s: roundF16sVec, f32ToF16: f32ToF16Vec, attn: attnAVX2, kLanes: kLanesAVX2})
	_ = registerFloat("avx512", floatKernels{dots: moreDotsAVX2(), tiles4: moreTilesAVX2(), swiglu: swigluVec, expShift: expShiftZ, roundF16s: roundF16sZ, f32ToF16: f32ToF16Vec, attn: attnAVX512, kLanes: kLanesAVX512})
)

// floatTilesAVX2 are F16's and BF16's tiles: one weight row against four
// tokens, two at a time through tile2F16F32AVX2 or tile2BF16F32AVX2, each
// token's tail as its dot does it (floatDotsAVX2), so a token gets its
// dot's bits. A prompt's products then convert each weight twice, not
// once per token.
var floatTilesAVX2 = map[Type]func(nb int, w, x *byte, xstride int, out *float32, ostride int){
	F16: func(nb int, w, x *byte, xstride int, out *float32, ostride int) {
		floatTile4(nb, w, x, xstride, out, ostride, tile2F16F32AVX2, func(b []byte) float32 { return f16(b) })
	},
	BF16: func(nb int, w, x *byte, xstride int, out *float32, ostride int) {
		floatTile4(nb, w, x, xstride, out, ostride, tile2BF16F32AVX2, func(b []byte) float32 { return BF16ToF32(binary.LittleEndian.Uint16(b)) })
	},
}

// floatTile4 is a tile of F16 or BF16 weights (two bytes each, one a
// "block"): tile2 takes the whole 32-element steps of two tokens, and the
// rest of each token adds elem(w)·x one at a time.
func floatTile4(nb int, w, x *byte, xstride int, out *float32, ostride int, tile2 func(n int, w *uint16, x *float32, xstride int, out *float32, ostride int), elem func([]byte) float32) {
	m := nb &^ 31
	ws := unsafe.Slice(w, 2*nb)
	for t := 0; t < 4; t += 2 {
		xt := unsafe.Add(unsafe.Pointer(x), t*xstride)
		ot := (*float32)(unsafe.Add(unsafe.Pointer(out), t*ostride))
		if m > 0 {
			tile2(m, (*uint16)(unsafe.Pointer(w)), (*float32)(xt), xstride, ot, ostride)
		} else {
			*ot = 0
			*(*float32)(unsafe.Add(unsafe.Pointer(ot), ostride)) = 0
		}
		for u := range 2 {
			xs := unsafe.Slice((*byte)(unsafe.Add(xt, u*xstride)), 4*nb)
			o := (*float32)(unsafe.Add(unsafe.Pointer(ot), u*ostride))
			s := *o
			for i := m; i < nb; i++ {
				s += elem(ws[2*i:]) * math.Float32frombits(binary.LittleEndian.Uint32(xs[4*i:]))
			}
			*o = s
		}
	}
}

// moreTilesAVX2 are the K-quant tiles and the float ones.
func moreTilesAVX2() map[Type]func(nb int, w, x *byte, xstride int, out *float32, ostride int) {
	m := maps.Clone(kquantTilesAVX2)
	maps.Copy(m, floatTilesAVX2)
	return m
}

// moreDotsAVX2 are the float dot products, the K-quant ones and those of
// Q4_1 and Q5_1.
func moreDotsAVX2() map[Type]vecDotFunc {
	m := map[Type]vecDotFunc{}
	for t, f := range floatDotsAVX2 {
		m[t] = f
	}
	for t, f := range kquantDotsAVX2 {
		m[t] = f
	}
	for t, f := range legacy1DotsAVX2 {
		m[t] = f
	}
	return m
}

var floatDotsAVX2 = map[Type]vecDotFunc{
	F16: func(n int, w, x []byte) float32 {
		m := n &^ 31
		var s float32
		if m > 0 {
			_, _ = w[2*m-1], x[4*m-1]
			s = dotF16F32AVX2(m, (*uint16)(unsafe.Pointer(&w[0])), (*float32)(unsafe.Pointer(&x[0])))
		}
		for i := m; i < n; i++ {
			s += f16(w[2*i:]) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		}
		return s
	},
	BF16: func(n int, w, x []byte) float32 {
		m := n &^ 31
		var s float32
		if m > 0 {
			_, _ = w[2*m-1], x[4*m-1]
			s = dotBF16F32AVX2(m, (*uint16)(unsafe.Pointer(&w[0])), (*float32)(unsafe.Pointer(&x[0])))
		}
		for i := m; i < n; i++ {
			s += BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		}
		return s
	},
	F32: func(n int, w, x []byte) float32 {
		m := n &^ 31
		var s float32
		if m > 0 {
			_, _ = w[4*m-1], x[4*m-1]
			s = dotF32F32AVX2(m, (*float32)(unsafe.Pointer(&w[0])), (*float32)(unsafe.Pointer(&x[0])))
		}
		for i := m; i < n; i++ {
			s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * math.Float32frombits(binary.LittleEndian.Uint32(x[4*i:]))
		}
		return s
	},
}
