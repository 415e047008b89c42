package kernels

// The Q8_0 group (decQ8_0X8AVX2, and repackV8Q8_0X8 for prefill), 272
// bytes per block column (the eight rows' 34-byte blocks b): the rows' d
// (F16, row r at 2r), then eight chunks of 32 bytes, chunk c holding
// values 4c..4c+3 of each row (row r at 4r), so that one load is the
// values 4c..4c+3 of the eight rows in the lanes VPMADDUBSW sums them in.
var _ = registerInterleaver(Q8_0, columnInterleaver(q8_0Bytes, q8ToGroup, q8FromGroup))

// q8_0Bytes is a Q8_0 block: F16 d, 32 values.
const q8_0Bytes = 34

func q8ToGroup(g, blk []byte, r int) {
	le.PutUint16(g[2*r:], le.Uint16(blk))
	for c := range 8 {
		le.PutUint32(g[16+32*c+4*r:], le.Uint32(blk[2+4*c:]))
	}
}

func q8FromGroup(g, blk []byte, r int) {
	le.PutUint16(blk, le.Uint16(g[2*r:]))
	for c := range 8 {
		le.PutUint32(blk[2+4*c:], le.Uint32(g[16+32*c+4*r:]))
	}
}
