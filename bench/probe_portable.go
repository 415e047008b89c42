//go:build !(goexperiment.simd && amd64)

package bench

func probeKind() string         { return "portable (scalar loads, scalar FMA)" }
func readSum(b []uint64) uint64 { return readSumPortable(b) }
func fmaLoop(iters int) float32 { return fmaLoopPortable(iters) }
func fmaFlopsPerIter() float64  { return 10 * 2 }
