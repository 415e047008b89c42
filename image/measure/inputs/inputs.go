// Package inputs fetches the pinned Debian packages an image and its launch
// measurements are made from (firmware, kernel), checks them against their
// SHA-256 and keeps them in a cache folder, so builds and tests do not hit
// the network twice and can never use a changed input silently.
//
// Packages come through apt-get itself (`apt-get download`, then `dpkg -x`),
// with an apt state folder of our own per suite, so nothing is installed
// and the host's apt configuration is neither used nor touched. A .deb
// placed by hand in the cache's debs/ folder is used if its digest matches,
// which keeps a build possible after a version has left its suite.
package inputs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
)

// Deb pins one file inside one Debian package.
type Deb struct {
	Suite     string // e.g. "sid", "bookworm-backports"
	Package   string
	Version   string
	Arch      string // "all" or "amd64"
	DebSHA256 string // of the .deb
	File      string // path inside the package, e.g. "usr/share/ovmf/OVMF.amdsev.fd"
	SHA256    string // of that file
}

// The inputs of the shared launch-measurement vectors (and the defaults of
// the image builder).
var (
	OVMFAmdSev = Deb{
		Suite: "sid", Package: "ovmf-amdsev", Version: "2026.08+ds-2", Arch: "all",
		DebSHA256: "92c9b6d15e4eeb371938c3f99080c1a8fc057dfd6bc0509d37f8b615e9edebfb",
		File:      "usr/share/ovmf/OVMF.amdsev.fd",
		SHA256:    "3e4fd0b3fe3b2dbe481c3d9e99418a034174f26cbe1f55aa212b0f18c12d2d6f",
	}
	OVMFIntelTDX = Deb{
		Suite: "sid", Package: "ovmf-inteltdx", Version: "2026.08+ds-2", Arch: "all",
		DebSHA256: "87123a9bf4dc1af7bbc48257a9b3db5933ff695167476d4fa48b705da1011fb1",
		File:      "usr/share/ovmf/OVMF.inteltdx.ms.fd",
		SHA256:    "a265075b4147a096109e501e76196df1ec8a18659c26f7401492c597ec88f312",
	}
	// The same edk2 release's generic OVMF (TPM 2.0, no Secure Boot in
	// this variable store): image/measure/tdx's boot test reads the PCRs
	// TDVF mirrors into RTMR1 and RTMR2 from a software TPM with it.
	OVMFGenericCode = Deb{
		Suite: "sid", Package: "ovmf-generic", Version: "2026.08+ds-2", Arch: "all",
		DebSHA256: "05c1593998ba58700ff86c062bde306321af1f5a2943ea9ceef6c2332f3f3374",
		File:      "usr/share/OVMF/OVMF_CODE_4M.fd",
		SHA256:    "7e34e3b83224968bb0714c0ebc88f75c5c37b4cc892c902e511ccc7a7c107f94",
	}
	OVMFGenericVars   = OVMFGenericCode.other("usr/share/OVMF/OVMF_VARS_4M.fd", "5d2ac383371b408398accee7ec27c8c09ea5b74a0de0ceea6513388b15be5d1e")
	OVMFGenericVarsMS = OVMFGenericCode.other("usr/share/OVMF/OVMF_VARS_4M.ms.fd", "42ca3d90cbabb32c797f0253c26bead4bee9790f18cccf43993a88fa033ffa29") // Microsoft's keys enrolled
	// Secure Boot build (needs SMM), for the same release's verdict on an unsigned kernel.
	OVMFGenericCodeSB = OVMFGenericCode.other("usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "b3cdbd705066cdf2bb0c0b40b77c341dc2a19e0db56c9af0a54fa1737ff3ee5b")

	CloudKernel = Deb{
		Suite: "bookworm-backports", Package: "linux-image-6.12.95+deb12-cloud-amd64-unsigned", Version: "6.12.95-1~bpo12+1", Arch: "amd64",
		DebSHA256: "6ed2b95055a96af9f543a427cc1bc56f67e5e72ec16b227ec965a9325aeb3480",
		File:      "boot/vmlinuz-6.12.95+deb12-cloud-amd64",
		SHA256:    "1e1b20f533828d752b7e822dbf8d86898677f00727f39b36896e3d13881c4a05",
	}
)

// other is another file of the same package.
func (d Deb) other(file, sha256 string) Deb {
	d.File, d.SHA256 = file, sha256
	return d
}

// ErrMismatch is wrapped when a downloaded or cached input does not have
// its pinned digest. Unlike a failed download, it is never to be skipped.
var ErrMismatch = errors.New("digest mismatch")

// ErrUnavailable is wrapped when the input cannot be obtained here (no
// network, no apt-get or dpkg, version gone from the suite).
var ErrUnavailable = errors.New("input unavailable")

// CacheDir is $PITH_IMAGE_CACHE, else ~/.cache/pith/image-inputs.
func CacheDir() (string, error) {
	if d := os.Getenv("PITH_IMAGE_CACHE"); d != "" {
		return d, nil
	}
	home, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("inputs: cache folder: %w", err)
	}
	return filepath.Join(home, "pith", "image-inputs"), nil
}

var (
	hexSHA  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	debName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVer  = regexp.MustCompile(`^[0-9A-Za-z.+~:-]+$`)
	suiteRe = regexp.MustCompile(`^[a-z][a-z0-9-]+$`)
)

func (d Deb) check() error {
	switch {
	case !suiteRe.MatchString(d.Suite):
		return fmt.Errorf("inputs: suite %q: not a Debian suite name", d.Suite)
	case !debName.MatchString(d.Package):
		return fmt.Errorf("inputs: package %q: not a Debian package name", d.Package)
	case !debVer.MatchString(d.Version):
		return fmt.Errorf("inputs: %s version %q: not a Debian version", d.Package, d.Version)
	case d.Arch != "all" && !debName.MatchString(d.Arch):
		return fmt.Errorf("inputs: %s architecture %q: not a Debian architecture", d.Package, d.Arch)
	case !hexSHA.MatchString(d.DebSHA256) || !hexSHA.MatchString(d.SHA256):
		return fmt.Errorf("inputs: %s: digests must be 64 lowercase hex digits", d.Package)
	case d.File == "" || filepath.IsAbs(d.File) || !filepath.IsLocal(d.File):
		return fmt.Errorf("inputs: %s file %q: want a relative path inside the package", d.Package, d.File)
	}
	return nil
}

// Fetch returns the path of d.File in the cache, downloading and unpacking
// the package first if needed. Both the .deb and the file are checked
// against their pins every time.
func Fetch(ctx context.Context, d Deb) (string, error) {
	if err := d.check(); err != nil {
		return "", err
	}
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("inputs: cache %q: %w", root, err)
	}
	unlock, err := lock(filepath.Join(root, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	// The version goes into the folder name, so a new pin never reuses an
	// old extraction.
	xdir := filepath.Join(root, "x", d.Package+"_"+strings.ReplaceAll(d.Version, ":", "%3a"))
	out := filepath.Join(xdir, d.File)
	if _, err := os.Stat(out); err == nil {
		if err := checkFile(out, d.SHA256, d.Package+" "+d.File); err != nil {
			return "", err
		}
		return out, nil
	}
	deb, err := fetchDeb(ctx, root, d)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Join(root), "x-")
	if err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	defer os.RemoveAll(tmp)
	if b, err := exec.CommandContext(ctx, "dpkg", "-x", deb, tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("inputs: dpkg -x %s: %w: %s: %w", deb, err, strings.TrimSpace(string(b)), ErrUnavailable)
	}
	if err := checkFile(filepath.Join(tmp, d.File), d.SHA256, d.Package+" "+d.File); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(xdir), 0o755); err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	os.RemoveAll(xdir)
	if err := os.Rename(tmp, xdir); err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	return out, nil
}

func debFile(d Deb) string {
	// apt-get names downloads with the epoch's colon escaped.
	return fmt.Sprintf("%s_%s_%s.deb", d.Package, strings.ReplaceAll(d.Version, ":", "%3a"), d.Arch)
}

func fetchDeb(ctx context.Context, root string, d Deb) (string, error) {
	debs := filepath.Join(root, "debs")
	path := filepath.Join(debs, debFile(d))
	if _, err := os.Stat(path); err == nil {
		if err := checkFile(path, d.DebSHA256, debFile(d)); err != nil {
			return "", err
		}
		return path, nil
	}
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	for _, tool := range []string{"apt-get", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("inputs: %s %s needs %s: %w", d.Package, d.Version, tool, ErrUnavailable)
		}
	}
	apt, err := aptOptions(root, d.Suite)
	if err != nil {
		return "", err
	}
	slog.Info("inputs: fetching", "package", d.Package, "version", d.Version, "suite", d.Suite)
	if b, err := exec.CommandContext(ctx, "apt-get", append(apt, "-q", "update")...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("inputs: apt-get update for %s: %w: %s: %w", d.Suite, err, tail(b), ErrUnavailable)
	}
	tmp, err := os.MkdirTemp(debs, "dl-")
	if err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "apt-get", append(apt, "-q", "download", d.Package+"="+d.Version)...)
	cmd.Dir = tmp
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("inputs: apt-get download %s=%s from %s: %w: %s (if the version has left the suite, put %s, SHA-256 %s, into %s): %w",
			d.Package, d.Version, d.Suite, err, tail(b), debFile(d), d.DebSHA256, debs, ErrUnavailable)
	}
	got := filepath.Join(tmp, debFile(d))
	if err := checkFile(got, d.DebSHA256, debFile(d)); err != nil {
		return "", err
	}
	if err := os.Rename(got, path); err != nil {
		return "", fmt.Errorf("inputs: %w", err)
	}
	return path, nil
}

// aptOptions points apt at a private state, cache and source list for one
// suite, so the host's own sources and lists stay as they are.
func aptOptions(root, suite string) ([]string, error) {
	dir := filepath.Join(root, "apt", suite)
	for _, sub := range []string{"state/lists/partial", "cache/archives/partial", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("inputs: %w", err)
		}
	}
	list := filepath.Join(dir, "etc", "sources.list")
	src := fmt.Sprintf("deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian %s main\n", suite)
	if err := os.WriteFile(list, []byte(src), 0o644); err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	return []string{
		"-o", "Dir::State=" + filepath.Join(dir, "state"),
		"-o", "Dir::Cache=" + filepath.Join(dir, "cache"),
		"-o", "Dir::Etc::sourcelist=" + list,
		"-o", "Dir::Etc::sourceparts=-",
		"-o", "APT::Get::List-Cleanup=0",
	}, nil
}

// checkFile refuses a file whose SHA-256 is not want, showing both.
func checkFile(path, want, what string) error {
	got, err := FileSHA256(path)
	if err != nil {
		return fmt.Errorf("inputs: %s: %w", what, err)
	}
	if got != want {
		return fmt.Errorf("inputs: %s (%s): SHA-256 %s, pinned %s: %w", what, path, got, want, ErrMismatch)
	}
	return nil
}

// FileSHA256 is the lowercase hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// lock serialises fetches between processes (tests of several packages,
// the image builder) that share one cache and its apt state.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("inputs: lock %q: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("inputs: lock %q: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = "..." + s[len(s)-400:]
	}
	return s
}

// Load is Fetch followed by reading the file, whose bytes are checked
// against the pin once more (the cache is only as trustworthy as its disk).
func Load(ctx context.Context, d Deb) ([]byte, error) {
	path, err := Fetch(ctx, d)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inputs: %s: %w", d.File, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != d.SHA256 {
		return nil, fmt.Errorf("inputs: %s (%s): SHA-256 %x, pinned %s: %w", d.File, path, sum, d.SHA256, ErrMismatch)
	}
	return b, nil
}
