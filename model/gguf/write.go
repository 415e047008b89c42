package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/pith-project/pith/kernels"
)

// Writer builds a GGUF v3 file: metadata in insertion order, then tensor
// infos, then the tensor data, each tensor aligned. It refuses what the
// reader would refuse, so what it writes always parses (and loads in
// llama.cpp). The first error is kept and returned by WriteTo.
type Writer struct {
	kvs       []KV
	keys      map[string]bool
	tensors   []TensorInfo
	names     map[string]bool
	data      []tensorData
	alignment uint64
	next      uint64
	err       error
}

// NewWriter starts an empty file with the default alignment.
func NewWriter() *Writer {
	return &Writer{alignment: DefaultAlignment, keys: map[string]bool{}, names: map[string]bool{}}
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Set adds a metadata entry. Values: uint8, int8, uint16, int16, uint32,
// int32, float32, bool, string, uint64, int64, float64, a slice of one of
// them, or []any whose elements are such slices (an array of arrays).
// "general.alignment" (uint32, a power of two) must come before any tensor.
func (w *Writer) Set(key string, value any) {
	if w.keys[key] {
		w.fail(fmt.Errorf("gguf: metadata %q set twice", key))
		return
	}
	t, err := valueType(value, 0)
	if err != nil {
		w.fail(fmt.Errorf("gguf: metadata %q: %w", key, err))
		return
	}
	if key == "general.alignment" {
		a, ok := value.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
			w.fail(fmt.Errorf("gguf: metadata %q: %v is not a power of two (uint32) up to %d", key, value, maxAlignment))
			return
		}
		if len(w.tensors) > 0 {
			w.fail(fmt.Errorf("gguf: metadata %q set after the first tensor", key))
			return
		}
		w.alignment = uint64(a)
	}
	w.keys[key] = true
	w.kvs = append(w.kvs, KV{Key: key, Type: t, Value: value})
}

// valueType is the GGUF type of a Go value accepted by Set.
func valueType(v any, depth int) (ValueType, error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	}
	if _, ok := elemTypeOf(v); !ok {
		return 0, fmt.Errorf("unsupported value of Go type %T", v)
	}
	if inner, ok := v.([]any); ok {
		if depth+1 >= maxDepth {
			return 0, fmt.Errorf("arrays nested more than %d deep", maxDepth)
		}
		for _, e := range inner {
			if t, err := valueType(e, depth+1); err != nil {
				return 0, err
			} else if t != TypeArray {
				return 0, fmt.Errorf("array of arrays holds a %T", e)
			}
		}
	}
	return TypeArray, nil
}

// elemTypeOf is the element type of an array value.
func elemTypeOf(v any) (ValueType, bool) {
	switch v.(type) {
	case []uint8:
		return TypeUint8, true
	case []int8:
		return TypeInt8, true
	case []uint16:
		return TypeUint16, true
	case []int16:
		return TypeInt16, true
	case []uint32:
		return TypeUint32, true
	case []int32:
		return TypeInt32, true
	case []float32:
		return TypeFloat32, true
	case []bool:
		return TypeBool, true
	case []string:
		return TypeString, true
	case []uint64:
		return TypeUint64, true
	case []int64:
		return TypeInt64, true
	case []float64:
		return TypeFloat64, true
	case []any:
		return TypeArray, true
	}
	return 0, false
}

// tensorData is a tensor's bytes, or the function that makes them while the
// file is written (so a large model never sits in memory whole).
type tensorData struct {
	bytes []byte
	fill  func(dst []byte) error
}

// AddTensor adds a tensor whose data is already in its storage type. dims
// are ggml's ne (row length first).
func (w *Writer) AddTensor(name string, typ kernels.Type, dims []uint64, data []byte) error {
	err := w.addTensor(name, typ, dims, tensorData{bytes: data}, true)
	w.fail(err)
	return err
}

// AddTensorFunc adds a tensor whose bytes fill writes into dst (exactly the
// tensor's size, zeroed) during WriteTo, in the order tensors were added.
func (w *Writer) AddTensorFunc(name string, typ kernels.Type, dims []uint64, fill func(dst []byte) error) error {
	err := w.addTensor(name, typ, dims, tensorData{fill: fill}, false)
	w.fail(err)
	return err
}

func (w *Writer) addTensor(name string, typ kernels.Type, dims []uint64, data tensorData, checkLen bool) error {
	switch {
	case name == "" || len(name) > maxNameLen || strings.ContainsRune(name, 0):
		return fmt.Errorf("gguf: tensor %q: name must be 1 to %d bytes without NUL", name, maxNameLen)
	case w.names[name]:
		return fmt.Errorf("gguf: tensor %q added twice", name)
	case len(dims) == 0 || len(dims) > maxDims:
		return fmt.Errorf("gguf: tensor %q: %d dimensions (1 to %d allowed)", name, len(dims), maxDims)
	}
	size, err := tensorBytes(typ, dims)
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	if checkLen && uint64(len(data.bytes)) != size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %s %v needs %d", name, len(data.bytes), typ, dims, size)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, TensorInfo{Name: name, Dims: append([]uint64(nil), dims...), Type: typ, Offset: w.next, Size: size})
	w.data = append(w.data, data)
	w.next = alignUp(w.next+size, w.alignment)
	return nil
}

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	e := &encoder{w: bw}
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(len(w.tensors)))
	e.u64(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		e.str(kv.Key)
		e.u32(uint32(kv.Type))
		e.value(kv.Value)
	}
	for _, t := range w.tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	e.pad(w.alignment)
	var buf []byte
	for i, d := range w.data {
		if d.fill != nil && e.err == nil {
			size := int(w.tensors[i].Size)
			if cap(buf) < size {
				buf = make([]byte, size)
			}
			d.bytes = buf[:size]
			clear(d.bytes)
			if err := d.fill(d.bytes); err != nil {
				return e.n, fmt.Errorf("gguf: tensor %q: %w", w.tensors[i].Name, err)
			}
		}
		e.write(d.bytes)
		e.pad(w.alignment)
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err != nil {
		return e.n, fmt.Errorf("gguf: write: %w", e.err)
	}
	return e.n, nil
}

// encoder writes little-endian values, keeping the count and first error.
type encoder struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (e *encoder) write(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) u8(v uint8)   { e.buf[0] = v; e.write(e.buf[:1]) }
func (e *encoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.write(e.buf[:2]) }
func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.write(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.write(e.buf[:8]) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.write([]byte(s)) }

func (e *encoder) pad(align uint64) {
	if r := uint64(e.n) % align; r != 0 {
		e.write(make([]byte, align-r))
	}
}

func (e *encoder) value(v any) {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		et, ok := elemTypeOf(v)
		if !ok {
			e.err = errors.New("unsupported value") // valueType checked this in Set
			return
		}
		e.u32(uint32(et))
		switch s := v.(type) {
		case []uint8:
			arrayBody(e, s)
		case []int8:
			arrayBody(e, s)
		case []uint16:
			arrayBody(e, s)
		case []int16:
			arrayBody(e, s)
		case []uint32:
			arrayBody(e, s)
		case []int32:
			arrayBody(e, s)
		case []float32:
			arrayBody(e, s)
		case []bool:
			arrayBody(e, s)
		case []string:
			arrayBody(e, s)
		case []uint64:
			arrayBody(e, s)
		case []int64:
			arrayBody(e, s)
		case []float64:
			arrayBody(e, s)
		case []any:
			arrayBody(e, s)
		}
	}
}

func arrayBody[T any](e *encoder, s []T) {
	e.u64(uint64(len(s)))
	for _, x := range s {
		e.value(x)
	}
}
