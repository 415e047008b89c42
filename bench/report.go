package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"time"
)

// Format names the JSON schema of a Report. A reader refuses any other
// value, so a file from a future, incompatible version is never misread.
const Format = "https://github.com/pith-project/pith/bench/v1"

// Suites of figures.
const (
	SuiteProbe   = "probe"   // the machine's limits, measured in the same run
	SuiteKernels = "kernels" // dot products and matrix-vector products
	SuiteModel   = "model"   // prompt processing, generation, TTFT, memory
)

// Systems measured.
const (
	SystemPith  = "pith"
	SystemLlama = "llama.cpp"
	SystemProbe = "probe"
)

// Units. Better tells which direction is an improvement.
const (
	UnitTokPerSec = "tok/s"
	UnitMillis    = "ms"
	UnitMiB       = "MiB"
	UnitGBPerSec  = "GB/s"
	UnitGFLOPS    = "GFLOP/s"
	UnitGOPS      = "GOP/s" // integer operations, a multiply-add counting 2
)

// Report is one run of the benchmark suite.
type Report struct {
	Format  string    `json:"format"`
	Started time.Time `json:"started"`
	Command []string  `json:"command,omitempty"`
	Env     Env       `json:"env"`
	Figures []Figure  `json:"figures"`
	Notes   []string  `json:"notes,omitempty"`
}

// Env is what the figures depend on besides the code: the machine, the
// build and the model.
type Env struct {
	CPU         string   `json:"cpu"`
	CPUFlags    []string `json:"cpu_flags"`
	Cores       int      `json:"cores"`
	OS          string   `json:"os"`
	Kernel      string   `json:"kernel,omitempty"`
	KernelPath  string   `json:"kernel_path"`
	KernelPaths []string `json:"kernel_paths"`
	GoVersion   string   `json:"go_version"`
	Experiments string   `json:"experiments,omitempty"`
	Version     string   `json:"pith_version"`
	Commit      string   `json:"pith_commit"`
	Models      []Model  `json:"models,omitempty"`
	Llama       string   `json:"llama_cpp,omitempty"` // llama-bench's build, when compared
	// KVCache is pith's key and value cache type in the model runs (pith
	// bench model --cache-type); empty in reports without them.
	KVCache string `json:"kv_cache,omitempty"`
	// ServeThreads is the threads of each server pith bench serve started
	// (its -t); zero in reports without them, or of a server given by URL.
	// A serve figure's Threads holds its concurrency instead.
	ServeThreads int `json:"serve_threads,omitempty"`
}

// Model identifies the model file measured.
type Model struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// WeightBytes is what one decode step reads: every tensor, except the
	// token embedding when the output matrix is a separate tensor.
	WeightBytes int64  `json:"weight_bytes"`
	Arch        string `json:"arch,omitempty"`
	Type        string `json:"type,omitempty"`
}

// Figure is one measured quantity, repeated.
type Figure struct {
	Suite   string `json:"suite"`
	System  string `json:"system"`
	Model   string `json:"model,omitempty"` // Model.File, for model figures
	Test    string `json:"test"`            // "pp128", "tg128", "ttft-pp128", "peak-rss", "matvec Q4_0", "read-bandwidth"
	Threads int    `json:"threads"`         // for serve figures, the concurrency
	Path    string `json:"path,omitempty"`  // kernel path, for kernel figures
	Unit    string `json:"unit"`
	// Samples are the repetitions in the order they ran.
	Samples []float64 `json:"samples"`
	// Paired, for a decode or prefill figure measured with probe samples
	// between its samples (KernelOptions.Probe), is each sample divided by
	// the larger of the probe samples taken just before and just after it
	// (read bandwidth for decode, the int8 peak for prefill): on a shared
	// machine they met the same other tenants, where the best probe sample
	// of the run (what the share divides by) may have met none.
	Paired []float64 `json:"paired,omitempty"`
	Min    float64   `json:"min"`
	Median float64   `json:"median"`
	Max    float64   `json:"max"`
}

// Key identifies a figure across reports: everything but the numbers.
type Key struct {
	Suite, System, Model, Test string
	Threads                    int
	Path, Unit                 string
}

// Key returns f's identity.
func (f *Figure) Key() Key {
	return Key{f.Suite, f.System, f.Model, f.Test, f.Threads, f.Path, f.Unit}
}

func (k Key) String() string {
	s := k.Suite + "/" + k.System
	if k.Model != "" {
		s += "/" + k.Model
	}
	// A serving figure's Threads holds its concurrency (clients sending
	// at once), as the serve table and the plot label it.
	n := "t"
	if k.Suite == SuiteServe {
		n = "c"
	}
	s += fmt.Sprintf("/%s/%s%d", k.Test, n, k.Threads)
	if k.Path != "" {
		s += "/" + k.Path
	}
	return s
}

// HigherIsBetter reports the direction of improvement of a unit.
func HigherIsBetter(unit string) bool {
	return unit != UnitMillis && unit != UnitMiB
}

// NewReport starts a report in the current format.
func NewReport(env Env) *Report {
	return &Report{Format: Format, Started: time.Now().UTC().Truncate(time.Second), Env: env}
}

// Add appends samples to the figure with f's key, creating it if needed,
// and refreshes its summary. Interleaved runs add one sample at a time.
func (r *Report) Add(f Figure) {
	for i := range r.Figures {
		if r.Figures[i].Key() == f.Key() {
			r.Figures[i].Samples = append(r.Figures[i].Samples, f.Samples...)
			r.Figures[i].Paired = append(r.Figures[i].Paired, f.Paired...)
			r.Figures[i].summarise()
			return
		}
	}
	f.Samples = slices.Clone(f.Samples)
	f.Paired = slices.Clone(f.Paired)
	f.summarise()
	r.Figures = append(r.Figures, f)
}

// Find returns the figure with key k, or nil.
func (r *Report) Find(k Key) *Figure {
	for i := range r.Figures {
		if r.Figures[i].Key() == k {
			return &r.Figures[i]
		}
	}
	return nil
}

func (f *Figure) summarise() {
	f.Min, f.Median, f.Max = Summary(f.Samples)
}

// Summary returns the minimum, median and maximum of xs (zeros when empty).
func Summary(xs []float64) (lo, med, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = s[n/2-1]/2 + s[n/2]/2 // halves first: no overflow near MaxFloat64
	}
	return s[0], med, s[n-1]
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ErrFormat is returned for a document that is not a bench/v1 report.
var ErrFormat = errors.New("not a " + Format + " report")

// maxReport bounds what ReadReport accepts; real reports are a few KiB.
const maxReport = 64 << 20

// ReadReport decodes a report strictly: the format must be this version,
// unknown members are refused, and every figure must be well formed with a
// summary that matches its samples.
func ReadReport(rd io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxReport+1))
	if err != nil {
		return nil, fmt.Errorf("bench: read report: %w", err)
	}
	if len(data) > maxReport {
		return nil, fmt.Errorf("bench: report larger than %d bytes", maxReport)
	}
	var probe struct {
		Format string `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("bench: report: %w", err)
	}
	if probe.Format != Format {
		return nil, fmt.Errorf("bench: report format %q: %w", probe.Format, ErrFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: report: %w", err)
	}
	if dec.More() {
		return nil, errors.New("bench: report: data after the JSON document")
	}
	seen := map[Key]bool{}
	for i := range r.Figures {
		f := &r.Figures[i]
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("bench: report figure %d (%s): %w", i, f.Key(), err)
		}
		if seen[f.Key()] {
			return nil, fmt.Errorf("bench: report figure %d: %s appears twice", i, f.Key())
		}
		seen[f.Key()] = true
	}
	return &r, nil
}

func (f *Figure) check() error {
	if f.Suite == "" || f.System == "" || f.Test == "" || f.Unit == "" {
		return errors.New("suite, system, test and unit are required")
	}
	if f.Threads < 0 {
		return fmt.Errorf("threads %d", f.Threads)
	}
	if len(f.Samples) == 0 {
		return errors.New("no samples")
	}
	for _, v := range f.Samples {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("sample %v is not a finite non-negative number", v)
		}
	}
	// At most one paired share per sample (bracketed leaves a sample out
	// whose probes read 0), each a finite non-negative ratio.
	if len(f.Paired) > len(f.Samples) {
		return fmt.Errorf("%d paired values for %d samples", len(f.Paired), len(f.Samples))
	}
	for _, v := range f.Paired {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("paired value %v is not a finite non-negative number", v)
		}
	}
	lo, med, hi := Summary(f.Samples)
	if !near(lo, f.Min) || !near(med, f.Median) || !near(hi, f.Max) {
		return fmt.Errorf("min/median/max %v/%v/%v do not match the samples (%v/%v/%v)", f.Min, f.Median, f.Max, lo, med, hi)
	}
	return nil
}

// near allows for the rounding of a JSON round trip through other tools.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}
