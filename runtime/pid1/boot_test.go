package pid1

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestBootRefusesOutsidePID1(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("running as PID 1")
	}
	if _, err := Boot(context.Background(), BootOptions{}); !errors.Is(err, ErrNotPID1) {
		t.Fatalf("Boot outside PID 1: %v", err)
	}
}

// Boot as PID 1 of fresh PID, mount and network namespaces: the mounts
// appear on the namespace's own /, the command line's network comes up.
func TestBootAsPID1(t *testing.T) {
	if inChild(t.Name()) {
		childDone(bootChild())
	}
	out := childOK(t, t.Name(), syscall.CLONE_NEWPID|syscall.CLONE_NEWNS|syscall.CLONE_NEWNET)
	t.Log(out)
}

func bootChild() error {
	self, _ := os.Readlink("/proc/self/ns/pid")
	host, _ := os.Readlink("/proc/1/ns/pid")
	if os.Getpid() != 1 || self == host {
		return errors.New("not PID 1 of a separate PID namespace")
	}
	c, err := openRtnl()
	if err != nil {
		return err
	}
	if err := c.request(func(seq uint32) []byte { return vethMsg(seq, "bootv", "bootp") }); err != nil {
		return err
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := Boot(ctx, BootOptions{Cmdline: "console=ttyS0 pith.net=10.88.0.2/24,,bootv pith.attest=dev"})
	if err != nil {
		return err
	}
	if cfg.Attest != "dev" || cfg.Net == nil || cfg.Net.Iface != "bootv" {
		return fmt.Errorf("config %+v", cfg)
	}
	// The fresh /proc is this namespace's: PID 1 is this process.
	if b, err := os.ReadFile("/proc/1/comm"); err != nil || len(b) == 0 {
		return fmt.Errorf("/proc not mounted: %v", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/tmp", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("/tmp is not a tmpfs: %v", err)
	}
	addrs, err := Addrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.Prefix == netip.MustParsePrefix("10.88.0.2/24") {
			return nil
		}
	}
	return fmt.Errorf("address missing: %+v", addrs)
}
