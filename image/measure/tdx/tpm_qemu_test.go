package tdx_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
	"github.com/pith-project/pith/image/measure/tdx"
)

// TestDirectBootTPM boots the pinned Debian kernel under QEMU 10 (TCG) with
// a software TPM (swtpm) and Debian's TPM-enabled OVMF of the same edk2
// release as the TDVF image (2026.08+ds-2, edk2-stable202608), direct kernel
// boot with an initrd and a command line, and has the initrd's /init
// (internal/tpmlogdump) print the TPM event log and SHA-384 PCRs. Nobody
// here wrote what fills them: edk2 measures the kernel it loads and its
// EV_EFI_ACTIONs, the kernel's EFI stub its LoadOptions and initrd.
//
// What it proves: the events DirectBoot.Events gives for RTMR1 and RTMR2
// are, digest for digest and in order, what this firmware and kernel
// measure into PCR 4, 5 and 9 (the PCRs TDVF maps to RTMR1 and RTMR2),
// nothing else lands in PCR 2, 3, 6 or 8-15, and the replayed PCR 9 is
// exactly the RTMR2 we compute. That covers the kernel's Authenticode as
// loaded (QEMU's etc/boot/kernel, not the setup-patched copy), edk2's
// "initrd=initrd " prefix and UTF-16 NUL in LoadOptions, and the stub's
// measurements.
//
// What differs in a TD: TdTcg2Dxe (not Tcg2Dxe) measures, extending RTMRs
// instead of PCRs; it measures one separator into RTMR1 where the TPM gets
// one per PCR 0-7 (so PCR 5's separator has no RTMR1 twin), and the stub
// measures through the CC measurement protocol instead of TCG2. The
// Authenticode code is TdTcg2Dxe's copy of the same steps (checked against
// osslsigncode above). And OVMF.inteltdx.ms.fd enforces Secure Boot, which
// this firmware's variable store does not: see the package documentation.
func TestDirectBootTPM(t *testing.T) {
	qemu := requireQEMU10(t)
	swtpm := requireTool(t, "swtpm", "apt-get install swtpm swtpm-tools")
	swtpmSetup := requireTool(t, "swtpm_setup", "apt-get install swtpm-tools")
	kernel := inputstest.Load(t, inputs.CloudKernel)
	code := inputstest.Load(t, inputs.OVMFGenericCode)
	vars := inputstest.Load(t, inputs.OVMFGenericVars)

	dir := t.TempDir()
	initBin := filepath.Join(dir, "tpmlogdump")
	build := exec.Command("go", "build", "-trimpath", "-o", initBin, "./internal/tpmlogdump")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build tpmlogdump: %v\n%s", err, out)
	}
	initData, err := os.ReadFile(initBin)
	if err != nil {
		t.Fatal(err)
	}
	var initrd bytes.Buffer
	if _, err := cpio.Write(&initrd, []cpio.Entry{{Path: "init", Mode: cpio.TypeReg | 0o755, Data: initData}}, 0, 512); err != nil {
		t.Fatal(err)
	}
	cmdline := "console=ttyS0 quiet pith.model.sha256=" + strings.Repeat("0", 64)
	files := map[string][]byte{"vmlinuz": kernel, "initrd": initrd.Bytes(), "code.fd": code, "vars.fd": vars}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	state := filepath.Join(dir, "tpm")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(swtpmSetup, "--tpm2", "--tpmstate", state, "--pcr-banks", "sha256,sha384").CombinedOutput(); err != nil {
		t.Fatalf("swtpm_setup: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "swtpm.sock")
	tpm := exec.Command(swtpm, "socket", "--tpm2", "--tpmstate", "dir="+state, "--ctrl", "type=unixio,path="+sock, "--terminate")
	var tpmLog bytes.Buffer
	tpm.Stdout, tpm.Stderr = &tpmLog, &tpmLog
	if err := tpm.Start(); err != nil {
		t.Fatal(err)
	}
	tpmDone := make(chan struct{})
	go func() { _ = tpm.Wait(); close(tpmDone) }()
	t.Cleanup(func() {
		_ = tpm.Process.Kill()
		<-tpmDone
	})
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("swtpm made no socket in 5 s:\n%s", tpmLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	start := time.Now()
	vm := exec.CommandContext(ctx, qemu,
		"-machine", "q35", "-cpu", "max", "-smp", "1", "-m", "1024", "-no-reboot",
		"-nographic", "-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-drive", "if=pflash,format=raw,readonly=on,file="+filepath.Join(dir, "code.fd"),
		"-drive", "if=pflash,format=raw,file="+filepath.Join(dir, "vars.fd"),
		"-chardev", "socket,id=chrtpm,path="+sock, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-crb,tpmdev=tpm0",
		"-kernel", filepath.Join(dir, "vmlinuz"), "-initrd", filepath.Join(dir, "initrd"), "-append", cmdline)
	console, err := vm.CombinedOutput()
	t.Logf("QEMU ran %s", time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		t.Fatalf("qemu: %v\n%s", err, tail(console))
	}
	got := parseConsole(t, console)

	// edk2 prefixes "initrd=initrd " to the command line it hands the stub.
	if want := fmt.Sprintf("%q", "initrd=initrd "+cmdline); got.cmdline != want {
		t.Errorf("guest /proc/cmdline %s, want %s", got.cmdline, want)
	}
	ours, err := tdx.DirectBoot{Kernel: kernel, Initrd: initrd.Bytes(), Cmdline: cmdline}.Events()
	if err != nil {
		t.Fatal(err)
	}
	separator := tdx.Event{Type: tdx.EvSeparator, Digest: ours[2].Digest, What: "separator"}
	byPCR := map[uint32][]tdx.Event{}
	for _, e := range ours {
		byPCR[uint32(e.PCR)] = append(byPCR[uint32(e.PCR)], e)
	}
	// A TPM gets a separator in each of PCR 0-7; TDVF puts one in RTMR1.
	byPCR[5] = append([]tdx.Event{separator}, byPCR[5]...)
	for _, pcr := range []uint32{2, 3, 6} {
		byPCR[pcr] = []tdx.Event{separator}
	}
	for _, pcr := range []uint32{2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		want := byPCR[pcr]
		var log []tdx.LogEvent
		for _, e := range got.events {
			if e.Index == pcr {
				log = append(log, e)
			}
		}
		if len(log) != len(want) {
			t.Errorf("PCR %d: %d events in the log, want %d (%s)", pcr, len(log), len(want), describe(want))
			continue
		}
		for i, w := range want {
			if d := log[i].Digests[tdx.AlgSHA384]; log[i].Type != w.Type || !bytes.Equal(d, w.Digest[:]) {
				t.Errorf("PCR %d event %d: type %#x SHA-384 %x, want %s: type %#x %x", pcr, i, log[i].Type, d, w.What, w.Type, w.Digest)
			}
		}
		if pcr == 4 || pcr == 5 || pcr == 9 {
			evs := make([]tdx.Event, len(want))
			for i, w := range want {
				evs[i] = tdx.Event{Digest: w.Digest}
			}
			mr, _ := tdx.Replay(evs)
			if h := hex.EncodeToString(mr[0][:]); got.pcrs[pcr] != h {
				t.Errorf("PCR %d = %s, our events replay to %s", pcr, got.pcrs[pcr], h)
			}
		}
	}
	// PCR 9 holds exactly what TDVF extends into RTMR2.
	_, rtmr2, err := tdx.DirectBoot{Kernel: kernel, Initrd: initrd.Bytes(), Cmdline: cmdline}.RTMR1And2()
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(rtmr2[:]); got.pcrs[9] != h {
		t.Errorf("PCR 9 %s, our RTMR2 %s", got.pcrs[9], h)
	}
}

// requireQEMU10 returns qemu-system-x86_64, which must be 10.0 or later:
// QEMU 10.0 added the unpatched etc/boot/kernel file edk2 loads.
func requireQEMU10(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("QEMU boots are not short")
	}
	qemu := requireTool(t, "qemu-system-x86_64", "scripts/install-qemu.sh installs QEMU 10")
	out, err := exec.Command(qemu, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`version (\d+)\.`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("qemu --version: %q", out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 10 {
		t.Fatalf("QEMU 10 or later needed, have %q", out)
	}
	return qemu
}

// TestSecureBootRefusesUnsignedKernel backs the manifest's TDX warning and
// WithoutSecureBoot: the same edk2 release's Secure Boot OVMF with
// Microsoft's keys (what OVMF.inteltdx.ms.fd enrolls) refuses the pinned
// unsigned kernel and boots nothing (outside a TD the legacy loader is off
// by default; in a TD edk2 never uses it), while the same code with
// Debian's empty variable store, which is what WithoutSecureBoot makes of
// the TDVF's CFV, starts it.
func TestSecureBootRefusesUnsignedKernel(t *testing.T) {
	qemu := requireQEMU10(t)
	kernel := inputstest.Load(t, inputs.CloudKernel)
	if signed, err := tdx.Signed(kernel); err != nil || signed {
		t.Fatalf("kernel signed = %v, %v: this test wants the unsigned one", signed, err)
	}
	dir := t.TempDir()
	for n, d := range map[string]inputs.Deb{"code.fd": inputs.OVMFGenericCodeSB, "ms.fd": inputs.OVMFGenericVarsMS, "empty.fd": inputs.OVMFGenericVars, "vmlinuz": inputs.CloudKernel} {
		if err := os.WriteFile(filepath.Join(dir, n), inputstest.Load(t, d), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const refused, started = "Fallback to insecure legacy linux kernel loader is disabled", "Linux version "
	for _, c := range []struct{ vars, want string }{{"ms.fd", refused}, {"empty.fd", started}} {
		t.Run(c.vars, func(t *testing.T) {
			console := firstOf(t, qemu, []string{refused, started},
				"-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on",
				"-cpu", "max", "-smp", "1", "-m", "512", "-no-reboot", "-nographic", "-nodefaults", "-serial", "stdio", "-monitor", "none",
				"-drive", "if=pflash,format=raw,readonly=on,file="+filepath.Join(dir, "code.fd"),
				"-drive", "if=pflash,format=raw,snapshot=on,file="+filepath.Join(dir, c.vars),
				"-kernel", filepath.Join(dir, "vmlinuz"), "-append", "console=ttyS0")
			if !strings.Contains(console, c.want) {
				t.Fatalf("want %q:\n%s", c.want, tail([]byte(console)))
			}
			if c.want == refused && !strings.Contains(console, "Secure boot image verification failed") {
				t.Errorf("no verification failure reported:\n%s", tail([]byte(console)))
			}
		})
	}
}

// firstOf runs QEMU until its console shows one of marks, then stops it
// (the firmware waits in its boot manager after refusing a kernel), and
// returns the console so far.
func firstOf(t *testing.T, qemu string, marks []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	vm := exec.CommandContext(ctx, qemu, args...)
	out, err := vm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	vm.Stderr = vm.Stdout
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = vm.Process.Kill(); _ = vm.Wait() }()
	var console bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := out.Read(buf)
		console.Write(buf[:n])
		for _, m := range marks {
			if strings.Contains(console.String(), m) {
				return console.String()
			}
		}
		if err != nil {
			t.Fatalf("QEMU output ended (%v) before any of %q:\n%s", err, marks, tail(console.Bytes()))
		}
	}
}

func describe(evs []tdx.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.What)
	}
	return strings.Join(s, ", ")
}

type guestLog struct {
	cmdline string
	events  []tdx.LogEvent
	pcrs    map[uint32]string
}

func parseConsole(t *testing.T, console []byte) guestLog {
	t.Helper()
	text := strings.ReplaceAll(string(console), "\r", "")
	g := guestLog{pcrs: map[uint32]string{}}
	var b64 strings.Builder
	in := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.Contains(line, "TPMLOG-CMDLINE "):
			// Firmware escape sequences may precede it on the line.
			g.cmdline = line[strings.Index(line, "TPMLOG-CMDLINE ")+len("TPMLOG-CMDLINE "):]
		case line == "TPMLOG-BEGIN":
			in = true
		case line == "TPMLOG-END":
			in = false
		case in:
			b64.WriteString(strings.TrimSpace(line))
		case strings.HasPrefix(line, "TPMLOG-PCR-SHA384 "):
			f := strings.Fields(line)
			if n, err := strconv.Atoi(f[1]); err == nil && len(f) == 3 {
				g.pcrs[uint32(n)] = f[2]
			}
		}
	}
	raw, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil || len(raw) == 0 {
		t.Fatalf("no event log on the console (%v):\n%s", err, tail(console))
	}
	if g.events, err = tdx.ParseLog(raw); err != nil {
		t.Fatalf("guest event log: %v", err)
	}
	return g
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
