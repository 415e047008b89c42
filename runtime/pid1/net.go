package pid1

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// rtnl is a NETLINK_ROUTE socket for one caller at a time.
type rtnl struct {
	fd  int
	seq uint32
	buf []byte
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: bind: %w", err)
	}
	// The kernel answers at once; a receive that waits this long means
	// something is wrong, and PID 1 must not hang on it.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink: SO_RCVTIMEO: %w", err)
	}
	return &rtnl{fd: fd, buf: make([]byte, 64<<10)}, nil
}

func (c *rtnl) Close() error { return unix.Close(c.fd) }

func (c *rtnl) next() uint32 { c.seq++; return c.seq }

// exchange sends msg (whose sequence number is seq) and collects the
// answers to it until the ACK or error (a request) or NLMSG_DONE (a dump).
func (c *rtnl) exchange(seq uint32, msg []byte) ([]nlMsg, error) {
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("netlink: send: %w", err)
	}
	var out []nlMsg
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err != nil {
			return nil, fmt.Errorf("netlink: receive: %w", err)
		}
		msgs, err := parseMsgs(c.buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.Seq != seq {
				continue
			}
			switch m.Type {
			case unix.NLMSG_ERROR:
				return out, nlErr(m.Data)
			case unix.NLMSG_DONE:
				return out, nil
			default:
				m.Data = append([]byte(nil), m.Data...) // c.buf is reused
				out = append(out, m)
			}
		}
	}
}

func (c *rtnl) request(build func(seq uint32) []byte) error {
	seq := c.next()
	_, err := c.exchange(seq, build(seq))
	return err
}

func (c *rtnl) dump(typ uint16, fam uint8) ([]nlMsg, error) {
	seq := c.next()
	return c.exchange(seq, dumpMsg(seq, typ, fam))
}

func (c *rtnl) links() ([]Link, error) {
	msgs, err := c.dump(unix.RTM_GETLINK, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink: list links: %w", err)
	}
	var out []Link
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWLINK {
			continue
		}
		l, err := parseLink(m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Links lists the network interfaces.
func Links() ([]Link, error) {
	c, err := openRtnl()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.links()
}

// Addrs lists the interface addresses of both families.
func Addrs() ([]Addr, error) {
	c, err := openRtnl()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := c.dump(unix.RTM_GETADDR, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink: list addresses: %w", err)
	}
	var out []Addr
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWADDR {
			continue
		}
		a, err := parseAddr(m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Routes lists the routes of both families in every table.
func Routes() ([]Route, error) {
	c, err := openRtnl()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := c.dump(unix.RTM_GETROUTE, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink: list routes: %w", err)
	}
	var out []Route
	for _, m := range msgs {
		if m.Type != unix.RTM_NEWROUTE {
			continue
		}
		r, err := parseRoute(m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// NetUp brings the loopback link up (the kernel gives it 127.0.0.1/8 and
// ::1) and, when n is not nil, the configured link: up, its address, and
// the default route through the gateway. It waits until ctx is done for
// the link to appear, since a network driver may still be probing.
func NetUp(ctx context.Context, n *NetConfig) error {
	c, err := openRtnl()
	if err != nil {
		return err
	}
	defer c.Close()
	lo, err := waitLink(ctx, c, func(l Link) bool { return l.Flags&unix.IFF_LOOPBACK != 0 }, "loopback")
	if err != nil {
		return err
	}
	if err := c.request(func(seq uint32) []byte { return linkUpMsg(seq, lo.Index) }); err != nil {
		return fmt.Errorf("netlink: loopback up: %w", err)
	}
	if n == nil {
		return nil
	}
	match := func(l Link) bool { return l.Flags&unix.IFF_LOOPBACK == 0 && l.Type == unix.ARPHRD_ETHER }
	what := "an Ethernet link"
	if n.Iface != "" {
		match = func(l Link) bool { return l.Name == n.Iface }
		what = "link " + n.Iface
	}
	link, err := waitLink(ctx, c, match, what)
	if err != nil {
		return err
	}
	if err := c.request(func(seq uint32) []byte { return linkUpMsg(seq, link.Index) }); err != nil {
		return fmt.Errorf("netlink: %s up: %w", link.Name, err)
	}
	if err := c.request(func(seq uint32) []byte { return addrMsg(seq, link.Index, n.Addr) }); err != nil {
		return fmt.Errorf("netlink: %s address %s: %w", link.Name, n.Addr, err)
	}
	if n.Gateway.IsValid() {
		if err := c.request(func(seq uint32) []byte { return defaultRouteMsg(seq, link.Index, n.Gateway) }); err != nil {
			return fmt.Errorf("netlink: default route via %s on %s: %w", n.Gateway, link.Name, err)
		}
	}
	slog.Info("network up", "link", link.Name, "address", n.Addr.String(), "gateway", gatewayString(n.Gateway))
	return nil
}

func gatewayString(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}

// waitLink returns the first link (lowest index) match accepts, polling
// until ctx is done.
func waitLink(ctx context.Context, c *rtnl, match func(Link) bool, what string) (Link, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		links, err := c.links()
		if err != nil {
			return Link{}, err
		}
		best := Link{Index: -1}
		for _, l := range links {
			if match(l) && (best.Index < 0 || l.Index < best.Index) {
				best = l
			}
		}
		if best.Index >= 0 {
			return best, nil
		}
		select {
		case <-ctx.Done():
			return Link{}, fmt.Errorf("netlink: waiting for %s: %w", what, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
