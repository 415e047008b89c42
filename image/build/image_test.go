package build

import (
	"bytes"
	"context"
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

	"github.com/pith-project/pith/image/measure/inputs"
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
// different folders, umask, TZ, LC_ALL, GOFLAGS and GOAMD64, a second
// apart, and compares every output byte for byte (pith-init too).
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
	}
	runs := []run{
		{"022", "UTC", "C", "", ""},
		{"077", "Pacific/Chatham", "de_DE.UTF-8", "-tags=pithreprotest", "v3"},
	}
	var outs []string
	for i, r := range runs {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // a later second for anything that reads the clock
		}
		work := t.TempDir()
		out := filepath.Join(work, fmt.Sprintf("image-%d", i))
		o := Options{Model: model, Out: out, VCPUs: 2, VCPUType: "EPYC-v4", GuestFeatures: 1, MemoryMiB: 2048,
			SourceDateEpoch: 1700000000, Net: "10.0.2.15/24,10.0.2.2", Source: root, Version: "test"}
		js, _ := json.Marshal(o)
		cmd := exec.Command("sh", "-c", "umask "+r.umask+" && exec \"$0\" -test.run=^$", self)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), helperEnv+"="+string(js), "TZ="+r.tz, "LC_ALL="+r.lcAll, "GOFLAGS="+r.goflags, "GOAMD64="+r.goamd64)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("build %d: %v\n%s", i, err, log.String())
		}
		t.Logf("build %d (umask %s, TZ %s, LC_ALL %s, GOFLAGS %q, GOAMD64 %q) in %s", i, r.umask, r.tz, r.lcAll, r.goflags, r.goamd64, time.Since(start).Round(time.Millisecond))
		outs = append(outs, out)
	}
	a, b := listDir(t, outs[0]), listDir(t, outs[1])
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("different files: %v and %v", a, b)
	}
	want := []string{FileOVMFSNP, FileOVMFTDX, FileCmdline, FileInitrd, FileManifest, FileInit, FileKernel}
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
