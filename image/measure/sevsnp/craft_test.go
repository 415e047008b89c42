package sevsnp_test

import (
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/sevsnp"
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

// TestRefusesMultiPageSpecialSections: QEMU (snp_populate_metadata_pages)
// launches a whole SNP_SECRETS or CPUID section, page by page, while
// virtee/sev-snp-measure measures one page of each; for a section larger
// than a page no value can be trusted, so there is none, only an error.
func TestRefusesMultiPageSpecialSections(t *testing.T) {
	for _, typ := range []ovmf.SEVSectionType{ovmf.SNPSecrets, ovmf.CPUID} {
		t.Run(typ.String(), func(t *testing.T) {
			fw := ovmftest.Build(ovmftest.Image{
				Size: 0x4000, ResetEIP: 0x80b004,
				SEV: []ovmf.SEVSection{{GPA: 0x800000, Size: 0x1000, Type: ovmf.SNPSecMem}, {GPA: 0x80d000, Size: 0x2000, Type: typ}},
			})
			d, err := sevsnp.LaunchDigest(sevsnp.Input{OVMF: fw, VCPUs: 1, VCPUType: "EPYC-v4", GuestFeatures: 1})
			if err == nil || !strings.Contains(err.Error(), typ.String()+") of 0x2000 bytes") {
				t.Fatalf("LaunchDigest = %x, %v; want an error naming the %s section's size", d, err, typ)
			}
		})
	}
}
