package arena

// Allocator hands out per-request buffers, zeroed, never freed one by one.
// The model package takes one (its own model.Allocator has the same method
// set, so *Arena and Heap satisfy both).
type Allocator interface {
	Bytes(n int) []byte
	Float32s(n int) []float32
	Int32s(n int) []int32
	Uint16s(n int) []uint16
}

var (
	_ Allocator = (*Arena)(nil)
	_ Allocator = Heap{}
)

// Heap allocates from the Go heap. It never wipes, locks or hides
// anything: the garbage collector frees its buffers whenever it likes and
// leaves their bytes in memory. It is for tests and command-line tools on a
// developer's own data, never for the server.
type Heap struct{}

func (Heap) Bytes(n int) []byte       { return make([]byte, n) }
func (Heap) Float32s(n int) []float32 { return make([]float32, n) }
func (Heap) Int32s(n int) []int32     { return make([]int32, n) }
func (Heap) Uint16s(n int) []uint16   { return make([]uint16, n) }
