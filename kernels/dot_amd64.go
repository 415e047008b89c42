package kernels

import (
	"errors"

	"golang.org/x/sys/cpu"
)

//go:noescape
func dotQ8_0Q8_0AVX2(nb int, w, x *byte) float32

//go:noescape
func dotQ4_0Q8_0AVX2(nb int, w, x *byte) float32

// Registered in a variable initialiser, which runs before any init, so
// dispatch's init sees it.
var _ = registerPath("avx2", avx2Path)

func avx2Path() (map[Type]vecDotFunc, error) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA || !cpu.X86.HasF16C {
		return nil, errors.New("this CPU lacks AVX2, FMA or F16C")
	}
	return map[Type]vecDotFunc{
		// Callers pass whole blocks (n a multiple of 32), checked by
		// Matrix.Check and RowBytes; the slices hold at least that much.
		Q8_0: func(n int, w, x []byte) float32 {
			if n < QK {
				return 0
			}
			_, _ = w[n/QK*34-1], x[n/QK*34-1]
			return dotQ8_0Q8_0AVX2(n/QK, &w[0], &x[0])
		},
		Q4_0: func(n int, w, x []byte) float32 {
			if n < QK {
				return 0
			}
			_, _ = w[n/QK*18-1], x[n/QK*34-1]
			return dotQ4_0Q8_0AVX2(n/QK, &w[0], &x[0])
		},
	}, nil
}
