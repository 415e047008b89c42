//go:build !amd64

package probe

func kernel() string { return "portable" }

func readSum(b []byte) uint64 { return readSumGo(b) }

func fmaLoop(iters int) (float32, float64) { return fmaLoopGo(iters) }

func int8Loop(string, int) (int32, float64) { return 0, 0 }

func int8Instructions(string) string { return "" }
