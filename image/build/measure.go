package build

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/image/measure/sevsnp"
	"github.com/pith-project/pith/image/measure/tdx"
	"github.com/pith-project/pith/runtime/pid1"
)

// The manifest is the verifier's: the builder writes attest's type.
type (
	Manifest = attest.Manifest
	Artifact = attest.Artifact
)

// ManifestFormat is the manifest layout the builder writes.
const ManifestFormat = attest.ManifestFormat

// The firmware files, named as Debian ships them, and the TDVF the image
// ships for TDX launches.
const (
	FileOVMFSNP = "OVMF.amdsev.fd"
	FileOVMFTDX = "OVMF.inteltdx.ms.fd"
	// FileOVMFTDXBoot is FileOVMFTDX with its variable store emptied
	// (tdx.WithoutSecureBoot): Debian's TDVF enforces Secure Boot with
	// Microsoft's keys and refuses the image's unsigned kernel, and in a TD
	// edk2 has no fallback. Its CFV is Debian's empty OVMF_VARS_4M.fd and
	// its MRTD that of FileOVMFTDX.
	FileOVMFTDXBoot = "OVMF.inteltdx.fd"
)

// TDXOrder is the page order the MRTD is computed for: upstream Linux KVM
// adds and extends page by page.
const TDXOrder = tdx.SinglePass

// Image is what the launch measurements depend on.
type Image struct {
	Kernel, Initrd   []byte
	Cmdline          string
	InitPath         string // pith-init, for the development stand-in's measurement
	OVMFSNP, OVMFTDX []byte
}

// SNPConfig is one SEV-SNP launch configuration.
type SNPConfig struct {
	VCPUs         int
	VCPUType      string
	GuestFeatures uint64
}

// Expected are the measurements a verifier compares reports against.
type Expected struct {
	SEVSNP []attest.SNPMeasurement
	TDX    *attest.TDXMeasurement
	Dev    *attest.DevEntry
}

// TDXBoot is what the manifest says RTMR1 and RTMR2 were computed for
// (tdx.DirectBoot.Events has the event sequence and its conditions).
const TDXBoot = "QEMU >= 10.0 direct kernel boot (-kernel/-initrd/-append) through TDVF edk2-stable202508 or later (this image's " + FileOVMFTDXBoot + "), " +
	"the kernel accepted by LoadImage (not refused by Secure Boot), no PCI option ROM loaded (QEMU devices with romfile=), " +
	"Linux EFI stub measuring LoadOptions and initrd"

// TDXRTMR0NotPinned is why the manifest carries no RTMR0.
const TDXRTMR0NotPinned = "platform-dependent: TDVF measures the TD HOB (memory layout), its varstore and Secure Boot variables, " +
	"the ACPI tables QEMU generates for the machine (CPU count, memory, devices, QEMU version) and the boot variables; " +
	"replay it from the TD's CCEL event log"

// Measurements computes the expected launch measurements of img: the
// SEV-SNP MEASUREMENT for each configuration (direct kernel boot through
// the AmdSev OVMF's hashes table), the TDX MRTD of the TDVF firmware and
// RTMR1 and RTMR2 of the direct boot (RTMR0 is platform-dependent and
// left unpinned, with the reason), and the development stand-in's SHA-384
// of pith-init.
func Measurements(img Image, snp []SNPConfig) (*Expected, error) {
	var e Expected
	for _, c := range snp {
		d, err := sevsnp.LaunchDigest(sevsnp.Input{
			OVMF: img.OVMFSNP, Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline,
			VCPUs: c.VCPUs, VCPUType: c.VCPUType, GuestFeatures: c.GuestFeatures,
		})
		if err != nil {
			return nil, fmt.Errorf("build: SEV-SNP measurement (%d x %s, features %#x): %w", c.VCPUs, c.VCPUType, c.GuestFeatures, err)
		}
		e.SEVSNP = append(e.SEVSNP, attest.SNPMeasurement{VCPUs: c.VCPUs, VCPUType: c.VCPUType, GuestFeatures: c.GuestFeatures, Measurement: hex.EncodeToString(d[:])})
	}
	mrtd, err := tdx.MRTD(img.OVMFTDX, TDXOrder)
	if err != nil {
		return nil, fmt.Errorf("build: TDX MRTD: %w", err)
	}
	rtmr1, rtmr2, err := tdx.DirectBoot{Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline}.RTMR1And2()
	if err != nil {
		return nil, fmt.Errorf("build: TDX RTMRs: %w", err)
	}
	e.TDX = &attest.TDXMeasurement{
		MRTD: hex.EncodeToString(mrtd[:]), RTMR1: hex.EncodeToString(rtmr1[:]), RTMR2: hex.EncodeToString(rtmr2[:]),
		Boot: TDXBoot, NotPinned: map[string]string{"rtmr0": TDXRTMR0NotPinned},
	}
	if e.TDX.Warning, err = tdxSecureBootWarning(img); err != nil {
		return nil, fmt.Errorf("build: TDX Secure Boot: %w", err)
	}
	dev, err := attest.DevMeasurement(img.InitPath)
	if err != nil {
		return nil, fmt.Errorf("build: development measurement: %w", err)
	}
	e.Dev = &attest.DevEntry{Measurement: dev}
	return &e, nil
}

// TDXRefusedKernel is the manifest's warning when the TDVF image enforces
// Secure Boot and the kernel is unsigned.
const TDXRefusedKernel = "the TDVF firmware enrolls a Secure Boot platform key and the kernel carries no Authenticode signature: " +
	"the firmware refuses it, and in a TD it does not fall back to the legacy loader, so this image does not boot under TDX with it " +
	"(a firmware that does not enforce Secure Boot would boot it)"

// tdxSecureBootWarning is TDXRefusedKernel when it applies, else "".
func tdxSecureBootWarning(img Image) (string, error) {
	pk, err := tdx.EnrolledPK(img.OVMFTDX)
	if err != nil {
		return "", err
	}
	signed, err := tdx.Signed(img.Kernel)
	if err != nil {
		return "", err
	}
	if pk && !signed {
		return TDXRefusedKernel, nil
	}
	return "", nil
}

func marshalManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("build: manifest: %w", err)
	}
	b = append(b, '\n')
	// What a verifier will read must parse strictly.
	if _, err := attest.ParseManifest(b); err != nil {
		return nil, fmt.Errorf("build: manifest does not parse back: %w", err)
	}
	return b, nil
}

// Mismatch is one value of an image that differs from its manifest.
type Mismatch struct {
	What           string
	Manifest, Have string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: manifest says %s, image has %s", m.What, m.Manifest, m.Have)
}

// Check is the outcome of Measure.
type Check struct {
	Manifest   *Manifest
	Expected   *Expected // recomputed from the files
	Mismatches []Mismatch
	Checked    int // values compared
}

// Measure reads the image in dir, recomputes every output digest and
// every measurement its manifest.json lists, and reports what differs.
func Measure(dir string) (*Check, error) {
	mb, err := os.ReadFile(filepath.Join(dir, FileManifest))
	if err != nil {
		return nil, fmt.Errorf("build: measure: %w", err)
	}
	m, err := attest.ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("build: measure %s: %w", dir, err)
	}
	c := &Check{Manifest: m}
	cmp := func(what, want, have string) {
		c.Checked++
		if want != have {
			c.Mismatches = append(c.Mismatches, Mismatch{what, want, have})
		}
	}
	files := map[string][]byte{}
	for _, n := range []string{FileKernel, FileInitrd, FileCmdline, FileInit, FileOVMFSNP, FileOVMFTDXBoot} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("build: measure: %w", err)
		}
		files[n] = b
	}
	listed := map[string]bool{}
	for _, a := range m.Outputs {
		if filepath.Base(a.Name) != a.Name || a.Name == FileManifest {
			return nil, fmt.Errorf("build: measure: manifest output %q: not a file of the image", a.Name)
		}
		listed[a.Name] = true
		b, ok := files[a.Name]
		if !ok {
			if b, err = os.ReadFile(filepath.Join(dir, a.Name)); err != nil {
				return nil, fmt.Errorf("build: measure: %w", err)
			}
		}
		cmp(a.Name+" SHA-256", a.SHA256, hexSHA256(b))
	}
	var missing []string
	for n := range files {
		if !listed[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	for _, n := range missing {
		cmp(n+" SHA-256", "(not listed)", hexSHA256(files[n]))
	}
	if !bytes.Equal(files[FileCmdline], []byte(m.Cmdline)) {
		cmp("cmdline", fmt.Sprintf("%q", m.Cmdline), fmt.Sprintf("%q", files[FileCmdline]))
	} else {
		c.Checked++
	}
	// The manifest's model entry is not measured; the command line is.
	// An operator's --model check compares a disk with the entry, so it
	// must name what pith-init will accept.
	for _, mm := range cmdlineModel(m, string(files[FileCmdline])) {
		c.Checked++
		if mm != nil {
			c.Mismatches = append(c.Mismatches, *mm)
		}
	}
	var snp []SNPConfig
	for _, s := range m.SEVSNP {
		snp = append(snp, SNPConfig{VCPUs: s.VCPUs, VCPUType: s.VCPUType, GuestFeatures: s.GuestFeatures})
	}
	e, err := Measurements(Image{
		Kernel: files[FileKernel], Initrd: files[FileInitrd], Cmdline: string(files[FileCmdline]),
		InitPath: filepath.Join(dir, FileInit), OVMFSNP: files[FileOVMFSNP], OVMFTDX: files[FileOVMFTDXBoot],
	}, snp)
	if err != nil {
		return nil, err
	}
	c.Expected = e
	for i, s := range m.SEVSNP {
		cmp(fmt.Sprintf("SEV-SNP measurement (%d x %s, features %#x)", s.VCPUs, s.VCPUType, s.GuestFeatures), s.Measurement, e.SEVSNP[i].Measurement)
	}
	if m.TDX != nil {
		cmp("TDX MRTD", m.TDX.MRTD, e.TDX.MRTD)
		// An RTMR the manifest leaves empty is not compared (the verifier
		// reports it as not checked); one it gives must match.
		have := e.TDX.RTMRs()
		for i, want := range m.TDX.RTMRs() {
			if want != "" {
				cmp(fmt.Sprintf("TDX RTMR%d", i), want, have[i])
			}
		}
	}
	if m.Dev != nil {
		cmp("development measurement", m.Dev.Measurement, e.Dev.Measurement)
	}
	return c, nil
}

// cmdlineModel compares the manifest's model digest and size with the
// pith.model.sha256 and pith.model.size that pith-init reads from cmdline,
// one result per value compared (nil where they agree). A manifest that
// names no model compares nothing.
func cmdlineModel(m *Manifest, cmdline string) []*Mismatch {
	if m.Model == nil {
		return nil
	}
	ps, err := pid1.ParseCmdline(cmdline)
	var cfg pid1.Config
	if err == nil {
		cfg, err = pid1.ParseConfig(ps)
	}
	if err != nil {
		return []*Mismatch{{"model on the command line", m.Model.SHA256, "an unreadable command line: " + err.Error()}}
	}
	out := []*Mismatch{nil}
	// ParseManifest has checked the digest is hex; compare bytes, since
	// pith-init accepts either case.
	if want, _ := hex.DecodeString(m.Model.SHA256); cfg.ModelSHA256 == nil {
		out[0] = &Mismatch{"model SHA-256 on the command line", m.Model.SHA256, "none (pith-init refuses to boot without pith.model.sha256)"}
	} else if !bytes.Equal(want, cfg.ModelSHA256) {
		out[0] = &Mismatch{"model SHA-256 on the command line", m.Model.SHA256, hex.EncodeToString(cfg.ModelSHA256)}
	}
	// Without pith.model.size pith-init hashes the whole disk, whatever
	// size the manifest gives; a manifest without a size (which
	// CheckModel then does not compare either) leaves it to the digest.
	if cfg.ModelSize != 0 && m.Model.Size != 0 {
		var mm *Mismatch
		if m.Model.Size != cfg.ModelSize {
			mm = &Mismatch{"model size on the command line", fmt.Sprint(m.Model.Size), fmt.Sprint(cfg.ModelSize)}
		}
		out = append(out, mm)
	}
	return out
}

// CheckModel compares a model file with the one the manifest (and so the
// measured command line) names: an operator's check that the disk they
// attach is the one the image will accept.
func CheckModel(m *Manifest, file string) ([]Mismatch, error) {
	if m.Model == nil {
		return nil, fmt.Errorf("build: manifest names no model")
	}
	sum, err := hashFile(file)
	if err != nil {
		return nil, err
	}
	var mm []Mismatch
	if sum.sha256 != m.Model.SHA256 {
		mm = append(mm, Mismatch{"model SHA-256", m.Model.SHA256, sum.sha256})
	}
	if m.Model.Size != 0 && sum.size != m.Model.Size {
		mm = append(mm, Mismatch{"model size", fmt.Sprint(m.Model.Size), fmt.Sprint(sum.size)})
	}
	return mm, nil
}
