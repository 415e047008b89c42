package kernels_test

import (
	"fmt"
	"math"

	"github.com/pith-project/pith/kernels"
)

// A weight row stored as Q4_K (144 bytes per 256 weights), multiplied by
// activations quantised to Q8_K, the way a matrix-vector product does it.
func ExampleDotRow() {
	const n = 256
	w, x := make([]float32, n), make([]float32, n)
	var exact float64
	for i := range n {
		w[i] = float32(math.Sin(float64(i)))
		x[i] = float32(math.Sin(float64(i)) + math.Cos(float64(i)/7))
		exact += float64(w[i]) * float64(x[i])
	}
	wt := kernels.Q4_K
	wb, _ := wt.RowBytes(n)
	wq := make([]byte, wb)
	if err := kernels.QuantizeRow(wt, wq, w); err != nil {
		panic(err)
	}
	xt := wt.VecDotType()
	xb, _ := xt.RowBytes(n)
	xq := make([]byte, xb)
	if err := kernels.QuantizeRow(xt, xq, x); err != nil {
		panic(err)
	}
	got, err := kernels.DotRow(wt, wq, xq, n)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v weights in %d bytes, activations as %v in %d bytes\n", wt, wb, xt, xb)
	fmt.Printf("dot %.2f, exact %.2f\n", got, exact)
	// Output:
	// Q4_K weights in 144 bytes, activations as Q8_K in 292 bytes
	// dot 126.83, exact 128.51
}
