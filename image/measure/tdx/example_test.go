package tdx_test

import (
	"fmt"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
	"github.com/pith-project/pith/image/measure/tdx"
)

// Upstream KVM loads TDVF page by page, so manifests record SinglePass.
func ExampleMRTD() {
	fw := ovmftest.Build(ovmftest.Image{ // in real use: OVMF.inteltdx.ms.fd from inputs.OVMFIntelTDX
		Size: 0x4000,
		TDX: []ovmf.TDXSection{
			{DataOffset: 0, RawSize: 0x4000, GPA: 0xffffc000, MemSize: 0x4000, Type: ovmf.BFV, Attributes: ovmf.AttrMRExtend},
			{GPA: 0x800000, MemSize: 0x2000, Type: ovmf.TempMem},
		},
	})
	single, err := tdx.MRTD(fw, tdx.SinglePass)
	if err != nil {
		fmt.Println(err)
		return
	}
	two, _ := tdx.MRTD(fw, tdx.TwoPass)
	fmt.Println(single != two)
	// Output: true
}
