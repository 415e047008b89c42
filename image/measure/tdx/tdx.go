// Package tdx computes, offline, the Intel TDX MRTD of a TDVF (OVMF
// IntelTdx) firmware image: the SHA-384 over the 128-byte records the TDX
// module hashes for each TDH.MEM.PAGE.ADD (the page's GPA) and each
// TDH.MR.EXTEND (the GPA of a 256-byte chunk, then the chunk), issued by the
// VMM for the image's TDVF metadata sections.
//
// MRTD depends on the order of those calls, and two are in use: upstream
// Linux KVM adds and extends page by page (SinglePass); other stacks add
// every page of a section before extending any (TwoPass; what
// scrtlabs/reproduce-mr calls TCB version 7, and quex-tech/td-report-web's
// default). Both are checked against those tools' values in the tests.
//
// RTMR1 and RTMR2 of a QEMU direct kernel boot are computed from the
// kernel, initrd and command line (DirectBoot, rtmr.go): the kernel's
// PE/COFF Authenticode SHA-384 (Authenticode), the EV_EFI_ACTION strings
// and separator TdTcg2Dxe measures, and the LoadOptions and initrd the
// Linux EFI stub measures. A test boots the pinned kernel under QEMU with a
// software TPM and the same edk2 release's TPM-enabled OVMF, and compares
// PCR 4, 5 and 9 (what TDVF maps to RTMR1 and RTMR2) with these events.
// The values hold only when the firmware's LoadImage accepts the kernel:
// Debian's OVMF.inteltdx.ms.fd enforces Secure Boot with Microsoft's keys,
// refuses an unsigned kernel, and in a TD does not fall back to the legacy
// loader, so such a kernel does not boot there at all. Nor did the signed
// route work in a manual run with the same Secure Boot OVMF: QEMU's -shim
// with Debian's shim 16.1 refused Debian's signed 6.12 cloud kernel
// ("Verification failed: Security Violation"; that kernel has no .sbat
// section, which shim requires). WithoutSecureBoot empties the TDVF's
// variable store instead (the result's CFV is Debian's own empty
// OVMF_VARS_4M.fd): MRTD stays the same, and the same edk2 release's
// Secure Boot code starts the unsigned kernel with that store.
//
// RTMR0 is not computed: it covers the TD HOB (the guest's memory layout),
// the varstore and its Secure Boot variables, the ACPI tables QEMU builds
// for the machine (CPU count, memory size, devices, QEMU version) and the
// boot variables, all set by the VMM rather than the image. A verifier
// should replay it from the TD's CCEL event log (ParseLog reads that format).
package tdx

import (
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/pith-project/pith/image/measure/ovmf"
)

// Order is the order in which the VMM issues PAGE.ADD and MR.EXTEND.
type Order int

const (
	// SinglePass: for each page, TDH.MEM.PAGE.ADD then its 16
	// TDH.MR.EXTEND (upstream KVM's tdx_gmem_post_populate).
	SinglePass Order = iota
	// TwoPass: for each section, TDH.MEM.PAGE.ADD for every page, then
	// TDH.MR.EXTEND for every page of that section.
	TwoPass
)

func (o Order) String() string {
	switch o {
	case SinglePass:
		return "single-pass"
	case TwoPass:
		return "two-pass"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

const (
	recordSize  = 128
	chunkSize   = 256
	maxFirmware = 64 << 20
	maxAdded    = 1 << 30
	maxExtended = 64 << 20
)

// MRTD returns the TD's MRTD after QEMU has loaded firmware, with the
// section rules of QEMU's hw/i386/tdvf.c and target/i386/kvm/tdx.c: only
// BFV and CFV (contents from the image at their data offset, for their
// whole memory size) and TD_HOB and TempMem (fresh memory) are accepted;
// every page of every section is added, PAGE.AUG attribute or not; pages
// of MR.EXTEND sections are then extended.
func MRTD(firmware []byte, order Order) ([48]byte, error) {
	var out [48]byte
	if order != SinglePass && order != TwoPass {
		return out, fmt.Errorf("tdx: page order %v: want SinglePass or TwoPass", order)
	}
	if len(firmware) > maxFirmware {
		return out, fmt.Errorf("tdx: firmware of %d bytes: larger than %d", len(firmware), maxFirmware)
	}
	fw, err := ovmf.Parse(firmware)
	if err != nil {
		return out, fmt.Errorf("tdx: %w", err)
	}
	sections, err := fw.TDXMetadata()
	if err != nil {
		return out, fmt.Errorf("tdx: %w", err)
	}
	if len(sections) < 2 {
		return out, fmt.Errorf("tdx: %d TDVF section(s): QEMU wants at least 2", len(sections))
	}
	// Real TDVF images add a few MiB; the caps keep a hostile image from
	// making MRTD take minutes.
	var added, extended uint64
	for i, s := range sections {
		if err := qemuAccepts(s, len(firmware)); err != nil {
			return out, fmt.Errorf("tdx: TDVF section %d (%s): %w", i, s.Type, err)
		}
		added += s.MemSize
		if s.Attributes&ovmf.AttrMRExtend != 0 {
			extended += s.MemSize
		}
		if added > maxAdded || extended > maxExtended {
			return out, fmt.Errorf("tdx: TDVF sections add more than %d MiB or extend more than %d MiB", maxAdded>>20, maxExtended>>20)
		}
	}
	h := sha512.New384()
	var rec [recordSize]byte
	pageAdd := func(gpa uint64) {
		rec = [recordSize]byte{}
		copy(rec[:], "MEM.PAGE.ADD")
		binary.LittleEndian.PutUint64(rec[16:], gpa)
		h.Write(rec[:])
	}
	for _, s := range sections {
		pages := s.MemSize / ovmf.PageSize
		extend := s.Attributes&ovmf.AttrMRExtend != 0
		for p := uint64(0); p < pages; p++ {
			gpa := s.GPA + p*ovmf.PageSize
			pageAdd(gpa)
			if extend && order == SinglePass {
				extendPage(h, &rec, gpa, pageData(firmware, s, p))
			}
		}
		if extend && order == TwoPass {
			for p := uint64(0); p < pages; p++ {
				extendPage(h, &rec, s.GPA+p*ovmf.PageSize, pageData(firmware, s, p))
			}
		}
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}

var zeroPage [ovmf.PageSize]byte

// qemuAccepts applies the checks QEMU makes before it loads a section, and
// refuses what this package cannot know the contents of.
func qemuAccepts(s ovmf.TDXSection, fwLen int) error {
	switch s.Type {
	case ovmf.BFV, ovmf.CFV:
		if s.RawSize == 0 {
			return errors.New("no raw data, which QEMU refuses")
		}
		if uint64(s.DataOffset)+s.MemSize > uint64(fwLen) {
			return fmt.Errorf("memory %#x+%#x runs past the %d-byte image QEMU copies it from", s.DataOffset, s.MemSize, fwLen)
		}
	case ovmf.TDHOB, ovmf.TempMem:
		if s.RawSize != 0 {
			return fmt.Errorf("raw data of %#x bytes, which QEMU refuses", s.RawSize)
		}
		if s.Type == ovmf.TDHOB && s.Attributes&ovmf.AttrMRExtend != 0 {
			return errors.New("MR.EXTEND of the TD HOB, whose contents QEMU builds, is not computed")
		}
	default:
		return errors.New("section type QEMU does not load")
	}
	return nil
}

// pageData is what the guest page holds when it is extended: the image's
// bytes for BFV and CFV, zeroes for fresh memory.
func pageData(fw []byte, s ovmf.TDXSection, page uint64) []byte {
	if s.Type != ovmf.BFV && s.Type != ovmf.CFV {
		return zeroPage[:]
	}
	off := uint64(s.DataOffset) + page*ovmf.PageSize
	return fw[off : off+ovmf.PageSize]
}

// extendPage hashes the 16 MR.EXTEND records of one page.
func extendPage(h hash.Hash, rec *[recordSize]byte, gpa uint64, data []byte) {
	for c := uint64(0); c < ovmf.PageSize/chunkSize; c++ {
		*rec = [recordSize]byte{}
		copy(rec[:], "MR.EXTEND")
		binary.LittleEndian.PutUint64(rec[16:], gpa+c*chunkSize)
		h.Write(rec[:])
		h.Write(data[c*chunkSize : (c+1)*chunkSize])
	}
}
