package bench

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/pith-project/pith/kernels"
	"github.com/pith-project/pith/model/gguf"
)

// interestingFlags are the CPU features that matter for the kernels; the
// full /proc/cpuinfo list is long and mostly irrelevant.
var interestingFlags = []string{
	"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni",
	"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16",
	"avx512vbmi", "avx512_fp16", "amx_tile", "amx_int8",
}

// CollectEnv describes this machine and build. version and commit are
// the binary's own (set by the Makefile); when commit is empty the build
// info's VCS revision is used.
func CollectEnv(version, commit string) Env {
	e := Env{
		Cores:       runtime.NumCPU(),
		OS:          runtime.GOOS + "/" + runtime.GOARCH,
		KernelPath:  kernels.Path(),
		KernelPaths: kernels.Paths(),
		GoVersion:   runtime.Version(),
		Version:     version,
		Commit:      commit,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if e.Commit == "" {
					e.Commit = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" && !strings.HasSuffix(e.Commit, "-dirty") && e.Commit != "" {
					e.Commit += "-dirty"
				}
			case "GOEXPERIMENT":
				e.Experiments = s.Value
			}
		}
		if e.Version == "" && bi.Main.Version != "" {
			e.Version = bi.Main.Version
		}
	}
	if e.Version == "" {
		e.Version = "dev"
	}
	if e.Commit == "" {
		e.Commit = "unknown"
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		e.CPU, e.CPUFlags = parseCPUInfo(f)
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	return e
}

// parseCPUInfo returns the first processor's model name and the flags of
// interestingFlags it has.
func parseCPUInfo(r io.Reader) (string, []string) {
	var name string
	var flags []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && name == "":
			name = v
		case k == "flags" && flags == nil:
			have := strings.Fields(v)
			flags = []string{}
			for _, f := range interestingFlags {
				if slices.Contains(have, f) {
					flags = append(flags, f)
				}
			}
		}
		if name != "" && flags != nil {
			break
		}
	}
	return name, flags
}

// DescribeModel hashes a model file and works out how many bytes of
// weights a decode step reads.
func DescribeModel(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: model %q: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("bench: model %q: %w", path, err)
	}
	g, err := gguf.Mmap(path)
	if err != nil {
		return nil, fmt.Errorf("bench: model %q: %w", path, err)
	}
	defer g.Close()
	m := &Model{File: filepath.Base(path), SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
	m.Arch, _ = g.String("general.architecture")
	separateOutput := g.Has("output.weight")
	counts := map[string]int64{}
	for _, t := range g.Tensors {
		if t.Name == "token_embd.weight" && separateOutput {
			continue
		}
		m.WeightBytes += int64(t.Size)
		counts[t.Type.String()] += int64(t.Size)
	}
	m.Type = dominant(counts)
	if ft := g.FileType(); ft != "" {
		m.Type = ft
	}
	return m, nil
}

// dominant is the type holding the most bytes, a short label for a file
// that does not say its file type.
func dominant(counts map[string]int64) string {
	best, bestN := "", int64(-1)
	for k, n := range counts {
		if n > bestN || (n == bestN && k < best) {
			best, bestN = k, n
		}
	}
	return best
}
