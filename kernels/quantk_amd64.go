package kernels

import "maps"

// The Q8_K quantisers of quantk_amd64.s; see the comment there.

//go:noescape
func quantQ8_KD(nb int, src *float32, dst *byte) (finite bool)

//go:noescape
func quantQ8_KZ(nb int, src *float32, dst *byte) (finite bool)

// quantizersAVX512 are the avx512 path's activation quantisers: the avx2
// path's, with quantQ8_KZ for Q8_K.
var quantizersAVX512 = func() map[Type]func(dst []byte, src []float32) {
	m := maps.Clone(quantizersAVX2)
	m[Q8_K] = checkedQuantizer(Q8_K, quantQ8_KZ)
	return m
}()
