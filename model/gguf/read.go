package gguf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pith-project/pith/internal/hugemem"
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

	// Rewritten records, for a loader that rewrites tensors' data in
	// place (model.Load lays weights out for its kernels), what it made
	// of each tensor it rewrote, so that loading the same File again
	// reads them as they now are. The reader leaves it empty.
	Rewritten map[string]uint8

	index   map[string]int
	kvIndex map[string]int
	unmap   func() error
}

// Limits on header values; real models are far below them.
const (
	maxTensors = 1 << 20
	maxKVs     = 1 << 20
	maxDims    = 4
	// ggml's GGML_MAX_NAME is 64 bytes including the NUL; llama.cpp refuses
	// longer names, so the reader does too.
	maxNameLen   = 63
	maxAlignment = 1 << 16
)

// ReadFile reads a whole GGUF file into memory and checks that its SHA-256
// equals wantSHA256 (hex) unless wantSHA256 is empty. This is the enclave's
// path: nothing is read lazily later from a disk the host controls. The
// memory is backed by huge pages where the kernel offers them (see
// internal/hugemem: decode streams every weight once per token, faster
// than from 4 KiB pages), and the tensor data starts on a cache line (see
// AlignData).
func ReadFile(path, wantSHA256 string) (*File, error) {
	data, err := readAll(path)
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
	f.AlignData(DataAlign)
	return f, nil
}

// DataAlign is the alignment ReadFile gives the tensor data (AlignData): a
// cache line, the width of a ZMM load.
const DataAlign = 64

// readAll reads the file at path into a slice from hugemem.Make, with
// DataAlign-1 bytes to spare past its end for AlignData.
func readAll(path string) ([]byte, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() { // a pipe, say: its size is unknown
		return io.ReadAll(fd)
	}
	data := hugemem.Make(int(st.Size()) + DataAlign - 1)[:st.Size()]
	if _, err := io.ReadFull(fd, data); errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s shrank while being read", path)
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if n, _ := fd.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("%s grew while being read", path)
	}
	return data, nil
}

// Mmap maps a GGUF file copy-on-write, for development on a host: pages
// are read lazily, so the digest is not checked, and a loader may rewrite
// tensors in place (the file is never written). Close unmaps it. A mapped
// file's pages are 4 KiB ones, which decode reads slower than ReadFile's
// huge pages (see ReadFile).
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
	data, err := unix.Mmap(int(fd.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
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

// AlignData moves the file up within Data's backing array, by less than
// align bytes, so that the tensor data section starts on an align-byte
// boundary, and reports whether it now does. align must be a power of two
// of at most 4096. The move needs up to align-1 bytes of capacity to spare
// past len(Data), which ReadFile's buffer has; without them nothing changes.
// Call it before taking any tensor's bytes: a view taken earlier keeps the
// old address, whose contents the move shifts. Go's heap does not move
// objects, so the alignment lasts.
//
// GGUF aligns tensors to general.alignment, 32 bytes by default, so a file
// read in at a page boundary has its tensors at 32 mod 64 as often as not,
// and then every 64-byte (ZMM) load of their weights splits two cache
// lines. On Zen 5 such split loads cost 4-8% of a core's streaming rate,
// and the avx512 Q8_0 decode kernel (kernels' decQ8_0Z8) ran 5-14% faster
// at one thread on tensors on 64 bytes than at 32 mod 64. With align 64,
// every tensor whose offset in the data section is a multiple of 64 (in
// practice all of them: in llama.cpp's files and ours, every tensor of a
// Qwen2.5-0.5B sat at 32 mod 64 before) starts on a cache line.
func (f *File) AlignData(align int) bool {
	if align <= 0 || align&(align-1) != 0 || align > 4096 {
		panic(fmt.Sprintf("gguf: AlignData(%d): not a power of two of at most 4096", align))
	}
	at := uintptr(unsafe.Pointer(unsafe.SliceData(f.Data))) + uintptr(f.DataStart)
	shift := int(-at & uintptr(align-1))
	if shift == 0 {
		return true
	}
	if cap(f.Data)-len(f.Data) < shift {
		return false
	}
	moved := f.Data[shift : shift+len(f.Data)]
	copy(moved, f.Data) // a memmove: the two overlap
	// Zero what the move vacates, so that no stale copy of the file's
	// first bytes outlives a wipe of Data.
	clear(f.Data[:shift])
	f.Data = moved
	return true
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
		if f.Version&0xffff == 0 && f.Version != 0 {
			return nil, fmt.Errorf("gguf: version %d: a big-endian file? only little-endian GGUF v2 and v3 are supported", f.Version)
		}
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
		if !ok || a == 0 || a&(a-1) != 0 || a > maxAlignment {
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
