package pid1

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// Raw rtnetlink: just the messages pith-init sends (link up, address,
// default route, link dump) and the parsing of the kernel's answers.
// Layouts from <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>,
// <linux/if_addr.h>; all host byte order, which is little-endian on every
// platform pith runs on.

var ne = binary.NativeEndian

// nlMsg is one netlink message: header fields and payload.
type nlMsg struct {
	Type  uint16
	Flags uint16
	Seq   uint32
	Pid   uint32
	Data  []byte
}

func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// encodeMsg makes a netlink message of typ with the body.
func encodeMsg(typ, flags uint16, seq uint32, body []byte) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+nlAlign(len(body)))
	ne.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(body)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], flags)
	ne.PutUint32(b[8:], seq)
	b = append(b, body...)
	return append(b, make([]byte, nlAlign(len(b))-len(b))...)
}

// parseMsgs splits a buffer of netlink messages.
func parseMsgs(b []byte) ([]nlMsg, error) {
	var out []nlMsg
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return nil, fmt.Errorf("netlink: %d trailing bytes, shorter than a header", len(b))
		}
		l := int(ne.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return nil, fmt.Errorf("netlink: message length %d with %d bytes left", l, len(b))
		}
		out = append(out, nlMsg{Type: ne.Uint16(b[4:]), Flags: ne.Uint16(b[6:]), Seq: ne.Uint32(b[8:]), Pid: ne.Uint32(b[12:]), Data: b[unix.NLMSG_HDRLEN:l]})
		b = b[min(nlAlign(l), len(b)):]
	}
	return out, nil
}

// attr appends one rtattr.
func attr(b []byte, typ uint16, data []byte) []byte {
	var h [4]byte
	ne.PutUint16(h[0:], uint16(4+len(data)))
	ne.PutUint16(h[2:], typ)
	b = append(b, h[:]...)
	b = append(b, data...)
	return append(b, make([]byte, nlAlign(len(data))-len(data))...)
}

// nlaTypeMask drops the NLA_F_NESTED and NLA_F_NET_BYTEORDER flag bits.
const nlaTypeMask = 0x3fff

func u32(v uint32) []byte { return ne.AppendUint32(nil, v) }

// parseAttrs splits rtattrs into type -> data (the last one wins).
func parseAttrs(b []byte) (map[uint16][]byte, error) {
	m := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("netlink: %d trailing attribute bytes", len(b))
		}
		l := int(ne.Uint16(b[0:]))
		if l < 4 || l > len(b) {
			return nil, fmt.Errorf("netlink: attribute length %d with %d bytes left", l, len(b))
		}
		m[ne.Uint16(b[2:])&nlaTypeMask] = b[4:l]
		b = b[min(nlAlign(l), len(b)):]
	}
	return m, nil
}

// ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32.
func ifinfomsg(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	ne.PutUint32(b[4:], uint32(index))
	ne.PutUint32(b[8:], flags)
	ne.PutUint32(b[12:], change)
	return b
}

// linkUpMsg sets IFF_UP on the link.
func linkUpMsg(seq uint32, index int32) []byte {
	return encodeMsg(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, ifinfomsg(index, unix.IFF_UP, unix.IFF_UP))
}

// linkMTUMsg sets the link's MTU.
func linkMTUMsg(seq uint32, index int32, mtu int) []byte {
	body := attr(ifinfomsg(index, 0, 0), unix.IFLA_MTU, u32(uint32(mtu)))
	return encodeMsg(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, body)
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// addrMsg adds p's address with p's prefix length to the link. An IPv6
// address skips duplicate address detection (IFA_F_NODAD): until DAD
// ends, a second or more, the address is tentative, and binding to it
// fails (EADDRNOTAVAIL), so a pith.listen naming it could fail at boot
// by a race; and as for the leased IPv4 address, which gets no ARP
// probe, the host that runs the VM's network is the authority on who
// has which address, and may as well drop the packets.
func addrMsg(seq uint32, index int32, p netip.Prefix) []byte {
	b := make([]byte, unix.SizeofIfAddrmsg)
	b[0] = family(p.Addr())
	b[1] = uint8(p.Bits())
	if !p.Addr().Is4() {
		b[2] = unix.IFA_F_NODAD
	}
	b[3] = unix.RT_SCOPE_UNIVERSE
	ne.PutUint32(b[4:], uint32(index))
	ip := p.Addr().AsSlice()
	b = attr(b, unix.IFA_LOCAL, ip)
	b = attr(b, unix.IFA_ADDRESS, ip)
	return encodeMsg(unix.RTM_NEWADDR, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, seq, b)
}

// defaultRouteMsg adds a default route through gw on the link.
func defaultRouteMsg(seq uint32, index int32, gw netip.Addr) []byte {
	return routeMsg(seq, index, netip.Prefix{}, gw, unix.RT_SCOPE_UNIVERSE)
}

// hostRouteMsg adds a route to dst alone, directly on the link (scope
// link, no gateway): what makes a gateway outside the address's subnet
// reachable.
func hostRouteMsg(seq uint32, index int32, dst netip.Addr) []byte {
	return routeMsg(seq, index, netip.PrefixFrom(dst, dst.BitLen()), netip.Addr{}, unix.RT_SCOPE_LINK)
}

// routeMsg adds a route to dst (the default route when invalid) on the
// link, through gw when it is valid.
func routeMsg(seq uint32, index int32, dst netip.Prefix, gw netip.Addr, scope uint8) []byte {
	b := make([]byte, unix.SizeofRtMsg)
	if dst.IsValid() {
		b[0] = family(dst.Addr())
		b[1] = uint8(dst.Bits())
	} else {
		b[0] = family(gw)
	}
	b[4] = unix.RT_TABLE_MAIN
	b[5] = unix.RTPROT_BOOT
	b[6] = scope
	b[7] = unix.RTN_UNICAST
	if dst.IsValid() {
		b = attr(b, unix.RTA_DST, dst.Addr().AsSlice())
	}
	if gw.IsValid() {
		b = attr(b, unix.RTA_GATEWAY, gw.AsSlice())
	}
	b = attr(b, unix.RTA_OIF, u32(uint32(index)))
	return encodeMsg(unix.RTM_NEWROUTE, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, seq, b)
}

// dumpMsg asks for every object of a kind (RTM_GETLINK, RTM_GETADDR,
// RTM_GETROUTE) of family.
func dumpMsg(seq uint32, typ uint16, fam uint8) []byte {
	var body []byte
	switch typ {
	case unix.RTM_GETLINK:
		body = ifinfomsg(0, 0, 0)
	case unix.RTM_GETADDR:
		body = make([]byte, unix.SizeofIfAddrmsg)
	default:
		body = make([]byte, unix.SizeofRtMsg)
	}
	body[0] = fam
	return encodeMsg(typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, seq, body)
}

// Link is a network interface as RTM_NEWLINK describes it.
type Link struct {
	Index  int32
	Name   string
	Type   uint16 // ARPHRD_*
	Flags  uint32 // IFF_*
	HWAddr net.HardwareAddr
	MTU    int
}

func parseLink(data []byte) (Link, error) {
	if len(data) < unix.SizeofIfInfomsg {
		return Link{}, errors.New("netlink: short ifinfomsg")
	}
	l := Link{Type: ne.Uint16(data[2:]), Index: int32(ne.Uint32(data[4:])), Flags: ne.Uint32(data[8:])}
	attrs, err := parseAttrs(data[unix.SizeofIfInfomsg:])
	if err != nil {
		return Link{}, err
	}
	name := attrs[unix.IFLA_IFNAME]
	for len(name) > 0 && name[len(name)-1] == 0 {
		name = name[:len(name)-1]
	}
	l.Name = string(name)
	if m := attrs[unix.IFLA_MTU]; len(m) == 4 {
		l.MTU = int(ne.Uint32(m))
	}
	if hw := attrs[unix.IFLA_ADDRESS]; len(hw) > 0 {
		l.HWAddr = net.HardwareAddr(append([]byte(nil), hw...))
	}
	return l, nil
}

// Addr is an interface address as RTM_NEWADDR describes it.
type Addr struct {
	Index  int32
	Prefix netip.Prefix
}

func parseAddr(data []byte) (Addr, error) {
	if len(data) < unix.SizeofIfAddrmsg {
		return Addr{}, errors.New("netlink: short ifaddrmsg")
	}
	attrs, err := parseAttrs(data[unix.SizeofIfAddrmsg:])
	if err != nil {
		return Addr{}, err
	}
	raw := attrs[unix.IFA_LOCAL]
	if raw == nil {
		raw = attrs[unix.IFA_ADDRESS]
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok || int(data[1]) > ip.BitLen() {
		return Addr{}, fmt.Errorf("netlink: address of %d bytes, prefix %d", len(raw), data[1])
	}
	return Addr{Index: int32(ne.Uint32(data[4:])), Prefix: netip.PrefixFrom(ip, int(data[1]))}, nil
}

// Route is a route as RTM_NEWROUTE describes it.
type Route struct {
	Table   uint8
	Dst     netip.Prefix // invalid for a default route
	Gateway netip.Addr
	OIF     int32
}

func parseRoute(data []byte) (Route, error) {
	if len(data) < unix.SizeofRtMsg {
		return Route{}, errors.New("netlink: short rtmsg")
	}
	attrs, err := parseAttrs(data[unix.SizeofRtMsg:])
	if err != nil {
		return Route{}, err
	}
	r := Route{Table: data[4]}
	if t, ok := attrs[unix.RTA_TABLE]; ok && len(t) == 4 {
		r.Table = uint8(ne.Uint32(t))
	}
	if d, ok := netip.AddrFromSlice(attrs[unix.RTA_DST]); ok && int(data[1]) <= d.BitLen() {
		r.Dst = netip.PrefixFrom(d, int(data[1]))
	}
	if g, ok := netip.AddrFromSlice(attrs[unix.RTA_GATEWAY]); ok {
		r.Gateway = g
	}
	if o := attrs[unix.RTA_OIF]; len(o) == 4 {
		r.OIF = int32(ne.Uint32(o))
	}
	return r, nil
}

// nlErr decodes an NLMSG_ERROR payload: 0 is an ACK.
func nlErr(data []byte) error {
	if len(data) < 4 {
		return errors.New("netlink: short error message")
	}
	if e := int32(ne.Uint32(data)); e != 0 {
		return syscall.Errno(-e)
	}
	return nil
}
