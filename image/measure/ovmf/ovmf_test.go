package ovmf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/sevsnp"
	"github.com/pith-project/pith/image/measure/tdx"
)

var (
	sevSections = []ovmf.SEVSection{
		{GPA: 0x800000, Size: 0x9000, Type: ovmf.SNPSecMem},
		{GPA: 0x80d000, Size: 0x1000, Type: ovmf.SNPSecrets},
		{GPA: 0x80e000, Size: 0x1000, Type: ovmf.CPUID},
		{GPA: 0x810000, Size: 0x1000, Type: ovmf.SNPKernelHashes},
	}
	tdxSections = []ovmf.TDXSection{
		{DataOffset: 0x4000, RawSize: 0x4000, GPA: 0xffffc000, MemSize: 0x4000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend},
		{DataOffset: 0, RawSize: 0x4000, GPA: 0xffff8000, MemSize: 0x4000, Type: ovmf.CFV},
		{GPA: 0x809000, MemSize: 0x2000, Type: ovmf.TDHOB},
	}
)

func full() ovmftest.Image {
	return ovmftest.Image{Size: 0x8000, ResetEIP: 0x80b004, HashTableGPA: 0x810c00, HashTableSize: 0x400, SEV: sevSections, TDX: tdxSections, Fill: 0xff}
}

func TestGUID(t *testing.T) {
	// The footer GUID as edk2's ResetVector spells it in bytes.
	want := "\xde\x82\xb5\x96\xb2\x1f\xf7\x45\xba\xea\xa3\x66\xc5\x5a\x08\x2d"
	if g := ovmf.FooterTableGUID; string(g[:]) != want {
		t.Errorf("footer GUID bytes %x", g[:])
	}
	if s := ovmf.FooterTableGUID.String(); s != "96b582de-1fb2-45f7-baea-a366c55a082d" {
		t.Errorf("String() = %s", s)
	}
	for _, bad := range []string{"", "96b582de1fb245f7baeaa366c55a082d", "96b582de-1fb2-45f7-baea-a366c55a082z"} {
		if _, err := ovmf.ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) accepted", bad)
		}
	}
}

func TestParseCrafted(t *testing.T) {
	fw, err := ovmf.Parse(ovmftest.Build(full()))
	if err != nil {
		t.Fatal(err)
	}
	if eip, err := fw.SEVESResetEIP(); err != nil || eip != 0x80b004 {
		t.Errorf("reset EIP %#x, %v", eip, err)
	}
	if gpa, size, err := fw.SEVHashTable(); err != nil || gpa != 0x810c00 || size != 0x400 {
		t.Errorf("hash table %#x %#x %v", gpa, size, err)
	}
	if s, err := fw.SEVMetadata(); err != nil || !reflect.DeepEqual(s, sevSections) {
		t.Errorf("SEV metadata %+v, %v", s, err)
	}
	if s, err := fw.TDXMetadata(); err != nil || !reflect.DeepEqual(s, tdxSections) {
		t.Errorf("TDX metadata %+v, %v", s, err)
	}
	if fw.GPA() != 0x100000000-0x8000 {
		t.Errorf("GPA %#x", fw.GPA())
	}
	want := []ovmf.GUID{ovmf.SEVESResetGUID, ovmf.SEVHashTableGUID, ovmf.SEVMetadataGUID, ovmf.TDXMetadataGUID}
	if got := fw.Entries(); !reflect.DeepEqual(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
}

func TestNoFooterTable(t *testing.T) {
	fw, err := ovmf.Parse(make([]byte, 0x4000))
	if err != nil {
		t.Fatal(err)
	}
	if len(fw.Entries()) != 0 {
		t.Fatal("entries in an image without a footer")
	}
	if _, err := fw.SEVMetadata(); !errors.Is(err, ovmf.ErrNotFound) {
		t.Errorf("SEVMetadata: %v", err)
	}
	if _, err := fw.TDXMetadata(); !errors.Is(err, ovmf.ErrNotFound) {
		t.Errorf("TDXMetadata: %v", err)
	}
	if _, err := fw.SEVESResetEIP(); !errors.Is(err, ovmf.ErrNotFound) {
		t.Errorf("SEVESResetEIP: %v", err)
	}
}

// Each case breaks one field of a good image and names the error it wants.
func TestParseRefusesHostileImages(t *testing.T) {
	le16 := binary.LittleEndian.PutUint16
	le32 := binary.LittleEndian.PutUint32
	footer := 0x8000 - 32 - 18
	sev := 0x8000 - ovmftest.SEVMetadataFromEnd
	tdx := 0x8000 - ovmftest.TDXMetadataFromEnd
	tdxSec := func(i int) int { return tdx + 16 + 32*i }
	sevErr := func(f *ovmf.Firmware) error { _, err := f.SEVMetadata(); return err }
	tdxErr := func(f *ovmf.Firmware) error { _, err := f.TDXMetadata(); return err }
	cases := []struct {
		name   string
		image  func() []byte
		break_ func(b []byte)
		check  func(*ovmf.Firmware) error
		want   string
	}{
		{"too short", func() []byte { return make([]byte, 40) }, nil, nil, "too short"},
		{"footer size below header", nil, func(b []byte) { le16(b[footer:], 4) }, nil, "smaller than its own header"},
		{"footer runs off start", nil, func(b []byte) { le16(b[footer:], 0xffff) }, nil, "runs off"},
		{"entry size zero", nil, func(b []byte) { le16(b[footer-18:], 0) }, nil, "footer entry"},
		{"entry size too big", nil, func(b []byte) { le16(b[footer-18:], 0x7000) }, nil, "footer entry"},
		{"SEV signature", nil, func(b []byte) { copy(b[sev:], "XSEV") }, sevErr, "signature"},
		{"SEV version", nil, func(b []byte) { le32(b[sev+8:], 2) }, sevErr, "version"},
		{"SEV too many items", nil, func(b []byte) { le32(b[sev+12:], 1<<30) }, sevErr, "cannot hold"},
		{"SEV size past end", nil, func(b []byte) { le32(b[sev+4:], 0x2000) }, sevErr, "cannot hold"},
		{"TDX GUID", nil, func(b []byte) { b[tdx-16] ^= 1 }, tdxErr, "GUID"},
		{"TDX signature", nil, func(b []byte) { copy(b[tdx:], "TDVX") }, tdxErr, "signature"},
		{"TDX length", nil, func(b []byte) { le32(b[tdx+4:], 17) }, tdxErr, "length"},
		{"TDX no sections", nil, func(b []byte) { le32(b[tdx+4:], 16); le32(b[tdx+12:], 0) }, tdxErr, "length"},
		{"TDX type", nil, func(b []byte) { le32(b[tdxSec(0)+24:], 9) }, tdxErr, "unknown type"},
		{"TDX unaligned GPA", nil, func(b []byte) { le32(b[tdxSec(0)+8:], 0xffffc001) }, tdxErr, "aligned"},
		{"TDX data past end", nil, func(b []byte) { le32(b[tdxSec(0)+4:], 0x8000) }, tdxErr, "outside"},
		{"TDX raw larger than memory", nil, func(b []byte) { le32(b[tdxSec(1)+4:], 0x5000) }, tdxErr, "exceeds"},
		{"TDX GPA overflow", nil, func(b []byte) { binary.LittleEndian.PutUint64(b[tdxSec(2)+8:], 1<<64-0x1000) }, tdxErr, "overflows"},
		{"TDX offset past end", nil, func(b []byte) {
			g := ovmf.TDXMetadataGUID
			le32(b[bytes.LastIndex(b, g[:])-2-4:], 0x9000)
		}, tdxErr, "outside"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.image != nil {
				b = c.image()
			} else {
				b = ovmftest.Build(full())
			}
			if c.break_ != nil {
				c.break_(b)
			}
			fw, err := ovmf.Parse(b)
			if err == nil && c.check != nil {
				err = c.check(fw)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// FuzzParseOVMF feeds hostile images to every accessor and to both
// measurement calculators: errors are fine, panics and hangs are not.
func FuzzParseOVMF(f *testing.F) {
	f.Add(ovmftest.Build(full()))
	small := full()
	small.Size = 0x4000
	small.TDX = nil
	f.Add(ovmftest.Build(small))
	f.Add(make([]byte, 64))
	// A 4 KiB image whose footer points the SEV and TDX metadata at itself.
	tight := full()
	tight.Size = 0x3000
	tight.SEV = sevSections[:1]
	tight.TDX = []ovmf.TDXSection{{DataOffset: 0, RawSize: 0x1000, GPA: 0xfffff000, MemSize: 0x1000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend}}
	f.Add(ovmftest.Build(tight))
	f.Fuzz(func(t *testing.T, b []byte) {
		sevsnp.LaunchDigest(sevsnp.Input{OVMF: b, Kernel: []byte{}, VCPUs: 2, VCPUType: "EPYC-v4", GuestFeatures: 0x21})
		tdx.MRTD(b, tdx.TwoPass)
		fw, err := ovmf.Parse(b)
		if err != nil {
			return
		}
		fw.SEVESResetEIP()
		fw.SEVHashTable()
		if s, err := fw.SEVMetadata(); err == nil && len(s) > len(b) {
			t.Fatalf("%d SEV sections from %d bytes", len(s), len(b))
		}
		if s, err := fw.TDXMetadata(); err == nil {
			for _, sec := range s {
				if uint64(sec.DataOffset)+uint64(sec.RawSize) > uint64(len(b)) {
					t.Fatalf("section %+v outside the %d-byte image", sec, len(b))
				}
			}
		}
	})
}

// TestDuplicateEntryNearestFooter: with a GUID twice in the footer table,
// QEMU (pc_system_ovmf_table_find, walking down from the footer) uses the
// entry nearest the footer, so the measurement must be computed from that
// one, not from the later one a parse-everything walk would keep.
func TestDuplicateEntryNearestFooter(t *testing.T) {
	b := make([]byte, 0x4000)
	end := len(b) - 32 - 18
	entry := func(at int, eip uint32) {
		binary.LittleEndian.PutUint32(b[at:], eip)
		binary.LittleEndian.PutUint16(b[at+4:], 4+18)
		copy(b[at+6:], ovmf.SEVESResetGUID[:])
	}
	entry(end-22, 0x1111)   // nearest the footer: QEMU's
	entry(end-2*22, 0x2222) // below it
	binary.LittleEndian.PutUint16(b[end:], 18+2*22)
	copy(b[end+2:], ovmf.FooterTableGUID[:])
	fw, err := ovmf.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if eip, err := fw.SEVESResetEIP(); err != nil || eip != 0x1111 {
		t.Errorf("SEVESResetEIP = %#x, %v; want 0x1111, the entry QEMU finds first", eip, err)
	}
	if got := fw.Entries(); len(got) != 1 || got[0] != ovmf.SEVESResetGUID {
		t.Errorf("Entries = %v, want the reset block once", got)
	}
}
