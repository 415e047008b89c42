package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/image/build"
	"github.com/pith-project/pith/image/measure/sevsnp"
)

const imageBuildHelp = `Build the measured confidential-VM image for a model: the pinned Debian
cloud kernel, an initramfs holding pith-init and its kernel modules, the
measured command line (which carries the model's SHA-256 and size), the
pinned OVMF builds (the TDX one, OVMF.inteltdx.fd, with its variable store
emptied: Debian's enforces Secure Boot, which refuses the unsigned kernel;
MRTD is unchanged), and manifest.json with every input's and output's
SHA-256 and the expected launch measurements (SEV-SNP for the given vCPU
count, type and guest features; TDX MRTD, RTMR1 and RTMR2 (RTMR0 is
platform-dependent and recorded as not pinned); the development stand-in's).

Inputs are pinned in image/lock.json; a package whose digest differs is
refused with both digests. Missing packages are fetched with apt-get
download (private apt state, nothing installed) into $PITH_IMAGE_CACHE
(default ~/.cache/pith/image-inputs). The same model and options give the
same bytes on any machine with the pinned Go toolchain, which must also
have compiled this pith (it gzips the initramfs itself).

The model is not copied: give it to the VM as its first virtio disk, e.g.
  qemu-system-x86_64 ... -kernel DIR/vmlinuz -initrd DIR/initrd.img \
    -append "$(cat DIR/cmdline)" \
    -drive file=MODEL,if=virtio,format=raw,readonly=on
For SEV-SNP the guest object needs kernel-hashes=on (for example
  -object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,kernel-hashes=on
  -machine q35,confidential-guest-support=sev0):
without it QEMU measures the firmware alone, the report matches none of the
manifest's SEV-SNP values, and the kernel, initramfs and command line are
not covered by it at all.

Example:
  pith image build --model qwen.gguf --out image-out --vcpus 2 --vcpu-type EPYC-v4
  pith image build --model qwen.gguf --out image-out --vcpus 1,2,4 --vcpu-type EPYC-Milan,EPYC-Genoa --guest-features 0x1,0x21`

const imageMeasureHelp = `Recompute every output digest and every launch measurement an image's
manifest.json lists, from the files in DIR, and say which differ. With
--model, also check that the file is the model the image's measured command
line accepts. Exit status 1 when anything differs.

Example:
  pith image measure image-out
  pith image measure --model qwen.gguf image-out`

func init() {
	register(&command{
		Name:  "image",
		Short: "build the measured VM image for a model, or re-measure one",
		Usage: "pith image (build | measure) [flags] [args]",
		Help: `Build a byte-reproducible confidential-VM image whose launch measurements
are computed offline ('pith image build'), or check an image against its
manifest ('pith image measure DIR'). 'pith image COMMAND --help' explains each.

Example:
  pith image build --model qwen.gguf --out image-out
  pith image measure image-out`,
		Run: func(ctx context.Context, args []string) error { return runImage(ctx, args, os.Stdout) },
	})
}

// runImage runs one image sub-command; progress goes to stderr, results
// to stdout.
func runImage(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("which one: build or measure?")
	}
	var err error
	switch args[0] {
	case "build":
		err = imageBuild(ctx, args[1:], stdout, os.Stderr)
	case "measure":
		err = imageMeasure(args[1:], stdout)
	default:
		return usagef("unknown image command %q (build, measure)", args[0])
	}
	// A sub-command's usage error points to its own help, not to
	// 'pith image --help' (which runMain would add).
	var ue usageError
	if errors.As(err, &ue) && !strings.Contains(ue.msg, "(see '") {
		return usagef("%s (see 'pith image %s --help')", ue.msg, args[0])
	}
	return err
}

// imageFlags parses a sub-command's flags; help is printed and reported
// as errHelpShown.
func imageFlags(name, usage, help string, args []string, stdout io.Writer, define func(fs *flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("pith image "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: %s\n\n%s\n\nFlags:\n", usage, help)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, errHelpShown
		}
		return nil, usagef("%v (see 'pith image %s --help')", err, name)
	}
	return fs, nil
}

var errHelpShown = errors.New("help shown")

func imageBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sde := int64(0)
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return usagef("SOURCE_DATE_EPOCH %q: %v", s, err)
		}
		sde = v
	}
	o := build.Options{Version: version, Progress: stderr}
	var vcpus, types, features string
	fs, err := imageFlags("build", "pith image build --model FILE --out DIR [flags]", imageBuildHelp, args, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&o.Model, "model", "", "the GGUF model file (required)")
		fs.StringVar(&o.Out, "out", "", "output folder (required)")
		fs.StringVar(&vcpus, "vcpus", "2", "vCPUs of the SEV-SNP guest (each one's VMSA is measured); a comma list gives a measurement for each")
		fs.StringVar(&types, "vcpu-type", "EPYC-v4", "QEMU CPU model of the SEV-SNP guest (EPYC-v4, EPYC-Milan, EPYC-Genoa, ...); a comma list gives a measurement for each")
		fs.StringVar(&features, "guest-features", "0x1", "SEV-SNP guest features (VMSA SEV_FEATURES): 0x1 is QEMU's default, 0x21 adds DebugSwap (Linux 6.6+ KVM); a comma list gives a measurement for each")
		fs.IntVar(&o.MemoryMiB, "memory", 2048, "guest memory in MiB for the summary; the SEV-SNP, MRTD, RTMR1 and RTMR2 values do not depend on it (TDX RTMR0 would)")
		fs.Int64Var(&o.SourceDateEpoch, "source-date-epoch", sde, "mtime of every initramfs file (default $SOURCE_DATE_EPOCH or 0)")
		fs.StringVar(&o.Net, "net", "dhcp", "pith.net: ADDR/PREFIX,GATEWAY[,IFNAME] for a fixed address, or dhcp[,IFNAME]\n(the default: clouds and QEMU's user network lease addresses by DHCP; '' leaves\npith.net out: DHCP on the first Ethernet link if the VM has one). It is part\nof the measured command line")
		fs.StringVar(&o.Listen, "listen", "", "pith.listen: HOST:PORT of the server ('' for its default)")
		fs.StringVar(&o.Attest, "attest", "", "pith.attest: auto, sev-snp, tdx or dev ('' for auto)")
		fs.StringVar(&o.Source, "source", "", "the pith repository to build pith-init from (default: the one around the current folder)")
	})
	if err != nil {
		if errors.Is(err, errHelpShown) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if o.Model == "" || o.Out == "" {
		return usagef("--model and --out are required")
	}
	if err := checkInputFile("--model", o.Model, "a GGUF file"); err != nil {
		return err
	}
	if o.SNP, err = snpConfigs(vcpus, types, features); err != nil {
		return err
	}
	if o.Source == "" {
		if o.Source, err = findSource(); err != nil {
			return err
		}
	}
	t := time.Now()
	res, err := build.Build(ctx, o)
	var oe *build.OptionError
	if errors.As(err, &oe) { // refused before any work: how it was called
		return usagef("%v", err)
	}
	if err != nil {
		return err
	}
	printSummary(stdout, res, o.MemoryMiB, time.Since(t))
	return nil
}

// snpConfigs is every combination of the listed vCPU counts, CPU models
// and guest-features words: one expected SEV-SNP measurement each.
func snpConfigs(vcpus, types, features string) ([]build.SNPConfig, error) {
	var out []build.SNPConfig
	for _, v := range strings.Split(vcpus, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > sevsnp.MaxVCPUs {
			// Said now, not after the packages are fetched and pith-init
			// is compiled, where the measurement would refuse it.
			return nil, usagef("--vcpus %q: want counts from 1 to %d, comma-separated", vcpus, sevsnp.MaxVCPUs)
		}
		for _, ty := range strings.Split(types, ",") {
			if ty = strings.TrimSpace(ty); ty == "" {
				return nil, usagef("--vcpu-type %q: empty CPU model", types)
			}
			for _, f := range strings.Split(features, ",") {
				gf, err := strconv.ParseUint(strings.TrimSpace(f), 0, 64)
				if err != nil {
					return nil, usagef("--guest-features %q: %v", features, err)
				}
				out = append(out, build.SNPConfig{VCPUs: n, VCPUType: ty, GuestFeatures: gf})
			}
		}
	}
	return out, nil
}

func printSummary(w io.Writer, res *build.Result, memMiB int, took time.Duration) {
	m := res.Manifest
	fmt.Fprintf(w, "image in %s (built in %s)\n", res.Dir, took.Round(100*time.Millisecond))
	for _, f := range res.Files {
		fmt.Fprintf(w, "  %-22s %11d bytes  sha256 %s\n", f.Name, f.Size, f.SHA256)
	}
	fmt.Fprintf(w, "model   %s, %d bytes, sha256 %s (give it as the first virtio disk)\n", m.Model.Name, m.Model.Size, m.Model.SHA256)
	fmt.Fprintf(w, "cmdline %s\n", m.Cmdline)
	for _, s := range m.SEVSNP {
		fmt.Fprintf(w, "SEV-SNP measurement (%d vCPU %s, guest features %#x): %s\n", s.VCPUs, s.VCPUType, s.GuestFeatures, s.Measurement)
	}
	if m.TDX != nil {
		printTDX(w, m.TDX)
	}
	if m.Dev != nil {
		fmt.Fprintf(w, "development stand-in measurement (SHA-384 of pith-init): %s\n", m.Dev.Measurement)
	}
	fmt.Fprintf(w, "pith-init imports outside std: %s\n", strings.Join(res.InitDeps, " "))
	fmt.Fprintf(w, "memory  %d MiB recommended for the VM\n", memMiB)
}

// printTDX prints MRTD and each RTMR, or why an RTMR has no value.
func printTDX(w io.Writer, t *attest.TDXMeasurement) {
	fmt.Fprintf(w, "TDX MRTD (%s): %s\n", build.TDXOrder, t.MRTD)
	for i, v := range t.RTMRs() {
		if v == "" {
			v = "not pinned: " + t.NotPinned[fmt.Sprintf("rtmr%d", i)]
		}
		fmt.Fprintf(w, "TDX RTMR%d: %s\n", i, v)
	}
	if t.Boot != "" {
		fmt.Fprintf(w, "TDX RTMRs computed for: %s\n", t.Boot)
	}
	if t.Warning != "" {
		fmt.Fprintf(w, "TDX WARNING: %s\n", t.Warning)
	}
}

func imageMeasure(args []string, stdout io.Writer) error {
	var modelFile string
	fs, err := imageFlags("measure", "pith image measure [--model FILE] DIR", imageMeasureHelp, args, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&modelFile, "model", "", "also check this model file against the manifest")
	})
	if err != nil {
		if errors.Is(err, errHelpShown) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return usagef("measure takes one DIR")
	}
	if modelFile != "" {
		if err := checkInputFile("--model", modelFile, "a GGUF file"); err != nil {
			return err
		}
	}
	c, err := build.Measure(fs.Arg(0))
	if err != nil {
		return err
	}
	if modelFile != "" {
		mm, err := build.CheckModel(c.Manifest, modelFile)
		if err != nil {
			return err
		}
		c.Mismatches = append(c.Mismatches, mm...)
		c.Checked += 2
	}
	for _, s := range c.Expected.SEVSNP {
		fmt.Fprintf(stdout, "SEV-SNP measurement (%d vCPU %s, guest features %#x): %s\n", s.VCPUs, s.VCPUType, s.GuestFeatures, s.Measurement)
	}
	printTDX(stdout, c.Expected.TDX)
	fmt.Fprintf(stdout, "development stand-in measurement: %s\n", c.Expected.Dev.Measurement)
	if len(c.Mismatches) > 0 {
		for _, mm := range c.Mismatches {
			fmt.Fprintf(stdout, "MISMATCH %s\n", mm)
		}
		return fmt.Errorf("%d of %d values differ from %s", len(c.Mismatches), c.Checked, filepath.Join(fs.Arg(0), build.FileManifest))
	}
	fmt.Fprintf(stdout, "all %d values match the manifest\n", c.Checked)
	return nil
}

// findSource is the pith repository around the current folder: pith-init
// is built from source, and image/lock.json lives beside it.
func findSource() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(gomod), "module github.com/pith-project/pith\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the pith repository: run from it or give --source")
		}
		dir = parent
	}
}
