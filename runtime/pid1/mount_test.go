package pid1

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// In a private mount namespace, MountAll mounts every file system under a
// scratch root with the promised flags, skips optional ones the kernel
// lacks, and mounts nothing twice when run again.
func TestMountAllInNamespace(t *testing.T) {
	if !inChild(t.Name()) {
		// The mounts live and die with the child's namespace; the mount
		// points it creates are removed with the temporary directory.
		t.Setenv(mountRootEnv, t.TempDir())
		out := childOK(t, t.Name(), syscall.CLONE_NEWNS)
		t.Log(strings.TrimSpace(out))
		return
	}
	childDone(mountChild(os.Getenv(mountRootEnv)))
}

const mountRootEnv = "PITH_PID1_MOUNT_ROOT"

func mountChild(root string) error {
	if root == "" {
		return fmt.Errorf("no %s", mountRootEnv)
	}
	if err := MountAll(root); err != nil {
		return err
	}
	first, err := mountsUnder(root)
	if err != nil {
		return err
	}
	if err := MountAll(root); err != nil {
		return fmt.Errorf("second MountAll: %w", err)
	}
	second, err := mountsUnder(root)
	if err != nil {
		return err
	}
	if len(second) != len(first) {
		return fmt.Errorf("second MountAll mounted again: %d then %d mounts", len(first), len(second))
	}
	have, _ := os.ReadFile("/proc/filesystems")
	for _, m := range Mounts {
		got, ok := first[m.Target]
		if !ok {
			if m.Optional && !strings.Contains(string(have), "\t"+m.FSType+"\n") {
				fmt.Printf("optional %s not in this kernel: skipped as designed\n", m.FSType)
				continue
			}
			return fmt.Errorf("%s not mounted; have %v", m.Target, first)
		}
		if got.fstype != m.FSType {
			return fmt.Errorf("%s is %s, want %s", m.Target, got.fstype, m.FSType)
		}
		for flag, opt := range map[uintptr]string{syscall.MS_NOSUID: "nosuid", syscall.MS_NODEV: "nodev", syscall.MS_NOEXEC: "noexec"} {
			if m.Flags&flag != 0 && !got.opts[opt] {
				return fmt.Errorf("%s lacks %s: %v", m.Target, opt, got.opts)
			}
		}
	}
	fmt.Printf("mounted: %v\n", keys(first))
	return nil
}

type mountInfo struct {
	fstype string
	opts   map[string]bool
}

// mountsUnder reads /proc/self/mountinfo for mounts below root, keyed by
// the path relative to root ("/proc").
func mountsUnder(root string) (map[string]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]mountInfo{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(s.Text(), " - ")
		fields, postFields := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 6 || len(postFields) < 1 {
			continue
		}
		rel, err := filepath.Rel(root, fields[4])
		if err != nil || strings.HasPrefix(rel, "..") || rel == "." {
			continue
		}
		opts := map[string]bool{}
		for _, o := range strings.Split(fields[5], ",") {
			opts[o] = true
		}
		if _, dup := out["/"+rel]; dup {
			return nil, fmt.Errorf("/%s mounted twice", rel)
		}
		out["/"+rel] = mountInfo{fstype: postFields[0], opts: opts}
	}
	return out, s.Err()
}

func keys(m map[string]mountInfo) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
