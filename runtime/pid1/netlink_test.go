package pid1

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The encoders produce exactly the bytes the kernel's structures lay out
// (checked field by field against <linux/rtnetlink.h> offsets), and the
// parsers read them back.
func TestNetlinkEncoding(t *testing.T) {
	m := addrMsg(7, 3, netip.MustParsePrefix("10.0.2.15/24"))
	want := []byte{
		40, 0, 0, 0, // length: 16 header + 8 ifaddrmsg + 2 * 8 attributes
		unix.RTM_NEWADDR, 0,
		byte(unix.NLM_F_REQUEST | unix.NLM_F_ACK), byte((unix.NLM_F_CREATE | unix.NLM_F_REPLACE) >> 8),
		7, 0, 0, 0, // seq
		0, 0, 0, 0, // pid
		unix.AF_INET, 24, 0, unix.RT_SCOPE_UNIVERSE, 3, 0, 0, 0, // ifaddrmsg
		8, 0, unix.IFA_LOCAL, 0, 10, 0, 2, 15,
		8, 0, unix.IFA_ADDRESS, 0, 10, 0, 2, 15,
	}
	if !bytes.Equal(m, want) {
		t.Fatalf("addrMsg\n% x\nwant\n% x", m, want)
	}
	msgs, err := parseMsgs(m)
	if err != nil || len(msgs) != 1 || msgs[0].Seq != 7 || msgs[0].Type != unix.RTM_NEWADDR {
		t.Fatalf("parseMsgs: %+v %v", msgs, err)
	}
	a, err := parseAddr(msgs[0].Data)
	if err != nil || a.Index != 3 || a.Prefix != netip.MustParsePrefix("10.0.2.15/24") {
		t.Fatalf("parseAddr: %+v %v", a, err)
	}

	r := defaultRouteMsg(9, 2, netip.MustParseAddr("fd00::1"))
	msgs, err = parseMsgs(r)
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	rt, err := parseRoute(msgs[0].Data)
	if err != nil || rt.Gateway != netip.MustParseAddr("fd00::1") || rt.OIF != 2 || rt.Table != unix.RT_TABLE_MAIN || rt.Dst.IsValid() {
		t.Fatalf("parseRoute: %+v %v", rt, err)
	}
	if msgs[0].Data[0] != unix.AF_INET6 || msgs[0].Data[7] != unix.RTN_UNICAST {
		t.Fatalf("rtmsg % x", msgs[0].Data[:12])
	}

	up := linkUpMsg(1, 5)
	if len(up) != 32 || ne.Uint32(up[16+4:]) != 5 || ne.Uint32(up[16+8:]) != unix.IFF_UP || ne.Uint32(up[16+12:]) != unix.IFF_UP {
		t.Fatalf("linkUpMsg % x", up)
	}

	// An error answer: errno negated, then the request's header.
	e := encodeMsg(unix.NLMSG_ERROR, 0, 1, append(ne.AppendUint32(nil, uint32(0x100000000-uint64(unix.EEXIST))), up[:16]...))
	msgs, _ = parseMsgs(e)
	if err := nlErr(msgs[0].Data); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("nlErr: %v", err)
	}
	for _, bad := range [][]byte{{1, 2, 3}, {8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, err := parseMsgs(bad); err == nil {
			t.Errorf("parseMsgs accepted % x", bad)
		}
	}
}

// Whatever the kernel (or anything else) sends, parsing fails cleanly or
// succeeds; it never panics.
func FuzzParseNetlink(f *testing.F) {
	f.Add(addrMsg(1, 2, netip.MustParsePrefix("192.168.1.2/24")))
	f.Add(defaultRouteMsg(1, 2, netip.MustParseAddr("fd00::1")))
	f.Add(append(linkUpMsg(3, 4), dumpMsg(5, unix.RTM_GETLINK, 0)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := parseMsgs(b)
		if err != nil {
			return
		}
		for _, m := range msgs {
			parseLink(m.Data)
			parseAddr(m.Data)
			parseRoute(m.Data)
			nlErr(m.Data)
			parseAttrs(m.Data)
		}
	})
}

// vethMsg creates a veth pair (test only: the image has real NICs).
func vethMsg(seq uint32, name, peer string) []byte {
	peerInfo := attr(ifinfomsg(0, 0, 0), unix.IFLA_IFNAME, append([]byte(peer), 0))
	data := attr(nil, 1 /* VETH_INFO_PEER */, peerInfo)
	linkinfo := attr(nil, unix.IFLA_INFO_KIND, []byte("veth"))
	linkinfo = attr(linkinfo, unix.IFLA_INFO_DATA|unix.NLA_F_NESTED, data)
	body := attr(ifinfomsg(0, 0, 0), unix.IFLA_IFNAME, append([]byte(name), 0))
	body = attr(body, unix.IFLA_LINKINFO|unix.NLA_F_NESTED, linkinfo)
	return encodeMsg(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, seq, body)
}

// vethPairs creates veth pairs, brings the links named in up up, and
// returns the index of every link by name.
func vethPairs(c *rtnl, up []string, pairs ...[2]string) (map[string]int32, error) {
	for _, p := range pairs {
		if err := c.request(func(seq uint32) []byte { return vethMsg(seq, p[0], p[1]) }); err != nil {
			return nil, fmt.Errorf("create veth (kernel without veth?): %w", err)
		}
	}
	links, err := c.links()
	if err != nil {
		return nil, err
	}
	idx := map[string]int32{}
	for _, l := range links {
		idx[l.Name] = l.Index
	}
	for _, n := range up {
		if err := c.request(func(seq uint32) []byte { return linkUpMsg(seq, idx[n]) }); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// In a fresh network namespace: NetUp brings loopback up (with the
// kernel's 127.0.0.1/8), picks the first Ethernet link, brings it up, gives
// it the address and the default route, for IPv4 and (on a named link)
// IPv6; the kernel's own dumps confirm each.
func TestNetUpInNamespace(t *testing.T) {
	inNetNS(t, netUpChild)
}

// vethUp makes the veth pair pitha, pithb, both up (the peer up too, so
// that the link has carrier), and returns the index of every link.
func vethUp() (map[string]int32, error) {
	c, err := openRtnl()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return vethPairs(c, []string{"pitha", "pithb"}, [2]string{"pitha", "pithb"})
}

func netUpChild() error {
	idx, err := vethUp()
	if err != nil {
		return err
	}
	first := min(idx["pitha"], idx["pithb"])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v4 := &NetConfig{Addr: netip.MustParsePrefix("10.77.0.2/24"), Gateway: netip.MustParseAddr("10.77.0.1")}
	if err := NetUp(ctx, v4); err != nil {
		return err
	}
	v6 := &NetConfig{Addr: netip.MustParsePrefix("fd77::2/64"), Gateway: netip.MustParseAddr("fd77::1"), Iface: "pithb"}
	if err := NetUp(ctx, v6); err != nil {
		return err
	}
	if err := NetUp(ctx, v4); err != nil {
		return fmt.Errorf("NetUp is not repeatable: %w", err)
	}

	links, err := Links()
	if err != nil {
		return err
	}
	for _, l := range links {
		if l.Flags&unix.IFF_UP == 0 {
			return fmt.Errorf("link %s is not up", l.Name)
		}
	}
	addrs, err := Addrs()
	if err != nil {
		return err
	}
	want := map[Addr]bool{
		{Index: idx["lo"], Prefix: netip.MustParsePrefix("127.0.0.1/8")}: false,
		{Index: first, Prefix: v4.Addr}:                                  false,
		{Index: idx["pithb"], Prefix: v6.Addr}:                           false,
	}
	for _, a := range addrs {
		if _, ok := want[a]; ok {
			want[a] = true
		}
	}
	for a, seen := range want {
		if !seen {
			return fmt.Errorf("address %s on link %d missing; have %+v", a.Prefix, a.Index, addrs)
		}
	}
	routes, err := Routes()
	if err != nil {
		return err
	}
	found := map[netip.Addr]int32{}
	for _, r := range routes {
		if !r.Dst.IsValid() && r.Gateway.IsValid() && r.Table == unix.RT_TABLE_MAIN {
			found[r.Gateway] = r.OIF
		}
	}
	if found[v4.Gateway] != first || found[v6.Gateway] != idx["pithb"] {
		return fmt.Errorf("default routes %v, want %s on %d and %s on %d", found, v4.Gateway, first, v6.Gateway, idx["pithb"])
	}
	// A link that never appears: NetUp gives up when ctx ends.
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	err = NetUp(short, &NetConfig{Addr: v4.Addr, Iface: "absent0"})
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("missing link: %v, want the deadline", err)
	}
	return nil
}

// A configured link that never appears ends NetUp with an error after
// linkWait even when ctx never ends, as Boot's does not without a
// shutdown signal: PID 1 must power off with a reason, not wait forever.
func TestNetUpGivesUpOnMissingLink(t *testing.T) {
	inNetNS(t, func() error {
		linkWait = 300 * time.Millisecond
		done := make(chan error, 1)
		go func() {
			done <- NetUp(context.Background(), &NetConfig{Addr: netip.MustParsePrefix("10.77.0.2/24"), Iface: "absent0"})
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "no link absent0 within 300ms") {
				return fmt.Errorf("missing link: %v, want the bounded wait's error", err)
			}
			return nil
		case <-time.After(5 * time.Second):
			return errors.New("NetUp still waiting for a link that is not there after 5s")
		}
	})
}

// A gateway outside the address's subnet, as Google Compute Engine's /32
// leases have, is reached through a host route on the link; the kernel
// refuses the default route without one. An IPv6 link-local gateway
// needs none.
func TestNetUpOffLinkGateway(t *testing.T) {
	inNetNS(t, func() error {
		idx, err := vethUp()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		v4 := &NetConfig{Addr: netip.MustParsePrefix("10.128.0.5/32"), Gateway: netip.MustParseAddr("10.128.0.1"), Iface: "pitha"}
		if err := NetUp(ctx, v4); err != nil {
			return err
		}
		v6 := &NetConfig{Addr: netip.MustParsePrefix("fd77::2/64"), Gateway: netip.MustParseAddr("fe80::1"), Iface: "pithb"}
		if err := NetUp(ctx, v6); err != nil {
			return err
		}
		routes, err := Routes()
		if err != nil {
			return err
		}
		var def4, host4, host6 bool
		for _, r := range routes {
			switch {
			case !r.Dst.IsValid() && r.Gateway == v4.Gateway && r.OIF == idx["pitha"]:
				def4 = true
			case r.Dst == netip.PrefixFrom(v4.Gateway, 32) && !r.Gateway.IsValid() && r.OIF == idx["pitha"]:
				host4 = true
			case r.Dst == netip.PrefixFrom(v6.Gateway, 128):
				host6 = true
			}
		}
		if !def4 || !host4 || host6 {
			return fmt.Errorf("routes %+v: default via %s %v, host route to it %v, host route to %s %v", routes, v4.Gateway, def4, host4, v6.Gateway, host6)
		}
		return nil
	})
}

// A static IPv6 address can be bound to as soon as NetUp returns: it
// skips duplicate address detection, during which it would be tentative
// and a pith.listen naming it would fail to bind.
func TestNetUpIPv6AddressUsableAtOnce(t *testing.T) {
	inNetNS(t, func() error {
		if _, err := vethUp(); err != nil {
			return err
		}
		if err := NetUp(context.Background(), &NetConfig{Addr: netip.MustParsePrefix("fd77::2/64"), Iface: "pitha"}); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "[fd77::2]:8443")
		if err != nil {
			return fmt.Errorf("listen right after NetUp: %w", err)
		}
		return ln.Close()
	})
}
