package pid1

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Mount is one file system pith-init mounts.
type Mount struct {
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
	// Optional mounts may fail because the kernel lacks the file system
	// (ENODEV) or the mount point: logged, not fatal.
	Optional bool
}

const secure = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// Mounts is what pith-init mounts, in order (parents first). There is no
// /dev/pts: nothing in the image uses a terminal, and no shell may run.
// The tmpfs are in RAM (the image has no swap) and small, because nothing
// but the server runs.
var Mounts = []Mount{
	{Source: "proc", Target: "/proc", FSType: "proc", Flags: secure, Data: "hidepid=2"},
	{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: secure},
	{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "mode=0755"},
	// configfs holds the TSM report interface (/sys/kernel/config/tsm)
	// that attestation uses; a kernel without it attests through ioctls.
	{Source: "configfs", Target: "/sys/kernel/config", FSType: "configfs", Flags: secure, Optional: true},
	{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: secure, Data: "mode=0755,size=16m"},
	{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: secure, Data: "mode=1777,size=16m"},
}

// MountAll mounts Mounts under root ("/" as PID 1; a scratch directory in
// tests), creating missing mount points. A target that is already a mount
// point of the same type is left alone.
func MountAll(root string) error {
	for _, m := range Mounts {
		target := filepath.Join(root, m.Target)
		already, err := mountOne(m, target)
		switch {
		case err == nil && already:
			slog.Info("already mounted", "target", m.Target, "type", m.FSType)
		case err == nil:
			slog.Info("mounted", "target", m.Target, "type", m.FSType)
		case m.Optional:
			slog.Warn("optional mount failed", "target", m.Target, "type", m.FSType, "err", err)
		default:
			return fmt.Errorf("pid1: mount %s on %s: %w", m.FSType, m.Target, err)
		}
	}
	return nil
}

func mountOne(m Mount, target string) (already bool, err error) {
	if already, err := isMountOf(target, m.FSType); err != nil || already {
		return already, err
	}
	if err := os.Mkdir(target, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return false, err
	}
	err = unix.Mount(m.Source, target, m.FSType, m.Flags, m.Data)
	if errors.Is(err, unix.EINVAL) && m.Data != "" && m.FSType == "proc" {
		// hidepid needs Linux 5.8 for per-mount options; without it, a
		// plain proc is still right for a single-process system.
		err = unix.Mount(m.Source, target, m.FSType, m.Flags, "")
	}
	return false, err
}

// isMountOf reports whether path is the root of a mount of fstype.
func isMountOf(path, fstype string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(path), &parent); err != nil {
		return false, err
	}
	if st.Dev == parent.Dev {
		return false, nil
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return false, err
	}
	return fsMagic[fstype] != 0 && int64(fs.Type) == fsMagic[fstype], nil
}

var fsMagic = map[string]int64{
	"proc":     unix.PROC_SUPER_MAGIC,
	"sysfs":    unix.SYSFS_MAGIC,
	"devtmpfs": unix.TMPFS_MAGIC,
	"tmpfs":    unix.TMPFS_MAGIC,
	"configfs": 0x62656570, // CONFIGFS_MAGIC
}
