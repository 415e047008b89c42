// Package hugemem allocates large byte slices that the kernel backs with
// transparent huge pages (2 MiB on amd64) where it offers them.
//
// Decode streams every weight of the model once per token. With 4 KiB
// pages the hardware prefetchers stop at each page's end and the core
// takes a TLB miss every 4 KiB, so a stream of weights spread over 4 KiB
// pages reads slower than the memory can deliver. On 2 MiB pages, a
// Qwen2.5-0.5B-shaped stack of layers decoded 13–16% faster at one thread
// (Q4_0 28.6 → 33.1 GB/s, Q4_K 31.0 → 35.0), 3–6% at two in the usual
// windows and 13% in the high-bandwidth ones (Q4_0 49.6 → 56.3), each
// way alternated in one process; the model's generation at one thread
// went from 76 to 84–90 tokens/s. The streaming-read probe gained 7%
// (one thread) and 11% (two). The weights and the probes' buffers use it.
//
// The memory is ordinary Go memory, freed by the garbage collector; the
// advice is best effort: where the kernel has no transparent huge pages,
// or they are switched off, the slice is backed by small pages as any
// other.
package hugemem

// Size is the huge page size the package aligns to.
const Size = 2 << 20

// minBytes is the smallest request that Make advises: below a few huge
// pages the alignment would waste more than the pages save.
const minBytes = 4 * Size

// Make returns a zeroed slice of n bytes. From minBytes up, the slice
// starts on a huge page boundary and the kernel has been asked to back it
// with huge pages before the caller writes it, since the kernel picks the
// page size when a page is first touched. (Memory the Go heap hands out
// again may already be backed by small pages; a fresh allocation of this
// size comes untouched from the kernel.)
func Make(n int) []byte {
	if n < minBytes {
		return make([]byte, n)
	}
	buf := make([]byte, n+Size)
	b := buf[alignOffset(buf):][:n:n]
	_ = Advise(b) // best effort; see Stat
	return b
}
