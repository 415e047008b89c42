package pid1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sigPowerButton is SIGRTMIN+4, the tiny-power-button driver's default
// signal (CONFIG_ACPI_TINY_POWER_BUTTON_SIGNAL=38).
const sigPowerButton = syscall.Signal(38)

// ShutdownSignals start an orderly power-off: SIGTERM and SIGINT (the
// kernel sends SIGINT for Ctrl-Alt-Del once DisableCtrlAltDel ran), and
// SIGPWR and SIGRTMIN+4 (the ACPI power button, see the package doc).
var ShutdownSignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGPWR, sigPowerButton}

// ShutdownSignal is the cause of a context ended by a shutdown signal.
type ShutdownSignal struct{ Signal os.Signal }

func (s ShutdownSignal) Error() string { return fmt.Sprintf("shutdown signal %v", s.Signal) }

// ShutdownContext returns a context that ends, with a ShutdownSignal as
// its cause, when one of ShutdownSignals arrives. stop releases the
// signals and ignores any that come later: pith-init stops them only to
// power off, and had it merely released them, Go's runtime, which keeps
// its own handler for SIGINT and SIGTERM, would exit on the next one
// (a second Ctrl-Alt-Del from the host), killing init before the power
// off had synced and drained the console.
func ShutdownContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, ShutdownSignals...)
	done := make(chan struct{})
	go func() {
		defer Guard()
		select {
		case s := <-ch:
			slog.Info("shutdown requested", "signal", s.String())
			cancel(ShutdownSignal{s})
		case <-done:
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		// Ignore first: it also undoes Notify. Stopping the channel
		// first would leave a moment in which no channel wants the
		// signals and Go's runtime, which keeps its handler, would exit
		// on a SIGTERM or SIGINT.
		signal.Ignore(ShutdownSignals...)
		stopping()
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

// stopping runs inside ShutdownContext's stop, between its two releases
// of the signals (tests).
var stopping = func() {}

// DisableCtrlAltDel makes Ctrl-Alt-Del send SIGINT to PID 1 instead of
// rebooting at once, so it too passes through the orderly shutdown.
func DisableCtrlAltDel() error {
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		return fmt.Errorf("pid1: reboot(CAD_OFF): %w", err)
	}
	return nil
}

// ErrNotPID1 keeps PowerOff from acting outside PID 1: a test or `pith
// serve` on a host must never power the host off.
var ErrNotPID1 = errors.New("pid1: not PID 1, refusing to power off")

// PowerOff syncs, lets the console send what was written to it, and
// powers the machine off (in a PID namespace: ends the namespace). It
// returns only on failure.
func PowerOff() error {
	if os.Getpid() != 1 {
		return ErrNotPID1
	}
	unix.Sync() // nothing is written to disk, but a virtio disk may cache
	drain()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		return fmt.Errorf("pid1: reboot(POWER_OFF): %w", err)
	}
	return nil
}

// Fatal logs err and powers off; it never returns. The message must carry
// no request content (callers pass errors about the system, not about
// requests). If powering off fails, the process exits: as PID 1 that
// panics the kernel, which with panic=-1 on the command line (and QEMU's
// -no-reboot) stops the machine; never a shell, never a hang. Either way
// the console is drained first, so that the line that says why reaches
// whoever reads the console.
func Fatal(err error) {
	slog.Error("fatal, powering off", "err", err)
	perr := PowerOff()
	slog.Error("power off failed, exiting", "err", perr)
	drain()
	exit(1)
}

// Seams for the tests, which watch the order of logging, draining and
// powering off.
var (
	drain = DrainConsole
	exit  = os.Exit
)

// drainLimit bounds the wait for the console: a serial line stalled by
// flow control must not keep the machine from powering off.
const drainLimit = 2 * time.Second

// DrainConsole waits, for at most drainLimit, until the terminals behind
// stderr and stdout have sent what was written to them (tcdrain): the
// kernel's reboot(2) and a panic do not wait for a serial console, and
// the last lines, the ones that say why the machine stops, would be cut
// short. Descriptors that are not terminals (a pipe, /dev/null) need no
// draining.
func DrainConsole() {
	if !within(drainLimit, func() {
		for _, f := range []*os.File{os.Stderr, os.Stdout} {
			tcdrain(int(f.Fd()))
		}
	}) {
		slog.Warn("console not drained", "after", drainLimit)
	}
}

// tcdrain waits until the terminal fd has sent its output; fd not being
// a terminal is no error.
func tcdrain(fd int) error {
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
		return nil
	}
	for {
		// TCSBRK with a non-zero argument is tcdrain(3), not a break.
		err := unix.IoctlSetInt(fd, unix.TCSBRK, 1)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// within runs fn and waits for it at most limit; it reports whether fn
// finished. An fn still blocked goes on in the background.
func within(limit time.Duration, fn func()) bool {
	done := make(chan struct{})
	go func() {
		fn()
		close(done)
	}()
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
