package model

// Allocator hands out the per-request buffers of a generation: KV cache,
// activations, logits, token ids, sampler state. The server passes its
// request arena (package arena), which is zeroed after every request; tools
// that hold no secrets may pass a heap allocator. Buffers are zeroed when
// handed out and are never freed individually.
type Allocator interface {
	Bytes(n int) []byte
	Float32s(n int) []float32
	Int32s(n int) []int32
	Uint16s(n int) []uint16
}

// HeapAllocator allocates from the Go heap. It never wipes anything, so it
// is for tests and command-line tools on a developer's own machine, never
// for the server.
type HeapAllocator struct{}

func (HeapAllocator) Bytes(n int) []byte       { return make([]byte, n) }
func (HeapAllocator) Float32s(n int) []float32 { return make([]float32, n) }
func (HeapAllocator) Int32s(n int) []int32     { return make([]int32, n) }
func (HeapAllocator) Uint16s(n int) []uint16   { return make([]uint16, n) }
