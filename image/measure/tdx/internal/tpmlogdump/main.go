// Command tpmlogdump is the /init of the test initrd that
// image/measure/tdx's QEMU test boots with a software TPM: it prints the
// firmware's TCG event log (as the kernel exposes it, base64 between
// markers) and the SHA-384 PCRs that the RTMRs mirror to the serial
// console, then powers off. It is a test tool, never part of an image.
package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pith-project/pith/runtime/pid1"
	"golang.org/x/sys/unix"
)

func main() {
	// pith-init's own mounts, and securityfs, where the kernel shows the
	// TPM's event log.
	if err := pid1.MountAll("/"); err != nil {
		say("tpmlogdump: %v", err)
	}
	const security = "/sys/kernel/security"
	if err := unix.Mount("securityfs", security, "securityfs", 0, ""); err != nil {
		say("tpmlogdump: mount %s: %v", security, err)
	}
	dump()
	// pid1.PowerOff drains stdout and stderr before the power goes: the
	// console, which the initrd (having no /dev/console node) did not
	// give the kernel's /init.
	os.Stdout, os.Stderr = console(), console()
	if err := pid1.PowerOff(); err != nil {
		say("tpmlogdump: %v", err)
	}
	select {}
}

var cons *os.File

// console is /dev/console once devtmpfs is mounted, else stdout.
func console() *os.File {
	if cons == nil {
		f, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
		if err != nil {
			f = os.Stdout
		}
		cons = f
	}
	return cons
}

func say(format string, a ...any) {
	fmt.Fprintf(console(), format+"\n", a...)
}

func dump() {
	// The TPM driver may probe after init starts.
	var log []byte
	var err error
	for i := 0; i < 50; i++ {
		if log, err = os.ReadFile("/sys/kernel/security/tpm0/binary_bios_measurements"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		say("tpmlogdump: event log: %v", err)
		return
	}
	if cmd, err := os.ReadFile("/proc/cmdline"); err == nil {
		say("TPMLOG-CMDLINE %q", strings.TrimSpace(string(cmd)))
	}
	say("TPMLOG-BEGIN")
	enc := base64.StdEncoding.EncodeToString(log)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		say("%s", enc[:n])
		enc = enc[n:]
	}
	say("TPMLOG-END")
	for pcr := 0; pcr < 16; pcr++ {
		b, err := os.ReadFile(fmt.Sprintf("/sys/class/tpm/tpm0/pcr-sha384/%d", pcr))
		if err != nil {
			say("tpmlogdump: PCR %d: %v", pcr, err)
			continue
		}
		say("TPMLOG-PCR-SHA384 %d %s", pcr, strings.ToLower(strings.TrimSpace(string(b))))
	}
}
