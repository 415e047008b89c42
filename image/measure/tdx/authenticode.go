package tdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sort"
)

// PE/COFF offsets (PE/COFF specification, "Optional Header Data
// Directories" and Appendix A, "Calculating the PE Image Hash").
const (
	dosLfanew        = 0x3c
	peSignature      = 0x00004550 // "PE\0\0"
	coffHeaderSize   = 20
	sectionHdrSize   = 40
	pe32Magic        = 0x10b
	pe32PlusMagic    = 0x20b
	securityDirIndex = 4
	maxSections      = 96 // what the PE/COFF loader accepts
)

// Authenticode returns the PE/COFF Authenticode digest of image with the hash
// newHash makes, as edk2 computes it when it measures an image it loads
// (OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c for TDX, the same steps as
// SecurityPkg's Tcg2Dxe for a TPM): the headers up to SizeOfHeaders without
// the CheckSum field and the certificate-table directory entry, then every
// section with raw data in file-offset order, then whatever follows the
// last section except the certificate table's size. Unlike some signing
// tools, edk2 pads nothing to a multiple of 8 bytes.
func Authenticode(image []byte, newHash func() hash.Hash) ([]byte, error) {
	u16 := func(off int) (uint16, error) {
		if off < 0 || off+2 > len(image) {
			return 0, fmt.Errorf("authenticode: offset %#x past the %d-byte image", off, len(image))
		}
		return binary.LittleEndian.Uint16(image[off:]), nil
	}
	u32 := func(off int) (uint32, error) {
		if off < 0 || off+4 > len(image) {
			return 0, fmt.Errorf("authenticode: offset %#x past the %d-byte image", off, len(image))
		}
		return binary.LittleEndian.Uint32(image[off:]), nil
	}
	peOff := 0
	if len(image) >= 2 && image[0] == 'M' && image[1] == 'Z' {
		lf, err := u32(dosLfanew)
		if err != nil {
			return nil, err
		}
		if lf > uint32(len(image)) {
			return nil, fmt.Errorf("authenticode: e_lfanew %#x past the %d-byte image", lf, len(image))
		}
		peOff = int(lf)
	}
	sig, err := u32(peOff)
	if err != nil {
		return nil, err
	}
	if sig != peSignature {
		return nil, errors.New("authenticode: no PE signature")
	}
	coff := peOff + 4
	nSections, err := u16(coff + 2)
	if err != nil {
		return nil, err
	}
	optSize, err := u16(coff + 16)
	if err != nil {
		return nil, err
	}
	opt := coff + coffHeaderSize
	magic, err := u16(opt)
	if err != nil {
		return nil, err
	}
	var nDirsOff, dirsOff int
	switch magic {
	case pe32Magic:
		nDirsOff, dirsOff = opt+92, opt+96
	case pe32PlusMagic:
		nDirsOff, dirsOff = opt+108, opt+112
	default:
		return nil, fmt.Errorf("authenticode: optional header magic %#x, want PE32 or PE32+", magic)
	}
	checksum := opt + 64
	sizeOfHeaders, err := u32(opt + 60)
	if err != nil {
		return nil, err
	}
	nDirs, err := u32(nDirsOff)
	if err != nil {
		return nil, err
	}
	if nSections > maxSections {
		return nil, fmt.Errorf("authenticode: %d sections: more than %d", nSections, maxSections)
	}
	sectionTable := opt + int(optSize)
	if end := sectionTable + int(nSections)*sectionHdrSize; end > len(image) {
		return nil, fmt.Errorf("authenticode: section table ends at %#x, past the %d-byte image", end, len(image))
	}
	hdrEnd := int(sizeOfHeaders)
	if uint64(sizeOfHeaders) > uint64(len(image)) || hdrEnd < checksum+4 {
		return nil, fmt.Errorf("authenticode: SizeOfHeaders %#x outside the %d-byte image", sizeOfHeaders, len(image))
	}

	h := newHash()
	h.Write(image[:checksum])
	var certSize uint32
	if nDirs <= securityDirIndex {
		h.Write(image[checksum+4 : hdrEnd])
	} else {
		certDir := dirsOff + securityDirIndex*8
		if certDir+8 > hdrEnd {
			return nil, fmt.Errorf("authenticode: certificate directory at %#x past SizeOfHeaders %#x", certDir, hdrEnd)
		}
		h.Write(image[checksum+4 : certDir])
		h.Write(image[certDir+8 : hdrEnd])
		certSize = binary.LittleEndian.Uint32(image[certDir+4:])
	}

	type section struct{ off, size uint32 }
	secs := make([]section, 0, nSections)
	for i := 0; i < int(nSections); i++ {
		s := sectionTable + i*sectionHdrSize
		secs = append(secs, section{off: binary.LittleEndian.Uint32(image[s+20:]), size: binary.LittleEndian.Uint32(image[s+16:])})
	}
	// edk2 sorts by an insertion sort that keeps equal offsets in table
	// order: a stable sort.
	sort.SliceStable(secs, func(i, j int) bool { return secs[i].off < secs[j].off })
	sum := uint64(sizeOfHeaders)
	for _, s := range secs {
		if s.size == 0 {
			continue
		}
		end := uint64(s.off) + uint64(s.size)
		if end > uint64(len(image)) {
			return nil, fmt.Errorf("authenticode: section data %#x+%#x past the %d-byte image", s.off, s.size, len(image))
		}
		h.Write(image[s.off:end])
		sum += uint64(s.size)
	}
	if size := uint64(len(image)); size > sum {
		switch rest := uint64(certSize) + sum; {
		case size > rest:
			h.Write(image[sum : size-uint64(certSize)])
		case size < rest:
			return nil, fmt.Errorf("authenticode: certificate table of %d bytes does not fit after the sections", certSize)
		}
	}
	return h.Sum(nil), nil
}
