package probe

import "golang.org/x/sys/cpu"

// readSum256 and fmaLoop256 are in probe_amd64.s: Go cannot issue 256-bit
// loads or FMAs outside assembly (archsimd needs GOEXPERIMENT=simd, and the
// probes must work in every build).

//go:noescape
func readSum256(p *byte, n int) uint64

//go:noescape
func readSum512(p *byte, n int) uint64

func fmaLoop256(iters int) float32

func fmaLoop512(iters int) float32

func int8Loop512(iters int) int32

func int8Loop256(iters int) int32

var hasVNNI = cpu.X86.HasAVX512VNNI

var hasAVX512 = cpu.X86.HasAVX512F
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func kernel() string {
	switch {
	case hasAVX512:
		return "avx512"
	case hasAVX2:
		return "avx2"
	}
	return "portable"
}

// readSum reads every byte of b (a multiple of readStep bytes long) with
// the widest loads the CPU has.
func readSum(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	switch {
	case hasAVX512:
		return readSum512(&b[0], len(b))
	case hasAVX2:
		return readSum256(&b[0], len(b))
	}
	return readSumGo(b)
}

// fmaLoop runs iters steps of independent FMAs and returns a value that
// depends on them and the number of floating-point operations done.
func fmaLoop(iters int) (float32, float64) {
	switch {
	case hasAVX512:
		// 12 accumulators of 16 lanes, an FMA counting 2.
		return fmaLoop512(iters), float64(iters) * 12 * 16 * 2
	case hasAVX2:
		return fmaLoop256(iters), float64(iters) * 12 * 8 * 2
	}
	return fmaLoopGo(iters)
}

// int8Loop runs iters steps of independent int8 multiply-adds with the
// instructions of kernel path path (see Int8Instructions) and returns
// a value that depends on them and the number of integer operations (a
// multiply-add counting 2), or 0 operations where the path has no int8
// vector instruction on this CPU.
func int8Loop(path string, iters int) (int32, float64) {
	switch int8Instructions(path) {
	case int8VNNI:
		// 12 VPDPBUSD of 64 multiply-adds.
		return int8Loop512(iters), float64(iters) * 12 * 64 * 2
	case int8AVX2:
		// 12 VPMADDUBSW of 32 multiply-adds.
		return int8Loop256(iters), float64(iters) * 12 * 32 * 2
	}
	return 0, 0
}

// int8Instructions is Int8Instructions on amd64: the avx512 path's
// prefill kernels multiply with VPDPBUSD on Z registers where the CPU has
// AVX-512 VNNI, the avx2 path's with VPMADDUBSW on Y registers even then
// (they are the kernels of CPUs without AVX-512), and the portable path
// with none.
func int8Instructions(path string) string {
	switch {
	case path == "portable":
		return ""
	case path != "avx2" && hasAVX512 && hasVNNI:
		return int8VNNI
	case hasAVX2:
		return int8AVX2
	}
	return ""
}
