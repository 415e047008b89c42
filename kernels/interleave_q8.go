package kernels

// The Q8_0 group (decQ8_0X8AVX2 and decQ8_0Z8, and repackV8Q8_0X8 and
// repackVQ8_0X8 for prefill) is cut into runs of four block columns (the
// eight rows' 34-byte blocks b side by side), 1088 bytes each: first the
// four columns' scales, 16 bytes a column (the rows' d, F16, row r at
// 2r), then their values, 256 bytes a column in eight chunks of 32 bytes,
// chunk c holding values 4c..4c+3 of each row (row r at 4r), so that one
// load is the values 4c..4c+3 of the eight rows in the lanes the kernels
// sum them in. A last run of k < 4 columns (a row of 4n+k blocks) is the
// same with k: 16k bytes of scales, then 256k of values.
//
// The runs keep every load of values inside one cache line: a run is 17
// lines, and the model's loader puts tensors on 64 bytes (gguf's
// AlignData), so a 64-byte load (avx512) or a 32-byte one (avx2) never
// straddles two lines, where each column's scales in front of its values
// (272 bytes a column, the layout before) put three of every four
// columns' values across lines. On Zen 5, decoding bench's stack of
// Qwen2.5-0.5B-shaped Q8_0 layers (each way one step in turn, 60 rounds a
// sample), the avx512 kernel ran 1.05-1.14 times as fast at one thread on
// tensors on 64 bytes as on the same tensors at 32 mod 64, where GGUF may
// put them (at two threads, in a window where other tenants held the
// memory, 0.97-1.08); and 1.12-1.26 times as fast as the RowMajor kernel
// (decQ8_0VNNI), which the avx512 path used before.
const q8Run = 4

// q8Column returns the offsets in a group of nb blocks of block b's
// scales and values.
func q8Column(b, nb int) (scales, values int) {
	run, j := b/q8Run, b%q8Run
	k := min(q8Run, nb-run*q8Run) // the run's columns
	base := run * q8Run * interleaveRows * 34
	return base + 16*j, base + 16*k + 256*j
}

var _ = registerInterleaver(Q8_0, interleaver{
	interleave: func(dst, src []byte, nb int) {
		for b := range nb {
			s, v := q8Column(b, nb)
			for r := range interleaveRows {
				blk := src[(r*nb+b)*34:][:34]
				putScales(dst[s:s+16], blk, r, 2)
				putWords(dst[v:v+256], blk[2:], r, 8)
			}
		}
	},
	deinterleave: func(dst, src []byte, nb int) {
		for b := range nb {
			s, v := q8Column(b, nb)
			for r := range interleaveRows {
				blk := dst[(r*nb+b)*34:][:34]
				takeScales(blk, src[s:s+16], r, 2)
				takeWords(blk[2:], src[v:v+256], r, 8)
			}
		}
	},
})
