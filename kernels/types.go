// Package kernels holds the arithmetic of inference: quantised tensor formats
// exactly as GGUF stores them, dot products and matrix products over them,
// and the element-wise operations of a transformer (norms, RoPE, softmax,
// activations, attention). Every operation has a portable Go reference; amd64
// fast paths (AVX2+FMA, AVX-512 with VNNI) are chosen once at start-up and can
// be forced with PITH_KERNELS=portable|avx2|avx512. A path may ask for a
// weight matrix's rows rearranged eight at a time (Interleave), which its
// decode and prefill kernels read faster; every path multiplies both layouts.
//
// Nothing here knows about models. Functions that need temporary memory take
// it from the caller, because per-request data lives in the caller's request
// arena and is wiped there; the package keeps no per-request data of its own.
package kernels

import "fmt"

// Type is a tensor type, numbered as ggml numbers them (the values GGUF files
// store in their tensor infos).
type Type uint32

const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	BF16 Type = 30
)

// QK is the block length of the legacy formats; QKK that of the K-quants.
const (
	QK  = 32
	QKK = 256
)

// geometry is the storage layout of one type: how many elements a block
// holds and how many bytes it takes. These are fixed by the GGUF format.
type geometry struct {
	name       string
	blockSize  int
	blockBytes int
}

var geometries = [typeSlots]geometry{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	Q4_0: {"Q4_0", QK, 2 + QK/2},
	Q4_1: {"Q4_1", QK, 4 + QK/2},
	Q5_0: {"Q5_0", QK, 2 + 4 + QK/2},
	Q5_1: {"Q5_1", QK, 4 + 4 + QK/2},
	Q8_0: {"Q8_0", QK, 2 + QK},
	Q8_1: {"Q8_1", QK, 4 + QK},
	Q2_K: {"Q2_K", QKK, QKK/16 + QKK/4 + 4},
	Q3_K: {"Q3_K", QKK, QKK/8 + QKK/4 + 12 + 2},
	Q4_K: {"Q4_K", QKK, 4 + 12 + QKK/2},
	Q5_K: {"Q5_K", QKK, 4 + 12 + QKK/8 + QKK/2},
	Q6_K: {"Q6_K", QKK, QKK/2 + QKK/4 + QKK/16 + 2},
	Q8_K: {"Q8_K", QKK, 4 + QKK + QKK/16*2},
}

// typeSlots bounds the types the package knows (BF16 is the largest), so
// that a Type indexes the tables of geometries and functions. Every
// product checks its matrix's and activations' geometry and functions
// several times before it starts, on the caller alone while the other
// threads wait, and when the tables were maps each of those lookups took
// about 25 ns: a third of the fixed cost of a decode group of three
// matrices of Qwen2.5-0.5B's width, 95 ns per matrix
// (BenchmarkMatVecGroupFixed, avx512 Q4_0: 843 ns with maps, 553 without).
const typeSlots = BF16 + 1

// geometryOf is t's geometry, if the package knows t.
func geometryOf(t Type) (geometry, bool) {
	if t < typeSlots && geometries[t].blockSize != 0 {
		return geometries[t], true
	}
	return geometry{}, false
}

// Known reports whether t is a type this package can store.
func (t Type) Known() bool { _, ok := geometryOf(t); return ok }

func (t Type) String() string {
	if g, ok := geometryOf(t); ok {
		return g.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for float types).
func (t Type) BlockSize() int { g, _ := geometryOf(t); return g.blockSize }

// BlockBytes is the number of bytes one block takes.
func (t Type) BlockBytes() int { g, _ := geometryOf(t); return g.blockBytes }

// RowBytes is the size in bytes of n elements of type t; n must be a whole
// number of blocks.
func (t Type) RowBytes(n int) (int, error) {
	g, ok := geometryOf(t)
	if !ok {
		return 0, fmt.Errorf("kernels: unknown type %d", uint32(t))
	}
	if n < 0 || n%g.blockSize != 0 {
		return 0, fmt.Errorf("kernels: %s row of %d elements is not a whole number of %d-element blocks", g.name, n, g.blockSize)
	}
	return n / g.blockSize * g.blockBytes, nil
}

// ParseType maps a name such as "Q4_K" or "f16" to its Type.
func ParseType(name string) (Type, error) {
	for t, g := range geometries {
		if g.name != "" && equalFold(g.name, name) {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown type %q", name)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
