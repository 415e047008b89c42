package sevsnp_test

import (
	"fmt"

	"github.com/pith-project/pith/image/measure/sevsnp"
)

func ExampleVCPUSignature() {
	sig, err := sevsnp.VCPUSignature("EPYC-Milan")
	fmt.Printf("%#x %v\n", sig, err)
	// Output: 0xa00f11 <nil>
}

// The image builder's use: firmware, kernel, initrd and command line from
// the image, vCPU count and type from the deployment.
func ExampleLaunchDigest() {
	fw := craftFirmware() // in real use: OVMF.amdsev.fd from inputs.OVMFAmdSev
	d, err := sevsnp.LaunchDigest(sevsnp.Input{
		OVMF: fw, VCPUs: 2, VCPUType: "EPYC-Genoa", GuestFeatures: 0x1, VMMType: "QEMU",
	})
	fmt.Println(len(d), err)
	// Output: 48 <nil>
}
