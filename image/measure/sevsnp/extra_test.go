package sevsnp_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/sevsnp"
)

// crafted is the firmware testdata/extra.json's "crafted" cases were
// measured on, so those run without any download.
func crafted() []byte {
	return ovmftest.Build(ovmftest.Image{
		Size: 0x10000, ResetEIP: 0x80b004, HashTableGPA: 0x810c00, HashTableSize: 0x400, Fill: 0xa5,
		SEV: []ovmf.SEVSection{
			{GPA: 0x800000, Size: 0x3000, Type: ovmf.SNPSecMem},
			{GPA: 0x80d000, Size: 0x1000, Type: ovmf.SNPSecrets},
			{GPA: 0x80e000, Size: 0x1000, Type: ovmf.CPUID},
			{GPA: 0x80f000, Size: 0x1000, Type: ovmf.SVSMCAA},
			{GPA: 0x810000, Size: 0x1000, Type: ovmf.SNPKernelHashes},
		},
	})
}

func TestExtraVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/extra.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			ID             string
			Firmware       string
			VCPUs          int    `json:"vcpus"`
			VCPUType       string `json:"vcpu_type"`
			GuestFeatures  string `json:"guest_features"`
			Kernel, Initrd *string
			Cmdline        string
			Measurement    string `json:"measurement_sha384"`
		}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	file := func(t *testing.T, name string) []byte {
		switch {
		case strings.HasPrefix(name, "literal:"):
			return []byte(strings.TrimPrefix(name, "literal:"))
		case name == "vmlinuz":
			return inputstest.Load(t, inputs.CloudKernel)
		case name == "initrd.cpio":
			return inputstest.VectorInitrd(t)
		}
		t.Fatalf("unknown input %q", name)
		return nil
	}
	for _, c := range v.Cases {
		t.Run(c.ID, func(t *testing.T) {
			in := sevsnp.Input{VCPUs: c.VCPUs, VCPUType: c.VCPUType, GuestFeatures: num(t, c.GuestFeatures), Cmdline: c.Cmdline}
			switch c.Firmware {
			case "crafted":
				in.OVMF = crafted()
			case "ovmf-amdsev":
				if testing.Short() {
					t.Skip("-short: skips the downloaded-firmware extras")
				}
				in.OVMF = inputstest.Load(t, inputs.OVMFAmdSev)
			default:
				t.Fatalf("unknown firmware %q", c.Firmware)
			}
			if c.Kernel != nil {
				in.Kernel = file(t, *c.Kernel)
			}
			if c.Initrd != nil {
				in.Initrd = file(t, *c.Initrd)
			}
			got, err := sevsnp.LaunchDigest(in)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got[:]) != c.Measurement {
				t.Errorf("LaunchDigest = %x\n                  want %s", got, c.Measurement)
			}
		})
	}
}
