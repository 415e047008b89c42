// Package build turns a model file into the pith confidential-VM image:
// the pinned Debian cloud kernel, an initramfs holding pith-init and the
// kernel modules it loads, the measured kernel command line carrying the
// model's SHA-256, the pinned OVMF builds, and manifest.json with every
// digest and the expected launch measurements (SEV-SNP, TDX MRTD, and the
// development stand-in's).
//
// The same inputs give the same bytes on any machine with the pinned Go
// toolchain (which must also have compiled the builder, since it gzips the
// initramfs): packages are checked against image/lock.json, pith-init is
// compiled with -trimpath, no VCS stamp, no build ID and a cleared
// environment, the cpio archive is sorted with one fixed mtime, and the gzip
// stream carries no name, no time and a fixed OS byte. Nothing here runs
// inside the VM.
package build

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/sevsnp"
	"github.com/pith-project/pith/image/measure/tdx"
	"github.com/pith-project/pith/model/gguf"
	"github.com/pith-project/pith/runtime/pid1"
)

// Options are a build's choices. Everything else is pinned.
type Options struct {
	Model string // the GGUF file whose digest goes on the command line
	Out   string // output folder, created if missing

	// SNP lists the SEV-SNP launch configurations to compute the
	// measurement for (each vCPU's VMSA is measured, so every count, CPU
	// model and guest-features word has its own value); at least one.
	SNP       []SNPConfig
	MemoryMiB int // the VM's memory, for the operator

	// SourceDateEpoch is every mtime in the initramfs.
	SourceDateEpoch int64

	// Net, Listen and Attest go on the measured command line as pith.net,
	// pith.listen and pith.attest when not empty.
	Net, Listen, Attest string

	// Source is the pith repository (holding go.mod and image/lock.json).
	// The pinned packages are fetched into image/measure/inputs' cache
	// ($PITH_IMAGE_CACHE, else ~/.cache/pith/image-inputs).
	Source string

	// Version is recorded in the manifest (the pith version that built it).
	Version string

	// Progress receives a line per long step; nil for none.
	Progress io.Writer
}

// The image's fixed files, as QEMU and the verifier name them.
const (
	FileKernel   = "vmlinuz"
	FileInitrd   = "initrd.img"
	FileCmdline  = "cmdline"
	FileManifest = "manifest.json"
	FileInit     = "pith-init"
)

// ModelDevice is where pith-init finds the model: the first virtio disk.
const ModelDevice = "/dev/vda"

// Result is what Build made.
type Result struct {
	Dir      string
	Manifest *Manifest
	Files    []FileInfo // every output, sorted by name
	InitDeps []string   // non-std packages pith-init imports
}

// FileInfo is one output file.
type FileInfo struct {
	Name   string
	Size   int64
	SHA256 string
}

// OptionError is an option Build refuses before doing any work: one an
// image could not boot with, or an output folder it could not write.
// Flag names the option as 'pith image build' spells it.
type OptionError struct {
	Flag string // "model", "out", "vcpu-type", "guest-features", "net", "listen" or "attest"
	Err  error
}

func (e *OptionError) Error() string { return "build: --" + e.Flag + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Build makes the image in opts.Out. Options an image could not boot with
// are refused first, as an *OptionError, before anything is fetched,
// compiled or written.
func Build(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	p := progress{w: opts.Progress}
	lock, err := ReadLock(filepath.Join(opts.Source, "image", "lock.json"))
	if err != nil {
		return nil, err
	}
	// pith itself compresses the initramfs, and compress/flate's output
	// is not promised to stay the same from one Go release to the next:
	// the Go that compiled this binary is an input of the image too.
	if v := goRelease(); v != lock.Go.Version {
		return nil, fmt.Errorf("build: this pith was compiled with %s, but image/lock.json pins %s; the initramfs, which pith gzips itself, could differ: build pith with %s", v, lock.Go.Version, lock.Go.Version)
	}
	// A model of several GiB takes a while to hash: say so first.
	done := p.start("hashing the model %s", opts.Model)
	model, err := hashFile(opts.Model)
	if err != nil {
		return nil, err
	}
	done()
	p.step("model %s: %d bytes, SHA-256 %s", opts.Model, model.size, model.sha256)
	// The whole measured command line, read as pith-init reads it at
	// boot: what it would refuse there powers the VM off.
	cmdline := Cmdline(model.sha256, model.size, lock, opts)
	if err := checkBootCmdline(cmdline); err != nil {
		return nil, err
	}

	kernelPkg, _ := lock.pkg(pkgKernel)
	kernelDeb, err := readPinnedDeb(ctx, kernelPkg)
	if err != nil {
		return nil, err
	}
	kernelFile, kernelDigest := kernelPkg.only()
	modPrefix := kernelPkg.Modules + "/"
	done = p.start("unpacking %s %s", kernelPkg.Package, kernelPkg.Version)
	kfiles, err := debFiles(ctx, kernelDeb, func(n string) bool {
		return n == kernelFile || strings.HasPrefix(n, modPrefix) && strings.Contains(path.Base(n), ".ko")
	})
	if err != nil {
		return nil, err
	}
	done()
	kernel := kfiles[kernelFile]
	if err := pinned(kernelPkg.Package+" "+kernelFile, kernel, kernelDigest); err != nil {
		return nil, err
	}
	modFiles := map[string][]byte{}
	for n, b := range kfiles {
		if rel, ok := strings.CutPrefix(n, modPrefix); ok {
			modFiles[rel] = b
		}
	}
	done = p.start("resolving kernel modules %s with their dependencies", strings.Join(lock.Modules, ", "))
	mods, err := resolveModules(ctx, modFiles, lock.Modules, unxz)
	if err != nil {
		return nil, err
	}
	done()
	p.step("%d modules: %s", len(mods.paths), strings.Join(modNames(mods.paths), " "))

	firmware := map[string][]byte{}
	fwSource := map[string]string{}
	var inputs []Artifact
	for _, name := range []string{pkgOVMFSNP, pkgOVMFTDX} {
		pkg, _ := lock.pkg(name)
		deb, err := readPinnedDeb(ctx, pkg)
		if err != nil {
			return nil, err
		}
		file, digest := pkg.only()
		fs, err := debFiles(ctx, deb, func(n string) bool { return n == file })
		if err != nil {
			return nil, err
		}
		if err := pinned(pkg.Package+" "+file, fs[file], digest); err != nil {
			return nil, err
		}
		if want := map[string]string{pkgOVMFSNP: FileOVMFSNP, pkgOVMFTDX: FileOVMFTDX}[name]; path.Base(file) != want {
			return nil, fmt.Errorf("build: lock file %s: firmware %q, want a file named %s", name, file, want)
		}
		firmware[path.Base(file)] = fs[file]
		fwSource[path.Base(file)] = pkg.Package + " " + pkg.Version + ":/" + file
		inputs = append(inputs, debArtifact(pkg, deb), fileArtifact(path.Base(file), fs[file], pkg.Package+" "+pkg.Version+":/"+file))
	}
	inputs = append([]Artifact{debArtifact(kernelPkg, kernelDeb), fileArtifact(path.Base(kernelFile), kernel, kernelPkg.Package+" "+kernelPkg.Version+":/"+kernelFile)}, inputs...)
	for _, m := range mods.paths {
		inputs = append(inputs, fileArtifact(path.Base(m), modFiles[m], kernelPkg.Package+" "+kernelPkg.Version+":/"+modPrefix+m))
	}

	done = p.start("compiling pith-init (%s, GOAMD64=%s, GOEXPERIMENT=%s)", lock.Go.Version, lock.Go.GOAMD64, lock.Go.GOEXPERIMENT)
	work, err := os.MkdirTemp("", "pith-image-")
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(work)
	initBin, initDeps, err := BuildInit(ctx, opts.Source, lock.Go, filepath.Join(work, FileInit))
	if err != nil {
		return nil, err
	}
	done()

	entries := []cpio.Entry{
		{Path: "init", Mode: cpio.TypeReg | 0o755, Data: initBin},
		{Path: "lib/modules/modules.dep", Mode: cpio.TypeReg | 0o644, Data: mods.modulesDep()},
	}
	for _, m := range mods.paths {
		entries = append(entries, cpio.Entry{Path: "lib/modules/" + m, Mode: cpio.TypeReg | 0o644, Data: modFiles[m]})
	}
	entries = withParents(entries)
	done = p.start("writing the initramfs (newc cpio, gzip)")
	initrd, err := Initramfs(entries, opts.SourceDateEpoch)
	if err != nil {
		return nil, err
	}
	done()

	out := map[string][]byte{
		FileKernel:  kernel,
		FileInitrd:  initrd,
		FileCmdline: []byte(cmdline),
		FileInit:    initBin,
	}
	tdvf, err := tdx.WithoutSecureBoot(firmware[FileOVMFTDX])
	if err != nil {
		return nil, fmt.Errorf("build: %s: %w", FileOVMFTDX, err)
	}
	out[FileOVMFSNP], out[FileOVMFTDXBoot] = firmware[FileOVMFSNP], tdvf
	m := &Manifest{
		Format:  ManifestFormat,
		Version: opts.Version,
		Model:   &Artifact{Name: filepath.Base(opts.Model), SHA256: model.sha256, Size: model.size},
		Cmdline: cmdline,
		Inputs:  inputs,
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	// How each output was made, so that a rebuilder knows what to pin.
	made := map[string]string{
		FileInit: fmt.Sprintf("go build ./cmd/pith-init with %s, CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=%s GOEXPERIMENT=%s, -trimpath -buildvcs=false -ldflags=-buildid=",
			lock.Go.Version, lock.Go.GOAMD64, lock.Go.GOEXPERIMENT),
		FileInitrd:  fmt.Sprintf("newc cpio of /init and %d kernel modules with modules.dep, mtime %d, gzip level 9 (%s compress/gzip, no name, mtime 0, OS 255)", len(mods.paths), opts.SourceDateEpoch, goRelease()),
		FileCmdline: "the measured kernel command line",
		FileKernel:  kernelPkg.Package + " " + kernelPkg.Version + ":/" + kernelFile,
	}
	made[FileOVMFSNP] = fwSource[FileOVMFSNP]
	made[FileOVMFTDXBoot] = fwSource[FileOVMFTDX] + " with its variable store emptied (no Secure Boot keys; Debian's empty OVMF_VARS_4M.fd layout)"
	for _, n := range names {
		m.Outputs = append(m.Outputs, fileArtifact(n, out[n], made[n]))
	}
	done = p.start("computing the launch measurements")
	meas, err := Measurements(Image{Kernel: kernel, Initrd: initrd, Cmdline: cmdline, InitPath: filepath.Join(work, FileInit),
		OVMFSNP: firmware[FileOVMFSNP], OVMFTDX: tdvf},
		opts.SNP)
	if err != nil {
		return nil, err
	}
	done()
	m.SEVSNP, m.TDX, m.Dev = meas.SEVSNP, meas.TDX, meas.Dev
	mj, err := marshalManifest(m)
	if err != nil {
		return nil, err
	}
	out[FileManifest] = mj
	names = append(names, FileManifest)
	sort.Strings(names)

	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	res := &Result{Dir: opts.Out, Manifest: m, InitDeps: initDeps}
	for _, n := range names {
		if err := writeFile(filepath.Join(opts.Out, n), out[n]); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, FileInfo{Name: n, Size: int64(len(out[n])), SHA256: hexSHA256(out[n])})
	}
	return res, nil
}

// goRelease is the Go release that compiled this binary, without the
// "X:simd,..." that runtime.Version adds for GOEXPERIMENTs (after "-" or
// " "): go env GOVERSION, which the lock file pins, has no such suffix.
func goRelease() string {
	v, _, _ := strings.Cut(runtime.Version(), "-X:")
	v, _, _ = strings.Cut(v, " ")
	return v
}

func (o *Options) check() error {
	switch {
	case o.Model == "":
		return errors.New("build: no model file")
	case o.Out == "":
		return errors.New("build: no output folder")
	case len(o.SNP) == 0:
		return errors.New("build: no SEV-SNP launch configuration (vCPUs, CPU model, guest features)")
	case o.SourceDateEpoch < 0 || o.SourceDateEpoch > 1<<32-1:
		return fmt.Errorf("build: SOURCE_DATE_EPOCH %d: want 0..2^32-1 (newc mtime)", o.SourceDateEpoch)
	case o.MemoryMiB < 0:
		return fmt.Errorf("build: memory %d MiB", o.MemoryMiB)
	}
	seen := map[SNPConfig]bool{}
	for _, c := range o.SNP {
		if c.VCPUs < 1 || c.VCPUs > 512 {
			return fmt.Errorf("build: %d vCPUs: want 1..512", c.VCPUs)
		}
		// LaunchDigest would refuse these too, but only at the end,
		// after the packages are fetched and pith-init is compiled.
		if _, err := sevsnp.VCPUSignature(c.VCPUType); err != nil {
			return &OptionError{"vcpu-type", err}
		}
		if c.GuestFeatures&sevsnp.FeatureSNPActive == 0 {
			return &OptionError{"guest-features", fmt.Errorf("%#x lacks SNPActive (bit 0), which every SEV-SNP VMSA has", c.GuestFeatures)}
		}
		if seen[c] {
			return fmt.Errorf("build: SEV-SNP configuration %+v listed twice", c)
		}
		seen[c] = true
	}
	if o.Source == "" {
		return errors.New("build: no source folder (the pith repository)")
	}
	if err := o.checkBootOptions(); err != nil {
		return err
	}
	// Out is written only at the end: a file in its way would fail
	// the build after all the work.
	if st, err := os.Stat(o.Out); err == nil && !st.IsDir() {
		return &OptionError{"out", fmt.Errorf("%s exists and is not a folder", o.Out)}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &OptionError{"out", err}
	}
	// The header and tensor table, through the mapped file: pith-init
	// loads the model as GGUF at boot, and anything else powers the VM
	// off. The tensor data is not read here.
	f, err := gguf.Mmap(o.Model)
	if err != nil {
		return &OptionError{"model", fmt.Errorf("not a GGUF model the image could boot: %w", err)}
	}
	return f.Close()
}

// checkBootOptions reads Net, Listen and Attest the way pith-init reads
// the measured command line at boot (pid1.ParseCmdline, pid1.ParseConfig),
// each as Cmdline writes it, and wants back what was given.
func (o *Options) checkBootOptions() error {
	for _, v := range []struct{ flag, param, val string }{
		{"net", "pith.net", o.Net}, {"listen", "pith.listen", o.Listen}, {"attest", "pith.attest", o.Attest},
	} {
		if v.val == "" {
			continue
		}
		if strings.ContainsAny(v.val, " \t\r\n\"") {
			return &OptionError{v.flag, fmt.Errorf("%q: no spaces or quotes on the command line", v.val)}
		}
		ps, err := pid1.ParseCmdline(v.param + "=" + v.val)
		if err == nil {
			_, err = pid1.ParseConfig(ps)
		}
		if err != nil {
			return &OptionError{v.flag, fmt.Errorf("pith-init would refuse it at boot: %w", err)}
		}
	}
	return nil
}

// checkBootCmdline parses the whole command line as pith-init does.
func checkBootCmdline(cmdline string) error {
	ps, err := pid1.ParseCmdline(cmdline)
	if err == nil {
		_, err = pid1.ParseConfig(ps)
	}
	if err != nil {
		return fmt.Errorf("build: pith-init would refuse the command line %q at boot: %w", cmdline, err)
	}
	return nil
}

// Cmdline is the measured kernel command line. The kernel zeroes memory
// on allocation and on free (the kernel's help with wiping, besides the
// request arena), panics are final (panic=-1 with QEMU's -no-reboot), and
// pith-init takes the model's size and digest from here, so they are
// part of the launch measurement.
func Cmdline(modelSHA256 string, modelSize int64, lock *Lock, opts Options) string {
	var boot []string
	for _, m := range lock.Modules {
		if !isPlatformModule(m) {
			boot = append(boot, m)
		}
	}
	parts := []string{
		"console=ttyS0", "panic=-1", "init_on_free=1", "init_on_alloc=1",
		"pith.model=" + ModelDevice,
		"pith.model.sha256=" + modelSHA256,
		"pith.model.size=" + strconv.FormatInt(modelSize, 10),
		"pith.modules=" + strings.Join(boot, ","),
	}
	if opts.Net != "" {
		parts = append(parts, "pith.net="+opts.Net)
	}
	if opts.Listen != "" {
		parts = append(parts, "pith.listen="+opts.Listen)
	}
	if opts.Attest != "" {
		parts = append(parts, "pith.attest="+opts.Attest)
	}
	return strings.Join(parts, " ")
}

// isPlatformModule: pith-init loads the attestation drivers itself,
// because each fails with ENODEV on the other vendor's machine, where a
// module named in pith.modules would be fatal.
func isPlatformModule(m string) bool {
	switch strings.ReplaceAll(m, "_", "-") {
	case "sev-guest", "tdx-guest":
		return true
	}
	return false
}

// Initramfs is the gzip-compressed newc archive of entries. gzip rather
// than zstd because the standard library has it and the kernel has
// CONFIG_RD_GZIP; the header has no name, mtime 0 and OS byte 255, so the
// bytes depend only on the entries and the Go release.
func Initramfs(entries []cpio.Entry, mtime int64) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("build: gzip: %w", err)
	}
	zw.Header = gzip.Header{OS: 255}
	if _, err := cpio.Write(zw, entries, uint32(mtime), 512); err != nil {
		return nil, fmt.Errorf("build: initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("build: gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// withParents adds a directory entry for every parent of every file.
func withParents(entries []cpio.Entry) []cpio.Entry {
	dirs := map[string]bool{}
	for _, e := range entries {
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		entries = append(entries, cpio.Entry{Path: d, Mode: cpio.TypeDir | 0o755})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	return entries
}

// BuildInit compiles cmd/pith-init reproducibly into out and returns its
// bytes and its non-standard dependencies. The environment is rebuilt from
// nothing but what locates the toolchain and the module cache, so a
// developer's GOFLAGS, CGO settings or GOAMD64 cannot leak into the image.
// GOENV=off too: go takes an empty variable as unset and falls back to the
// user's go env file ($HOME/.config/go/env, written by go env -w), whose
// GOFLAGS would otherwise change pith-init and the measurements.
func BuildInit(ctx context.Context, source string, pin GoPin, out string) ([]byte, []string, error) {
	env := []string{
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64",
		"GOAMD64=" + pin.GOAMD64, "GOEXPERIMENT=" + pin.GOEXPERIMENT,
		"GOFLAGS=", "GOENV=off", "GOTOOLCHAIN=local", "GOWORK=off", "LC_ALL=C", "TZ=UTC",
	}
	for _, k := range []string{"PATH", "HOME", "GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOSUMDB", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	gover, err := goOutput(ctx, source, env, "env", "GOVERSION")
	if err != nil {
		return nil, nil, err
	}
	if gover = strings.TrimSpace(gover); gover != pin.Version {
		return nil, nil, fmt.Errorf("build: Go toolchain %s, but image/lock.json pins %s; pith-init would differ", gover, pin.Version)
	}
	if _, err := goOutput(ctx, source, env, "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid=", "-o", out, "./cmd/pith-init"); err != nil {
		return nil, nil, err
	}
	deps, err := goOutput(ctx, source, env, "list", "-deps", "-f", "{{if not (or .Standard (eq .Name \"main\"))}}{{.ImportPath}}{{end}}", "./cmd/pith-init")
	if err != nil {
		return nil, nil, err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, nil, fmt.Errorf("build: pith-init: %w", err)
	}
	list := strings.Fields(deps)
	sort.Strings(list)
	return bin, list, nil
}

func goOutput(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build: go %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// readPinnedDeb fetches p with image/measure/inputs (apt-get download into
// its cache, digests checked) and reads the .deb, checking it once more:
// the modules are taken from the package itself, not from an unpacked tree
// on disk that nothing pins file by file.
func readPinnedDeb(ctx context.Context, p *Package) ([]byte, error) {
	file, _ := p.only()
	if _, err := inputs.Fetch(ctx, p.Deb(file)); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	dir, err := inputs.CacheDir()
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	name := filepath.Join(dir, "debs", p.DebName())
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("build: %s %s: %w", p.Package, p.Version, err)
	}
	if err := pinned(name, b, p.SHA256); err != nil {
		return nil, err
	}
	return b, nil
}

type fileSum struct {
	sha256 string
	size   int64
}

func hashFile(name string) (fileSum, error) {
	f, err := os.Open(name)
	if err != nil {
		return fileSum{}, fmt.Errorf("build: model: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, fmt.Errorf("build: model %q: %w", name, err)
	}
	if n == 0 {
		return fileSum{}, fmt.Errorf("build: model %q is empty", name)
	}
	return fileSum{hex.EncodeToString(h.Sum(nil)), n}, nil
}

// writeFile writes with fixed permissions, so the caller's umask does not
// show in the output folder.
func writeFile(name string, b []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	return nil
}

func modNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = moduleName(p)
	}
	return out
}

func debArtifact(p *Package, deb []byte) Artifact {
	return Artifact{Name: p.DebName(), SHA256: hexSHA256(deb), Size: int64(len(deb)),
		Source: "debian " + p.Suite + " " + p.Package + " " + p.Version}
}

func fileArtifact(name string, b []byte, source string) Artifact {
	return Artifact{Name: name, SHA256: hexSHA256(b), Size: int64(len(b)), Source: source}
}

// progress prints a line per step, with how long the long ones took.
type progress struct{ w io.Writer }

func (p progress) step(format string, args ...any) {
	if p.w != nil {
		fmt.Fprintf(p.w, "image: "+format+"\n", args...)
	}
}

func (p progress) start(format string, args ...any) (done func()) {
	p.step(format+" ...", args...)
	t := time.Now()
	return func() {
		if p.w != nil {
			fmt.Fprintf(p.w, "image:   done in %s\n", time.Since(t).Round(10*time.Millisecond))
		}
	}
}
