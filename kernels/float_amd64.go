package kernels

import (
	"encoding/binary"
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
func tile2x4F16AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile2x4BF16AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile2x4F32AVX2(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile4x4F16Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile4x4BF16Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

//go:noescape
func tile4x4F32Z(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

// Both AVX2 and AVX-512 paths use the dot products (256-bit: the loop is
// bound by loads and conversions, not by the vector width); the avx512
// path has its own float tiles, attention loops and softmax exponentials
// and F16 rounding (float_amd64.s, attn_amd64.s, swiglu_amd64.s), which
// the vector width bounds.
var (
	_ = registerFloat("avx2", floatKernels{dots: moreDotsAVX2(), tiles4: kquantTilesAVX2, tiles2x4: floatTiles2x4AVX2, swiglu: swigluVec, expShift: expShiftVec, roundF16s: roundF16sVec, f32ToF16: f32ToF16Vec, roundBF16s: roundBF16sVec, attn: attnAVX2, kLanes: kLanesAVX2})
	_ = registerFloat("avx512", floatKernels{dots: moreDotsAVX2(), tiles4: kquantTilesAVX2, tiles2x4: floatTiles2x4AVX2, tiles4x4: floatTiles4x4Z, swiglu: swigluVec, expShift: expShiftZ, roundF16s: roundF16sZ, f32ToF16: f32ToF16Vec, roundBF16s: roundBF16sVec, attn: attnAVX512, kLanes: kLanesAVX512})
)

// The float types' tiles (see tile2x4F16AVX2 and tile4x4F16Z) of each
// path, the elements past the last whole step added one at a time.
var (
	floatTiles2x4AVX2 = floatTiles(2, 8, tile2x4F16AVX2, tile2x4BF16AVX2, tile2x4F32AVX2)
	floatTiles4x4Z    = floatTiles(4, 16, tile4x4F16Z, tile4x4BF16Z, tile4x4F32Z)
)

// A float tile's assembly: whole steps of n elements.
type floatTileKernel func(n int, w *byte, wstride int, x *float32, xstride int, out *float32, ostride int)

// floatTiles makes the tiles of rows rows for F16, BF16 and F32 from
// their kernels, which take step elements a step.
func floatTiles(rows, step int, f16, bf16, f32 floatTileKernel) map[Type]floatTileFunc {
	tile := func(k floatTileKernel, size int, elem func([]byte) float32) floatTileFunc {
		return func(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int) {
			floatTile(rows, nb, w, wstride, x, xstride, out, ostride, step, k, size, elem)
		}
	}
	return map[Type]floatTileFunc{F16: tile(f16, 2, elemF16), BF16: tile(bf16, 2, elemBF16), F32: tile(f32, 4, elemF32)}
}

// The float weight types' elements, for the tiles' tails.
func elemF16(b []byte) float32  { return f16(b) }
func elemBF16(b []byte) float32 { return BF16ToF32(binary.LittleEndian.Uint16(b)) }
func elemF32(b []byte) float32  { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// floatTile runs tile, a tile of rows weight rows by four tokens, over
// the whole steps of the weights (size bytes each: elem converts one),
// step a power of two, and adds the rest one at a time.
func floatTile(rows, nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int, step int, tile floatTileKernel, size int, elem func([]byte) float32) {
	m := nb &^ (step - 1)
	if m > 0 {
		tile(m, w, wstride, (*float32)(unsafe.Pointer(x)), xstride, out, ostride)
	}
	if m == nb {
		return
	}
	for r := range rows {
		ws := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(w), r*wstride)), size*nb)
		for t := range 4 {
			xs := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(x), t*xstride)), 4*nb)
			o := (*float32)(unsafe.Add(unsafe.Pointer(out), t*ostride+4*r))
			var s float32
			if m > 0 {
				s = *o
			}
			for i := m; i < nb; i++ {
				s += elem(ws[size*i:]) * math.Float32frombits(binary.LittleEndian.Uint32(xs[4*i:]))
			}
			*o = s
		}
	}
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
