package build_test

import (
	"fmt"
	"strings"

	"github.com/pith-project/pith/image/build"
)

// The measured command line carries the model's digest and size, so a
// different model is a different launch measurement.
func ExampleCmdline() {
	lock, err := build.ReadLock("../lock.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := strings.Repeat("0", 64)
	cmdline := build.Cmdline(sum, 24221024, lock, build.Options{Net: "10.0.2.15/24,10.0.2.2", Listen: "0.0.0.0:8080"})
	for _, p := range strings.Fields(cmdline) {
		fmt.Println(p)
	}
	// Output:
	// console=ttyS0
	// panic=-1
	// init_on_free=1
	// init_on_alloc=1
	// pith.model=/dev/vda
	// pith.model.sha256=0000000000000000000000000000000000000000000000000000000000000000
	// pith.model.size=24221024
	// pith.modules=virtio_net,virtio_blk,button,tsm
	// pith.net=10.0.2.15/24,10.0.2.2
	// pith.listen=0.0.0.0:8080
}
