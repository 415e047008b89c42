// Package harden makes the server process hard to read from outside: not
// dumpable and no core files. The server calls Apply first thing, before
// any request data can exist.
//
// What it does not do, and why:
//   - No mlockall: the model weights are hundreds of megabytes to gigabytes
//     of public data, and locking them would only make memory pressure
//     fatal. Only the request arena (package arena) is locked; nothing
//     secret lives outside it except what runtime/secret covers.
//   - No seccomp filter: inside the confidential VM pith-init is the only
//     process, so there is no other local attacker to confine it from.
package harden

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Status is the process's hardening as the kernel reports it.
type Status struct {
	Dumpable      bool
	CoreSoftLimit uint64
	CoreHardLimit uint64
}

// Hardened reports whether the status is what Apply establishes.
func (s Status) Hardened() bool {
	return !s.Dumpable && s.CoreSoftLimit == 0 && s.CoreHardLimit == 0
}

// Apply makes the process non-dumpable and sets RLIMIT_CORE to zero.
//
// PR_SET_DUMPABLE 0 does three things: no core dump is ever written; the
// files under /proc/PID (mem, maps, environ, ...) become owned by root, so
// another process of the same user can no longer read this one's memory
// or ptrace it; and a process without CAP_SYS_PTRACE cannot attach. Root
// with CAP_SYS_PTRACE (the memory-scan test, or a root on the host of a
// non-confidential VM) still can: against that, only the confidential VM's
// memory encryption helps. The setting is reset by execve of a set-uid
// binary and by credential changes, so Apply belongs after any of those.
//
// RLIMIT_CORE 0 (soft and hard) is the belt to those braces: should
// something make the process dumpable again, there is still no core.
func Apply() error {
	var errs []error
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		errs = append(errs, fmt.Errorf("harden: prctl(PR_SET_DUMPABLE, 0): %w", err))
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		errs = append(errs, fmt.Errorf("harden: setrlimit(RLIMIT_CORE, 0): %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	st, err := Current()
	if err != nil {
		return err
	}
	if !st.Hardened() {
		return fmt.Errorf("harden: settings did not hold: %+v", st)
	}
	return nil
}

// Current reads the process's hardening state back from the kernel.
func Current() (Status, error) {
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return Status{}, fmt.Errorf("harden: prctl(PR_GET_DUMPABLE): %w", err)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return Status{}, fmt.Errorf("harden: getrlimit(RLIMIT_CORE): %w", err)
	}
	return Status{Dumpable: d != 0, CoreSoftLimit: lim.Cur, CoreHardLimit: lim.Max}, nil
}
