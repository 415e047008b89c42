package inputs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// buildDeb makes a one-file package with dpkg-deb, the tool Debian builds
// its own with, and places it where Fetch looks for hand-placed .debs.
func buildDeb(t *testing.T, cache string, content []byte) inputs.Deb {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "usr/share/pith"), 0o755))
	must(os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(
		"Package: pith-test-input\nVersion: 1.0-1\nArchitecture: all\nMaintainer: pith <pith@example.invalid>\nDescription: test\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "usr/share/pith/fw.fd"), content, 0o644))
	must(os.MkdirAll(filepath.Join(cache, "debs"), 0o755))
	deb := filepath.Join(cache, "debs", "pith-test-input_1.0-1_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	b, err := os.ReadFile(deb)
	must(err)
	return inputs.Deb{Suite: "sid", Package: "pith-test-input", Version: "1.0-1", Arch: "all",
		DebSHA256: sha(b), File: "usr/share/pith/fw.fd", SHA256: sha(content)}
}

func TestFetchPlacedDeb(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("PITH_IMAGE_CACHE", cache)
	content := []byte("firmware bytes\n")
	d := buildDeb(t, cache, content)
	ctx := context.Background()
	got, err := inputs.Load(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(content) {
		t.Fatalf("Load = %q", got)
	}
	// From the cache the second time, still checked: a changed file is refused.
	path, err := inputs.Fetch(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = inputs.Fetch(ctx, d)
	if !errors.Is(err, inputs.ErrMismatch) || !strings.Contains(err.Error(), d.SHA256) || !strings.Contains(err.Error(), sha([]byte("tampered"))) {
		t.Fatalf("tampered cache: %v (want ErrMismatch naming both digests)", err)
	}
}

func TestFetchRefusesMismatch(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(d *inputs.Deb)
	}{
		{"deb digest", func(d *inputs.Deb) { d.DebSHA256 = strings.Repeat("0", 64) }},
		{"file digest", func(d *inputs.Deb) { d.SHA256 = strings.Repeat("1", 64) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			t.Setenv("PITH_IMAGE_CACHE", cache)
			d := buildDeb(t, cache, []byte("x"))
			c.break_(&d)
			_, err := inputs.Fetch(context.Background(), d)
			if !errors.Is(err, inputs.ErrMismatch) {
				t.Fatalf("err = %v, want ErrMismatch", err)
			}
			if errors.Is(err, inputs.ErrUnavailable) {
				t.Fatal("a mismatch must not read as unavailable (tests would skip it)")
			}
		})
	}
}

func TestFetchUnavailableWithoutApt(t *testing.T) {
	t.Setenv("PITH_IMAGE_CACHE", t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, err := inputs.Fetch(context.Background(), inputs.OVMFAmdSev)
	if !errors.Is(err, inputs.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestDebChecks(t *testing.T) {
	good := inputs.OVMFAmdSev
	for _, c := range []struct {
		name   string
		break_ func(d *inputs.Deb)
		want   string
	}{
		{"suite", func(d *inputs.Deb) { d.Suite = "sid main" }, "suite"},
		{"package option", func(d *inputs.Deb) { d.Package = "-oDir=/" }, "package"},
		{"version", func(d *inputs.Deb) { d.Version = "1 2" }, "version"},
		{"arch", func(d *inputs.Deb) { d.Arch = "../x" }, "architecture"},
		{"digest", func(d *inputs.Deb) { d.SHA256 = "ABC" }, "digests"},
		{"absolute file", func(d *inputs.Deb) { d.File = "/etc/passwd" }, "relative path"},
		{"escaping file", func(d *inputs.Deb) { d.File = "../../etc/passwd" }, "relative path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("PITH_IMAGE_CACHE", t.TempDir())
			d := good
			c.break_(&d)
			_, err := inputs.Fetch(context.Background(), d)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func ExampleFetch() {
	path, err := inputs.Fetch(context.Background(), inputs.OVMFAmdSev)
	if err != nil {
		// errors.Is(err, inputs.ErrMismatch): a changed input, never use it.
		return
	}
	_ = path // .../x/ovmf-amdsev_2026.08+ds-2/usr/share/ovmf/OVMF.amdsev.fd
}
