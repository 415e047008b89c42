package tdx

import (
	"crypto/sha512"
	"fmt"
)

// TCG PC Client event types of the events computed here.
const (
	EvSeparator                  = 0x00000004
	EvEventTag                   = 0x00000006
	EvEFIBootServicesApplication = 0x80000003
	EvEFIAction                  = 0x80000007
)

// The EV_EFI_ACTION strings edk2 measures (MdePkg's UefiTcgPlatform.h),
// hashed without a terminating NUL.
const (
	ActionCallingEFIApplication = "Calling EFI Application from Boot Option"
	ActionExitBootServices      = "Exit Boot Services Invocation"
	ActionExitBootServicesOK    = "Exit Boot Services Returned with Success"
)

// Event is one measurement extended into an RTMR.
type Event struct {
	RTMR int // 0..3 (CC measurement register index minus 1)
	// PCR is the TCG PCR this event belongs to on a TPM machine: TDVF maps
	// PCR 1 and 7 to RTMR0, 2-6 to RTMR1 and 8-15 to RTMR2.
	PCR    int
	Type   uint32
	Digest [48]byte
	What   string
}

// RTMRForPCR is TDVF's PCR to RTMR mapping (TdxMeasurementMapPcrToMrIndex,
// minus one because MR index 0 is MRTD); PCR 0 has no RTMR (it is MRTD).
func RTMRForPCR(pcr int) (int, error) {
	switch {
	case pcr == 1 || pcr == 7:
		return 0, nil
	case pcr >= 2 && pcr <= 6:
		return 1, nil
	case pcr >= 8 && pcr <= 15:
		return 2, nil
	}
	return -1, fmt.Errorf("tdx: PCR %d has no RTMR", pcr)
}

// Extend is what TDG.MR.RTMR.EXTEND does: SHA-384(mr || digest).
func Extend(mr, digest [48]byte) [48]byte {
	var b [96]byte
	copy(b[:48], mr[:])
	copy(b[48:], digest[:])
	return sha512.Sum384(b[:])
}

// Replay extends events, in order, into four registers that start at zero.
func Replay(events []Event) ([4][48]byte, error) {
	var mr [4][48]byte
	for i, e := range events {
		if e.RTMR < 0 || e.RTMR > 3 {
			return mr, fmt.Errorf("tdx: event %d (%s): RTMR %d", i, e.What, e.RTMR)
		}
		mr[e.RTMR] = Extend(mr[e.RTMR], e.Digest)
	}
	return mr, nil
}

// DirectBoot is a QEMU direct kernel boot (-kernel, -initrd, -append).
type DirectBoot struct {
	Kernel  []byte // the bzImage as given to -kernel
	Initrd  []byte // as given to -initrd; empty for none
	Cmdline string // as given to -append
}

// LoadOptions is the EFI LoadOptions buffer edk2's X86QemuLoadImageLib
// gives a kernel started from fw_cfg: "initrd=initrd " (when there is an
// initrd) and the command line, each byte widened to one UTF-16 unit
// (UnicodeSPrintAsciiFormat's %a), then a UTF-16 NUL. nil when both are
// empty, in which case LoadOptions is NULL. edk2 releases before
// edk2-stable202508 appended " initrd=initrd" instead of prefixing it.
func LoadOptions(cmdline string, initrd bool) []byte {
	s := cmdline
	if initrd {
		s = "initrd=initrd " + s
	}
	if s == "" {
		return nil
	}
	b := make([]byte, 0, 2*len(s)+2)
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return append(b, 0, 0)
}

func action(rtmr, pcr int, s string) Event {
	return Event{RTMR: rtmr, PCR: pcr, Type: EvEFIAction, Digest: sha512.Sum384([]byte(s)), What: s}
}

// Events returns the RTMR1 and RTMR2 events of a TDX direct kernel boot,
// in the order they are extended, for QEMU 10.0 or later with a TDVF of
// edk2-stable202508 or later and a Linux EFI stub that measures its load
// options and initrd (6.12 does, into the CC measurement protocol when
// there is no TPM):
//
// RTMR1 (PCR 4 and 5):
//  1. EV_EFI_BOOT_SERVICES_APPLICATION: the kernel's Authenticode SHA-384.
//     QemuKernelLoaderFsDxe takes the kernel from QEMU's "etc/boot/kernel"
//     fw_cfg file, which holds the file as given (QEMU patches only its
//     copy of the setup header in the legacy setup/kernel items), so the
//     digest does not depend on memory size or initrd placement. The
//     image is measured when LoadImage verifies it; with Secure Boot
//     enforced, a kernel the db does not accept fails verification first,
//     is not measured, and in a TD is not booted at all (edk2 refuses the
//     legacy loader in confidential VMs).
//  2. EV_EFI_ACTION "Calling EFI Application from Boot Option" (ReadyToBoot).
//  3. EV_SEPARATOR, 4 zero bytes: TdTcg2Dxe measures one separator into
//     RTMR1 where a TPM gets one per PCR 2..6.
//  4. EV_EFI_ACTION "Exit Boot Services Invocation".
//  5. EV_EFI_ACTION "Exit Boot Services Returned with Success".
//
// RTMR2 (PCR 9), both EV_EVENT_TAG, measured by the kernel's EFI stub:
//  1. its LoadOptions (see LoadOptions), when not empty;
//  2. the initrd it loaded through the LINUX_EFI_INITRD_MEDIA_GUID
//     LoadFile2 device, when not empty.
//
// Any driver the firmware loads from a PCI option ROM is measured into
// RTMR1 (PCR 2) before the kernel: QEMU gives virtio-net-pci an iPXE ROM
// unless the device has romfile=, and a software-TPM boot with such a NIC
// shows the extra EV_EFI_BOOT_SERVICES_DRIVER. These events assume none, so
// a TD booted with one fails verification rather than passing.
//
// Firmware events of RTMR0 are not here: see the package documentation.
func (b DirectBoot) Events() ([]Event, error) {
	kernel, err := Authenticode(b.Kernel, sha512.New384)
	if err != nil {
		return nil, fmt.Errorf("tdx: kernel: %w", err)
	}
	sep := sha512.Sum384(make([]byte, 4))
	ev := []Event{
		{RTMR: 1, PCR: 4, Type: EvEFIBootServicesApplication, Digest: [48]byte(kernel), What: "kernel (PE/COFF Authenticode)"},
		action(1, 4, ActionCallingEFIApplication),
		{RTMR: 1, PCR: 4, Type: EvSeparator, Digest: sep, What: "separator"},
		action(1, 5, ActionExitBootServices),
		action(1, 5, ActionExitBootServicesOK),
	}
	if opts := LoadOptions(b.Cmdline, len(b.Initrd) > 0); opts != nil {
		ev = append(ev, Event{RTMR: 2, PCR: 9, Type: EvEventTag, Digest: sha512.Sum384(opts), What: "LOADED_IMAGE::LoadOptions"})
	}
	if len(b.Initrd) > 0 {
		ev = append(ev, Event{RTMR: 2, PCR: 9, Type: EvEventTag, Digest: sha512.Sum384(b.Initrd), What: "Linux initrd"})
	}
	return ev, nil
}

// RTMR1And2 replays b's events: the RTMR1 and RTMR2 a TD reports after
// this boot has left boot services.
func (b DirectBoot) RTMR1And2() (rtmr1, rtmr2 [48]byte, err error) {
	ev, err := b.Events()
	if err != nil {
		return rtmr1, rtmr2, err
	}
	mr, err := Replay(ev)
	if err != nil {
		return rtmr1, rtmr2, err
	}
	return mr[1], mr[2], nil
}
