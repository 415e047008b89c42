package pid1

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DisableSysRq turns the magic SysRq key off (kernel.sysrq = 0) under
// root ("/" as PID 1, once /proc is mounted) and checks that it stayed
// off. The serial console is the host's: with CONFIG_MAGIC_SYSRQ_SERIAL,
// a break followed by a letter on it is a SysRq, and the kernel's default
// mask is its build's choice (Debian's 438 allows sync, remount and
// reboot), while sysctl.kernel.sysrq=1 on the command line allows every
// function, among them 'p', 'l' and 't', which print registers and stacks
// of the running tasks, the request's data among them, to the console.
// Reading kernel.sysrq back gives 1 whatever was written when the command
// line has sysrq_always_enabled, so that is refused. A kernel without
// SysRq has no kernel.sysrq, and nothing to turn off.
func DisableSysRq(root string) error {
	path := filepath.Join(root, "proc/sys/kernel/sysrq")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		_, err = f.Write([]byte("0\n"))
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		return fmt.Errorf("pid1: disable SysRq: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("pid1: disable SysRq: %w", err)
	}
	if v := bytes.TrimSpace(b); string(v) != "0" {
		return fmt.Errorf("pid1: kernel.sysrq reads %q after writing 0 (sysrq_always_enabled on the command line?)", v)
	}
	return nil
}
