package pid1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"time"
)

// A DHCPv4 client (RFC 2131, options of RFC 2132), just enough to lease
// one address at boot: DISCOVER, OFFER, REQUEST, ACK. Everything a server
// sends is outside data, parsed by parseDHCP and checked by leaseFrom
// before any of it reaches the kernel.

// DHCP message types (option 53).
const (
	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpDecline  = 4
	dhcpAck      = 5
	dhcpNak      = 6
)

// DHCP options used here.
const (
	optPad          = 0
	optSubnetMask   = 1
	optRouter       = 3
	optDNS          = 6
	optMTU          = 26
	optRequestedIP  = 50
	optLeaseTime    = 51
	optOverload     = 52
	optMessageType  = 53
	optServerID     = 54
	optParamRequest = 55
	optMaxSize      = 57
	optRenewalTime  = 58
	optEnd          = 255
)

const (
	bootRequest = 1
	bootReply   = 2
	// dhcpFixed is the BOOTP header up to and with the magic cookie.
	dhcpFixed = 240
	// dhcpMinSize is BOOTP's 300-byte minimum message, which some relays
	// and servers still expect.
	dhcpMinSize = 300
	// flagBroadcast asks the server to broadcast its answers: the client
	// has no address yet to take a unicast one on.
	flagBroadcast = 0x8000
)

var magicCookie = []byte{99, 130, 83, 99}

// dhcpMsg is a parsed DHCP message: the header fields pith uses and the
// options, each option's parts joined (RFC 3396).
type dhcpMsg struct {
	Op     uint8
	Xid    uint32
	Flags  uint16
	Yiaddr netip.Addr
	Chaddr net.HardwareAddr
	Opts   map[uint8][]byte
}

// Type is the message type (option 53), 0 when absent or malformed.
func (m *dhcpMsg) Type() uint8 {
	if v := m.Opts[optMessageType]; len(v) == 1 {
		return v[0]
	}
	return 0
}

// encodeDHCP builds a client message of type typ from hardware address
// mac with transaction xid; extra options follow the message type, in
// order, as code and value pairs. ciaddr is the client's address when it
// renews a lease (invalid before it has one): then the server answers it
// directly, and the broadcast flag stays clear (RFC 2131 4.1).
func encodeDHCP(typ uint8, xid uint32, secs uint16, mac net.HardwareAddr, ciaddr netip.Addr, extra ...dhcpOpt) []byte {
	b := make([]byte, dhcpFixed, 512)
	b[0] = bootRequest
	b[1] = 1 // htype Ethernet
	b[2] = byte(len(mac))
	binary.BigEndian.PutUint32(b[4:], xid)
	binary.BigEndian.PutUint16(b[8:], secs)
	if ciaddr.Is4() {
		copy(b[12:16], ciaddr.AsSlice())
	} else {
		binary.BigEndian.PutUint16(b[10:], flagBroadcast)
	}
	copy(b[28:44], mac)
	copy(b[236:], magicCookie)
	b = append(b, optMessageType, 1, typ)
	for _, o := range extra {
		b = append(b, o.code, byte(len(o.val)))
		b = append(b, o.val...)
	}
	b = append(b, optEnd)
	for len(b) < dhcpMinSize {
		b = append(b, optPad)
	}
	return b
}

type dhcpOpt struct {
	code uint8
	val  []byte
}

// clientOpts are what every client message asks for: the options the
// lease needs, and the largest message taken (an IP datagram of 576
// bytes, which every host must accept).
var clientOpts = []dhcpOpt{
	{optParamRequest, []byte{optSubnetMask, optRouter, optDNS, optMTU, optLeaseTime, optServerID, optRenewalTime}},
	{optMaxSize, []byte{576 >> 8, 576 & 0xff}},
}

// parseDHCP parses a DHCP message from a server. It checks the framing
// (BOOTREPLY, Ethernet addresses, the magic cookie, well-formed options)
// and nothing about the lease: leaseFrom does that.
func parseDHCP(b []byte) (*dhcpMsg, error) {
	if len(b) < dhcpFixed {
		return nil, fmt.Errorf("dhcp: message of %d bytes, shorter than the %d-byte header", len(b), dhcpFixed)
	}
	if b[0] != bootReply {
		return nil, fmt.Errorf("dhcp: op %d is not BOOTREPLY", b[0])
	}
	if b[1] != 1 || b[2] != 6 {
		return nil, fmt.Errorf("dhcp: hardware type %d length %d, want Ethernet", b[1], b[2])
	}
	if !bytes.Equal(b[236:240], magicCookie) {
		return nil, fmt.Errorf("dhcp: magic cookie % x", b[236:240])
	}
	m := &dhcpMsg{
		Op:     b[0],
		Xid:    binary.BigEndian.Uint32(b[4:]),
		Flags:  binary.BigEndian.Uint16(b[10:]),
		Yiaddr: netip.AddrFrom4([4]byte(b[16:20])),
		Chaddr: net.HardwareAddr(bytes.Clone(b[28:34])),
		Opts:   map[uint8][]byte{},
	}
	if err := parseOpts(m.Opts, b[dhcpFixed:]); err != nil {
		return nil, err
	}
	// Option overload (52): the file and sname fields carry more options,
	// in that order (RFC 2131 4.1).
	if ov, ok := m.Opts[optOverload]; ok {
		if len(ov) != 1 || ov[0] < 1 || ov[0] > 3 {
			return nil, fmt.Errorf("dhcp: option overload % x", ov)
		}
		if ov[0]&1 != 0 {
			if err := parseOpts(m.Opts, b[108:236]); err != nil {
				return nil, fmt.Errorf("%w (in the file field)", err)
			}
		}
		if ov[0]&2 != 0 {
			if err := parseOpts(m.Opts, b[44:108]); err != nil {
				return nil, fmt.Errorf("%w (in the sname field)", err)
			}
		}
	}
	return m, nil
}

// maxOptBytes bounds what one option's parts may add up to: a message of
// at most 64 KiB cannot carry more, and it keeps a hostile message from
// making the parser grow without end.
const maxOptBytes = 64 << 10

// parseOpts adds the options of b to m; an option given more than once
// has its parts joined (RFC 3396). An END option stops the parsing (what
// follows is padding); a buffer that ends without one is taken as ended.
func parseOpts(m map[uint8][]byte, b []byte) error {
	for len(b) > 0 {
		code := b[0]
		switch code {
		case optPad:
			b = b[1:]
			continue
		case optEnd:
			return nil
		}
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return fmt.Errorf("dhcp: option %d runs past the message", code)
		}
		val := b[2 : 2+int(b[1])]
		if len(m[code])+len(val) > maxOptBytes {
			return fmt.Errorf("dhcp: option %d longer than %d bytes", code, maxOptBytes)
		}
		m[code] = append(m[code], val...)
		b = b[2+int(b[1]):]
	}
	return nil
}

// Lease is what a DHCP server granted.
type Lease struct {
	Addr     netip.Prefix  // the address and the subnet's prefix length
	Gateway  netip.Addr    // the first router; invalid when none was given
	DNS      []netip.Addr  // recorded for the log; pith-init resolves no names
	Server   netip.Addr    // the server identifier (option 54)
	Duration time.Duration // the lease time; 0 when the server gave none, -1 for infinite
	Renew    time.Duration // when to renew (option 58, T1); 0 for the default, half the lease
	MTU      int           // the link's MTU (option 26); 0 when the server gave none
}

// minMTU is the smallest MTU option 26 may carry (RFC 2132 5.1), the
// IPv4 minimum of RFC 791.
const minMTU = 68

// ip4 reads a 4-byte address option.
func ip4(v []byte) (netip.Addr, bool) {
	if len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}

// usable is an address a host may take: not unspecified, loopback,
// multicast, link-local or the limited broadcast.
func usable(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// leaseFrom checks an OFFER or ACK and reads the lease from it. It wants
// a usable address, a server identifier, and a contiguous subnet mask
// (without one the prefix would be a guess); a router, when given, must
// be another usable host. It may be outside the subnet: a cloud that
// leases a /32 (Google Compute Engine) names a router beyond it, and
// netUp reaches it through a host route on the link.
func leaseFrom(m *dhcpMsg) (Lease, error) {
	var l Lease
	if !usable(m.Yiaddr) {
		return Lease{}, fmt.Errorf("dhcp: offered address %s is not one a host may take", m.Yiaddr)
	}
	var ok bool
	if l.Server, ok = ip4(m.Opts[optServerID]); !ok {
		return Lease{}, errors.New("dhcp: no server identifier (option 54)")
	}
	mask, ok := m.Opts[optSubnetMask]
	if !ok {
		return Lease{}, errors.New("dhcp: no subnet mask (option 1)")
	}
	if len(mask) != 4 {
		return Lease{}, fmt.Errorf("dhcp: subnet mask of %d bytes", len(mask))
	}
	mv := binary.BigEndian.Uint32(mask)
	ones := bits.LeadingZeros32(^mv)
	if ones == 0 || mv != ^uint32(0)<<(32-ones) {
		return Lease{}, fmt.Errorf("dhcp: subnet mask %d.%d.%d.%d is not a prefix", mask[0], mask[1], mask[2], mask[3])
	}
	l.Addr = netip.PrefixFrom(m.Yiaddr, ones)
	if edgeOfSubnet(l.Addr, l.Addr.Addr()) {
		return Lease{}, fmt.Errorf("dhcp: offered address %s is its subnet's network or broadcast address", l.Addr)
	}
	if r, ok := m.Opts[optRouter]; ok {
		if len(r) < 4 || len(r)%4 != 0 {
			return Lease{}, fmt.Errorf("dhcp: router option of %d bytes", len(r))
		}
		l.Gateway, _ = ip4(r[:4])
		if !usable(l.Gateway) || l.Gateway == l.Addr.Addr() || edgeOfSubnet(l.Addr, l.Gateway) {
			return Lease{}, fmt.Errorf("dhcp: router %s is not another host", l.Gateway)
		}
	}
	if d, ok := m.Opts[optDNS]; ok {
		if len(d)%4 != 0 {
			return Lease{}, fmt.Errorf("dhcp: DNS option of %d bytes", len(d))
		}
		for i := 0; i < len(d); i += 4 {
			a, _ := ip4(d[i : i+4])
			l.DNS = append(l.DNS, a)
		}
	}
	if v, ok := m.Opts[optMTU]; ok {
		if len(v) != 2 || binary.BigEndian.Uint16(v) < minMTU {
			return Lease{}, fmt.Errorf("dhcp: interface MTU option % x, want 2 bytes of at least %d", v, minMTU)
		}
		l.MTU = int(binary.BigEndian.Uint16(v))
	}
	if t, ok := m.Opts[optLeaseTime]; ok {
		if len(t) != 4 {
			return Lease{}, fmt.Errorf("dhcp: lease time of %d bytes", len(t))
		}
		switch s := binary.BigEndian.Uint32(t); s {
		case 0xffffffff:
			l.Duration = -1
		case 0:
			return Lease{}, errors.New("dhcp: lease of 0 seconds")
		default:
			l.Duration = time.Duration(s) * time.Second
		}
	}
	if t, ok := m.Opts[optRenewalTime]; ok && l.Duration > 0 {
		if len(t) != 4 {
			return Lease{}, fmt.Errorf("dhcp: renewal time of %d bytes", len(t))
		}
		// A T1 at or past the end of the lease is no T1: the default
		// applies (RFC 2131 4.4.5 wants T1 < T2 < lease).
		if r := time.Duration(binary.BigEndian.Uint32(t)) * time.Second; r > 0 && r < l.Duration {
			l.Renew = r
		}
	}
	return l, nil
}
