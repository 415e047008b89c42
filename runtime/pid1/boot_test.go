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
	if err := asPID1WithVeth("bootv", "bootp"); err != nil {
		return err
	}
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

func TestPowerButtonFirst(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, nil},
		{[]string{"virtio_net", "virtio_blk", "button", "tsm"}, []string{"button", "virtio_net", "virtio_blk", "tsm"}},
		{[]string{"virtio_net", "tiny-power-button"}, []string{"tiny-power-button", "virtio_net"}},
		{[]string{"button"}, []string{"button"}},
		{[]string{"virtio_net", "buttons"}, []string{"virtio_net", "buttons"}},
	}
	for _, tc := range tests {
		if got := powerButtonFirst(tc.in); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("powerButtonFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A power button press at the start of Boot, before its modules and its
// network (a DHCP that no server answers, which would take
// DefaultDHCPTiming's 30 s), reaches the caller at once, and Boot stops
// promptly: a cloud's "stop" presses the button once.
func TestBootPowerButtonDuringBoot(t *testing.T) {
	if inChild(t.Name()) {
		childDone(bootPressChild())
	}
	out := childOK(t, t.Name(), syscall.CLONE_NEWPID|syscall.CLONE_NEWNS|syscall.CLONE_NEWNET)
	t.Log(out)
}

func bootPressChild() error {
	if err := asPID1WithVeth("pressv", "pressp"); err != nil {
		return err
	}
	const fam = 0x1a
	pressed := false
	openACPI = func() (acpiSource, error) {
		return acpiSource{
			recv: func(b []byte) (int, error) {
				if !pressed {
					pressed = true
					return copy(b, acpiEventMsg(fam, "button/power", "LNXPWRBN:00", 0x80, 1)), nil
				}
				time.Sleep(10 * time.Millisecond)
				return 0, unix.EAGAIN
			},
			family:  fam,
			closeFn: func() {},
		}, nil
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	t0 := time.Now()
	_, err := Boot(ctx, BootOptions{Cmdline: "console=ttyS0 pith.net=dhcp,pressv pith.attest=dev", PowerButton: func() { cancel(ErrPowerButton) }})
	took := time.Since(t0)
	if err == nil {
		return errors.New("Boot leased an address with no DHCP server")
	}
	if !errors.Is(context.Cause(ctx), ErrPowerButton) {
		return fmt.Errorf("Boot ended with %v, the context with %v: the press was not seen", err, context.Cause(ctx))
	}
	if took > 5*time.Second {
		return fmt.Errorf("Boot took %s after a press at its start", took)
	}
	fmt.Printf("Boot stopped %s after the press: %v\n", took.Round(time.Millisecond), err)
	return nil
}

// asPID1WithVeth checks that the child is PID 1 of a namespace of its own
// and makes a veth pair there.
func asPID1WithVeth(name, peer string) error {
	self, _ := os.Readlink("/proc/self/ns/pid")
	host, _ := os.Readlink("/proc/1/ns/pid")
	if os.Getpid() != 1 || self == host {
		return errors.New("not PID 1 of a separate PID namespace")
	}
	c, err := openRtnl()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.request(func(seq uint32) []byte { return vethMsg(seq, name, peer) })
}
