package gguf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pith-project/pith/kernels"
)

// File is a parsed GGUF file. Data is the whole file; tensor bytes are
// views into it.
type File struct {
	Version   uint32
	Metadata  []KV
	Tensors   []TensorInfo
	Alignment uint64
	DataStart uint64 // file offset of the tensor data section
	Data      []byte
	SHA256    [32]byte // set by ReadFile; zero for Mmap and Parse

	index   map[string]int
	kvIndex map[string]int
	unmap   func() error
}

// Limits on header values; real models are far below them.
const (
	maxTensors = 1 << 20
	maxKVs     = 1 << 20
	maxDims    = 4
	maxNameLen = 1 << 16
)

// ReadFile reads a whole GGUF file into memory and checks that its SHA-256
// equals wantSHA256 (hex) unless wantSHA256 is empty. This is the enclave's
// path: nothing is read lazily later from a disk the host controls.
func ReadFile(path, wantSHA256 string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	sum := sha256.Sum256(data)
	if wantSHA256 != "" {
		want, err := hex.DecodeString(wantSHA256)
		if err != nil || len(want) != 32 {
			return nil, fmt.Errorf("gguf: expected digest %q is not 64 hex digits", wantSHA256)
		}
		if [32]byte(want) != sum {
			return nil, fmt.Errorf("gguf: %s: SHA-256 %x does not match the expected %s", path, sum, wantSHA256)
		}
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	f.SHA256 = sum
	return f, nil
}

// Mmap maps a GGUF file read-only, for development on a host: pages are read
// lazily, so the digest is not checked. Close unmaps it.
func Mmap(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("gguf: %s is empty", path)
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("gguf: mmap %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		unix.Munmap(data)
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	f.unmap = func() error { return unix.Munmap(data) }
	return f, nil
}

// Close releases a mapped file; it is a no-op for files read into memory.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap = nil
	return u()
}

// Parse parses and validates a GGUF file held in data.
func Parse(data []byte) (*File, error) {
	r := &reader{b: data}
	if m := r.u32(); r.err != nil || m != magic {
		return nil, errors.New("gguf: not a GGUF file (bad magic)")
	}
	f := &File{Version: r.u32(), Data: data, Alignment: DefaultAlignment}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("gguf: version %d is not supported (2 or 3)", f.Version)
	}
	nTensors, nKV := r.u64(), r.u64()
	if r.err != nil {
		return nil, fmt.Errorf("gguf: header: %w", r.err)
	}
	// Each KV takes at least 12 bytes and each tensor info at least 24, so
	// counts beyond what the file could hold are refused before allocating.
	if nKV > maxKVs || nKV > uint64(r.left())/12 {
		return nil, fmt.Errorf("gguf: %d metadata entries cannot fit in the file", nKV)
	}
	if nTensors > maxTensors || nTensors > uint64(r.left())/24 {
		return nil, fmt.Errorf("gguf: %d tensors cannot fit in the file", nTensors)
	}
	f.Metadata = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		key := r.str()
		if r.err != nil {
			return nil, fmt.Errorf("gguf: metadata entry %d: key: %w", i, r.err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, fmt.Errorf("gguf: metadata key %q appears twice", key)
		}
		t := ValueType(r.u32())
		v := r.value(t, 0)
		if r.err != nil {
			return nil, fmt.Errorf("gguf: metadata %q: %w", key, r.err)
		}
		f.kvIndex[key] = len(f.Metadata)
		f.Metadata = append(f.Metadata, KV{Key: key, Type: t, Value: v})
	}
	if kv, ok := f.lookup("general.alignment"); ok {
		a, ok := kv.Value.(uint32)
		if !ok || a == 0 || a&(a-1) != 0 || a > 1<<16 {
			return nil, fmt.Errorf("gguf: metadata \"general.alignment\": %v is not a power of two (uint32)", kv.Value)
		}
		f.Alignment = uint64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.index = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		t, err := r.tensorInfo()
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %d (%q): %w", i, t.Name, err)
		}
		if _, dup := f.index[t.Name]; dup {
			return nil, fmt.Errorf("gguf: tensor %q appears twice", t.Name)
		}
		f.index[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	f.DataStart = alignUp(uint64(r.off), f.Alignment)
	if err := f.checkTensorData(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *File) checkTensorData() error {
	size := uint64(len(f.Data))
	order := make([]int, len(f.Tensors))
	for i, t := range f.Tensors {
		order[i] = i
		if t.Offset%f.Alignment != 0 {
			return fmt.Errorf("gguf: tensor %q: offset %d is not aligned to %d", t.Name, t.Offset, f.Alignment)
		}
		if f.DataStart > size || t.Offset > size-f.DataStart || t.Size > size-f.DataStart-t.Offset {
			return fmt.Errorf("gguf: tensor %q: data ends past the file (offset %d, %d bytes, file %d bytes)", t.Name, f.DataStart+t.Offset, t.Size, size)
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for i := 1; i < len(order); i++ {
		p, t := f.Tensors[order[i-1]], f.Tensors[order[i]]
		if p.Offset+p.Size > t.Offset {
			return fmt.Errorf("gguf: tensor %q overlaps tensor %q", t.Name, p.Name)
		}
	}
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// Tensor returns a tensor's info and its bytes.
func (f *File) Tensor(name string) (TensorInfo, []byte, error) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("gguf: no tensor %q", name)
	}
	t := f.Tensors[i]
	start := f.DataStart + t.Offset
	return t, f.Data[start : start+t.Size : start+t.Size], nil
}

// Has reports whether a tensor exists.
func (f *File) Has(name string) bool { _, ok := f.index[name]; return ok }

func (f *File) lookup(key string) (KV, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return KV{}, false
	}
	return f.Metadata[i], true
}

// Value returns a metadata value, or nil.
func (f *File) Value(key string) any {
	kv, _ := f.lookup(key)
	return kv.Value
}

// String returns a string metadata value.
func (f *File) String(key string) (string, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return "", fmt.Errorf("gguf: metadata %q is missing", key)
	}
	s, ok := kv.Value.(string)
	if !ok {
		return "", fmt.Errorf("gguf: metadata %q is %s, not string", key, kv.Type)
	}
	return s, nil
}

// Uint returns an integer metadata value of any integer type, refusing
// negative values.
func (f *File) Uint(key string) (uint64, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	var v int64
	switch x := kv.Value.(type) {
	case uint8:
		return uint64(x), nil
	case uint16:
		return uint64(x), nil
	case uint32:
		return uint64(x), nil
	case uint64:
		return x, nil
	case int8:
		v = int64(x)
	case int16:
		v = int64(x)
	case int32:
		v = int64(x)
	case int64:
		v = x
	default:
		return 0, fmt.Errorf("gguf: metadata %q is %s, not an integer", key, kv.Type)
	}
	if v < 0 {
		return 0, fmt.Errorf("gguf: metadata %q is negative (%d)", key, v)
	}
	return uint64(v), nil
}

// Int returns an integer metadata value that fits an int, bounded by max.
func (f *File) Int(key string, max int) (int, error) {
	v, err := f.Uint(key)
	if err != nil {
		return 0, err
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("gguf: metadata %q is %d, more than %d", key, v, max)
	}
	return int(v), nil
}

// Float returns a float metadata value (float32 or float64).
func (f *File) Float(key string) (float64, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	switch x := kv.Value.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("gguf: metadata %q is %s, not a float", key, kv.Type)
}

// Bool returns a bool metadata value.
func (f *File) Bool(key string) (bool, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return false, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	b, ok := kv.Value.(bool)
	if !ok {
		return false, fmt.Errorf("gguf: metadata %q is %s, not bool", key, kv.Type)
	}
	return b, nil
}

// Strings returns a string array.
func (f *File) Strings(key string) ([]string, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	s, ok := kv.Value.([]string)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is not a string array", key)
	}
	return s, nil
}

// Int32s returns an int32 array.
func (f *File) Int32s(key string) ([]int32, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	s, ok := kv.Value.([]int32)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is not an int32 array", key)
	}
	return s, nil
}

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

func (r *reader) array(depth int) any {
	if depth > 4 {
		r.err = errors.New("arrays nested more than 4 deep")
		return nil
	}
	et := ValueType(r.u32())
	n := r.u64()
	if r.err != nil {
		return nil
	}
	// Bound the count by the bytes left before allocating anything.
	min := elemSize(et)
	if et == TypeString {
		min = 8
	} else if et == TypeArray {
		min = 12
	} else if min == 0 {
		r.err = fmt.Errorf("array of unknown type %d", uint32(et))
		return nil
	}
	if n > uint64(r.left())/min {
		r.err = fmt.Errorf("%w: array of %d %s cannot fit in the %d bytes left", errShort, n, et, r.left())
		return nil
	}
	switch et {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			out[i] = r.str()
		}
		return out
	case TypeInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(r.u32())
		}
		return out
	case TypeUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = r.u32()
		}
		return out
	case TypeFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(r.u32())
		}
		return out
	}
	out := make([]any, n)
	for i := range out {
		out[i] = r.value(et, depth+1)
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
	if len(t.Name) > maxNameLen || strings.ContainsRune(t.Name, 0) {
		return t, errors.New("bad tensor name")
	}
	if nd == 0 || nd > maxDims {
		return t, fmt.Errorf("%d dimensions (1 to %d allowed)", nd, maxDims)
	}
	t.Dims = make([]uint64, nd)
	elems := uint64(1)
	for i := range t.Dims {
		d := r.u64()
		if r.err != nil {
			return t, r.err
		}
		if d == 0 || d > 1<<40 || elems > math.MaxInt64/d {
			return t, fmt.Errorf("dimension %d = %d is out of range", i, d)
		}
		t.Dims[i] = d
		elems *= d
	}
	t.Type = kernels.Type(r.u32())
	t.Offset = r.u64()
	if r.err != nil {
		return t, r.err
	}
	if !t.Type.Known() {
		return t, fmt.Errorf("unknown tensor type %d", uint32(t.Type))
	}
	if t.Dims[0]%uint64(t.Type.BlockSize()) != 0 {
		return t, fmt.Errorf("row of %d elements is not a whole number of %s blocks", t.Dims[0], t.Type)
	}
	blocks := elems / uint64(t.Type.BlockSize())
	if blocks > math.MaxInt64/uint64(t.Type.BlockBytes()) {
		return t, errors.New("tensor size overflows")
	}
	t.Size = blocks * uint64(t.Type.BlockBytes())
	return t, nil
}
