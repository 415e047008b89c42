// Package ovmf reads the parts of an OVMF/TDVF firmware image that decide a
// confidential VM's launch measurement: the GUIDed footer table that edk2's
// reset vector places just below the last 32 bytes of the image, the AMD SEV
// metadata ("ASEV") it points to, and the Intel TDX metadata ("TDVF").
//
// The firmware comes from outside (a Debian package), so every offset and
// length is bounds-checked and a malformed image gives an error, never a
// panic: FuzzParse feeds it hostile bytes.
package ovmf

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// GUID is a GUID in its on-disk (mixed-endian, EFI) byte order.
type GUID [16]byte

// MustGUID converts the usual text form ("96b582de-1fb2-...") to the byte
// order EFI stores: the first three groups little-endian, the rest as written.
func MustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// ParseGUID is MustGUID with an error.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("ovmf: guid %q: want 8-4-4-4-12 hex digits", s)
	}
	b, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("ovmf: guid %q: %w", s, err)
	}
	g[0], g[1], g[2], g[3] = b[3], b[2], b[1], b[0]
	g[4], g[5] = b[5], b[4]
	g[6], g[7] = b[7], b[6]
	copy(g[8:], b[8:])
	return g, nil
}

// String gives the usual text form.
func (g GUID) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%x-%x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:])
}

// GUIDs of the footer table and of the entries the measurement needs, from
// edk2's OvmfPkg/ResetVector and QEMU's target/i386/sev.c.
var (
	FooterTableGUID    = MustGUID("96b582de-1fb2-45f7-baea-a366c55a082d")
	SEVHashTableGUID   = MustGUID("7255371f-3a3b-4b04-927b-1da6efa8d454")
	SEVESResetGUID     = MustGUID("00f771de-1a7e-4fcb-890e-68c77e2fb44e")
	SEVMetadataGUID    = MustGUID("dc886566-984a-4798-a75e-5585a7bf67cc")
	TDXMetadataGUID    = MustGUID("e47a6535-984a-4798-865e-4685a7bf8ec2")
	TDVFDescriptorGUID = MustGUID("e9eaf9f3-168e-44d5-a8eb-7f4d8738f6ae")
)

// ErrNotFound is wrapped when the image lacks a table entry or metadata.
var ErrNotFound = errors.New("not found")

const (
	// The footer table ends this far before the end of the image (the
	// reset vector and its padding live in the last 32 bytes).
	footerGap   = 32
	entryHeader = 2 + 16 // uint16 size, then the GUID
	// PageSize is the granularity of every launch-update call.
	PageSize = 4096
	fourGiB  = 1 << 32
)

// Firmware is a parsed image. Data aliases the caller's bytes.
type Firmware struct {
	Data  []byte
	table map[GUID][]byte
	order []GUID
}

// Parse reads the footer table of an OVMF image. An image without a footer
// table parses (Entries is then empty): plain OVMF builds have none, and it
// is the caller that knows whether it needs one.
func Parse(fw []byte) (*Firmware, error) {
	f := &Firmware{Data: fw, table: map[GUID][]byte{}}
	if len(fw) < footerGap+entryHeader {
		return nil, fmt.Errorf("ovmf: image of %d bytes is too short to be firmware", len(fw))
	}
	start := len(fw) - footerGap - entryHeader
	if GUID(fw[start+2:start+entryHeader]) != FooterTableGUID {
		return f, nil
	}
	size := int(binary.LittleEndian.Uint16(fw[start:]))
	if size < entryHeader {
		return nil, fmt.Errorf("ovmf: footer table size %d is smaller than its own header", size)
	}
	tsize := size - entryHeader
	if tsize > start {
		return nil, fmt.Errorf("ovmf: footer table size %d runs off the start of the image", size)
	}
	table := fw[start-tsize : start]
	for len(table) >= entryHeader {
		h := table[len(table)-entryHeader:]
		esize := int(binary.LittleEndian.Uint16(h))
		var g GUID
		copy(g[:], h[2:])
		if esize < entryHeader || esize > len(table) {
			return nil, fmt.Errorf("ovmf: footer entry %s: size %d outside %d..%d", g, esize, entryHeader, len(table))
		}
		// QEMU's lookup walks down from the footer and takes the first
		// match, so of a repeated GUID the entry nearest the footer is
		// the one that shapes the launch.
		if _, dup := f.table[g]; !dup {
			f.order = append(f.order, g)
			f.table[g] = table[len(table)-esize : len(table)-entryHeader]
		}
		table = table[:len(table)-esize]
	}
	return f, nil
}

// Entries lists the footer table's GUIDs, from the end of the image down.
func (f *Firmware) Entries() []GUID { return append([]GUID(nil), f.order...) }

// Entry returns the data of a footer table entry (without its header).
func (f *Firmware) Entry(g GUID) ([]byte, bool) {
	b, ok := f.table[g]
	return b, ok
}

func (f *Firmware) u32Entry(g GUID, what string) (uint32, error) {
	b, ok := f.table[g]
	if !ok {
		return 0, fmt.Errorf("ovmf: %s (footer entry %s): %w", what, g, ErrNotFound)
	}
	if len(b) < 4 {
		return 0, fmt.Errorf("ovmf: %s (footer entry %s): %d bytes, want at least 4", what, g, len(b))
	}
	return binary.LittleEndian.Uint32(b), nil
}

// GPA is where QEMU maps the image: its last byte sits just below 4 GiB.
func (f *Firmware) GPA() uint64 { return FirmwareGPA(len(f.Data)) }

// FirmwareGPA is GPA for an image of n bytes.
func FirmwareGPA(n int) uint64 { return fourGiB - uint64(n) }

// SEVESResetEIP is the address the application processors of an SEV-ES or
// SEV-SNP guest start at (the footer's SEV-ES reset block).
func (f *Firmware) SEVESResetEIP() (uint32, error) {
	return f.u32Entry(SEVESResetGUID, "SEV-ES reset block")
}

// SEVHashTable gives the guest-physical address and size of the area where
// QEMU writes the hashes of the kernel, initrd and command line.
func (f *Firmware) SEVHashTable() (gpa, size uint32, err error) {
	b, ok := f.table[SEVHashTableGUID]
	if !ok {
		return 0, 0, fmt.Errorf("ovmf: SEV hash table (footer entry %s): %w", SEVHashTableGUID, ErrNotFound)
	}
	if len(b) < 8 {
		return 0, 0, fmt.Errorf("ovmf: SEV hash table entry: %d bytes, want 8", len(b))
	}
	gpa, size = binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if gpa == 0 {
		return 0, 0, fmt.Errorf("ovmf: SEV hash table at address 0: %w", ErrNotFound)
	}
	return gpa, size, nil
}

// SEVSectionType is the kind of an SEV metadata section, as in edk2's
// OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm.
type SEVSectionType uint32

const (
	SNPSecMem       SEVSectionType = 1
	SNPSecrets      SEVSectionType = 2
	CPUID           SEVSectionType = 3
	SVSMCAA         SEVSectionType = 4
	SNPKernelHashes SEVSectionType = 0x10
)

func (t SEVSectionType) String() string {
	switch t {
	case SNPSecMem:
		return "SNP_SEC_MEM"
	case SNPSecrets:
		return "SNP_SECRETS"
	case CPUID:
		return "CPUID"
	case SVSMCAA:
		return "SVSM_CAA"
	case SNPKernelHashes:
		return "SNP_KERNEL_HASHES"
	}
	return fmt.Sprintf("SEVSectionType(%#x)", uint32(t))
}

// SEVSection is one range the firmware asks the VMM to pre-validate.
type SEVSection struct {
	GPA, Size uint32
	Type      SEVSectionType
}

// SEVMetadata returns the SEV metadata sections in the order the image
// lists them, which is the order QEMU measures them in.
func (f *Firmware) SEVMetadata() ([]SEVSection, error) {
	off, err := f.u32Entry(SEVMetadataGUID, "SEV metadata")
	if err != nil {
		return nil, err
	}
	if off < 16 || uint64(off) > uint64(len(f.Data)) {
		return nil, fmt.Errorf("ovmf: SEV metadata offset %#x outside the %d-byte image", off, len(f.Data))
	}
	h := f.Data[len(f.Data)-int(off):]
	if string(h[:4]) != "ASEV" {
		return nil, fmt.Errorf("ovmf: SEV metadata signature %q, want \"ASEV\"", h[:4])
	}
	size := binary.LittleEndian.Uint32(h[4:])
	version := binary.LittleEndian.Uint32(h[8:])
	n := binary.LittleEndian.Uint32(h[12:])
	if version != 1 {
		return nil, fmt.Errorf("ovmf: SEV metadata version %d, want 1", version)
	}
	if uint64(size) > uint64(len(h)) || uint64(size) < 16+12*uint64(n) {
		return nil, fmt.Errorf("ovmf: SEV metadata of %d bytes cannot hold %d sections within %d bytes", size, n, len(h))
	}
	out := make([]SEVSection, n)
	for i := range out {
		b := h[16+12*i:]
		out[i] = SEVSection{
			GPA:  binary.LittleEndian.Uint32(b),
			Size: binary.LittleEndian.Uint32(b[4:]),
			Type: SEVSectionType(binary.LittleEndian.Uint32(b[8:])),
		}
	}
	return out, nil
}

// TDX metadata section types (TDVF design guide, table "TDVF_SECTION").
type TDXSectionType uint32

const (
	BFV          TDXSectionType = 0
	CFV          TDXSectionType = 1
	TDHOB        TDXSectionType = 2
	TempMem      TDXSectionType = 3
	PermMem      TDXSectionType = 4
	Payload      TDXSectionType = 5
	PayloadParam TDXSectionType = 6
	TDInfo       TDXSectionType = 7
	TDParams     TDXSectionType = 8
)

func (t TDXSectionType) String() string {
	names := [...]string{"BFV", "CFV", "TD_HOB", "TempMem", "PermMem", "Payload", "PayloadParam", "TD_INFO", "TD_PARAMS"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("TDXSectionType(%d)", uint32(t))
}

// Attributes of a TDX metadata section.
const (
	AttrMRExtend = 1 << 0 // TDH.MR.EXTEND every 256 bytes of the page
	AttrPageAug  = 1 << 1 // accepted later by the guest: no TDH.MEM.PAGE.ADD
)

// TDXSection is one TDVF metadata section.
type TDXSection struct {
	DataOffset, RawSize uint32 // where its initial contents are in the image
	GPA, MemSize        uint64
	Type                TDXSectionType
	Attributes          uint32
}

// TDXMetadata returns the TDVF metadata sections in image order, checked
// the way the TDX module and QEMU check them (page alignment, raw data
// inside the image and no larger than the memory it fills).
func (f *Firmware) TDXMetadata() ([]TDXSection, error) {
	off, err := f.u32Entry(TDXMetadataGUID, "TDX metadata")
	if err != nil {
		return nil, err
	}
	if off < 16 || uint64(off)+16 > uint64(len(f.Data)) {
		return nil, fmt.Errorf("ovmf: TDX metadata offset %#x outside the %d-byte image", off, len(f.Data))
	}
	at := len(f.Data) - int(off)
	if GUID(f.Data[at-16:at]) != TDVFDescriptorGUID {
		return nil, fmt.Errorf("ovmf: TDX metadata at %#x: GUID %s, want %s", at, GUID(f.Data[at-16:at]), TDVFDescriptorGUID)
	}
	h := f.Data[at:]
	if len(h) < 16 || string(h[:4]) != "TDVF" {
		return nil, fmt.Errorf("ovmf: TDX metadata signature %q, want \"TDVF\"", h[:min(4, len(h))])
	}
	length := binary.LittleEndian.Uint32(h[4:])
	version := binary.LittleEndian.Uint32(h[8:])
	n := binary.LittleEndian.Uint32(h[12:])
	if version != 1 {
		return nil, fmt.Errorf("ovmf: TDX metadata version %d, want 1", version)
	}
	if n == 0 || uint64(length) != 16+32*uint64(n) || uint64(length) > uint64(len(h)) {
		return nil, fmt.Errorf("ovmf: TDX metadata length %d does not hold exactly %d sections within %d bytes", length, n, len(h))
	}
	out := make([]TDXSection, n)
	for i := range out {
		b := h[16+32*i:]
		s := TDXSection{
			DataOffset: binary.LittleEndian.Uint32(b),
			RawSize:    binary.LittleEndian.Uint32(b[4:]),
			GPA:        binary.LittleEndian.Uint64(b[8:]),
			MemSize:    binary.LittleEndian.Uint64(b[16:]),
			Type:       TDXSectionType(binary.LittleEndian.Uint32(b[24:])),
			Attributes: binary.LittleEndian.Uint32(b[28:]),
		}
		switch {
		case s.Type > TDParams:
			return nil, fmt.Errorf("ovmf: TDX section %d: unknown type %d", i, s.Type)
		case s.GPA%PageSize != 0 || s.MemSize%PageSize != 0:
			return nil, fmt.Errorf("ovmf: TDX section %d (%s): address %#x or size %#x not 4 KiB aligned", i, s.Type, s.GPA, s.MemSize)
		case s.GPA+s.MemSize < s.GPA:
			return nil, fmt.Errorf("ovmf: TDX section %d (%s): address %#x + size %#x overflows", i, s.Type, s.GPA, s.MemSize)
		case uint64(s.DataOffset)+uint64(s.RawSize) > uint64(len(f.Data)):
			return nil, fmt.Errorf("ovmf: TDX section %d (%s): data %#x+%#x outside the %d-byte image", i, s.Type, s.DataOffset, s.RawSize, len(f.Data))
		case s.Type != TDInfo && s.MemSize != 0 && uint64(s.RawSize) > s.MemSize:
			return nil, fmt.Errorf("ovmf: TDX section %d (%s): raw size %#x exceeds memory size %#x", i, s.Type, s.RawSize, s.MemSize)
		}
		out[i] = s
	}
	return out, nil
}
