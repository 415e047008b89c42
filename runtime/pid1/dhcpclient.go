package pid1

import (
	"bytes"
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
	why   string // the last send error or reason an answer was refused
	// timedOut is the cause of the exchange's own deadline, so that the
	// error tells it from the caller's context ending (a shutdown).
	timedOut error
}

// errNak restarts the exchange from DISCOVER.
var errNak = errors.New("the server refused the request (NAK)")

// dhcpLease leases an address: DISCOVER until an acceptable OFFER, then
// REQUEST it until the offering server's ACK (RFC 2131 3.1). A NAK starts
// over. It gives up with an error after tm.Total or when ctx ends, never
// waiting longer.
func dhcpLease(ctx context.Context, tr dhcpTransport, mac net.HardwareAddr, tm DHCPTiming) (Lease, error) {
	c := &dhcpClient{tr: tr, mac: mac, tm: tm, start: time.Now(), timedOut: fmt.Errorf("no lease within %s", tm.Total)}
	ctx, cancel := context.WithTimeoutCause(ctx, tm.Total, c.timedOut)
	defer cancel()
	for {
		xid := rand.Uint32()
		var offer Lease
		err := c.transact(ctx, xid, func(secs uint16) []byte {
			return encodeDHCP(dhcpDiscover, xid, secs, mac, netip.Addr{}, clientOpts...)
		}, answer(dhcpOffer, &offer, nil, nil))
		if err != nil {
			return Lease{}, c.fail(err)
		}
		var ack Lease
		err = c.transact(ctx, xid, func(secs uint16) []byte {
			opts := append([]dhcpOpt{
				{optRequestedIP, offer.Addr.Addr().AsSlice()},
				{optServerID, offer.Server.AsSlice()},
			}, clientOpts...)
			return encodeDHCP(dhcpRequest, xid, secs, mac, netip.Addr{}, opts...)
		}, answer(dhcpAck, &ack, func(m *dhcpMsg) bool {
			// Answers of other servers (which saw the broadcast REQUEST
			// and learnt they were not chosen) are not for us.
			id, _ := ip4(m.Opts[optServerID])
			return id == offer.Server
		}, func(l Lease) error {
			if l.Addr.Addr() != offer.Addr.Addr() {
				return fmt.Errorf("dhcp: ACK for %s after an OFFER of %s", l.Addr.Addr(), offer.Addr.Addr())
			}
			return nil
		}))
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

// answer makes transact's accept for an exchange that wants a message of
// type want (an OFFER or an ACK): from, when given, picks the messages
// that concern it at all; a NAK fails an exchange that wants an ACK; the
// lease must pass leaseFrom and check (when given), and goes to l.
func answer(want uint8, l *Lease, from func(*dhcpMsg) bool, check func(Lease) error) func(*dhcpMsg) (bool, error) {
	return func(m *dhcpMsg) (bool, error) {
		if from != nil && !from(m) {
			return false, nil
		}
		switch t := m.Type(); {
		case want == dhcpAck && t == dhcpNak:
			return false, errNak
		case t != want:
			return false, nil
		}
		got, err := leaseFrom(m)
		if err == nil && check != nil {
			err = check(got)
		}
		if err != nil {
			return false, err
		}
		*l = got
		return true, nil
	}
}

// fail words the error of a failed lease so that the console says what
// was tried and what came back.
func (c *dhcpClient) fail(err error) error {
	what := fmt.Sprintf("%d messages sent in %s, %d answers", c.sent, time.Since(c.start).Round(time.Millisecond), c.heard)
	// Only silence until the deadline suggests a network without a
	// server; an exchange cut short by a shutdown says nothing of it.
	if c.sent > 0 && c.heard == 0 && errors.Is(err, c.timedOut) {
		what += " (is there a DHCP server on this network?)"
	}
	if c.why != "" {
		what += ", last problem: " + c.why
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
		// A failed send (no buffer space, the link going down for a
		// moment) is retried like a lost message; the deadline decides,
		// and the error says what failed.
		if err := c.tr.send(build(secs)); err != nil {
			c.why = err.Error()
		} else {
			c.sent++
		}
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
			if m.Xid != xid || !bytes.Equal(m.Chaddr, c.mac) {
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

// dhcpOnLink leases an address on the link with index ifindex and
// hardware address mac, which must be up.
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

// Renewal (RFC 2131 4.4.5): at T1 (option 58, or half the lease) the
// client asks for more time with a REQUEST that carries its address in
// ciaddr and neither a requested address nor a server identifier. It is
// broadcast, which is the REBINDING form and reaches the first server as
// well as any other; the answer comes to the address. Without an answer
// the client keeps asking, less and less often, until the lease ends:
// then, or on a NAK, the address is no longer the machine's, and lost is
// told, which for pith-init means stopping (a server that serves on an
// address someone else now has is reachable by no one it should be).

// errLeaseEnded is the cause of a renewal that ran out of lease.
var errLeaseEnded = errors.New("the lease ended without a renewal")

// keepLease renews l until ctx ends; acquired is when l was granted. On
// losing the address it calls lost once and returns. open makes the
// transport for each renewal (a packet socket on the link).
func keepLease(ctx context.Context, open func() (dhcpTransport, error), mac net.HardwareAddr, l Lease, acquired time.Time, lost func(error)) {
	for {
		if l.Duration <= 0 {
			// Infinite, or no lease time given: nothing to renew.
			return
		}
		t1 := l.Renew
		if t1 == 0 {
			t1 = l.Duration / 2
		}
		expiry := acquired.Add(l.Duration)
		wait := time.NewTimer(time.Until(acquired.Add(t1)))
		select {
		case <-ctx.Done():
			wait.Stop()
			return
		case <-wait.C:
		}
		sent := time.Now()
		nl, err := renewOnce(ctx, open, mac, l, expiry)
		if ctx.Err() != nil {
			return
		}
		if err == nil && nl.Addr != l.Addr {
			err = fmt.Errorf("dhcp: renewal gave %s for %s", nl.Addr, l.Addr)
		}
		if err != nil {
			lost(fmt.Errorf("address %s lost: %w", l.Addr, err))
			return
		}
		if nl.Gateway != l.Gateway {
			// The route stays as it was: changing it under open
			// connections is worse than a stale gateway the host still
			// answers on.
			slog.Warn("DHCP renewal names another router, route unchanged", "router", gatewayString(nl.Gateway), "route", gatewayString(l.Gateway))
			nl.Gateway = l.Gateway
		}
		slog.Info("DHCP lease renewed", "address", nl.Addr.String(), "server", nl.Server.String(), "lease", nl.Duration.String())
		// The new lease counts from the request, the safe side.
		l, acquired = nl, sent
	}
}

// renewOnce asks for the lease to be extended until expiry, retransmitting
// after a quarter of the time left (at least a second, at most a minute).
// A transport that cannot be opened (no buffer space, the descriptor
// limit reached by many connections) is tried again on the same
// schedule: only the lease's end, a NAK or another address loses it.
func renewOnce(ctx context.Context, open func() (dhcpTransport, error), mac net.HardwareAddr, l Lease, expiry time.Time) (Lease, error) {
	left := time.Until(expiry)
	if left <= 0 {
		return Lease{}, errLeaseEnded
	}
	retry := min(max(left/4, renewMinRetry), time.Minute)
	ctx, cancel := context.WithDeadlineCause(ctx, expiry, errLeaseEnded)
	defer cancel()
	tr, err := open()
	for err != nil {
		slog.Warn("DHCP renewal: cannot open the link's socket, trying again", "err", err, "in", retry.String())
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return Lease{}, fmt.Errorf("dhcp: %w (the link's socket: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
		tr, err = open()
	}
	if c, ok := tr.(interface{ Close() error }); ok {
		defer c.Close()
	}
	c := &dhcpClient{tr: tr, mac: mac, start: time.Now(), timedOut: errLeaseEnded,
		tm: DHCPTiming{First: retry, Max: time.Minute, Total: left}}
	xid := rand.Uint32()
	var got Lease
	err = c.transact(ctx, xid, func(secs uint16) []byte {
		return encodeDHCP(dhcpRequest, xid, secs, mac, l.Addr.Addr(), clientOpts...)
	}, answer(dhcpAck, &got, nil, nil))
	if err != nil {
		return Lease{}, c.fail(err)
	}
	return got, nil
}

// renewMinRetry is the shortest wait between renewal requests; tests of
// short leases lower it.
var renewMinRetry = time.Second
