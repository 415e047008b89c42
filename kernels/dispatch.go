package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// A path is a set of fast dot products for some types; types it lacks use
// the portable reference. Paths register themselves from build-tagged files
// (package-level variables, so they exist before init runs).
type vecDotFunc = func(n int, w, x []byte) float32

var paths = map[string]func() (map[Type]vecDotFunc, error){
	"portable": func() (map[Type]vecDotFunc, error) { return nil, nil },
}

var (
	activePath = "portable"
	activeDots map[Type]vecDotFunc
	activeMats map[Type]matKernels
	// activeDecode are the path's decode kernels (see decode.go), and
	// activeInterleaved those for Interleaved8 matrices (interleave.go).
	activeDecode      map[Type]decodeKernel
	activeInterleaved map[Type]decodeKernel
)

// matKernels are a path's matrix kernels for one weight type with Q8_0
// activations whose block scales are given as float32 (dx):
//   - tile4 computes one weight row against four tokens, token t's x at
//     x + t·xstride bytes, its scales at dx + t·dxstride bytes, its result
//     stored at out + t·ostride bytes;
//   - row1 computes one weight row against one token (decode).
//
// Both cover nb whole blocks. MatMul checks the buffers before calling.
type matKernels struct {
	tile4 func(nb int, w, x *byte, xstride int, dx *float32, dxstride int, out *float32, ostride int)
	row1  func(nb int, w, x *byte, dx *float32) float32
	// zOff is the offset that makes the weights unsigned for the VNNI
	// kernels (Q4_0 8, Q5_0 16, Q8_0 128).
	zOff int32
	// lanes, where a path has them, are the prefill kernels that put
	// rows in the vector lanes (gemmv_amd64.s, gemmv2_amd64.s); their
	// activations carry the integer correction for the offset zOff.
	lanes laneKernels
	// recordsV, where a path has it, writes one token's records for
	// lanes.gemm, lanes.record bytes a block (dst: its first block's
	// record); where that is vRecord, as quantJob.recordsV does. For Q8_1
	// activations (Q4_1, Q5_1) and records of another size it is the only
	// writer (registerMats checks that it is there).
	recordsV func(nb int, row, dst *byte, zOff int)

	// quant is ggml's Q8_0 quantiser for nb blocks; false means a value
	// was not finite and the row must be redone by the portable one.
	quant func(nb int, src *float32, dst *byte) bool
}

// floatTileFunc is a tile of floatKernels.tiles2x4 or tiles4x4.
type floatTileFunc func(nb int, w *byte, wstride int, x *byte, xstride int, out *float32, ostride int)

// floatKernels are a path's further fast paths: dot products for the float
// and K-quant weight types (kept apart from the legacy quantised dots, whose
// test assumes 32-element blocks), and attention's loops over its cache.
type floatKernels struct {
	dots map[Type]vecDotFunc

	// tiles4 compute one weight row against four tokens of activations
	// in their plain vecDotType rows (token t at x + t·xstride bytes, its
	// result at out + t·ostride bytes), for nb whole blocks.
	tiles4 map[Type]func(nb int, w, x *byte, xstride int, out *float32, ostride int)

	// tiles2x4 compute two weight rows (row 1 at w + wstride bytes)
	// against four tokens of float32 activations (token t at x +
	// t·xstride bytes, its results at out + t·ostride bytes, row 1's 4
	// bytes past row 0's), for nb elements: the float weight types'.
	tiles2x4 map[Type]floatTileFunc
	// tiles4x4, where a path has them, take four rows (row r at w +
	// r·wstride, its results 4r bytes past row 0's) the same way.
	tiles4x4 map[Type]floatTileFunc

	// swiglu is SwiGLU over whole slices, bit for bit swigluGo; expShift
	// and roundF16s are attention's loops, bit for bit expShiftGo and
	// roundF16sGo.
	swiglu    func(dst, gate, up []float32)
	expShift  func(dst, src []float32, m float32)
	roundF16s func(dst, src []float32, s float32)
	// f32ToF16 is F32ToF16Row's loop, bit for bit f32ToF16Go.
	f32ToF16 func(dst []uint16, src []float32)
	// roundBF16s is RoundBF16Row's loop, bit for bit roundBF16sGo.
	roundBF16s func(dst, src []float32)
	// attn, where the path has it, takes attention's products over the
	// cache a few tokens at a time (attendTiled).
	attn *attnKernels

	// kLanes are row-lane prefill kernels for K-quants (Q8_K activations).
	kLanes map[Type]laneKernels
}

// laneKernels are a weight type's row-lane prefill kernels: repack lays out
// nb blocks of rows rows (rmask: which are valid) in block bytes each; gemm
// multiplies them by a group of ntok <= tokens tokens' records (record
// bytes per token and block: made by the path's recordsV for the legacy
// types, by recordsK with pairs or recordK for the K-quants), token t's
// results to out + t·ostride bytes (only the rows in rmask), with acc as
// scratch for 256 floats; prefetch asks for n bytes at p to come into the
// cache.
type laneKernels struct {
	repack func(nb int, w *byte, wrb int, rmask int, dst *byte)
	// repackX8, where the path has it, lays out the same tile from the
	// Interleaved8 groups of its rows, the first at w and the next wrb·8
	// bytes on (an eight-row tile takes one and ignores wrb and rmask).
	repackX8 func(nb int, w *byte, wrb int, rmask int, dst *byte)
	gemm     func(nb int, w, x *byte, acc *float32, out *float32, ostride int, ntok int, rmask int)
	prefetch func(p *byte, n int)
	// block is the bytes of a repacked block (0: vBlock).
	block int
	// pairs (K-quants) writes the block's activation sums as the kernel
	// takes them (int16 pairs for a VPDPWSSD, say) from the Q8_K block's
	// sums of 16, to the record's bytes from 256 to record-16 (record-16
	// holds dx).
	pairs func(dst, bsums []byte)
	// record is the bytes of one token's record of one block (0: vRecord,
	// or kRecord for the K-quants).
	record int
	// recordK, if not nil, lays out the whole record rec from the Q8_K
	// block blk instead (pairs unused).
	recordK func(rec, blk []byte)
	// rows and tokens per repacked tile and per call (0: vRows, vGroup).
	rows, tokens int
	// passBytes, if not 0, bounds the records of the tokens that pass
	// through all rows before the next ones do (see laneSpec.chunk).
	passBytes int
}

var (
	floats      = map[string]floatKernels{}
	activeFloat floatKernels
)

func registerFloat(name string, k floatKernels) bool {
	floats[name] = k
	return true
}

// mats holds each path's matrix kernels, by path name.
var mats = map[string]map[Type]matKernels{}

// registerMats adds a path's matrix kernels from a build-specific file.
func registerMats(name string, m map[Type]matKernels) bool {
	for t, mk := range m {
		if mk.lanes.record != 0 && mk.lanes.record != vRecord && mk.recordsV == nil {
			panic(fmt.Sprintf("kernels: path %s: %v lanes take %d-byte records but have no recordsV to write them", name, t, mk.lanes.record))
		}
		laneRecords[t] = max(laneRecords[t], mk.lanes.record)
	}
	mats[name] = m
	return true
}

// laneRecords is, by type, the largest record any path's row-lane kernels
// set (laneRecord), kept as paths register so that products look it up
// without going through every path's kernels.
var laneRecords = map[Type]int{}

func init() {
	name := os.Getenv("PITH_KERNELS")
	if name == "" {
		name = bestPath()
	}
	if err := SetPath(name); err != nil {
		// An explicit but impossible choice must not silently fall back.
		fmt.Fprintf(os.Stderr, "pith: PITH_KERNELS: %v\n", err)
		os.Exit(2)
	}
}

// registerPath adds a path from a build-specific file.
func registerPath(name string, p func() (map[Type]vecDotFunc, error)) bool {
	paths[name] = p
	return true
}

// bestPath picks the fastest path this build and CPU have.
func bestPath() string {
	for _, name := range []string{"avx512", "avx2"} {
		if p, ok := paths[name]; ok {
			if _, err := p(); err == nil {
				return name
			}
		}
	}
	return "portable"
}

// Path is the kernel path in use.
func Path() string { return activePath }

// Paths lists the kernel paths this build and this CPU can run.
func Paths() []string {
	var ok []string
	for name, p := range paths {
		if _, err := p(); err == nil {
			ok = append(ok, name)
		}
	}
	sort.Strings(ok)
	return ok
}

// SetPath selects a kernel path; an unknown or unavailable one is an error.
func SetPath(name string) error {
	p, ok := paths[name]
	if !ok {
		var names []string
		for n := range paths {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("kernel path %q is not available in this build (have %s)", name, strings.Join(names, ", "))
	}
	dots, err := p()
	if err != nil {
		return fmt.Errorf("kernel path %q: %w", name, err)
	}
	opMu.Lock() // no matrix product may see a half-switched path
	defer opMu.Unlock()
	activePath, activeDots, activeMats, activeFloat = name, dots, mats[name], floats[name]
	activeDecode, activeQuant = decodes[name], quantizers[name]
	activeInterleaved = interleavedDecodes[name]
	return nil
}

// vecDotFor is the dot product MatMul uses for weights of type t.
func vecDotFor(t Type) vecDotFunc {
	if f, ok := activeDots[t]; ok {
		return f
	}
	if f, ok := activeFloat.dots[t]; ok {
		return f
	}
	return portable[t].vecDot
}
