package pid1

import (
	"context"
	"errors"
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
// the default route through the gateway, given or leased by DHCP (n.DHCP).
// It waits up to linkWait (or until ctx is done) for the link to appear,
// since a network driver may still be probing. It does not renew a lease;
// Boot does.
func NetUp(ctx context.Context, n *NetConfig) error {
	return netUp(ctx, n, nil)
}

// ErrLeaseLost is wrapped by the error BootOptions.LeaseLost is given:
// the DHCP lease could not be renewed, or the server refused it, so the
// address is no longer the machine's.
var ErrLeaseLost = errors.New("DHCP lease lost")

// netUp is NetUp, and with lost not nil it keeps a DHCP lease renewed
// until ctx ends, calling lost if it cannot.
func netUp(ctx context.Context, n *NetConfig, lost func(error)) error {
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
	match := isEthernet
	what := "an Ethernet link"
	if n.Iface != "" {
		match = func(l Link) bool { return l.Name == n.Iface }
		what = "link " + n.Iface
	}
	// Boot's ctx ends only on a shutdown signal, and a NIC the host did
	// not attach, or a pith.net naming a link the image has no driver
	// for, must end in an error that powers off, not a machine that
	// waits forever with nothing on the console.
	wctx, cancel := context.WithTimeoutCause(ctx, linkWait, fmt.Errorf("no %s within %s", what, linkWait))
	link, err := waitLink(wctx, c, match, what)
	cancel()
	if err != nil {
		return err
	}
	if err := c.request(func(seq uint32) []byte { return linkUpMsg(seq, link.Index) }); err != nil {
		return fmt.Errorf("netlink: %s up: %w", link.Name, err)
	}
	if n.DHCP {
		lease, err := leaseOn(ctx, c, link, dhcpTiming)
		if err != nil {
			return fmt.Errorf("%s: %w", link.Name, err)
		}
		n = &NetConfig{Addr: lease.Addr, Gateway: lease.Gateway, Iface: link.Name, DHCP: true}
		// The network's MTU, when the server gives one: Google Compute
		// Engine's is 1460, and frames of a 1500-byte MTU are dropped
		// there, so that larger responses stall. A link that cannot take
		// it (a larger MTU than the device's) keeps its own, which is
		// what it had before anyway.
		if lease.MTU > 0 && lease.MTU != link.MTU {
			if err := c.request(func(seq uint32) []byte { return linkMTUMsg(seq, link.Index, lease.MTU) }); err != nil {
				slog.Warn("DHCP names an MTU the link does not take", "link", link.Name, "mtu", lease.MTU, "kept", link.MTU, "err", err)
			} else {
				slog.Info("link MTU from DHCP", "link", link.Name, "mtu", lease.MTU)
			}
		}
		if lost != nil {
			acquired := time.Now()
			defer func() {
				// Once the address is on the link (a failure below ends
				// the boot anyway).
				open := func() (dhcpTransport, error) { return openPacketConn(int(link.Index)) }
				go keepLease(ctx, open, link.HWAddr, lease, acquired, func(err error) {
					lost(fmt.Errorf("%s: %w: %w", link.Name, ErrLeaseLost, err))
				})
			}()
		}
	}
	if err := c.request(func(seq uint32) []byte { return addrMsg(seq, link.Index, n.Addr) }); err != nil {
		return fmt.Errorf("netlink: %s address %s: %w", link.Name, n.Addr, err)
	}
	if n.Gateway.IsValid() {
		if offLink(n.Addr, n.Gateway) {
			if err := c.request(func(seq uint32) []byte { return hostRouteMsg(seq, link.Index, n.Gateway) }); err != nil {
				return fmt.Errorf("netlink: route to gateway %s on %s: %w", n.Gateway, link.Name, err)
			}
		}
		if err := c.request(func(seq uint32) []byte { return defaultRouteMsg(seq, link.Index, n.Gateway) }); err != nil {
			return fmt.Errorf("netlink: default route via %s on %s: %w", n.Gateway, link.Name, err)
		}
	}
	slog.Info("network up", "link", link.Name, "address", n.Addr.String(), "gateway", gatewayString(n.Gateway), "dhcp", n.DHCP)
	return nil
}

// linkWait bounds the wait for the configured link to appear: drivers
// probe within a second or two of loading, so this is generous; tests
// shorten it.
var linkWait = 30 * time.Second

// offLink reports whether gw lies outside addr's subnet, so that the
// kernel would refuse a default route through it ("network is
// unreachable") until a host route puts it on the link. Clouds do this:
// Google Compute Engine leases a /32 with a router outside it (and says
// so in RFC 3442 classless routes, a host route to the router and a
// default route through it, which is what netUp installs). An IPv6
// link-local gateway is on the link by definition.
func offLink(addr netip.Prefix, gw netip.Addr) bool {
	return !addr.Masked().Contains(gw) && !gw.IsLinkLocalUnicast()
}

// dhcpTiming is DefaultDHCPTiming; tests shorten it.
var dhcpTiming = DefaultDHCPTiming

// carrierWait bounds the wait for a link's carrier before the first
// DHCP message: a message sent without one is lost, and a retransmission
// would then cost a second.
const carrierWait = 3 * time.Second

// leaseOn leases an address for link by DHCP, once the link has carrier
// (IFF_RUNNING) or carrierWait has passed.
func leaseOn(ctx context.Context, c *rtnl, link Link, tm DHCPTiming) (Lease, error) {
	wctx, cancel := context.WithTimeout(ctx, carrierWait)
	_, err := waitLink(wctx, c, func(l Link) bool { return l.Index == link.Index && l.Flags&unix.IFF_RUNNING != 0 }, "carrier on "+link.Name)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return Lease{}, err
		}
		slog.Warn("no carrier yet, asking DHCP anyway", "link", link.Name)
	}
	t := time.Now()
	lease, err := dhcpOnLink(ctx, int(link.Index), link.HWAddr, tm)
	if err != nil {
		return Lease{}, err
	}
	lt := "infinite"
	if lease.Duration >= 0 {
		lt = lease.Duration.String()
	}
	slog.Info("DHCP lease", "link", link.Name, "address", lease.Addr.String(), "gateway", gatewayString(lease.Gateway),
		"server", lease.Server.String(), "lease", lt, "dns", addrsString(lease.DNS), "took", time.Since(t).Round(time.Millisecond))
	return lease, nil
}

func isEthernet(l Link) bool { return l.Flags&unix.IFF_LOOPBACK == 0 && l.Type == unix.ARPHRD_ETHER }

// autoLinkWait is how long AutoNet waits for an Ethernet link to appear
// when the command line names no network: the modules are loaded by
// then, so a NIC that is there has probed or is about to.
var autoLinkWait = 2 * time.Second

// AutoNet is what Boot does without pith.net on the command line: DHCP on
// the first Ethernet link if one appears within autoLinkWait, the
// loopback link only if none does (a VM without a NIC is reachable by
// nobody, but that is not an error of pith-init's). With a NIC, a failed
// lease is an error: the caller powers off.
func AutoNet(ctx context.Context) (*NetConfig, error) {
	c, err := openRtnl()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	wctx, cancel := context.WithTimeout(ctx, autoLinkWait)
	defer cancel()
	link, err := waitLink(wctx, c, isEthernet, "an Ethernet link")
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		slog.Info("no pith.net and no Ethernet link: loopback only")
		return nil, nil
	}
	slog.Info("no pith.net: DHCP on the first Ethernet link", "link", link.Name)
	return &NetConfig{DHCP: true, Iface: link.Name}, nil
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
