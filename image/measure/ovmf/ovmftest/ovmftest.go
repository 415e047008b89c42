// Package ovmftest crafts small firmware images with an OVMF footer table,
// SEV metadata and TDVF metadata laid out as edk2 lays them out, for the
// parser's unit tests, error tests and fuzz seeds.
package ovmftest

import (
	"encoding/binary"

	"github.com/pith-project/pith/image/measure/ovmf"
)

// Image describes a crafted firmware. Zero fields leave their entry out.
type Image struct {
	Size          int    // total bytes, a multiple of 4096 and at least 16 KiB
	ResetEIP      uint32 // SEV-ES reset block
	HashTableGPA  uint32 // SEV hash table entry: address ...
	HashTableSize uint32 // ... and area size
	SEV           []ovmf.SEVSection
	TDX           []ovmf.TDXSection
	Fill          byte // every other byte of the image
}

// Where the metadata blocks go, counted back from the end of the image.
const (
	SEVMetadataFromEnd = 0x1000
	TDXMetadataFromEnd = 0x2000 - 16 // the descriptor; its GUID sits just before
)

// Build lays the image out.
func Build(img Image) []byte {
	b := make([]byte, img.Size)
	for i := range b {
		b[i] = img.Fill
	}
	le32 := binary.LittleEndian.PutUint32
	var entries [][]byte // data of each entry, with its header appended
	entry := func(g ovmf.GUID, data []byte) {
		e := append(append([]byte(nil), data...), 0, 0)
		binary.LittleEndian.PutUint16(e[len(data):], uint16(len(data)+18))
		entries = append(entries, append(e, g[:]...))
	}
	u32 := func(vs ...uint32) []byte {
		out := make([]byte, 4*len(vs))
		for i, v := range vs {
			le32(out[4*i:], v)
		}
		return out
	}
	if img.ResetEIP != 0 {
		entry(ovmf.SEVESResetGUID, u32(img.ResetEIP))
	}
	if img.HashTableGPA != 0 {
		entry(ovmf.SEVHashTableGUID, u32(img.HashTableGPA, img.HashTableSize))
	}
	if img.SEV != nil {
		at := img.Size - SEVMetadataFromEnd
		copy(b[at:], "ASEV")
		le32(b[at+4:], uint32(16+12*len(img.SEV)))
		le32(b[at+8:], 1)
		le32(b[at+12:], uint32(len(img.SEV)))
		for i, s := range img.SEV {
			copy(b[at+16+12*i:], u32(s.GPA, s.Size, uint32(s.Type)))
		}
		entry(ovmf.SEVMetadataGUID, u32(SEVMetadataFromEnd))
	}
	if img.TDX != nil {
		at := img.Size - TDXMetadataFromEnd
		g := ovmf.TDVFDescriptorGUID
		copy(b[at-16:], g[:])
		copy(b[at:], "TDVF")
		le32(b[at+4:], uint32(16+32*len(img.TDX)))
		le32(b[at+8:], 1)
		le32(b[at+12:], uint32(len(img.TDX)))
		for i, s := range img.TDX {
			p := b[at+16+32*i:]
			le32(p, s.DataOffset)
			le32(p[4:], s.RawSize)
			binary.LittleEndian.PutUint64(p[8:], s.GPA)
			binary.LittleEndian.PutUint64(p[16:], s.MemSize)
			le32(p[24:], uint32(s.Type))
			le32(p[28:], s.Attributes)
		}
		entry(ovmf.TDXMetadataGUID, u32(TDXMetadataFromEnd))
	}
	// The footer table grows down from 32 bytes before the end; its own
	// header (total size, footer GUID) comes last.
	end := img.Size - 32 - 18
	total := 18
	for _, e := range entries {
		copy(b[end-total+18-len(e):], e)
		total += len(e)
	}
	binary.LittleEndian.PutUint16(b[end:], uint16(total))
	g := ovmf.FooterTableGUID
	copy(b[end+2:], g[:])
	return b
}
