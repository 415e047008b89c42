package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/pith-project/pith/kernels"
)

// Writer builds a GGUF v3 file: metadata in insertion order, then tensor
// infos, then the tensor data, each tensor aligned.
type Writer struct {
	kvs       []KV
	tensors   []TensorInfo
	data      [][]byte
	alignment uint64
	next      uint64
}

// NewWriter starts an empty file with the default alignment.
func NewWriter() *Writer { return &Writer{alignment: DefaultAlignment} }

// Set adds a metadata entry. Supported values: the scalar types of KV,
// string, []string, []int32, []uint32, []float32.
func (w *Writer) Set(key string, value any) {
	w.kvs = append(w.kvs, KV{Key: key, Type: typeOf(value), Value: value})
	if key == "general.alignment" {
		if a, ok := value.(uint32); ok {
			w.alignment = uint64(a)
		}
	}
}

func typeOf(v any) ValueType {
	switch v.(type) {
	case uint8:
		return TypeUint8
	case int8:
		return TypeInt8
	case uint16:
		return TypeUint16
	case int16:
		return TypeInt16
	case uint32:
		return TypeUint32
	case int32:
		return TypeInt32
	case float32:
		return TypeFloat32
	case bool:
		return TypeBool
	case string:
		return TypeString
	case uint64:
		return TypeUint64
	case int64:
		return TypeInt64
	case float64:
		return TypeFloat64
	case []string, []int32, []uint32, []float32:
		return TypeArray
	}
	panic(fmt.Sprintf("gguf: unsupported metadata value %T", v))
}

// AddTensor adds a tensor whose data is already in its storage type. dims
// are ggml's ne (row length first).
func (w *Writer) AddTensor(name string, typ kernels.Type, dims []uint64, data []byte) error {
	t := TensorInfo{Name: name, Dims: dims, Type: typ, Offset: w.next}
	if len(dims) == 0 || len(dims) > maxDims {
		return fmt.Errorf("gguf: tensor %q: %d dimensions", name, len(dims))
	}
	row, err := typ.RowBytes(int(dims[0]))
	if err != nil {
		return fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	size := uint64(row)
	for _, d := range dims[1:] {
		size *= d
	}
	if uint64(len(data)) != size {
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %s %v needs %d", name, len(data), typ, dims, size)
	}
	t.Size = size
	w.tensors = append(w.tensors, t)
	w.data = append(w.data, data)
	w.next = alignUp(w.next+size, w.alignment)
	return nil
}

// WriteTo writes the file.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	bw := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	le := binary.LittleEndian
	put := func(v any) { binary.Write(bw, le, v) }
	putStr := func(s string) { put(uint64(len(s))); io.WriteString(bw, s) }
	put(uint32(magic))
	put(uint32(3))
	put(uint64(len(w.tensors)))
	put(uint64(len(w.kvs)))
	for _, kv := range w.kvs {
		putStr(kv.Key)
		put(uint32(kv.Type))
		switch v := kv.Value.(type) {
		case string:
			putStr(v)
		case bool:
			if v {
				put(uint8(1))
			} else {
				put(uint8(0))
			}
		case []string:
			put(uint32(TypeString))
			put(uint64(len(v)))
			for _, s := range v {
				putStr(s)
			}
		case []int32:
			put(uint32(TypeInt32))
			put(uint64(len(v)))
			put(v)
		case []uint32:
			put(uint32(TypeUint32))
			put(uint64(len(v)))
			put(v)
		case []float32:
			put(uint32(TypeFloat32))
			put(uint64(len(v)))
			put(v)
		case float32:
			put(math.Float32bits(v))
		case float64:
			put(math.Float64bits(v))
		default:
			put(v)
		}
	}
	for _, t := range w.tensors {
		putStr(t.Name)
		put(uint32(len(t.Dims)))
		put(t.Dims)
		put(uint32(t.Type))
		put(t.Offset)
	}
	pad := func() {
		if r := uint64(bw.n) % w.alignment; r != 0 {
			bw.Write(make([]byte, w.alignment-r))
		}
	}
	pad()
	for _, d := range w.data {
		bw.Write(d)
		pad()
	}
	if bw.err != nil {
		return bw.n, fmt.Errorf("gguf: write: %w", bw.err)
	}
	if err := bw.w.(*bufio.Writer).Flush(); err != nil {
		return bw.n, fmt.Errorf("gguf: write: %w", err)
	}
	return bw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
