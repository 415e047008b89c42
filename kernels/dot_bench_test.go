package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDot reports each path's dot-product throughput in weight bytes
// per second, on one row of Qwen2.5-0.5B's FFN width.
func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const n = 4864
	for _, typ := range []Type{Q8_0, Q4_0} {
		w := make([]byte, mustRowBytesB(b, typ, n))
		QuantizeRow(typ, w, randRow(r, n))
		x := make([]byte, mustRowBytesB(b, Q8_0, n))
		QuantizeRow(Q8_0, x, randRow(r, n))
		for _, name := range Paths() {
			dots, _ := paths[name]()
			f := portable[typ].vecDot
			if d, ok := dots[typ]; ok {
				f = d
			}
			b.Run(typ.String()+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					f(n, w, x)
				}
			})
		}
	}
}

func mustRowBytesB(b *testing.B, typ Type, n int) int {
	rb, err := typ.RowBytes(n)
	if err != nil {
		b.Fatal(err)
	}
	return rb
}
