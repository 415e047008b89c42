package build

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/tdx"
	"github.com/pith-project/pith/internal/oracle"
	"github.com/pith-project/pith/model/synth"
)

// helperEnv makes the test binary run one Build (from the JSON options in
// it) instead of the tests: the reproducibility test needs builds in
// processes with their own umask, time zone, locale and folder.
const helperEnv = "PITH_IMAGE_BUILD_HELPER"

func TestMain(m *testing.M) {
	if js := os.Getenv(helperEnv); js != "" {
		var o Options
		if err := json.Unmarshal([]byte(js), &o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		o.Progress = os.Stderr
		if _, err := Build(context.Background(), o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func repoRoot(t testing.TB) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// requireInputs fetches the pinned packages (image/measure/inputs, which
// caches them). Builds take seconds to tens of seconds, so -short skips
// them; where the packages cannot be had (no network, no apt) the test
// skips, unless PITH_ORACLES is set (make test), where that fails.
func requireInputs(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("image builds are not short")
	}
	l, err := ReadLock(filepath.Join(repoRoot(t), "image", "lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Packages {
		p := &l.Packages[i]
		file, _ := p.only()
		if _, err := inputs.Fetch(context.Background(), p.Deb(file)); err != nil {
			if errors.Is(err, inputs.ErrUnavailable) && !oracle.Mandatory() {
				t.Skipf("pinned package unavailable here: %v", err)
			}
			t.Fatal(err)
		}
	}
}

// tinyModel writes a small synthetic GGUF (real Qwen2 architecture, tiny
// shape, built-in vocabulary).
func tinyModel(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "tiny-qwen2-q4_0.gguf")
	var buf bytes.Buffer
	if err := synth.Generate(&buf, synth.Options{Shape: "tiny-qwen2", Type: "q4_0", Seed: 7, Builtin: true}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestReproducible builds the image twice, in separate processes with
// different folders, umask, TZ, LC_ALL, GOFLAGS, GOAMD64 and user go env
// file (go env -w), a second apart, and compares every output byte for
// byte (pith-init too).
func TestReproducible(t *testing.T) {
	requireInputs(t)
	root := repoRoot(t)
	model := tinyModel(t, t.TempDir())
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type run struct {
		umask, tz, lcAll, goflags, goamd64 string
		goenv                              string // the user's go env file, or none
	}
	runs := []run{
		{"022", "UTC", "C", "", "", ""},
		{"077", "Pacific/Chatham", "de_DE.UTF-8", "-tags=pithreprotest", "v3", "GOFLAGS=-tags=pithreprotest2\n"},
	}
	// The toolchain's caches stay where they are when a run moves HOME.
	caches, err := exec.Command("go", "env", "GOPATH", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cacheVars := strings.Fields(string(caches))
	var outs []string
	for i, r := range runs {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // a later second for anything that reads the clock
		}
		work := t.TempDir()
		out := filepath.Join(work, fmt.Sprintf("image-%d", i))
		o := Options{Model: model, Out: out, SNP: []SNPConfig{{2, "EPYC-v4", 1}}, MemoryMiB: 2048,
			SourceDateEpoch: 1700000000, Net: "10.0.2.15/24,10.0.2.2", Source: root, Version: "test"}
		js, _ := json.Marshal(o)
		cmd := exec.Command("sh", "-c", "umask "+r.umask+" && exec \"$0\" -test.run=^$", self)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), helperEnv+"="+string(js), "TZ="+r.tz, "LC_ALL="+r.lcAll, "GOFLAGS="+r.goflags, "GOAMD64="+r.goamd64)
		if r.goenv != "" {
			home := t.TempDir()
			if err := os.MkdirAll(filepath.Join(home, ".config", "go"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(home, ".config", "go", "env"), []byte(r.goenv), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd.Env = append(cmd.Env, "HOME="+home, "GOPATH="+cacheVars[0], "GOCACHE="+cacheVars[1], "GOMODCACHE="+cacheVars[2])
		}
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, log.String())
		}
		t.Logf("build %d (umask %s, TZ %s, LC_ALL %s, GOFLAGS %q, GOAMD64 %q, go env file %q) in %s", i, r.umask, r.tz, r.lcAll, r.goflags, r.goamd64, r.goenv, time.Since(start).Round(time.Millisecond))
		outs = append(outs, out)
	}
	a, b := listDir(t, outs[0]), listDir(t, outs[1])
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("different files: %v and %v", a, b)
	}
	want := []string{FileOVMFSNP, FileOVMFTDXBoot, FileCmdline, FileInitrd, FileManifest, FileInit, FileKernel}
	sort.Strings(want)
	if strings.Join(a, " ") != strings.Join(want, " ") {
		t.Fatalf("outputs %v, want %v", a, want)
	}
	for _, n := range a {
		x, err := os.ReadFile(filepath.Join(outs[0], n))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(outs[1], n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between the builds: %s vs %s", n, hexSHA256(x), hexSHA256(y))
			continue
		}
		st, err := os.Stat(filepath.Join(outs[1], n))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v under umask 077", n, st.Mode())
		}
		t.Logf("%-20s %9d bytes identical, sha256 %s", n, len(x), hexSHA256(x))
	}
	// And the image agrees with its own manifest.
	c, err := Measure(outs[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Mismatches) > 0 || c.Checked < 10 {
		t.Fatalf("Measure: %d checked, mismatches %v", c.Checked, c.Mismatches)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// TestMeasurementsVectors feeds Measurements the inputs of the shared
// launch-measurement vectors (../shared/vectors/README.md, computed with
// virtee/sev-snp-measure 0.0.13 and td-shim's td_shim_tee_info_hash.py):
// the pinned cloud kernel and firmware, the 512-byte vector initrd, and the
// command line "console=ttyS0 pith.model.sha256=" + 64 zeros. It checks
// the builder passes each input where the calculators expect it.
func TestMeasurementsVectors(t *testing.T) {
	requireInputs(t)
	load := func(d inputs.Deb) []byte {
		b, err := inputs.Load(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var initrd bytes.Buffer
	if _, err := cpio.Write(&initrd, []cpio.Entry{{Path: "init", Mode: cpio.TypeReg | 0o755, Data: []byte("pith-vector\n")}}, 0, 512); err != nil {
		t.Fatal(err)
	}
	if got := hexSHA256(initrd.Bytes()); got != "bfbfa7d21bfd68be6f67b0df420ee6e1b9620814e432cefecc32cf51aca86c55" {
		t.Fatalf("vector initrd SHA-256 %s", got)
	}
	initPath := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(initPath, []byte("pith-vector\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := Image{Kernel: load(inputs.CloudKernel), Initrd: initrd.Bytes(), Cmdline: "console=ttyS0 pith.model.sha256=" + strings.Repeat("0", 64),
		InitPath: initPath, OVMFSNP: load(inputs.OVMFAmdSev), OVMFTDX: load(inputs.OVMFIntelTDX)}
	e, err := Measurements(img, []SNPConfig{{1, "EPYC-v4", 0x1}, {2, "EPYC-Milan", 0x21}, {2, "EPYC-Genoa", 0x1}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"450043238e291ebccbc9b307687b4cdeb22ad19e3256125550489c88b4eff2306530f99466d1c8771190d86da6de5a5d",
		"669257cfcee59a12abd8f72a27f033ddd0d5074c9c968a3a2dd650394bfa4236dc58b78d12cf99ec85f8da6093afabf0",
		"9db5c4cd601022891a5f12d8d34e9cf317ff73fa7829a9c91f384802b4f76ece294dd4c0df861cc7d92b38898335b411",
	}
	for i, w := range want {
		if e.SEVSNP[i].Measurement != w {
			t.Errorf("SEV-SNP %+v: %s, vector %s", e.SEVSNP[i], e.SEVSNP[i].Measurement, w)
		}
	}
	if e.TDX.MRTD != "a7a1f751abc454f9cbab198ca8d2edb2821935df525c74182b5e776cb0929e8c59aefecce725b0d08a5e9d3d3183bd08" {
		t.Errorf("MRTD %s, vector (single-pass) a7a1f751...", e.TDX.MRTD)
	}
	// RTMR1 and RTMR2 are image/measure/tdx's direct boot (checked there
	// against a booted kernel); RTMR0 is left out, with the reason.
	r1, r2, err := tdx.DirectBoot{Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline}.RTMR1And2()
	if err != nil {
		t.Fatal(err)
	}
	if e.TDX.RTMR1 != hex.EncodeToString(r1[:]) || e.TDX.RTMR2 != hex.EncodeToString(r2[:]) || e.TDX.RTMR0 != "" ||
		e.TDX.NotPinned["rtmr0"] != TDXRTMR0NotPinned || e.TDX.Boot != TDXBoot || e.TDX.Warning != TDXRefusedKernel {
		t.Errorf("TDX entry %+v, want RTMR1 %x, RTMR2 %x, RTMR0 not pinned and the Secure Boot warning (Debian's TDVF, unsigned kernel)", e.TDX, r1, r2)
	}
	// The stand-in's measurement is SHA-384 of the file: sha384sum's
	// answer for "pith-vector\n".
	out, err := exec.Command("sha384sum", initPath).Output()
	if err != nil {
		t.Skipf("sha384sum: %v", err)
	}
	if f := strings.Fields(string(out)); len(f) == 0 || f[0] != e.Dev.Measurement {
		t.Errorf("dev measurement %s, sha384sum %s", e.Dev.Measurement, out)
	}
}
