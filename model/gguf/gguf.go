// Package gguf reads and writes GGUF files, the model format of llama.cpp
// and ollama (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
//
// Reading validates everything before use: every length is bounded by the
// bytes that remain, tensor data must lie inside the file, aligned, without
// overlap, with a size that matches its type and shape. A bad file gets an
// error naming the key or tensor, never a panic or a huge allocation.
package gguf

import (
	"fmt"

	"github.com/pith-project/pith/kernels"
)

const magic = 0x46554747 // "GGUF" little-endian

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

// ValueType is the type tag of a metadata value.
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var typeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// KV is one metadata entry. Value holds a scalar of the matching Go type
// (uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64), an array as a slice of one of them ([]string, []int32,
// []float32, ...; empty arrays keep their element type), or an array of
// arrays as []any whose elements are such slices.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// TensorInfo describes one tensor. Dims are ggml's ne: Dims[0] is the
// length of a row (contiguous), Dims[1] the number of rows, and so on.
type TensorInfo struct {
	Name   string
	Dims   []uint64
	Type   kernels.Type
	Offset uint64 // from the start of the data section
	Size   uint64 // bytes
}

// Elements is the product of the dimensions.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Rows is the number of rows: the product of every dimension but the first.
func (t TensorInfo) Rows() int {
	n := 1
	for _, d := range t.Dims[1:] {
		n *= int(d)
	}
	return n
}
