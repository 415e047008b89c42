//go:build goexperiment.simd && amd64

package bench

import "simd/archsimd"

// The SIMD probe uses 512-bit registers where the CPU has AVX-512 and
// 256-bit ones otherwise, the widths the kernels' paths use.
var wide = archsimd.X86.AVX512()

func probeKind() string {
	switch {
	case wide:
		return "avx512 (512-bit loads, 12 FMA chains)"
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		return "avx2 (256-bit loads, 12 FMA chains)"
	}
	return "portable (scalar loads, scalar FMA)"
}

func readSum(b []uint64) uint64 {
	switch {
	case wide:
		return readSum512(b)
	case archsimd.X86.AVX2():
		return readSum256(b)
	}
	return readSumPortable(b)
}

func readSum256(b []uint64) uint64 {
	var s0, s1, s2, s3 archsimd.Uint64x4
	for len(b) >= 16 {
		s0 = s0.Add(archsimd.LoadUint64x4((*[4]uint64)(b[0:4])))
		s1 = s1.Add(archsimd.LoadUint64x4((*[4]uint64)(b[4:8])))
		s2 = s2.Add(archsimd.LoadUint64x4((*[4]uint64)(b[8:12])))
		s3 = s3.Add(archsimd.LoadUint64x4((*[4]uint64)(b[12:16])))
		b = b[16:]
	}
	var out [4]uint64
	s0.Add(s1).Add(s2.Add(s3)).Store(&out)
	return out[0] + out[1] + out[2] + out[3] + readSumPortable(b)
}

func readSum512(b []uint64) uint64 {
	var s0, s1, s2, s3 archsimd.Uint64x8
	for len(b) >= 32 {
		s0 = s0.Add(archsimd.LoadUint64x8((*[8]uint64)(b[0:8])))
		s1 = s1.Add(archsimd.LoadUint64x8((*[8]uint64)(b[8:16])))
		s2 = s2.Add(archsimd.LoadUint64x8((*[8]uint64)(b[16:24])))
		s3 = s3.Add(archsimd.LoadUint64x8((*[8]uint64)(b[24:32])))
		b = b[32:]
	}
	var out [8]uint64
	s0.Add(s1).Add(s2.Add(s3)).Store(&out)
	var s uint64
	for _, v := range out {
		s += v
	}
	return s + readSumPortable(b)
}

func fmaFlopsPerIter() float64 {
	switch {
	case wide:
		return 12 * 16 * 2
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		return 12 * 8 * 2
	}
	return 10 * 2
}

func fmaLoop(iters int) float32 {
	switch {
	case wide:
		return fma512(iters)
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		return fma256(iters)
	}
	return fmaLoopPortable(iters)
}

// fma256 keeps twelve independent accumulators: enough to cover the FMA
// latency (4 cycles) times two FMA pipes with room to spare.
func fma256(iters int) float32 {
	a := archsimd.BroadcastFloat32x8(0.99999)
	b := archsimd.BroadcastFloat32x8(1e-6)
	// Distinct starting values: identical chains would be merged by the
	// compiler's common-subexpression elimination.
	x0, x1, x2, x3 := archsimd.BroadcastFloat32x8(1), archsimd.BroadcastFloat32x8(2), archsimd.BroadcastFloat32x8(3), archsimd.BroadcastFloat32x8(4)
	x4, x5, x6, x7 := archsimd.BroadcastFloat32x8(5), archsimd.BroadcastFloat32x8(6), archsimd.BroadcastFloat32x8(7), archsimd.BroadcastFloat32x8(8)
	x8, x9, x10, x11 := archsimd.BroadcastFloat32x8(9), archsimd.BroadcastFloat32x8(10), archsimd.BroadcastFloat32x8(11), archsimd.BroadcastFloat32x8(12)
	for range iters {
		x0 = x0.MulAdd(a, b)
		x1 = x1.MulAdd(a, b)
		x2 = x2.MulAdd(a, b)
		x3 = x3.MulAdd(a, b)
		x4 = x4.MulAdd(a, b)
		x5 = x5.MulAdd(a, b)
		x6 = x6.MulAdd(a, b)
		x7 = x7.MulAdd(a, b)
		x8 = x8.MulAdd(a, b)
		x9 = x9.MulAdd(a, b)
		x10 = x10.MulAdd(a, b)
		x11 = x11.MulAdd(a, b)
	}
	var out [8]float32
	x0.Add(x1).Add(x2.Add(x3)).Add(x4.Add(x5).Add(x6.Add(x7))).Add(x8.Add(x9).Add(x10.Add(x11))).Store(&out)
	return out[0]
}

func fma512(iters int) float32 {
	a := archsimd.BroadcastFloat32x16(0.99999)
	b := archsimd.BroadcastFloat32x16(1e-6)
	// Distinct starting values: identical chains would be merged by the
	// compiler's common-subexpression elimination.
	x0, x1, x2, x3 := archsimd.BroadcastFloat32x16(1), archsimd.BroadcastFloat32x16(2), archsimd.BroadcastFloat32x16(3), archsimd.BroadcastFloat32x16(4)
	x4, x5, x6, x7 := archsimd.BroadcastFloat32x16(5), archsimd.BroadcastFloat32x16(6), archsimd.BroadcastFloat32x16(7), archsimd.BroadcastFloat32x16(8)
	x8, x9, x10, x11 := archsimd.BroadcastFloat32x16(9), archsimd.BroadcastFloat32x16(10), archsimd.BroadcastFloat32x16(11), archsimd.BroadcastFloat32x16(12)
	for range iters {
		x0 = x0.MulAdd(a, b)
		x1 = x1.MulAdd(a, b)
		x2 = x2.MulAdd(a, b)
		x3 = x3.MulAdd(a, b)
		x4 = x4.MulAdd(a, b)
		x5 = x5.MulAdd(a, b)
		x6 = x6.MulAdd(a, b)
		x7 = x7.MulAdd(a, b)
		x8 = x8.MulAdd(a, b)
		x9 = x9.MulAdd(a, b)
		x10 = x10.MulAdd(a, b)
		x11 = x11.MulAdd(a, b)
	}
	var out [16]float32
	x0.Add(x1).Add(x2.Add(x3)).Add(x4.Add(x5).Add(x6.Add(x7))).Add(x8.Add(x9).Add(x10.Add(x11))).Store(&out)
	return out[0]
}
