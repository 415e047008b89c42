package tdx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/pith-project/pith/image/measure/ovmf"
)

// Secure Boot facts of a TDVF image and a kernel, for telling an image
// builder that the firmware will refuse the kernel: edk2 enforces Secure
// Boot once a platform key (PK) is enrolled, and since
// edk2-stable202511 it does not fall back to the legacy Linux loader in a
// confidential VM, so an unsigned kernel does not boot at all.

// efiGlobalVariable is gEfiGlobalVariableGuid, the vendor GUID of PK.
var efiGlobalVariable = ovmf.MustGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")

// authVarStore is gEfiAuthenticatedVariableGuid, the signature of an
// authenticated variable store (the only kind that can hold PK).
var authVarStore = ovmf.MustGUID("aaf32c78-947b-439a-a180-2e144ec37792")

const (
	fvSignature   = "_FVH"
	varStartID    = 0x55aa
	varAdded      = 0x3f // VAR_ADDED: the variable's live state
	authVarHeader = 60   // AUTHENTICATED_VARIABLE_HEADER
	varStoreHdr   = 28   // VARIABLE_STORE_HEADER
)

// EnrolledPK reports whether the variable store in a TDVF image's CFV
// holds a platform key, which puts the firmware in Secure Boot user mode.
func EnrolledPK(firmware []byte) (bool, error) {
	cfv, err := cfvSection(firmware)
	if err != nil {
		return false, err
	}
	return hasPK(cfv)
}

// cfvSection returns the CFV of a TDVF image.
func cfvSection(firmware []byte) ([]byte, error) {
	fw, err := ovmf.Parse(firmware)
	if err != nil {
		return nil, fmt.Errorf("tdx: %w", err)
	}
	sections, err := fw.TDXMetadata()
	if err != nil {
		return nil, fmt.Errorf("tdx: %w", err)
	}
	for _, s := range sections {
		if s.Type != ovmf.CFV {
			continue
		}
		end := uint64(s.DataOffset) + uint64(s.RawSize)
		if end > uint64(len(firmware)) {
			return nil, fmt.Errorf("tdx: CFV %#x+%#x past the %d-byte image", s.DataOffset, s.RawSize, len(firmware))
		}
		return firmware[s.DataOffset:end], nil
	}
	return nil, errors.New("tdx: no CFV section (no variable store)")
}

// WithoutSecureBoot returns a copy of a TDVF image whose CFV variable store
// is emptied (erased to 0xff after its header, as edk2 builds it), so that
// no PK is enrolled and the firmware does not enforce Secure Boot. MRTD
// does not change: QEMU adds the CFV's pages without extending their
// contents. RTMR0 does (TDVF measures the CFV and the Secure Boot
// variables). For Debian's OVMF.inteltdx.ms.fd the emptied CFV is byte for
// byte Debian's OVMF_VARS_4M.fd of the same build.
func WithoutSecureBoot(firmware []byte) ([]byte, error) {
	out := append([]byte(nil), firmware...)
	cfv, err := cfvSection(out)
	if err != nil {
		return nil, err
	}
	vars, err := varStore(cfv)
	if err != nil {
		return nil, err
	}
	for i := varStoreHdr; i < len(vars); i++ {
		vars[i] = 0xff
	}
	return out, nil
}

// varStore returns the authenticated variable store (header included) at
// the start of the firmware volume cfv.
func varStore(cfv []byte) ([]byte, error) {
	if len(cfv) < 0x48 || string(cfv[40:44]) != fvSignature {
		return nil, errors.New("tdx: CFV: no firmware volume header")
	}
	hdrLen := int(binary.LittleEndian.Uint16(cfv[48:]))
	if hdrLen < 0x48 || hdrLen+varStoreHdr > len(cfv) {
		return nil, fmt.Errorf("tdx: CFV: firmware volume header of %d bytes", hdrLen)
	}
	store := cfv[hdrLen:]
	if ovmf.GUID(store[:16]) != authVarStore {
		return nil, errors.New("tdx: CFV: not an authenticated variable store")
	}
	size := int(binary.LittleEndian.Uint32(store[16:]))
	if size < varStoreHdr || size > len(store) {
		return nil, fmt.Errorf("tdx: CFV: variable store of %d bytes in %d", size, len(store))
	}
	return store[:size], nil
}

// hasPK walks the authenticated variable store at the start of the
// firmware volume cfv.
func hasPK(cfv []byte) (bool, error) {
	store, err := varStore(cfv)
	if err != nil {
		return false, err
	}
	name := utf16le("PK")
	for off := varStoreHdr; off+authVarHeader <= len(store); {
		v := store[off:]
		if binary.LittleEndian.Uint16(v) != varStartID {
			break // the free space after the last variable
		}
		state := v[2]
		nameSize := int(binary.LittleEndian.Uint32(v[36:]))
		dataSize := int(binary.LittleEndian.Uint32(v[40:]))
		next := authVarHeader + nameSize + dataSize
		if nameSize < 0 || dataSize < 0 || next < authVarHeader || next > len(v) {
			return false, fmt.Errorf("tdx: CFV: variable at %#x runs past the store", off)
		}
		if state == varAdded && ovmf.GUID(v[44:60]) == efiGlobalVariable &&
			bytes.Equal(v[authVarHeader:authVarHeader+nameSize], name) && dataSize > 0 {
			return true, nil
		}
		off += (next + 3) &^ 3
	}
	return false, nil
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s + "\x00")) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// Signed reports whether a PE image carries an Authenticode signature (a
// non-empty certificate table).
func Signed(image []byte) (bool, error) {
	if len(image) < 0x40 {
		return false, errors.New("tdx: image too short for a PE header")
	}
	pe := int(binary.LittleEndian.Uint32(image[0x3c:]))
	opt := pe + 4 + coffHeaderSize
	if pe < 0 || opt+2 > len(image) || string(image[pe:pe+4]) != "PE\x00\x00" {
		return false, errors.New("tdx: no PE header")
	}
	dirs := opt + 112
	if binary.LittleEndian.Uint16(image[opt:]) == pe32Magic {
		dirs = opt + 96
	}
	cert := dirs + securityDirIndex*8
	if cert+8 > len(image) {
		return false, errors.New("tdx: PE header ends before the certificate directory")
	}
	return binary.LittleEndian.Uint32(image[cert+4:]) > 0, nil
}
