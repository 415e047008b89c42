// Package sevsnp computes, offline, the MEASUREMENT an AMD SEV-SNP report
// will carry for a guest that QEMU launches with an OVMF (AmdSev) image and,
// optionally, a directly booted kernel, initrd and command line.
//
// The launch digest is the SHA-384 chain the SNP firmware builds during
// SNP_LAUNCH_UPDATE (SNP ABI spec, PAGE_INFO): each page contributes
// SHA-384(previous digest || contents hash || PAGE_INFO fields). QEMU feeds,
// in this order: the whole firmware image as normal pages; each SEV metadata
// section of the image as the page type it names (the kernel-hashes page
// holding the SEV hashes table QEMU fills); one VMSA page per vCPU.
//
// QEMU fills the hashes table only when the guest object asks for it
// (`-object sev-snp-guest,...,kernel-hashes=on`); without that option a
// direct-boot guest is measured like a firmware-only one (Kernel nil here)
// and its kernel is not covered by the report at all.
//
// Checked against virtee/sev-snp-measure on Debian's ovmf-amdsev with the
// Debian cloud kernel (see the vectors in this package's tests).
package sevsnp

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/pith-project/pith/image/measure/ovmf"
)

// Input is everything the launch digest depends on.
type Input struct {
	OVMF []byte // the firmware image QEMU is given with -bios
	// Kernel, Initrd and Cmdline are the direct-boot inputs (-kernel,
	// -initrd, -append). A nil Kernel means firmware-only boot, where the
	// kernel-hashes page is measured as zeroes; with a kernel, a nil Initrd
	// is hashed as empty, as QEMU does.
	Kernel, Initrd []byte
	Cmdline        string
	VCPUs          int
	VCPUType       string // QEMU CPU model: "EPYC-v4", "EPYC-Milan", "EPYC-Genoa", "EPYC-Turin", ...
	// GuestFeatures is the VMSA SEV_FEATURES word the host uses: 0x1
	// (SNPActive) with QEMU's defaults, 0x21 with DebugSwap, which Linux
	// KVM 6.6 and later turn on by default.
	GuestFeatures uint64
	VMMType       string // only "QEMU" (the default when empty)
}

// Bits of GuestFeatures (the VMSA SEV_FEATURES field, AMD APM vol. 2).
const (
	FeatureSNPActive = 1 << 0 // set in every SEV-SNP VMSA
	FeatureDebugSwap = 1 << 5 // turned on by Linux 6.6+ KVM by default
)

// VCPUSignature is the CPUID(1).EAX value QEMU reports for a CPU model,
// which it places in RDX of every initial VMSA.
func VCPUSignature(vcpuType string) (uint32, error) {
	if s, ok := vcpuSigs[vcpuType]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("sevsnp: vcpu type %q: unknown (known: EPYC, EPYC-v1..v5, EPYC-Rome(-v1..v5), EPYC-Milan(-v1..v3), EPYC-Genoa(-v1,v2), EPYC-Turin(-v1))", vcpuType)
}

// cpuSig packs family, model and stepping as CPUID Fn0000_0001_EAX does
// (AMD CPUID specification #25481).
func cpuSig(family, model, stepping uint32) uint32 {
	famLo, famHi := family, uint32(0)
	if family > 0xf {
		famLo, famHi = 0xf, (family-0xf)&0xff
	}
	return famHi<<20 | (model>>4&0xf)<<16 | famLo<<8 | (model&0xf)<<4 | stepping&0xf
}

// QEMU's builtin_x86_defs: versions of one model share family/model/stepping
// (EPYC-v5 and EPYC-Rome-v5, added after QEMU 10.0, add only feature flags and a
// model-id string).
var vcpuSigs = func() map[string]uint32 {
	m := map[string]uint32{}
	add := func(sig uint32, names ...string) {
		for _, n := range names {
			m[n] = sig
		}
	}
	add(cpuSig(23, 1, 2), "EPYC", "EPYC-v1", "EPYC-v2", "EPYC-v3", "EPYC-v4", "EPYC-v5", "EPYC-IBPB")
	add(cpuSig(23, 49, 0), "EPYC-Rome", "EPYC-Rome-v1", "EPYC-Rome-v2", "EPYC-Rome-v3", "EPYC-Rome-v4", "EPYC-Rome-v5")
	add(cpuSig(25, 1, 1), "EPYC-Milan", "EPYC-Milan-v1", "EPYC-Milan-v2", "EPYC-Milan-v3")
	add(cpuSig(25, 17, 0), "EPYC-Genoa", "EPYC-Genoa-v1", "EPYC-Genoa-v2")
	add(cpuSig(26, 0, 0), "EPYC-Turin", "EPYC-Turin-v1")
	return m
}()

// SNP_LAUNCH_UPDATE page types (SNP ABI spec, PAGE_TYPE).
const (
	pageNormal     = 0x01
	pageVMSA       = 0x02
	pageZero       = 0x03
	pageUnmeasured = 0x04
	pageSecrets    = 0x05
	pageCPUID      = 0x06
)

const maxSections = 64 << 20

// The VMSA page is recorded at GPA -1, page aligned and cut to 52 bits.
const vmsaGPA = 0xFFFFFFFFF000

// gctx is the guest context's launch digest.
type gctx struct{ ld [48]byte }

func (g *gctx) update(pageType byte, gpa uint64, contents *[48]byte) {
	// PAGE_INFO: digest, contents, length 0x70, type, IMI=0, VMPL3..1 perms=0, reserved, GPA.
	var pi [0x70]byte
	copy(pi[0:], g.ld[:])
	copy(pi[48:], contents[:])
	binary.LittleEndian.PutUint16(pi[96:], 0x70)
	pi[98] = pageType
	binary.LittleEndian.PutUint64(pi[104:], gpa)
	g.ld = sha512.Sum384(pi[:])
}

func (g *gctx) normalPages(gpa uint64, data []byte) {
	for off := 0; off < len(data); off += ovmf.PageSize {
		h := sha512.Sum384(data[off : off+ovmf.PageSize])
		g.update(pageNormal, gpa+uint64(off), &h)
	}
}

func (g *gctx) emptyPages(pageType byte, gpa uint64, size uint32) {
	var zero [48]byte
	for off := uint64(0); off < uint64(size); off += ovmf.PageSize {
		g.update(pageType, gpa+off, &zero)
	}
}

// FirmwareDigest is the launch digest after the firmware image's pages
// alone (sev-snp-measure's "snp:ovmf-hash"): a value some clouds publish
// for their firmware, and a check on the first stage of LaunchDigest.
func FirmwareDigest(fw []byte) ([48]byte, error) {
	var g gctx
	if err := checkFirmwareSize(fw); err != nil {
		return g.ld, err
	}
	g.normalPages(ovmf.FirmwareGPA(len(fw)), fw)
	return g.ld, nil
}

func checkFirmwareSize(fw []byte) error {
	if len(fw) == 0 || len(fw)%ovmf.PageSize != 0 || len(fw) > 1<<30 {
		return fmt.Errorf("sevsnp: firmware of %d bytes: want a non-empty multiple of 4096 up to 1 GiB", len(fw))
	}
	return nil
}

// MaxVCPUs is the most vCPUs LaunchDigest measures a guest with: a bound
// on the VMSA pages it hashes, far above what a pith guest needs.
const MaxVCPUs = 512

// LaunchDigest returns the SNP report MEASUREMENT for in.
func LaunchDigest(in Input) ([48]byte, error) {
	var zero [48]byte
	if in.VMMType != "" && in.VMMType != "QEMU" {
		return zero, fmt.Errorf("sevsnp: vmm type %q: only QEMU is supported", in.VMMType)
	}
	if in.VCPUs < 1 || in.VCPUs > MaxVCPUs {
		return zero, fmt.Errorf("sevsnp: %d vCPUs: want 1..%d", in.VCPUs, MaxVCPUs)
	}
	sig, err := VCPUSignature(in.VCPUType)
	if err != nil {
		return zero, err
	}
	if err := checkFirmwareSize(in.OVMF); err != nil {
		return zero, err
	}
	if in.GuestFeatures&FeatureSNPActive == 0 {
		// KVM sets SNPActive in every SNP guest's VMSA, so no report can
		// carry a digest computed without it: a zero here is a mistake.
		return zero, fmt.Errorf("sevsnp: guest features %#x lack SNPActive (bit 0), which every SEV-SNP VMSA has", in.GuestFeatures)
	}
	if strings.IndexByte(in.Cmdline, 0) >= 0 {
		return zero, errors.New("sevsnp: command line contains a NUL byte: QEMU would cut it there")
	}
	if in.Kernel == nil && (in.Initrd != nil || in.Cmdline != "") {
		return zero, errors.New("sevsnp: initrd or command line given without a kernel")
	}
	fw, err := ovmf.Parse(in.OVMF)
	if err != nil {
		return zero, fmt.Errorf("sevsnp: %w", err)
	}
	sections, err := fw.SEVMetadata()
	if err != nil {
		return zero, fmt.Errorf("sevsnp: %w", err)
	}
	apEIP, err := fw.SEVESResetEIP()
	if err != nil {
		return zero, fmt.Errorf("sevsnp: %w", err)
	}
	var hashesPage []byte
	if in.Kernel != nil {
		if hashesPage, err = kernelHashesPage(fw, sections, in); err != nil {
			return zero, err
		}
	}

	// Real sections span a few hundred KiB; the cap keeps a hostile image
	// from making the digest take minutes.
	var total uint64
	for i, s := range sections {
		if s.Size%ovmf.PageSize != 0 || s.GPA%ovmf.PageSize != 0 {
			return zero, fmt.Errorf("sevsnp: SEV metadata section %d (%s): address %#x or size %#x not 4 KiB aligned", i, s.Type, s.GPA, s.Size)
		}
		// QEMU launches every page of these as its special type, but
		// virtee/sev-snp-measure measures one page: where they would
		// disagree, no value is given.
		if (s.Type == ovmf.SNPSecrets || s.Type == ovmf.CPUID) && s.Size != ovmf.PageSize {
			return zero, fmt.Errorf("sevsnp: SEV metadata section %d (%s) of %#x bytes: want one page", i, s.Type, s.Size)
		}
		if total += uint64(s.Size); total > maxSections {
			return zero, fmt.Errorf("sevsnp: SEV metadata sections cover more than %d MiB", maxSections>>20)
		}
	}

	var g gctx
	g.normalPages(fw.GPA(), in.OVMF)
	for i, s := range sections {
		switch s.Type {
		case ovmf.SNPSecMem, ovmf.SVSMCAA:
			g.emptyPages(pageZero, uint64(s.GPA), s.Size)
		case ovmf.SNPSecrets:
			g.emptyPages(pageSecrets, uint64(s.GPA), ovmf.PageSize)
		case ovmf.CPUID:
			g.emptyPages(pageCPUID, uint64(s.GPA), ovmf.PageSize)
		case ovmf.SNPKernelHashes:
			if hashesPage == nil {
				g.emptyPages(pageZero, uint64(s.GPA), s.Size)
			} else {
				g.normalPages(uint64(s.GPA), hashesPage)
			}
		default:
			return zero, fmt.Errorf("sevsnp: SEV metadata section %d: unknown type %s", i, s.Type)
		}
	}
	bsp := vmsaPage(0xfffffff0, sig, in.GuestFeatures)
	ap := vmsaPage(apEIP, sig, in.GuestFeatures)
	hb, ha := sha512.Sum384(bsp[:]), sha512.Sum384(ap[:])
	g.update(pageVMSA, vmsaGPA, &hb)
	for i := 1; i < in.VCPUs; i++ {
		g.update(pageVMSA, vmsaGPA, &ha)
	}
	return g.ld, nil
}

// GUIDs of QEMU's SEV hashes table (target/i386/sev.c).
var (
	hashTableHeaderGUID = ovmf.MustGUID("9438d606-4f22-4cc9-b479-a793d411fd21")
	kernelEntryGUID     = ovmf.MustGUID("4de79437-abd2-427f-b835-d5b172d2045b")
	initrdEntryGUID     = ovmf.MustGUID("44baf731-3a2f-4bd7-9af1-41e29169781d")
	cmdlineEntryGUID    = ovmf.MustGUID("97d02dd8-bd20-4c94-aa78-e7714d36ab2a")
)

const (
	hashEntrySize  = 16 + 2 + 32
	hashTableSize  = 16 + 2 + 3*hashEntrySize // 168
	paddedHashSize = (hashTableSize + 15) &^ 15
)

// HashTable returns the SEV hashes table QEMU writes for direct boot: a
// header GUID and length, then entries for the command line (hashed with
// its trailing NUL), the initrd and the kernel, zero-padded to 16 bytes.
func HashTable(kernel, initrd []byte, cmdline string) []byte {
	t := make([]byte, paddedHashSize)
	copy(t, hashTableHeaderGUID[:])
	binary.LittleEndian.PutUint16(t[16:], hashTableSize)
	entry := func(at int, g ovmf.GUID, h [32]byte) {
		copy(t[at:], g[:])
		binary.LittleEndian.PutUint16(t[at+16:], hashEntrySize)
		copy(t[at+18:], h[:])
	}
	entry(18, cmdlineEntryGUID, sha256.Sum256(append([]byte(cmdline), 0)))
	entry(18+hashEntrySize, initrdEntryGUID, sha256.Sum256(initrd))
	entry(18+2*hashEntrySize, kernelEntryGUID, sha256.Sum256(kernel))
	return t
}

func kernelHashesPage(fw *ovmf.Firmware, sections []ovmf.SEVSection, in Input) ([]byte, error) {
	tgpa, tsize, err := fw.SEVHashTable()
	if err != nil {
		return nil, fmt.Errorf("sevsnp: firmware cannot measure a direct-boot kernel: %w", err)
	}
	if tsize < paddedHashSize {
		return nil, fmt.Errorf("sevsnp: SEV hash table area of %d bytes cannot hold the %d-byte table", tsize, paddedHashSize)
	}
	var sec *ovmf.SEVSection
	for i := range sections {
		if sections[i].Type == ovmf.SNPKernelHashes {
			sec = &sections[i]
		}
	}
	if sec == nil {
		return nil, fmt.Errorf("sevsnp: firmware has no SNP_KERNEL_HASHES metadata section for a direct-boot kernel: %w", ovmf.ErrNotFound)
	}
	if sec.Size != ovmf.PageSize {
		return nil, fmt.Errorf("sevsnp: SNP_KERNEL_HASHES section of %#x bytes, want one page", sec.Size)
	}
	off := int64(tgpa) - int64(sec.GPA)
	if off < 0 || off+paddedHashSize > ovmf.PageSize {
		return nil, fmt.Errorf("sevsnp: SEV hash table at %#x does not fit in the SNP_KERNEL_HASHES page at %#x", tgpa, sec.GPA)
	}
	page := make([]byte, ovmf.PageSize)
	copy(page[off:], HashTable(in.Kernel, in.Initrd, in.Cmdline))
	return page, nil
}

// vmsaPage is the initial VMSA (AMD APM vol. 2, table B-4, as Linux's
// struct sev_es_save_area lays it out) QEMU gives a vCPU that starts at eip:
// real mode, CS based at eip's upper half.
func vmsaPage(eip, sig uint32, features uint64) *[ovmf.PageSize]byte {
	var p [ovmf.PageSize]byte
	le16 := binary.LittleEndian.PutUint16
	le32 := binary.LittleEndian.PutUint32
	le64 := binary.LittleEndian.PutUint64
	seg := func(at int, sel, attrib uint16, limit uint32, base uint64) {
		le16(p[at:], sel)
		le16(p[at+2:], attrib)
		le32(p[at+4:], limit)
		le64(p[at+8:], base)
	}
	seg(0x00, 0, 0x93, 0xffff, 0)                           // es
	seg(0x10, 0xf000, 0x9b, 0xffff, uint64(eip&0xffff0000)) // cs
	seg(0x20, 0, 0x93, 0xffff, 0)                           // ss
	seg(0x30, 0, 0x93, 0xffff, 0)                           // ds
	seg(0x40, 0, 0x93, 0xffff, 0)                           // fs
	seg(0x50, 0, 0x93, 0xffff, 0)                           // gs
	seg(0x60, 0, 0, 0xffff, 0)                              // gdtr
	seg(0x70, 0, 0x82, 0xffff, 0)                           // ldtr
	seg(0x80, 0, 0, 0xffff, 0)                              // idtr
	seg(0x90, 0, 0x8b, 0xffff, 0)                           // tr
	le64(p[0xd0:], 0x1000)                                  // efer: KVM sets SVME
	le64(p[0x148:], 0x40)                                   // cr4: KVM sets MCE
	le64(p[0x158:], 0x10)                                   // cr0
	le64(p[0x160:], 0x400)                                  // dr7
	le64(p[0x168:], 0xffff0ff0)                             // dr6
	le64(p[0x170:], 0x2)                                    // rflags
	le64(p[0x178:], uint64(eip&0xffff))                     // rip
	le64(p[0x268:], 0x0007040600070406)                     // g_pat (APM vol. 2, A.3)
	le64(p[0x310:], uint64(sig))                            // rdx: CPUID signature
	le64(p[0x3b0:], features)                               // sev_features
	le64(p[0x3e8:], 0x1)                                    // xcr0
	le32(p[0x408:], 0x1f80)                                 // mxcsr
	le16(p[0x410:], 0x37f)                                  // x87 fcw
	return &p
}
