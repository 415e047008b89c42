package sevsnp_test

import (
	"testing"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
)

// craftOVMF is a small firmware with the SEV entries but no kernel-hashes
// section.
func craftOVMF(t *testing.T) []byte {
	t.Helper()
	return craftFirmware()
}

func craftFirmware() []byte {
	return ovmftest.Build(ovmftest.Image{
		Size: 0x4000, ResetEIP: 0x80b004, HashTableGPA: 0x810c00, HashTableSize: 0x400,
		SEV: []ovmf.SEVSection{{GPA: 0x800000, Size: 0x1000, Type: ovmf.SNPSecMem}},
	})
}
