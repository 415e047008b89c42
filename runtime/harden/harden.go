// Package harden makes the server process hard to read from outside: not
// dumpable (which is what rules out core dumps, see Apply), and no core
// files to a file core_pattern. The server calls Apply first thing, before
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
// PR_SET_DUMPABLE 0 is what stops core dumps, all of them: the kernel's
// do_coredump gives up on a non-dumpable process before it looks at
// core_pattern. It does two more things: the files under /proc/PID (mem,
// maps, environ, ...) become owned by root, so another process of the
// same user can no longer read this one's memory; and a process without
// CAP_SYS_PTRACE cannot attach. Root with CAP_SYS_PTRACE (the memory-scan
// test, or a root on the host of a non-confidential VM) still can: against
// that, only the confidential VM's memory encryption helps. The setting is
// reset by execve and by credential changes, so Apply belongs after any of
// those.
//
// RLIMIT_CORE 0 (soft and hard) covers less than it seems, and nothing
// here relies on it: it stops a core file only when core_pattern names a
// file. A core_pattern that starts with '|' pipes the dump to a helper
// and the kernel ignores RLIMIT_CORE then (fs/coredump.c honours only the
// value 1, as its guard against a crashing helper), so should something
// make the process dumpable again, a piped pattern would still get the
// whole memory. It is set because it costs nothing and stops a dump to a
// file pattern, the kernel's default ("core"); the request arena is
// MADV_DONTDUMP besides, which every kind of dump honours.
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
