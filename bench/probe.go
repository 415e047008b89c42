package bench

import (
	"fmt"
	"time"

	"github.com/pith-project/pith/kernels/probe"
)

// A Probe measures the machine's limits that the kernels are judged
// against: streaming read bandwidth, FP32 fused multiply-add and int8
// multiply-add throughput, with a given number of threads. Each call is one
// sample.
type Probe interface {
	Name() string
	Bandwidth(threads int) (gbPerSec float64, err error)
	FMA(threads int) (gflops float64, err error)
	// Int8 is the int8 multiply-add peak (GOP/s) of kernel path path's
	// instructions ("" the widest the CPU has), or 0 where it has no int8
	// vector instruction.
	Int8(path string, threads int) (gops float64, err error)
}

// int8Probe is the probe figure that kernel path path's prefill is judged
// against, and the path whose instructions Probe.Int8 runs for it:
// "int8-dot" and "", the widest int8 instructions the CPU has, or
// "int8-dot PATH" and path where the path's kernels multiply with narrower
// ones (the avx2 path on a CPU with AVX-512 VNNI, whose VPDPBUSD on Z
// registers does four times the work of its VPMADDUBSW on Y ones): judged
// against the widest, that path's prefill would read as a quarter of what
// it is. A path with none of its own (portable) takes the widest.
func int8Probe(path string) (test, probePath string) {
	if in := probe.Int8Instructions(path); in != "" && in != probe.Int8Instructions("") {
		return "int8-dot " + path, path
	}
	return "int8-dot", ""
}

// KernelsProbe is the kernels' own roofline probe (kernels/probe), so that
// bench and the kernel tests judge against the same loops. Each sample is
// the best of Repeats runs.
type KernelsProbe struct {
	Bytes   int // buffer read per sample; 0 means the probe's default (256 MiB)
	Repeats int // 0 means 3
	// MinTime is how long one read-bandwidth run streams (0: the probe's
	// default, 100 ms); as long as a kernel sample, see RunKernels.
	MinTime time.Duration
}

// Name identifies the probe in reports, and with it how a sample was
// taken: the best of several runs reads higher than one run on a noisy
// machine, so the two are different figures (bench model takes the best
// of three; bench kernels one run, paired with a kernel's sample).
func (p KernelsProbe) Name() string {
	if reps := p.repeats(); reps > 1 {
		return fmt.Sprintf("kernels/probe best of %d", reps)
	}
	return "kernels/probe"
}

func (p KernelsProbe) repeats() int {
	if p.Repeats <= 0 {
		return 3
	}
	return p.Repeats
}

func (p KernelsProbe) options(threads int) (probe.Options, error) {
	if threads < 1 {
		return probe.Options{}, fmt.Errorf("bench: probe threads %d", threads)
	}
	return probe.Options{Threads: threads, Bytes: p.Bytes, Repeats: p.repeats(), MinTime: p.MinTime}, nil
}

// Bandwidth is the streaming read rate with threads threads, in GB/s.
func (p KernelsProbe) Bandwidth(threads int) (float64, error) {
	o, err := p.options(threads)
	if err != nil {
		return 0, err
	}
	return probe.ReadBandwidth(o), nil
}

// FMA is the FP32 FMA peak with threads threads, in GFLOP/s.
func (p KernelsProbe) FMA(threads int) (float64, error) {
	o, err := p.options(threads)
	if err != nil {
		return 0, err
	}
	return probe.FMAPeak(o), nil
}

// Int8 is the int8 multiply-add peak of path's instructions with threads
// threads, in GOP/s.
func (p KernelsProbe) Int8(path string, threads int) (float64, error) {
	o, err := p.options(threads)
	if err != nil {
		return 0, err
	}
	o.Path = path
	return probe.Int8Peak(o), nil
}

// A LayerProbe also measures the ceiling of decode's access pattern:
// reads of a layer's products one after another, the threads meeting after
// each (see probe.LayerRead). A probe without it leaves that figure out.
type LayerProbe interface {
	Probe
	// LayerRead streams products of these sizes in bytes, one sample.
	LayerRead(threads int, products []int) (gbPerSec float64, err error)
}

// LayerRead is probe.LayerRead with threads threads, in GB/s.
func (p KernelsProbe) LayerRead(threads int, products []int) (float64, error) {
	o, err := p.options(threads)
	if err != nil {
		return 0, err
	}
	v := probe.LayerRead(o, products)
	if v == 0 {
		return 0, fmt.Errorf("bench: layer-read probe: products %v do not fit %d threads and the buffer", products, threads)
	}
	return v, nil
}
