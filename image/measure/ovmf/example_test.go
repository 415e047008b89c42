package ovmf_test

import (
	"fmt"

	"github.com/pith-project/pith/image/measure/ovmf"
	"github.com/pith-project/pith/image/measure/ovmf/ovmftest"
)

func ExampleParse() {
	image := ovmftest.Build(ovmftest.Image{ // in real use: the bytes of OVMF.amdsev.fd
		Size: 0x4000, ResetEIP: 0x80b004,
		SEV: []ovmf.SEVSection{{GPA: 0x800000, Size: 0x9000, Type: ovmf.SNPSecMem}, {GPA: 0x80d000, Size: 0x1000, Type: ovmf.SNPSecrets}},
	})
	fw, err := ovmf.Parse(image)
	if err != nil {
		fmt.Println(err)
		return
	}
	eip, _ := fw.SEVESResetEIP()
	fmt.Printf("firmware at %#x, APs start at %#x\n", fw.GPA(), eip)
	sections, _ := fw.SEVMetadata()
	for _, s := range sections {
		fmt.Printf("%s %#x+%#x\n", s.Type, s.GPA, s.Size)
	}
	// Output:
	// firmware at 0xffffc000, APs start at 0x80b004
	// SNP_SEC_MEM 0x800000+0x9000
	// SNP_SECRETS 0x80d000+0x1000
}
