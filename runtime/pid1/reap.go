package pid1

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ReapOnce collects every child that has exited, without waiting, and
// returns how many.
func ReapOnce() int {
	n := 0
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 { // ECHILD: no children; 0: none exited
			return n
		}
		n++
	}
}

// Reap reaps zombies until ctx is done: PID 1 inherits every orphan, and
// one left unreaped keeps its process table entry forever. It waits for
// any child, so it must not run beside os/exec's Cmd.Wait in the same
// process, which would lose its child's status; pith-init starts no
// processes, so nothing competes.
func Reap(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	defer signal.Stop(ch)
	for {
		ReapOnce() // also those that exited before Notify
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}
