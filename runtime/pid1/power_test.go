package pid1

import (
	"context"
	"errors"
	"os"
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
}

// Outside PID 1, Fatal logs, refuses to power off and exits 1: no hang.
func TestFatalExitsOutsidePID1(t *testing.T) {
	if inChild(t.Name()) {
		Fatal(errors.New("test fatal outside pid 1"))
		return
	}
	out, ps, _ := runChild(t, t.Name(), 0)
	if ps.ExitCode() != 1 || !strings.Contains(out, "test fatal outside pid 1") || !strings.Contains(out, "not PID 1") {
		t.Fatalf("exit %d\n%s", ps.ExitCode(), out)
	}
}
