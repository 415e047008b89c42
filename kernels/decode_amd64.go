package kernels

import "golang.org/x/sys/cpu"

// The decode kernels of decode_amd64.s; see the comment there.

//go:noescape
func decRecordsAVX2(nb int, xq, dst *byte, off int)

//go:noescape
func decQ4_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ8_0AVX2(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ4_0VNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

//go:noescape
func decQ8_0VNNI(nb int, w *byte, wstride int, x *byte, out *float32, rows int)

// The avx512 kernels need AVX512VBMI (VPERMB) beyond what avx512Path
// checks; avx512Decode leaves them out where it is missing.
var (
	_ = registerDecode("avx2", map[Type]decodeKernel{
		Q4_0: {decQ4_0AVX2, decRecordsAVX2, 8},
		Q8_0: {decQ8_0AVX2, decRecordsAVX2, 0},
	})
	_ = registerDecode("avx512", avx512Decode())
)

func avx512Decode() map[Type]decodeKernel {
	m := map[Type]decodeKernel{
		Q4_0: {decQ4_0VNNI, decRecordsAVX2, 8},
		Q8_0: {decQ8_0VNNI, decRecordsAVX2, 128},
	}
	if !cpu.X86.HasAVX512VBMI {
		m[Q4_0] = decodeKernel{decQ4_0AVX2, decRecordsAVX2, 8}
	}
	return m
}
