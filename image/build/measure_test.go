package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCmdlineModel(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	line := func(sha, size string) string {
		s := "console=ttyS0 pith.model=/dev/vda"
		if sha != "" {
			s += " pith.model.sha256=" + sha
		}
		if size != "" {
			s += " pith.model.size=" + size
		}
		return s
	}
	for _, c := range []struct {
		name    string
		model   *Artifact
		cmdline string
		checked int
		want    []string // What of each mismatch
	}{
		{"agree", &Artifact{SHA256: sum, Size: 1000}, line(sum, "1000"), 2, nil},
		{"upper-case on the command line", &Artifact{SHA256: sum, Size: 1000}, line(strings.ToUpper(sum), "1000"), 2, nil},
		{"no size on the command line", &Artifact{SHA256: sum, Size: 1000}, line(sum, ""), 1, nil},
		{"no model in the manifest", nil, line(sum, "1000"), 0, nil},
		{"no size in the manifest", &Artifact{SHA256: sum}, line(sum, "1000"), 1, nil},
		{"other digest", &Artifact{SHA256: other, Size: 1000}, line(sum, "1000"), 2, []string{"model SHA-256 on the command line"}},
		{"other size", &Artifact{SHA256: sum, Size: 999}, line(sum, "1000"), 2, []string{"model size on the command line"}},
		{"both", &Artifact{SHA256: other, Size: 999}, line(sum, "1000"), 2, []string{"model SHA-256 on the command line", "model size on the command line"}},
		{"no digest on the command line", &Artifact{SHA256: sum, Size: 1000}, line("", "1000"), 2, []string{"model SHA-256 on the command line"}},
		{"unreadable command line", &Artifact{SHA256: sum}, line(sum, "1000") + ` pith.attest="dev`, 1, []string{"model on the command line"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := cmdlineModel(&Manifest{Model: c.model}, c.cmdline)
			var what []string
			for _, mm := range got {
				if mm != nil {
					what = append(what, mm.What)
				}
			}
			if len(got) != c.checked || strings.Join(what, "; ") != strings.Join(c.want, "; ") {
				t.Errorf("%d compared, mismatches %q; want %d compared, %q", len(got), what, c.checked, c.want)
			}
		})
	}
}

// TestBuildRefusesOtherBuilderGo: the initramfs is gzipped by this
// binary, so a lock file pinning another Go release than the one that
// compiled it is refused before any package is fetched.
func TestBuildRefusesOtherBuilderGo(t *testing.T) {
	dir := t.TempDir()
	lock, err := os.ReadFile("../lock.json")
	if err != nil {
		t.Fatal(err)
	}
	other := "go1.26.0"
	if goRelease() == other {
		other = "go1.26.1"
	}
	edited := strings.Replace(string(lock), `"version": "`+goRelease()+`"`, `"version": "`+other+`"`, 1)
	if edited == string(lock) {
		t.Skipf("image/lock.json does not pin %s, which compiled this test", goRelease())
	}
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "image"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "image", "lock.json"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	// No package may be fetched: an empty cache that cannot be written.
	t.Setenv("PITH_IMAGE_CACHE", filepath.Join(dir, "no-cache", "x"))
	if err := os.WriteFile(filepath.Join(dir, "no-cache"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, err = Build(context.Background(), Options{Model: tinyModel(t, dir), Out: out, SNP: []SNPConfig{{1, "EPYC-v4", 1}}, Source: src})
	if err == nil || !strings.Contains(err.Error(), "this pith was compiled with "+goRelease()+", but image/lock.json pins "+other) {
		t.Fatalf("Build = %v, want a refusal naming both Go releases", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Build made %s: %v", out, err)
	}
}

// TestBuildSaysItHashesTheModel: hashing a model of several GiB is the
// first long step, so a progress line comes before it, not only after.
func TestBuildSaysItHashesTheModel(t *testing.T) {
	dir := t.TempDir()
	// Fail right after the model: no package cache can be made.
	t.Setenv("PITH_IMAGE_CACHE", filepath.Join(dir, "no-cache", "x"))
	if err := os.WriteFile(filepath.Join(dir, "no-cache"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if l, err := ReadLock("../lock.json"); err != nil {
		t.Fatal(err)
	} else if l.Go.Version != goRelease() {
		t.Skipf("compiled with %s, image/lock.json pins %s: Build stops before the model", goRelease(), l.Go.Version)
	}
	var progress strings.Builder
	model := tinyModel(t, dir)
	_, err := Build(context.Background(), Options{Model: model, Out: filepath.Join(dir, "out"), SNP: []SNPConfig{{1, "EPYC-v4", 1}},
		Source: repoRoot(t), Progress: &progress})
	if err == nil || !strings.Contains(err.Error(), "no-cache") {
		t.Fatalf("Build = %v, want the package cache error", err)
	}
	lines := strings.Split(progress.String(), "\n")
	if len(lines) < 3 || lines[0] != "image: hashing the model "+model+" ..." || !strings.HasPrefix(lines[1], "image:   done in ") ||
		!strings.HasPrefix(lines[2], "image: model "+model+": ") {
		t.Fatalf("progress:\n%s\nwant a line before the model is hashed", progress.String())
	}
}
