package kernels

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/internal/oracle"
)

// ggmlShim is testdata/ggml_shim.c built for one test and run inside the
// llama.cpp root, where it calls Debian's libggml (see the C file).
type ggmlShim struct {
	inside string // path of the binary inside the root
	cpuLib string // CPU backend variant inside the root; "" for the x64 baseline
}

// newGGMLShim compiles the shim on the host (gcc, against ggml's ABI and
// nothing else) into the oracle root; the root's newer glibc runs it.
func newGGMLShim(t *testing.T) *ggmlShim {
	t.Helper()
	oracle.Require(t, oracle.Llama)
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		if oracle.Mandatory() {
			t.Fatal("gcc is needed to build the libggml shim")
		}
		t.Skip("gcc not found: cannot build the libggml shim")
	}
	name := fmt.Sprintf("ggmlshim-%d-%d", os.Getpid(), time.Now().UnixNano())
	dir := filepath.Join(oracle.LlamaRoot(), "work", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out, err := exec.Command(gcc, "-O1", "-Wall", "-o", filepath.Join(dir, "ggml_shim"), "testdata/ggml_shim.c", "-ldl").CombinedOutput()
	if err != nil {
		t.Fatalf("building the libggml shim: %v\n%s", err, out)
	}
	return &ggmlShim{inside: "/work/" + name + "/ggml_shim"}
}

func (s *ggmlShim) run(t *testing.T, in []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chroot", append([]string{oracle.LlamaRoot(), s.inside}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "GGML_CPU_LIB="+s.cpuLib)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ggml_shim %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// ggmlName is the suffix ggml gives a type in its function names.
func ggmlName(t Type) string {
	return strings.ToLower(t.String()[:len(t.String())-1]) + t.String()[len(t.String())-1:]
}

func (s *ggmlShim) quantize(t *testing.T, typ Type, n int, rows []float32) []byte {
	rb, _ := typ.RowBytes(n)
	return s.run(t, f32bytes(rows), "quantize", "quantize_row_"+ggmlName(typ)+"_ref", fmt.Sprint(n), fmt.Sprint(len(rows)/n), fmt.Sprint(rb))
}

func (s *ggmlShim) dequantize(t *testing.T, typ Type, n int, data []byte) []float32 {
	rb, _ := typ.RowBytes(n)
	return bytesF32(s.run(t, data, "dequantize", "dequantize_row_"+ggmlName(typ), fmt.Sprint(n), fmt.Sprint(len(data)/rb), fmt.Sprint(rb)))
}

// dot runs ggml's portable (_generic) dot product on pairs of rows.
func (s *ggmlShim) dot(t *testing.T, typ Type, n int, w, x []byte) []float32 {
	return s.dotSym(t, typ, n, w, x, "_generic")
}

// dotSym runs ggml's dot product whose name ends in suffix: "_generic" for
// the portable C one, "" for the one the backend variant dispatches to.
func (s *ggmlShim) dotSym(t *testing.T, typ Type, n int, w, x []byte, suffix string) []float32 {
	wb, _ := typ.RowBytes(n)
	xb, _ := typ.VecDotType().RowBytes(n)
	rows := len(w) / wb
	in := make([]byte, 0, len(w)+len(x))
	for r := range rows {
		in = append(in, w[r*wb:(r+1)*wb]...)
		in = append(in, x[r*xb:(r+1)*xb]...)
	}
	sym := fmt.Sprintf("ggml_vec_dot_%s_%s%s", ggmlName(typ), ggmlName(typ.VecDotType()), suffix)
	return bytesF32(s.run(t, in, "dot", sym, fmt.Sprint(n), fmt.Sprint(rows), fmt.Sprint(wb), fmt.Sprint(xb)))
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func bytesF32(b []byte) []float32 {
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}

// sameFloat is bit equality, except that any two NaNs match (the payload
// is the CPU's business, not the format's).
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// oracleRows builds test rows of n elements: Gaussian ones at several
// scales, and the adversarial ones (zeros, constants, a spike, huge and tiny
// dynamic range, subnormals, ±MaxFloat32).
func oracleRows(r *rand.Rand, n int) (rows []float32, names []string) {
	add := func(name string, f func(i int) float32) {
		for i := range n {
			rows = append(rows, f(i))
		}
		names = append(names, name)
	}
	for _, scale := range []float32{1, 1e-3, 300} {
		for k := range 3 {
			add(fmt.Sprintf("normal*%g#%d", scale, k), func(int) float32 { return scale * float32(r.NormFloat64()) })
		}
	}
	add("uniform-positive", func(int) float32 { return r.Float32() })
	add("uniform-negative", func(int) float32 { return -r.Float32() - 0.5 })
	add("zeros", func(int) float32 { return 0 })
	add("negative-zeros", func(int) float32 { return float32(math.Copysign(0, -1)) })
	add("constant", func(int) float32 { return 3.25 })
	add("negative-constant", func(int) float32 { return -0.7 })
	add("spike", func(i int) float32 {
		if i%97 == 5 {
			return 1000
		}
		return 0.001 * float32(r.NormFloat64())
	})
	add("dynamic-range", func(int) float32 {
		return float32(math.Pow(10, r.Float64()*60-30)) * float32(1-2*r.IntN(2))
	})
	add("subnormal", func(int) float32 { return math.Float32frombits(uint32(r.IntN(1<<23))) * float32(1-2*r.IntN(2)) })
	add("tiny", func(int) float32 { return 1e-20 * float32(r.NormFloat64()) })
	add("max", func(i int) float32 {
		return [...]float32{math.MaxFloat32, -math.MaxFloat32, 1, 0}[i%4]
	})
	add("near-f16-max", func(int) float32 { return 65000 * float32(r.NormFloat64()) })
	add("integers", func(int) float32 { return float32(r.IntN(33) - 16) })
	add("infinities", func(i int) float32 {
		return [...]float32{float32(math.Inf(1)), 1, -2, float32(math.Inf(-1)), 0.5}[i%5]
	})
	add("nan", func(i int) float32 {
		if i%50 == 3 {
			return float32(math.NaN())
		}
		return float32(r.NormFloat64())
	})
	add("halves", func(int) float32 { return float32(r.IntN(64)-32) / 2 })
	return rows, names
}

var oracleTypes = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K}

// Our quantisers produce the bytes ggml's quantize_row_*_ref produces, our
// dequantisers the floats ggml's dequantize_row_* produces (on our blocks
// and on random bytes, NaN and Inf scales included), and our dot products
// the value ggml's portable vec_dot gives, for every type.
func TestAgainstGGML(t *testing.T) {
	shim := newGGMLShim(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range oracleTypes {
		t.Run(typ.String(), func(t *testing.T) {
			n := 3 * QKK
			rows, names := oracleRows(r, n)
			rb, _ := typ.RowBytes(n)
			nrows := len(rows) / n

			want := shim.quantize(t, typ, n, rows)
			got := make([]byte, len(want))
			for i := range nrows {
				if err := QuantizeRow(typ, got[i*rb:(i+1)*rb], rows[i*n:(i+1)*n]); err != nil {
					t.Fatal(err)
				}
			}
			for i := range nrows {
				g, w := got[i*rb:(i+1)*rb], want[i*rb:(i+1)*rb]
				if !bytes.Equal(g, w) {
					j := 0
					for g[j] == w[j] {
						j++
					}
					t.Errorf("quantize %s: first difference at byte %d (block %d): ours %#02x, ggml %#02x", names[i], j, j/typ.BlockBytes(), g[j], w[j])
				}
			}

			if typ == Q8_1 {
				return // ggml has no dequantize_row_q8_1 to compare with
			}
			// Dequantise ggml's blocks and random bytes.
			noise := make([]byte, 8*rb)
			for i := range noise {
				noise[i] = byte(r.Uint32())
			}
			blocks := append(append([]byte{}, want...), noise...)
			wantF := shim.dequantize(t, typ, n, blocks)
			gotF := make([]float32, len(wantF))
			for i := range len(blocks) / rb {
				if err := DequantizeRow(typ, gotF[i*n:(i+1)*n], blocks[i*rb:(i+1)*rb]); err != nil {
					t.Fatal(err)
				}
			}
			for i := range gotF {
				if !sameFloat(gotF[i], wantF[i]) {
					t.Errorf("dequantize row %d element %d: ours %v, ggml %v", i/n, i%n, gotF[i], wantF[i])
					break
				}
			}

			if typ.VecDotType() == typ && typ != Q8_0 {
				return // an activation type
			}
			// Dot: ggml's weight rows (and noise) against activations
			// quantised by ggml from fresh Gaussian rows.
			vt := typ.VecDotType()
			wrows := blocks
			k := len(wrows) / rb
			act := make([]float32, k*n)
			for i := range act {
				act[i] = float32(r.NormFloat64())
			}
			x := shim.quantize(t, vt, n, act)
			wantD := shim.dot(t, typ, n, wrows, x)
			xb, _ := vt.RowBytes(n)
			for i := range k {
				g, err := DotRow(typ, wrows[i*rb:(i+1)*rb], x[i*xb:(i+1)*xb], n)
				if err != nil {
					t.Fatal(err)
				}
				if !sameFloat(g, wantD[i]) {
					t.Errorf("dot row %d: ours %v, ggml %v", i, g, wantD[i])
				}
			}
		})
	}
}

// Block geometry equals ggml's own (ggml_blck_size, ggml_type_size).
func TestGeometryAgainstGGML(t *testing.T) {
	shim := newGGMLShim(t)
	for i := range geometries {
		typ := Type(i)
		if !typ.Known() {
			continue
		}
		got := strings.Fields(string(shim.run(t, nil, "size", fmt.Sprint(uint32(typ)))))
		want := []string{fmt.Sprint(typ.BlockSize()), fmt.Sprint(typ.BlockBytes())}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%v: ggml says block %v, we say %v", typ, got, want)
		}
	}
}

// ggml's SIMD dot products (every CPU backend variant this CPU can run,
// haswell/zen4 and the like) agree with ours within float rounding: they
// only sum in another order. This is what llama.cpp computes in practice,
// and the bound the fast paths of this package are held to.
func TestSIMDVariantsAgreeWithGGML(t *testing.T) {
	shim := newGGMLShim(t)
	libs, err := filepath.Glob(filepath.Join(oracle.LlamaRoot(), "usr/lib/x86_64-linux-gnu/ggml/backends0/libggml-cpu-*.so"))
	if err != nil || len(libs) == 0 {
		t.Fatalf("no ggml CPU backends in the oracle root (%v)", err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	const n = 8 * QKK
	ran := 0
	for _, lib := range libs {
		v := *shim
		v.cpuLib = strings.TrimPrefix(lib, oracle.LlamaRoot())
		if score := strings.TrimSpace(string(v.run(t, nil, "score", "-"))); score == "0" || strings.HasSuffix(lib, "-x64.so") {
			continue
		}
		ran++
		t.Run(strings.TrimSuffix(filepath.Base(lib), ".so"), func(t *testing.T) {
			// llama.cpp quantises activations at run time with the
			// variant's own from_float (SIMD where it has one). For Q8_K
			// that gives our bytes on every row. The SIMD Q8_0/Q8_1 ones
			// take the inverse scale as 127/max rather than 1/(max/127)
			// and round ties to even where the reference rounds them away
			// from zero, and part ways on subnormal and non-finite input:
			// on the other rows the scales are equal and no level is more
			// than one step off.
			rows, names := oracleRows(r, n)
			for _, typ := range []Type{Q8_0, Q8_1, Q8_K} {
				rb, _ := typ.RowBytes(n)
				theirs := v.run(t, f32bytes(rows), "quantize", "quantize_row_"+ggmlName(typ), fmt.Sprint(n), fmt.Sprint(len(rows)/n), fmt.Sprint(rb))
				ours := make([]byte, rb)
				differ := 0
				for i, name := range names {
					_ = QuantizeRow(typ, ours, rows[i*n:(i+1)*n])
					th := theirs[i*rb : (i+1)*rb]
					if bytes.Equal(ours, th) {
						continue
					}
					differ++
					if typ == Q8_K {
						t.Errorf("%v activations %s: ours differ from quantize_row_%s", typ, name, ggmlName(typ))
						continue
					}
					if name == "subnormal" || name == "infinities" || name == "nan" {
						continue
					}
					hdr := typ.BlockBytes() - QK // d, and Q8_1's s
					for b := 0; b < rb; b += typ.BlockBytes() {
						if !bytes.Equal(ours[b:b+2], th[b:b+2]) {
							t.Errorf("%v activations %s: block %d scale differs from quantize_row_%s", typ, name, b/typ.BlockBytes(), ggmlName(typ))
						}
						for j := b + hdr; j < b+typ.BlockBytes(); j++ {
							if d := int(int8(ours[j])) - int(int8(th[j])); d < -1 || d > 1 {
								t.Errorf("%v activations %s: byte %d is %d, quantize_row_%s gives %d", typ, name, j, int8(ours[j]), ggmlName(typ), int8(th[j]))
							}
						}
					}
				}
				t.Logf("%v: %d of %d activation rows differ in some byte from ggml's run-time quantiser", typ, differ, len(names))
			}
			for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K} {
				const rows = 16
				w, x := randRow(r, rows*n), randRow(r, rows*n)
				wb, _ := typ.RowBytes(n)
				vt := typ.VecDotType()
				xb, _ := vt.RowBytes(n)
				wq, xq := make([]byte, rows*wb), make([]byte, rows*xb)
				wd, xd := make([]float32, n), make([]float32, n)
				for i := range rows {
					_ = QuantizeRow(typ, wq[i*wb:(i+1)*wb], w[i*n:(i+1)*n])
					_ = QuantizeRow(vt, xq[i*xb:(i+1)*xb], x[i*n:(i+1)*n])
				}
				simd := v.dotSym(t, typ, n, wq, xq, "")
				for i := range rows {
					got, _ := DotRow(typ, wq[i*wb:(i+1)*wb], xq[i*xb:(i+1)*xb], n)
					// The bound: a few float32 roundings of the sum of
					// absolute products.
					_ = DequantizeRow(typ, wd, wq[i*wb:(i+1)*wb])
					_ = DequantizeRow(vt, xd, xq[i*xb:(i+1)*xb])
					var mag float64
					for j := range wd {
						mag += math.Abs(float64(wd[j]) * float64(xd[j]))
					}
					bound := 1e-5 * mag
					if d := math.Abs(float64(got) - float64(simd[i])); !(d <= bound) {
						t.Errorf("%v row %d: ours %v, ggml %v: off by %g > %g", typ, i, got, simd[i], d, bound)
					}
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("this CPU runs none of ggml's SIMD backend variants")
	}
}

// GGMLShim and its methods are exported to ggml_quantize_test.go, which
// uses model/gguf and so lives in package kernels_test.
type GGMLShim = ggmlShim

// NewGGMLShim builds the libggml shim for one test.
func NewGGMLShim(t *testing.T) *GGMLShim { t.Helper(); return newGGMLShim(t) }

// Dequantize runs ggml's dequantize_row_* on rows of n elements.
func (s *ggmlShim) Dequantize(t *testing.T, typ Type, n int, data []byte) []float32 {
	t.Helper()
	return s.dequantize(t, typ, n, data)
}

// SameFloat is bit equality with all NaNs equal.
func SameFloat(a, b float32) bool { return sameFloat(a, b) }
