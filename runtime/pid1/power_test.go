package pid1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Each shutdown signal, the power button's among them, ends the context
// with the signal as its cause.
func TestShutdownContext(t *testing.T) {
	for _, sig := range ShutdownSignals {
		ctx, stop := ShutdownContext(context.Background())
		if err := unix.Kill(os.Getpid(), sig.(syscall.Signal)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: context not ended", sig)
		}
		var ss ShutdownSignal
		if !errors.As(context.Cause(ctx), &ss) || ss.Signal != sig {
			t.Fatalf("%v: cause %v", sig, context.Cause(ctx))
		}
		stop()
	}
	ctx, stop := ShutdownContext(context.Background())
	stop()
	if errors.As(context.Cause(ctx), new(ShutdownSignal)) {
		t.Fatal("stop reported a signal")
	}
	// After stop a signal is ignored: released to Go's runtime, SIGINT
	// would end this process (and PID 1 with it) with exit status 2.
	defer signal.Reset(ShutdownSignals...)
	if err := unix.Kill(os.Getpid(), unix.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
}

// No moment of stop leaves a shutdown signal to Go's runtime, which
// would end the process: a SIGTERM sent from inside stop, in a child
// process of its own, is ignored.
func TestShutdownStopHasNoFatalMoment(t *testing.T) {
	if !inChild(t.Name()) {
		childOK(t, t.Name(), 0)
		return
	}
	_, stop := ShutdownContext(context.Background())
	stopping = func() {
		unix.Kill(os.Getpid(), unix.SIGTERM)
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	childDone(nil)
}

func TestPowerOffRefusesOutsidePID1(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("running as PID 1")
	}
	if err := PowerOff(); !errors.Is(err, ErrNotPID1) {
		t.Fatalf("PowerOff outside PID 1: %v", err)
	}
}

// As PID 1 of a fresh PID namespace, Fatal logs its error and powers off,
// which for a namespace means the kernel kills its init with SIGINT
// (reboot(2)); the host is untouched.
func TestFatalPowersOffAsPID1(t *testing.T) {
	if inChild(t.Name()) {
		// Guard: only ever call reboot(2) where it ends a namespace.
		self, _ := os.Readlink("/proc/self/ns/pid")
		host, _ := os.Readlink("/proc/1/ns/pid")
		if os.Getpid() != 1 || self == "" || self == host {
			childDone(errors.New("not PID 1 of a separate PID namespace, not calling reboot"))
		}
		markDrain()
		Fatal(errors.New("test fatal: model digest mismatch"))
		return // unreachable
	}
	out, ps, _ := runChild(t, t.Name(), syscall.CLONE_NEWPID)
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("child ended %v, want killed by SIGINT (the namespace's power-off)\n%s", ps, out)
	}
	if !strings.Contains(out, "fatal, powering off") || !strings.Contains(out, "model digest mismatch") {
		t.Fatalf("log does not say why:\n%s", out)
	}
	// The console was drained once, after the line that says why and
	// before reboot(2) ended the namespace.
	wantOrder(t, out, "fatal, powering off", drainMark)
	if strings.Count(out, drainMark) != 1 {
		t.Fatalf("drained %d times:\n%s", strings.Count(out, drainMark), out)
	}
}

// drainMark is what markDrain's drain prints, in place of draining.
const drainMark = "CONSOLE-DRAINED"

// markDrain makes drain print drainMark to stderr, where the log goes,
// so that the parent sees where in the log the drain came.
func markDrain() {
	drain = func() { fmt.Fprintln(os.Stderr, drainMark) }
}

// wantOrder fails unless each of marks appears in out, in that order.
func wantOrder(t *testing.T, out string, marks ...string) {
	t.Helper()
	at := 0
	for _, m := range marks {
		i := strings.Index(out[at:], m)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", m, out)
		}
		at += i + len(m)
	}
}

// Outside PID 1, Fatal logs, refuses to power off and exits 1: no hang.
func TestFatalExitsOutsidePID1(t *testing.T) {
	if inChild(t.Name()) {
		markDrain()
		Fatal(errors.New("test fatal outside pid 1"))
		return
	}
	out, ps, _ := runChild(t, t.Name(), 0)
	if ps.ExitCode() != 1 || !strings.Contains(out, "test fatal outside pid 1") || !strings.Contains(out, "not PID 1") {
		t.Fatalf("exit %d\n%s", ps.ExitCode(), out)
	}
	wantOrder(t, out, "fatal, powering off", "power off failed, exiting", drainMark)
}

// In process, with exit caught: Fatal has logged why before it drains,
// and drains before it exits.
func TestFatalDrainsBeforeExit(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("running as PID 1")
	}
	var log strings.Builder
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&log, nil)))
	defer slog.SetDefault(old)
	var events []string
	drain = func() { events = append(events, "drain after: "+log.String()) }
	exit = func(code int) { panic(fmt.Sprintf("exit %d", code)) }
	defer func() { drain, exit = DrainConsole, os.Exit }()
	func() {
		defer func() { events = append(events, fmt.Sprint(recover())) }()
		Fatal(errors.New("disk on fire"))
	}()
	if len(events) != 2 || !strings.Contains(events[0], "disk on fire") || !strings.Contains(events[0], "power off failed") || events[1] != "exit 1" {
		t.Fatalf("events %q", events)
	}
}

// DrainConsole's tcdrain works on a terminal (a pseudo-terminal here),
// passes over what is not one, and within gives up on what blocks.
func TestDrainConsole(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("pseudo-terminal %d: %v", n, err)
	}
	defer pts.Close()
	if _, err := pts.WriteString("fatal, powering off\n"); err != nil {
		t.Fatal(err)
	}
	if !within(5*time.Second, func() {
		if err := tcdrain(int(pts.Fd())); err != nil {
			t.Errorf("tcdrain on a terminal: %v", err)
		}
	}) {
		t.Fatal("tcdrain on an idle pseudo-terminal did not return")
	}
	buf := make([]byte, 64)
	if n, err := ptmx.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "fatal, powering off") {
		t.Fatalf("the other side read %q, %v", buf[:n], err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := tcdrain(int(w.Fd())); err != nil {
		t.Fatalf("tcdrain on a pipe: %v", err)
	}
	block := make(chan struct{})
	defer close(block)
	t0 := time.Now()
	if within(50*time.Millisecond, func() { <-block }) || time.Since(t0) > 2*time.Second {
		t.Fatal("within waited for what blocks")
	}
}
