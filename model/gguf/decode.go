package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/pith-project/pith/kernels"
)

// reader decodes little-endian values from a byte slice, remembering the
// first error so callers can check once.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = io.ErrUnexpectedEOF

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(r.left()) {
		r.err = fmt.Errorf("%w: need %d bytes at offset %d, file has %d", errShort, n, r.off, len(r.b))
		return nil
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p
}

func (r *reader) u8() uint8 {
	if p := r.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if p := r.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (r *reader) str() string {
	n := r.u64()
	if r.err == nil && n > uint64(r.left()) {
		r.err = fmt.Errorf("%w: string of %d bytes at offset %d, %d bytes left", errShort, n, r.off, r.left())
	}
	return string(r.take(n))
}

// elemSize is the encoded size of a scalar type, 0 for variable ones.
func elemSize(t ValueType) uint64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

func (r *reader) value(t ValueType, depth int) any {
	switch t {
	case TypeUint8:
		return r.u8()
	case TypeInt8:
		return int8(r.u8())
	case TypeUint16:
		return r.u16()
	case TypeInt16:
		return int16(r.u16())
	case TypeUint32:
		return r.u32()
	case TypeInt32:
		return int32(r.u32())
	case TypeFloat32:
		return math.Float32frombits(r.u32())
	case TypeBool:
		b := r.u8()
		if r.err == nil && b > 1 {
			r.err = fmt.Errorf("bool value %d", b)
		}
		return b == 1
	case TypeString:
		return r.str()
	case TypeUint64:
		return r.u64()
	case TypeInt64:
		return int64(r.u64())
	case TypeFloat64:
		return math.Float64frombits(r.u64())
	case TypeArray:
		return r.array(depth)
	}
	if r.err == nil {
		r.err = fmt.Errorf("unknown value type %d", uint32(t))
	}
	return nil
}

// maxDepth bounds arrays of arrays, so a hostile file cannot recurse deeply.
const maxDepth = 4

func (r *reader) array(depth int) any {
	if depth >= maxDepth {
		r.err = fmt.Errorf("arrays nested more than %d deep", maxDepth)
		return nil
	}
	et := ValueType(r.u32())
	n := r.u64()
	if r.err != nil {
		return nil
	}
	// Bound the count by the bytes left before allocating anything: every
	// element takes at least min bytes in the file.
	min := elemSize(et)
	switch {
	case et == TypeString:
		min = 8
	case et == TypeArray:
		min = 12
	case min == 0:
		r.err = fmt.Errorf("array of unknown type %d", uint32(et))
		return nil
	}
	if n > uint64(r.left())/min {
		r.err = fmt.Errorf("%w: array of %d %s cannot fit in the %d bytes left", errShort, n, et, r.left())
		return nil
	}
	switch et {
	case TypeUint8:
		return fill(r, n, r.u8)
	case TypeInt8:
		return fill(r, n, func() int8 { return int8(r.u8()) })
	case TypeUint16:
		return fill(r, n, r.u16)
	case TypeInt16:
		return fill(r, n, func() int16 { return int16(r.u16()) })
	case TypeUint32:
		return fill(r, n, r.u32)
	case TypeInt32:
		return fill(r, n, func() int32 { return int32(r.u32()) })
	case TypeFloat32:
		return fill(r, n, func() float32 { return math.Float32frombits(r.u32()) })
	case TypeBool:
		return fill(r, n, func() bool { return r.value(TypeBool, depth).(bool) })
	case TypeString:
		return fill(r, n, r.str)
	case TypeUint64:
		return fill(r, n, r.u64)
	case TypeInt64:
		return fill(r, n, func() int64 { return int64(r.u64()) })
	case TypeFloat64:
		return fill(r, n, func() float64 { return math.Float64frombits(r.u64()) })
	}
	return fill(r, n, func() any { return r.array(depth + 1) })
}

// fill reads n elements, stopping at the first error.
func fill[T any](r *reader, n uint64, next func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = next()
		if r.err != nil {
			return nil
		}
	}
	return out
}

func (r *reader) tensorInfo() (TensorInfo, error) {
	var t TensorInfo
	t.Name = r.str()
	nd := r.u32()
	if r.err != nil {
		return t, r.err
	}
	if t.Name == "" || len(t.Name) > maxNameLen || strings.ContainsRune(t.Name, 0) {
		return t, fmt.Errorf("name of %d bytes (1 to %d without NUL allowed)", len(t.Name), maxNameLen)
	}
	if nd == 0 || nd > maxDims {
		return t, fmt.Errorf("%d dimensions (1 to %d allowed)", nd, maxDims)
	}
	t.Dims = make([]uint64, nd)
	for i := range t.Dims {
		t.Dims[i] = r.u64()
	}
	t.Type = kernels.Type(r.u32())
	t.Offset = r.u64()
	if r.err != nil {
		return t, r.err
	}
	size, err := tensorBytes(t.Type, t.Dims)
	if err != nil {
		return t, err
	}
	t.Size = size
	return t, nil
}

// maxElements bounds a tensor's element count; 2^50 is far beyond any model
// and keeps every later product (bytes, rows) inside int64.
const maxElements = 1 << 50

// tensorBytes is the storage size of a tensor, refusing unknown types, rows
// that are not whole blocks, and sizes that would overflow.
func tensorBytes(typ kernels.Type, dims []uint64) (uint64, error) {
	if !typ.Known() {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(typ))
	}
	elems := uint64(1)
	for i, d := range dims {
		if d == 0 || d > maxElements || elems > maxElements/d {
			return 0, fmt.Errorf("dimension %d = %d is out of range (0 or more than %d elements)", i, d, uint64(maxElements))
		}
		elems *= d
	}
	row, err := typ.RowBytes(int(dims[0]))
	if err != nil {
		return 0, err
	}
	return uint64(row) * (elems / dims[0]), nil
}
