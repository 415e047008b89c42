package arena

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// lock locks mem as it is touched (MLOCK_ONFAULT): an arena sized for the
// largest request costs resident memory only for what requests use, yet no
// page that ever held request data can be swapped out. When the lock
// exceeds RLIMIT_MEMLOCK (a process without CAP_IPC_LOCK), lock raises the
// soft limit, and the hard one if the process may; otherwise it returns an
// error that says what to do.
func lock(mem []byte) error {
	err := mlockOnFault(mem)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOMEM) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("arena: mlock %d bytes: %w", len(mem), err)
	}
	var lim unix.Rlimit
	if gerr := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); gerr != nil {
		return fmt.Errorf("arena: mlock %d bytes: %w (and getrlimit: %v)", len(mem), err, gerr)
	}
	want := lim.Cur + uint64(len(mem))
	if lim.Cur == unix.RLIM_INFINITY || want < lim.Cur {
		want = unix.RLIM_INFINITY
	}
	raised := lim
	raised.Cur = want
	if raised.Max != unix.RLIM_INFINITY && raised.Max < want {
		raised.Max = want // needs CAP_SYS_RESOURCE; fails cleanly otherwise
	}
	if serr := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &raised); serr != nil {
		return fmt.Errorf("arena: mlock %d bytes: %w; RLIMIT_MEMLOCK is %d (hard %d) and raising it failed: %v (run with CAP_IPC_LOCK, raise the limit, or allow an unlocked arena for development)",
			len(mem), err, lim.Cur, lim.Max, serr)
	}
	if err2 := mlockOnFault(mem); err2 != nil {
		return fmt.Errorf("arena: mlock %d bytes after raising RLIMIT_MEMLOCK to %d: %w", len(mem), raised.Cur, err2)
	}
	return nil
}

func mlockOnFault(mem []byte) error {
	if len(mem) == 0 {
		return nil
	}
	_, _, e := unix.Syscall(unix.SYS_MLOCK2, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), unix.MLOCK_ONFAULT)
	if e != 0 {
		return e
	}
	return nil
}

// release hands mem (already cleared, page aligned) back to the kernel.
// MADV_DONTNEED refuses locked pages, so a locked range is unlocked, dropped
// and locked again on fault; the pages hold only zeros by then, so the
// moment they are unlocked exposes nothing. Failures are ignored: the bytes
// are zero either way, only the resident size is at stake.
func release(mem []byte, locked bool) {
	if locked {
		unix.Munlock(mem)
	}
	unix.Madvise(mem, unix.MADV_DONTNEED)
	if locked {
		mlockOnFault(mem)
	}
}
