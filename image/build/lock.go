package build

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pith-project/pith/image/measure/inputs"
)

// LockFormat names the layout of image/lock.json.
const LockFormat = "https://github.com/pith-project/pith/image-lock/v1"

// Lock is image/lock.json: every input of the image that does not come from
// this repository, pinned by version and SHA-256, and the Go toolchain
// settings pith-init is compiled with. Changing any of them changes the
// launch measurement, so they change only by a reviewed commit.
type Lock struct {
	Format   string    `json:"format"`
	Go       GoPin     `json:"go"`
	Packages []Package `json:"packages"`
	// Modules are the kernel modules the initramfs carries (their
	// modules.dep closure is added).
	Modules []string `json:"modules"`
}

// GoPin fixes what `go build` would otherwise take from the machine.
type GoPin struct {
	Version      string `json:"version"` // go env GOVERSION, e.g. "go1.26.8"
	GOAMD64      string `json:"goamd64"`
	GOEXPERIMENT string `json:"goexperiment"`
}

// Package is one Debian package and the files the image takes from it.
type Package struct {
	Name    string `json:"name"` // the builder's name for it: kernel, ovmf-amdsev, ovmf-inteltdx
	Package string `json:"package"`
	Version string `json:"version"`
	Suite   string `json:"suite"`
	Arch    string `json:"arch"`   // amd64 or all
	SHA256  string `json:"sha256"` // of the .deb
	// Files maps a path inside the package to its SHA-256.
	Files map[string]string `json:"files"`
	// Modules is the package's kernel modules folder, for the kernel.
	Modules string `json:"modules,omitempty"`
}

const maxLockBytes = 1 << 20

// ParseLock decodes a lock file strictly: unknown members, a different
// format, trailing data, a malformed digest or path, or a missing kernel or
// firmware are errors.
func ParseLock(b []byte) (*Lock, error) {
	if len(b) > maxLockBytes {
		return nil, fmt.Errorf("build: lock file of %d bytes: larger than %d", len(b), maxLockBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("build: lock file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("build: lock file: data after the JSON object")
	}
	if l.Format != LockFormat {
		return nil, fmt.Errorf("build: lock file format %q, want %q", l.Format, LockFormat)
	}
	if !strings.HasPrefix(l.Go.Version, "go1.") || l.Go.GOAMD64 == "" {
		return nil, fmt.Errorf("build: lock file: go version %q / goamd64 %q: both are required", l.Go.Version, l.Go.GOAMD64)
	}
	seen := map[string]bool{}
	for i, p := range l.Packages {
		if p.Name == "" || p.Package == "" || p.Version == "" || p.Suite == "" || seen[p.Name] {
			return nil, fmt.Errorf("build: lock file packages[%d]: name %q, package %q, version %q, suite %q: each is required, names once", i, p.Name, p.Package, p.Version, p.Suite)
		}
		if p.Arch != "amd64" && p.Arch != "all" {
			return nil, fmt.Errorf("build: lock file %s: arch %q, want amd64 or all", p.Name, p.Arch)
		}
		seen[p.Name] = true
		if err := checkDigest(p.SHA256); err != nil {
			return nil, fmt.Errorf("build: lock file %s: %w", p.Name, err)
		}
		if len(p.Files) == 0 {
			return nil, fmt.Errorf("build: lock file %s: no files", p.Name)
		}
		for f, d := range p.Files {
			if err := checkRel(f); err != nil {
				return nil, fmt.Errorf("build: lock file %s: %w", p.Name, err)
			}
			if err := checkDigest(d); err != nil {
				return nil, fmt.Errorf("build: lock file %s file %q: %w", p.Name, f, err)
			}
		}
		if p.Modules != "" {
			if err := checkRel(p.Modules); err != nil {
				return nil, fmt.Errorf("build: lock file %s modules: %w", p.Name, err)
			}
		}
	}
	for _, need := range []string{pkgKernel, pkgOVMFSNP, pkgOVMFTDX} {
		if !seen[need] {
			return nil, fmt.Errorf("build: lock file: no package named %q", need)
		}
	}
	if k, _ := l.pkg(pkgKernel); k.Modules == "" || len(k.Files) != 1 {
		return nil, fmt.Errorf("build: lock file: %s needs a modules folder and exactly one file (the kernel)", pkgKernel)
	}
	for _, n := range []string{pkgOVMFSNP, pkgOVMFTDX} {
		if p, _ := l.pkg(n); len(p.Files) != 1 {
			return nil, fmt.Errorf("build: lock file: %s needs exactly one file (the firmware)", n)
		}
	}
	if len(l.Modules) == 0 {
		return nil, errors.New("build: lock file: no kernel modules")
	}
	for _, m := range l.Modules {
		if m == "" || strings.ContainsAny(m, "/ ,=") {
			return nil, fmt.Errorf("build: lock file: module name %q", m)
		}
	}
	return &l, nil
}

// ReadLock reads and parses a lock file.
func ReadLock(file string) (*Lock, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("build: lock file: %w", err)
	}
	return ParseLock(b)
}

// Names the builder gives the pinned packages.
const (
	pkgKernel  = "kernel"
	pkgOVMFSNP = "ovmf-amdsev"
	pkgOVMFTDX = "ovmf-inteltdx"
)

func (l *Lock) pkg(name string) (*Package, error) {
	for i := range l.Packages {
		if l.Packages[i].Name == name {
			return &l.Packages[i], nil
		}
	}
	return nil, fmt.Errorf("build: lock file: no package %q", name)
}

// only returns the single file of a package that has one.
func (p *Package) only() (name, digest string) {
	for n, d := range p.Files {
		return n, d
	}
	return "", ""
}

// DebName is the file name `apt-get download` gives the package.
func (p *Package) DebName() string {
	return fmt.Sprintf("%s_%s_%s.deb", p.Package, strings.ReplaceAll(p.Version, ":", "%3a"), p.Arch)
}

// Deb is the package as image/measure/inputs fetches it: the .deb by its
// digest, and the named file in it by its own.
func (p *Package) Deb(file string) inputs.Deb {
	return inputs.Deb{Suite: p.Suite, Package: p.Package, Version: p.Version, Arch: p.Arch,
		DebSHA256: p.SHA256, File: file, SHA256: p.Files[file]}
}

func checkDigest(d string) error {
	if b, err := hex.DecodeString(d); err != nil || len(b) != sha256.Size || d != strings.ToLower(d) {
		return fmt.Errorf("SHA-256 %q: want 64 lower-case hex digits", d)
	}
	return nil
}

func checkRel(p string) error {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("path %q: want a clean relative path", p)
	}
	return nil
}

// pinned checks data against a pinned digest and says both when they
// differ: a changed input is refused, never used.
func pinned(what string, data []byte, want string) error {
	if got := hexSHA256(data); got != want {
		return fmt.Errorf("build: %s: SHA-256 %s, but image/lock.json pins %s; refusing a changed input", what, got, want)
	}
	return nil
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
