package pid1

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"
)

// dhcpTransport carries DHCP messages on one link. send broadcasts a
// client message; recv returns the next UDP payload sent to the client
// port, or an error at the deadline or when ctx ends.
type dhcpTransport interface {
	send(msg []byte) error
	recv(ctx context.Context, deadline time.Time) ([]byte, error)
}

// errRecvDeadline is what a transport's recv returns at its deadline.
var errRecvDeadline = errors.New("dhcp: receive deadline")

// DHCPTiming is the client's retransmission schedule: the first wait for
// an answer, doubled after each unanswered message up to Max, each
// randomised by ±25% (RFC 2131 4.1 asks for randomisation, so that many
// clients booted at once do not send in step), and the Total after which
// the client gives up with an error. RFC 2131 suggests 4 s first; a VM's
// DHCP server is on the host and answers at once, so the first retry
// comes sooner.
type DHCPTiming struct {
	First, Max, Total time.Duration
}

// DefaultDHCPTiming gives up after 30 s: a boot without a DHCP server is
// a fatal error soon enough to be seen, and long enough for six tries.
var DefaultDHCPTiming = DHCPTiming{First: time.Second, Max: 8 * time.Second, Total: 30 * time.Second}

// dhcpClient runs one lease exchange on a link.
type dhcpClient struct {
	tr    dhcpTransport
	mac   net.HardwareAddr
	tm    DHCPTiming
	start time.Time
	sent  int    // messages sent, for the error
	heard int    // answers for this client, for the error
	why   string // the last reason an answer was refused
}

// errNak restarts the exchange from DISCOVER.
var errNak = errors.New("dhcp: server refused the request (NAK)")

// dhcpLease leases an address: DISCOVER until an acceptable OFFER, then
// REQUEST it until the offering server's ACK (RFC 2131 3.1). A NAK starts
// over. It gives up with an error after tm.Total or when ctx ends, never
// waiting longer.
func dhcpLease(ctx context.Context, tr dhcpTransport, mac net.HardwareAddr, tm DHCPTiming) (Lease, error) {
	c := &dhcpClient{tr: tr, mac: mac, tm: tm, start: time.Now()}
	ctx, cancel := context.WithTimeoutCause(ctx, tm.Total, fmt.Errorf("no lease within %s", tm.Total))
	defer cancel()
	for {
		xid := rand.Uint32()
		var offer Lease
		err := c.transact(ctx, xid, func(secs uint16) []byte {
			return encodeDHCP(dhcpDiscover, xid, secs, mac, clientOpts...)
		}, func(m *dhcpMsg) (bool, error) {
			if m.Type() != dhcpOffer {
				return false, nil
			}
			l, err := leaseFrom(m)
			if err != nil {
				return false, err
			}
			offer = l
			return true, nil
		})
		if err != nil {
			return Lease{}, c.fail(err)
		}
		var ack Lease
		err = c.transact(ctx, xid, func(secs uint16) []byte {
			opts := append([]dhcpOpt{
				{optRequestedIP, offer.Addr.Addr().AsSlice()},
				{optServerID, offer.Server.AsSlice()},
			}, clientOpts...)
			return encodeDHCP(dhcpRequest, xid, secs, mac, opts...)
		}, func(m *dhcpMsg) (bool, error) {
			// Answers of other servers (which saw the broadcast REQUEST
			// and learnt they were not chosen) are not for us.
			if id, _ := ip4(m.Opts[optServerID]); id != offer.Server {
				return false, nil
			}
			switch m.Type() {
			case dhcpNak:
				return false, errNak
			case dhcpAck:
			default:
				return false, nil
			}
			l, err := leaseFrom(m)
			if err != nil {
				return false, err
			}
			if l.Addr.Addr() != offer.Addr.Addr() {
				return false, fmt.Errorf("dhcp: ACK for %s after an OFFER of %s", l.Addr.Addr(), offer.Addr.Addr())
			}
			ack = l
			return true, nil
		})
		if errors.Is(err, errNak) {
			slog.Warn("DHCP request refused, starting over", "server", offer.Server.String())
			continue
		}
		if err != nil {
			return Lease{}, c.fail(err)
		}
		return ack, nil
	}
}

// fail words the error of a failed lease so that the console says what
// was tried and what came back.
func (c *dhcpClient) fail(err error) error {
	what := fmt.Sprintf("%d messages sent in %s, %d answers", c.sent, time.Since(c.start).Round(time.Millisecond), c.heard)
	if c.heard == 0 {
		what += " (is there a DHCP server on this network?)"
	}
	if c.why != "" {
		what += ", last refused because " + c.why
	}
	return fmt.Errorf("dhcp: %w: %s", err, what)
}

// transact sends what build makes, with retransmissions, until accept
// takes an answer (true) or fails the exchange (errNak). Answers that are
// not for this client (another xid or hardware address) are dropped
// silently; an answer accept refuses with another error is dropped and
// remembered for the final error, since a later server may do better.
func (c *dhcpClient) transact(ctx context.Context, xid uint32, build func(secs uint16) []byte, accept func(*dhcpMsg) (bool, error)) error {
	wait := c.tm.First
	for {
		secs := uint16(min(time.Since(c.start)/time.Second, 0xffff))
		if err := c.tr.send(build(secs)); err != nil {
			return err
		}
		c.sent++
		jitter := time.Duration(rand.Int64N(int64(wait)/2+1)) - wait/4
		deadline := time.Now().Add(wait + jitter)
		for {
			b, err := c.tr.recv(ctx, deadline)
			if errors.Is(err, errRecvDeadline) {
				break
			}
			if err != nil {
				return err
			}
			m, err := parseDHCP(b)
			if err != nil {
				c.why = err.Error()
				continue
			}
			if m.Xid != xid || !bytesEqual(m.Chaddr, c.mac) {
				continue
			}
			c.heard++
			ok, err := accept(m)
			if errors.Is(err, errNak) {
				return err
			}
			if err != nil {
				c.why = err.Error()
				continue
			}
			if ok {
				return nil
			}
		}
		wait = min(2*wait, c.tm.Max)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// DHCP leases an address on the link with hardware address mac and
// index ifindex, which must be up, with the default timing.
func DHCP(ctx context.Context, ifindex int, mac net.HardwareAddr) (Lease, error) {
	return dhcpOnLink(ctx, ifindex, mac, DefaultDHCPTiming)
}

func dhcpOnLink(ctx context.Context, ifindex int, mac net.HardwareAddr, tm DHCPTiming) (Lease, error) {
	if len(mac) != 6 {
		return Lease{}, fmt.Errorf("dhcp: link %d has hardware address %q, want Ethernet", ifindex, mac)
	}
	pc, err := openPacketConn(ifindex)
	if err != nil {
		return Lease{}, err
	}
	defer pc.Close()
	return dhcpLease(ctx, pc, mac, tm)
}

func addrsString(as []netip.Addr) string {
	if len(as) == 0 {
		return "none"
	}
	s := as[0].String()
	for _, a := range as[1:] {
		s += "," + a.String()
	}
	return s
}
