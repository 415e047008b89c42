package kernels

// The SwiGLU loops of swiglu_amd64.s; see the comment there.

//go:noescape
func swigluAVX512(n int, dst, gate, up *float32)

//go:noescape
func swigluAVX2(n int, dst, gate, up *float32)

// swigluVec runs whole steps of the path's loop (lanes elements each) and
// the tail in Go.
func swigluVec(loop func(n int, dst, gate, up *float32), lanes int) func(dst, gate, up []float32) {
	return func(dst, gate, up []float32) {
		k := len(gate) / lanes * lanes
		if k > 0 {
			loop(k, &dst[0], &gate[0], &up[0])
		}
		swigluGo(dst[k:], gate[k:], up[k:])
	}
}
