package probe

import (
	"encoding/binary"
	"math"
)

// readSumGo is the portable read probe: eight independent 64-bit loads per
// step, which is the best plain Go does.
func readSumGo(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for i := 0; i+64 <= len(b); i += 64 {
		c := b[i : i+64 : i+64]
		s0 ^= binary.LittleEndian.Uint64(c[0:]) ^ binary.LittleEndian.Uint64(c[32:])
		s1 ^= binary.LittleEndian.Uint64(c[8:]) ^ binary.LittleEndian.Uint64(c[40:])
		s2 ^= binary.LittleEndian.Uint64(c[16:]) ^ binary.LittleEndian.Uint64(c[48:])
		s3 ^= binary.LittleEndian.Uint64(c[24:]) ^ binary.LittleEndian.Uint64(c[56:])
	}
	return s0 ^ s1 ^ s2 ^ s3
}

// fmaLoopGo is the portable FMA probe: eight independent scalar chains.
func fmaLoopGo(iters int) (float32, float64) {
	a := [8]float32{1, 1, 1, 1, 1, 1, 1, 1}
	const m, c = 0.999999, 1e-7
	for range iters {
		for j := range a {
			a[j] = float32(math.FMA(float64(a[j]), m, c))
		}
	}
	var s float32
	for _, v := range a {
		s += v
	}
	return s, float64(iters) * 8 * 2
}
