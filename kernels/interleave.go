package kernels

import (
	"encoding/binary"
	"fmt"
)

// Layout is how a Matrix stores its rows.
type Layout uint8

const (
	// RowMajor is GGUF's layout: row r's blocks at r·RowBytes(Cols).
	RowMajor Layout = iota
	// Interleaved8 stores groups of eight rows, each group the same bytes
	// as its eight rows in RowMajor, rearranged (per type, by its
	// interleaver) so that one vector instruction covers a few weights of
	// each of the eight rows and its lanes are the rows. A decode kernel
	// then needs no horizontal sums per block, and loads the eight rows'
	// scales of a block as one vector: on the avx2 path it runs 1.4 to
	// 2.4 times as fast as on RowMajor rows (Q4_0 and Q4_K 1.5 to 1.7,
	// Q8_0 1.4, Q4_1 2.4; Q5_0, Q5_1 and Q5_K, whose fifth bits the group
	// also lays out for the lanes, 1.7, 2.2 and 2.1), enough to keep up
	// with the memory of two cores, which RowMajor kernels were not.
	// llama.cpp repacks Q4_0 and Q4_K for AVX2 the same way (its
	// q4_0_8x8). The avx512 path lays out Q8_0 alone, whose kernel there
	// streams 11-30% faster than on RowMajor rows (interleave_q8z_amd64.go).
	// Rows is a multiple of 8.
	Interleaved8
)

func (l Layout) String() string {
	switch l {
	case RowMajor:
		return "row-major"
	case Interleaved8:
		return "interleaved8"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// interleaveRows is the number of rows of an Interleaved8 group.
const interleaveRows = 8

// An interleaver lays out one type's Interleaved8 groups: interleave
// rewrites eight RowMajor rows of nb blocks (src, row r at r·RowBytes)
// as one group (dst, the same size), deinterleave undoes it. dst and src
// do not overlap.
type interleaver struct {
	interleave, deinterleave func(dst, src []byte, nb int)
}

// interleavers are the types that have an Interleaved8 layout; every path
// multiplies such matrices (deinterleaving rows where it has no kernel for
// the layout), but only the paths with interleavedDecodes kernels for a
// type ask for it (Interleave).
var interleavers = map[Type]interleaver{}

// registerInterleaver adds a type's Interleaved8 layout; each type's
// layout lives in its own file.
func registerInterleaver(t Type, il interleaver) bool {
	interleavers[t] = il
	return true
}

// columnInterleaver is the interleaver of a type whose group is laid out
// one block column at a time (its eight rows' block b side by side):
// to puts row r's block blk (bb bytes) in its places in the column g
// (8·bb bytes), from takes it back.
func columnInterleaver(bb int, to, from func(g, blk []byte, r int)) interleaver {
	gb := interleaveRows * bb
	return interleaver{
		interleave: func(dst, src []byte, nb int) {
			for b := range nb {
				g := dst[b*gb:][:gb]
				for r := range interleaveRows {
					to(g, src[r*nb*bb+b*bb:][:bb], r)
				}
			}
		},
		deinterleave: func(dst, src []byte, nb int) {
			for b := range nb {
				g := src[b*gb:][:gb]
				for r := range interleaveRows {
					from(g, dst[r*nb*bb+b*bb:][:bb], r)
				}
			}
		},
	}
}

// The moves of the legacy column layouts: putScales puts row r's hb bytes
// of F16 scales (blk) at 2r of each 16-byte run of the column g, putWords
// its n 4-byte words at 4r of each 32-byte chunk; takeScales and
// takeWords take them back.
func putScales(g, blk []byte, r, hb int) {
	for k := 0; k < hb; k += 2 {
		le.PutUint16(g[8*k+2*r:], le.Uint16(blk[k:]))
	}
}

func takeScales(blk, g []byte, r, hb int) {
	for k := 0; k < hb; k += 2 {
		le.PutUint16(blk[k:], le.Uint16(g[8*k+2*r:]))
	}
}

func putWords(g, blk []byte, r, n int) {
	for c := range n {
		le.PutUint32(g[32*c+4*r:], le.Uint32(blk[4*c:]))
	}
}

func takeWords(blk, g []byte, r, n int) {
	for c := range n {
		le.PutUint32(blk[4*c:], le.Uint32(g[32*c+4*r:]))
	}
}

// interleavedDecodes are the paths' decode kernels for Interleaved8
// matrices, by path and type. Their rows argument counts groups, wstride
// is a group's bytes, and group g's eight results go to out[8g:8g+8].
var interleavedDecodes = map[string]map[Type]decodeKernel{}

// registerInterleavedDecode adds path name's Interleaved8 decode kernel
// for type t.
func registerInterleavedDecode(name string, t Type, k decodeKernel) bool {
	if interleavedDecodes[name] == nil {
		interleavedDecodes[name] = map[Type]decodeKernel{}
	}
	interleavedDecodes[name][t] = k
	return true
}

// Interleave returns m in the layout the active path decodes fastest:
// where the path has an Interleaved8 decode kernel for m's type and m's
// rows are a multiple of eight, m's Data is rewritten in place, eight rows
// at a time, and the Matrix returned says Interleaved8; otherwise m
// itself. The data must be writable and belong to m alone (a tied output
// matrix that is also the token embedding table, read by rows, is not
// for Interleave). Products with an Interleaved8 matrix are correct on
// every path: one without a kernel for it deinterleaves the rows it
// multiplies into scratch first.
func Interleave(m Matrix) (Matrix, error) {
	if m.Layout != RowMajor || PathLayout(m.Type, m.Rows, m.Cols) == RowMajor {
		return m, nil
	}
	return interleave(m)
}

// PathLayout is the layout Interleave gives a RowMajor matrix of this
// type and shape on the active path.
func PathLayout(t Type, rows, cols int) Layout {
	if _, ok := activeInterleaved[t]; !ok || rows%interleaveRows != 0 || cols < t.BlockSize() {
		return RowMajor
	}
	return Interleaved8
}

// interleave rewrites m in the Interleaved8 layout, whatever the path.
func interleave(m Matrix) (Matrix, error) {
	if err := m.Check(); err != nil {
		return m, err
	}
	il, ok := interleavers[m.Type]
	switch {
	case !ok:
		return m, fmt.Errorf("kernels: %v has no interleaved layout", m.Type)
	case m.Layout != RowMajor:
		return m, fmt.Errorf("kernels: %v matrix is already %v", m.Type, m.Layout)
	case m.Rows%interleaveRows != 0:
		return m, fmt.Errorf("kernels: %v matrix of %d rows does not split into groups of %d", m.Type, m.Rows, interleaveRows)
	}
	rb, _ := m.Type.RowBytes(m.Cols)
	gb := interleaveRows * rb
	nb := m.Cols / m.Type.BlockSize()
	tmp := make([]byte, gb)
	for g := 0; g < len(m.Data); g += gb {
		copy(tmp, m.Data[g:g+gb])
		il.interleave(m.Data[g:g+gb], tmp, nb)
	}
	m.Layout = Interleaved8
	return m, nil
}

// deinterleave writes rows [r0, r1) of m (r0 and r1 multiples of eight,
// or r1 = Rows) to dst in RowMajor layout.
func deinterleave(dst []byte, m Matrix, r0, r1 int) {
	rb, _ := m.Type.RowBytes(m.Cols)
	gb := interleaveRows * rb
	nb := m.Cols / m.Type.BlockSize()
	il := interleavers[m.Type]
	for r := r0; r < r1; r += interleaveRows {
		il.deinterleave(dst[(r-r0)*rb:][:gb], m.Data[r*rb:][:gb], nb)
	}
}

// The Q4_0 group (decQ4_0X8AVX2): per block, the eight rows' F16 scales
// (16 bytes), then four chunks of 32 bytes, chunk c holding bytes
// 4c..4c+3 of each row's sixteen nibble bytes (row r at 4r): the low
// nibbles of chunk c are elements 4c..4c+3 of the rows, the high ones
// 16+4c..16+4c+3. The moves are whole words, not copy calls, because
// the products without a kernel for the layout (prefill of two or three
// tokens, paths without repackX8) deinterleave the rows they multiply
// (copy calls cost a tenth of a Q4_0 prefill).
var _ = registerInterleaver(Q4_0, interleaver{
	interleave: func(dst, src []byte, nb int) {
		rb := nb * 18
		for b := range nb {
			g := dst[b*144 : (b+1)*144]
			for r := range interleaveRows {
				blk := src[r*rb+b*18:][:18]
				le.PutUint16(g[2*r:], le.Uint16(blk))
				for c := range 4 {
					le.PutUint32(g[16+32*c+4*r:], le.Uint32(blk[2+4*c:]))
				}
			}
		}
	},
	deinterleave: func(dst, src []byte, nb int) {
		rb := nb * 18
		for b := range nb {
			g := src[b*144 : (b+1)*144]
			for r := range interleaveRows {
				blk := dst[r*rb+b*18:][:18]
				le.PutUint16(blk, le.Uint16(g[2*r:]))
				for c := range 4 {
					le.PutUint32(blk[2+4*c:], le.Uint32(g[16+32*c+4*r:]))
				}
			}
		}
	},
})

var le = binary.LittleEndian

// DequantizeRow writes row r of m, whatever its layout, to dst (Cols
// floats). An Interleaved8 row is taken from its group deinterleaved into
// a buffer of its own, so this allocates; Row with scratch does not.
func (m Matrix) DequantizeRow(dst []float32, r int) error {
	row, err := m.Row(r, make([]byte, m.RowScratch()))
	if err != nil {
		return err
	}
	return DequantizeRow(m.Type, dst, row)
}

// Row returns row r of m in GGUF's layout: for a RowMajor matrix the
// row's part of Data; for an Interleaved8 one, the row's part of its group
// deinterleaved into scratch (at least RowScratch bytes), so that reading
// such a matrix by rows (a tied embedding table, which the output product
// reads interleaved) allocates nothing.
func (m Matrix) Row(r int, scratch []byte) ([]byte, error) {
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return nil, err
	}
	if r < 0 || r >= m.Rows || len(m.Data) < m.Rows*rb {
		return nil, fmt.Errorf("kernels: row %d of a %v matrix of %d rows (%d bytes)", r, m.Type, m.Rows, len(m.Data))
	}
	if m.Layout != Interleaved8 {
		return m.Data[r*rb : (r+1)*rb], nil
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	if len(scratch) < interleaveRows*rb {
		return nil, fmt.Errorf("kernels: row %d of an interleaved %v matrix needs %d bytes of scratch, have %d", r, m.Type, interleaveRows*rb, len(scratch))
	}
	g := r / interleaveRows * interleaveRows
	deinterleave(scratch, m, g, g+interleaveRows)
	return scratch[(r-g)*rb : (r-g+1)*rb], nil
}

// RowScratch is the scratch Row needs for m: none for RowMajor rows, a
// group of eight rows for Interleaved8 ones.
func (m Matrix) RowScratch() int {
	if m.Layout != Interleaved8 {
		return 0
	}
	rb, _ := m.Type.RowBytes(m.Cols)
	return interleaveRows * rb
}
