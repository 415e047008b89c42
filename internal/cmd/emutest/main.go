//go:build linux

// Command emutest runs a package's tests on an emulated CPU with AVX-512
// and VNNI (Bochs, Ice Lake model), for the kernel paths that the machines
// at hand cannot run: QEMU's TCG refuses AVX-512, and a machine without it
// would skip the avx512 path. Bochs is an emulator nobody here wrote; it
// executes the instructions by their specification, slowly (about a
// minute to boot, and tests run some hundred times slower than natively).
//
//	go run ./internal/cmd/emutest [-pkg ./kernels] [-cpu corei7_icelake_u] -- [go test flags]
//
// The host half builds the package's test binary, puts it with this
// program (as /init, both static) in an initramfs, boots the image's pinned Debian
// kernel from an ISOLINUX CD in Bochs, streams the guest's serial console
// to stdout and exits with the test binary's status. The guest half runs
// as PID 1: it mounts what tests need, prints the CPU's flags, runs the
// tests and powers off.
//
// Bochs 2.7 (Debian 12) reports the standard XSAVE size where the
// compacted one is asked for, and Linux then turns XSAVE, and with it all
// of AVX, off; the guest kernel is told not to use XSAVES and XSAVEC
// (clearcpuid) and not PKU, so that it keeps the standard format.
//
// Packages: bochs bochsbios vgabios isolinux syslinux-common genisoimage
// (make test-avx512-emulated installs them).
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pith-project/pith/image/build"
	"github.com/pith-project/pith/image/cpio"
	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/runtime/pid1"
)

// doneMarker starts the guest's last line: the test binary's exit status
// follows it.
const doneMarker = "emutest: exit status "

func main() {
	if os.Getpid() == 1 {
		guest()
		return
	}
	if err := host(); err != nil {
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(int(ex))
		}
		fmt.Fprintln(os.Stderr, "emutest:", err)
		os.Exit(1)
	}
}

// exitError is the guest test binary's non-zero exit status.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("tests exited with status %d", int(e)) }

func host() error {
	fs := flag.NewFlagSet("emutest", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: emutest [flags] [-- go test flags]

Runs a package's tests in Bochs on an emulated CPU with AVX-512 and VNNI,
so that the avx512 kernel path is tested on machines without it. The test
flags go to the test binary (for example -test.run, -test.short, -test.v).

Flags:
`)
		fs.PrintDefaults()
	}
	pkg := fs.String("pkg", "./kernels", "the package whose tests run")
	model := fs.String("cpu", "corei7_icelake_u", "Bochs CPU model (bochs --help cpu lists them)")
	timeout := fs.Duration("timeout", 90*time.Minute, "how long the emulator may run")
	keep := fs.String("work", "", "work directory to keep (default: a temporary one, removed)")
	var env []string
	fs.Func("env", "`KEY=VALUE` in the test binary's environment (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" || strings.ContainsAny(v, "\n") {
			return fmt.Errorf("want KEY=VALUE on one line, not %q", v)
		}
		env = append(env, v)
		return nil
	})
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	testArgs := fs.Args()
	for _, a := range testArgs {
		if strings.ContainsAny(a, " \t\n") {
			return fmt.Errorf("test flag %q: the guest splits its arguments at spaces", a)
		}
	}
	tools, err := findTools()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := *keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "emutest-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	kernel, err := inputs.Fetch(ctx, inputs.CloudKernel)
	if err != nil {
		return fmt.Errorf("guest kernel: %w", err)
	}
	logf("building the tests of %s", *pkg)
	// Static, both: the guest has no C library. The guest's /init is
	// this program built again, as go run's may not be.
	self, testBin := filepath.Join(dir, "init"), filepath.Join(dir, "test")
	// Go 1.26's garbage collector scans spans with AVX-512 (and GFNI)
	// where the CPU has them, and under Bochs 2.7 that scan finds
	// "pointer to free object" and the runtime aborts, while the same
	// tests pass with the scalar scan (nogreenteagc). That code is the
	// runtime's, not ours, so the guest's binaries use the scalar scan.
	exp := os.Getenv("GOEXPERIMENT")
	if exp != "" {
		exp += ","
	}
	exp += "nogreenteagc"
	for _, args := range [][]string{
		{"build", "-o", self, "github.com/pith-project/pith/internal/cmd/emutest"},
		{"test", "-c", "-o", testBin, *pkg},
	} {
		build := exec.CommandContext(ctx, "go", args...)
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT="+exp)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
	}
	iso, err := makeISO(dir, tools, kernel, self, testBin, testArgs, env)
	if err != nil {
		return err
	}
	return runBochs(ctx, dir, tools, iso, *model, *timeout)
}

// tools are the host files the emulated machine needs.
type tools struct {
	bochs, genisoimage, isolinux, ldlinux, bios, vgabios string
}

func findTools() (tools, error) {
	var t tools
	var missing []string
	var err error
	for _, c := range []struct {
		dst  *string
		name string
	}{{&t.bochs, "bochs"}, {&t.genisoimage, "genisoimage"}} {
		if *c.dst, err = exec.LookPath(c.name); err != nil {
			missing = append(missing, c.name)
		}
	}
	for _, c := range []struct {
		dst  *string
		path string
	}{
		{&t.isolinux, "/usr/lib/ISOLINUX/isolinux.bin"},
		{&t.ldlinux, "/usr/lib/syslinux/modules/bios/ldlinux.c32"},
		{&t.bios, "/usr/share/bochs/BIOS-bochs-latest"},
		{&t.vgabios, "/usr/share/bochs/VGABIOS-lgpl-latest"},
	} {
		if _, err := os.Stat(c.path); err != nil {
			missing = append(missing, c.path)
		}
		*c.dst = c.path
	}
	if len(missing) > 0 {
		return t, fmt.Errorf("missing %s; install: apt-get install bochs bochsbios vgabios isolinux syslinux-common genisoimage", strings.Join(missing, ", "))
	}
	return t, nil
}

// kernelArgs keep the guest kernel on the standard XSAVE format (see the
// package comment) and quiet.
const kernelArgs = "console=ttyS0 quiet loglevel=3 nopku clearcpuid=xsaves,xsavec nokaslr mitigations=off tsc=reliable rdinit=/init"

func makeISO(dir string, t tools, kernel, self, testBin string, testArgs, env []string) (string, error) {
	root := filepath.Join(dir, "iso")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	initrd, err := initramfs(self, testBin, strings.Join(testArgs, " "), strings.Join(env, "\n"))
	if err != nil {
		return "", err
	}
	cfg := "SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 1\nLABEL linux\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND " + kernelArgs + "\n"
	files := map[string][]byte{"initrd.gz": initrd, "isolinux.cfg": []byte(cfg)}
	for name, src := range map[string]string{"vmlinuz": kernel, "isolinux.bin": t.isolinux, "ldlinux.c32": t.ldlinux} {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", err
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			return "", err
		}
	}
	iso := filepath.Join(dir, "boot.iso")
	cmd := exec.Command(t.genisoimage, "-quiet", "-o", iso, "-b", "isolinux.bin", "-c", "boot.cat",
		"-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", root)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("genisoimage: %w: %s", err, out)
	}
	return iso, nil
}

// initramfs is the gzipped newc archive (the image's own writer) of this
// program as /init, the test binary as /test, its arguments in /args and
// its environment's additions in /env (a KEY=VALUE a line), with the
// mount points pid1.MountAll uses.
func initramfs(self, testBin, args, env string) ([]byte, error) {
	var entries []cpio.Entry
	for _, d := range []string{"dev", "proc", "sys", "tmp"} {
		entries = append(entries, cpio.Entry{Path: d, Mode: cpio.TypeDir | 0o755})
	}
	for _, f := range []struct{ name, src string }{{"init", self}, {"test", testBin}} {
		b, err := os.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		entries = append(entries, cpio.Entry{Path: f.name, Mode: cpio.TypeReg | 0o755, Data: b})
	}
	entries = append(entries,
		cpio.Entry{Path: "args", Mode: cpio.TypeReg | 0o644, Data: []byte(args)},
		cpio.Entry{Path: "env", Mode: cpio.TypeReg | 0o644, Data: []byte(env)})
	return build.Initramfs(entries, 0)
}

func runBochs(ctx context.Context, dir string, t tools, iso, model string, timeout time.Duration) error {
	serial := filepath.Join(dir, "serial.txt")
	rc := fmt.Sprintf(`megs: 2048
cpu: model=%s, count=1, ips=200000000
romimage: file=%s
vgaromimage: file=%s
ata0-master: type=cdrom, path=%s, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=%s
display_library: rfb, options="timeout=0"
speaker: enabled=0
clock: sync=none
log: %s
panic: action=fatal
error: action=ignore
info: action=ignore
`, model, t.bios, t.vgabios, iso, serial, filepath.Join(dir, "bochs.log"))
	rcFile := filepath.Join(dir, "bochsrc")
	if err := os.WriteFile(rcFile, []byte(rc), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	logf("booting %s in Bochs (%s); the guest's console follows", filepath.Base(iso), model)
	cmd := exec.CommandContext(ctx, t.bochs, "-q", "-f", rcFile)
	// Debian builds Bochs with its debugger, which waits for a command
	// before the first instruction: "c" continues.
	cmd.Stdin = strings.NewReader("c\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bochs: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	status := -1
	var tail tailer
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-waited:
			done = true
		case <-tick.C:
		}
		for _, line := range tail.lines(serial) {
			fmt.Println(line)
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), doneMarker); ok {
				status, _ = strconv.Atoi(s)
			}
		}
	}
	switch {
	case ctx.Err() != nil && status < 0:
		return fmt.Errorf("no result after %v: %w", timeout, ctx.Err())
	case status < 0:
		return fmt.Errorf("the guest stopped without a result; Bochs said:\n%s", lastLines(out.String(), 15))
	case status > 0:
		return exitError(status)
	}
	logf("tests passed on the emulated CPU")
	return nil
}

// tailer returns the whole lines a growing file gained since the last call.
type tailer struct {
	off  int64
	part []byte
}

func (t *tailer) lines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, t.off, 1<<40))
	if err != nil {
		return nil
	}
	t.off += int64(len(b))
	t.part = append(t.part, b...)
	var out []string
	for {
		i := bytes.IndexByte(t.part, '\n')
		if i < 0 {
			return out
		}
		out = append(out, strings.TrimRight(string(t.part[:i]), "\r"))
		t.part = t.part[i+1:]
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "emutest: "+format+"\n", args...)
}

// cpuFlags are the flags of /proc/cpuinfo the guest reports: what the
// kernel paths are chosen by.
var cpuFlags = regexp.MustCompile(`^(avx\S*|fma|f16c|gfni|xsave)$`)

// guest runs as the emulated machine's PID 1, with pith-init's mounts and
// power-off (which drains the console first: the UART is slow, and the
// last lines would be cut).
func guest() {
	merr := pid1.MountAll("/") // before the UART: its node is on devtmpfs
	if tty, err := os.OpenFile("/dev/ttyS0", os.O_WRONLY, 0); err == nil {
		os.Stdout, os.Stderr = tty, tty
	}
	if merr != nil {
		fmt.Println("emutest:", merr)
	}
	fmt.Println("emutest: cpu flags:", strings.Join(guestFlags(), " "))
	status := 1
	args, err := os.ReadFile("/args")
	if err != nil {
		fmt.Println("emutest:", err)
	} else {
		cmd := exec.Command("/test", strings.Fields(string(args))...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		cmd.Env = []string{"PATH=/", "HOME=/tmp", "TMPDIR=/tmp"}
		if env, err := os.ReadFile("/env"); err == nil {
			for _, kv := range strings.Split(string(env), "\n") {
				if kv != "" {
					cmd.Env = append(cmd.Env, kv)
					fmt.Println("emutest: env", kv)
				}
			}
		}
		cmd.Dir = "/tmp"
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			status = 0
		case errors.As(err, &ee) && ee.ExitCode() > 0:
			status = ee.ExitCode()
		default:
			fmt.Println("emutest: test binary:", err)
		}
	}
	fmt.Printf("%s%d\n", doneMarker, status)
	fmt.Println("emutest:", pid1.PowerOff())
}

func guestFlags() []string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		var out []string
		for _, fl := range strings.Fields(v) {
			if cpuFlags.MatchString(fl) {
				out = append(out, fl)
			}
		}
		return out
	}
	return nil
}
