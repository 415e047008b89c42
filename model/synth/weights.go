package synth

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/pith-project/pith/kernels"
)

// weightSpec is how one tensor's values are drawn: mean + std*N(0,1), or
// fixed values.
type weightSpec struct {
	std, mean float64
	fixed     []float32
}

// chunkElems bounds the float32 staging buffer (4 MiB).
const chunkElems = 1 << 20

// fillWeights draws rows of n elements from r, in order, and stores them as
// typ in dst. Drawing is sequential, so a seed gives the same file as it
// always has (tests elsewhere hold bounds measured on these weights);
// quantising, the slow part, is split over the CPUs.
func fillWeights(dst []byte, typ kernels.Type, n, rows int, spec weightSpec, r *rand.Rand, buf []float32) error {
	rb, err := typ.RowBytes(n)
	if err != nil {
		return err
	}
	if len(dst) != rb*rows {
		return fmt.Errorf("synth: %d bytes for %d rows of %d bytes", len(dst), rows, rb)
	}
	if spec.fixed != nil {
		if rows != 1 || len(spec.fixed) != n {
			return fmt.Errorf("synth: %d fixed values for %d x %d", len(spec.fixed), rows, n)
		}
		return kernels.QuantizeRow(typ, dst, spec.fixed)
	}
	per := max(1, len(buf)/n)
	workers := runtime.GOMAXPROCS(0)
	for first := 0; first < rows; first += per {
		count := min(per, rows-first)
		vals := buf[:count*n]
		for i := range vals {
			vals[i] = float32(spec.mean + spec.std*r.NormFloat64())
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for k := w; k < count; k += workers {
					row := first + k
					if err := kernels.QuantizeRow(typ, dst[row*rb:(row+1)*rb], vals[k*n:(k+1)*n]); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}
