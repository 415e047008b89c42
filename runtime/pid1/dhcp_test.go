package pid1

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pith-project/pith/internal/oracle"
)

var (
	testMAC    = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	testServer = netip.MustParseAddr("10.0.2.2")
)

// reply builds a server message the way RFC 2131 lays it out, written
// here independently of encodeDHCP: op BOOTREPLY, yiaddr, chaddr, cookie,
// then the options as given (raw TLV bytes, END appended).
func reply(xid uint32, mac net.HardwareAddr, yiaddr string, opts ...[]byte) []byte {
	b := make([]byte, 240)
	b[0], b[1], b[2] = 2, 1, 6
	binary.BigEndian.PutUint32(b[4:], xid)
	copy(b[16:20], netip.MustParseAddr(yiaddr).AsSlice())
	copy(b[28:], mac)
	copy(b[236:], []byte{99, 130, 83, 99})
	for _, o := range opts {
		b = append(b, o...)
	}
	return append(b, 255)
}

func opt(code byte, val ...byte) []byte { return append([]byte{code, byte(len(val))}, val...) }

// goodOpts are a typical OFFER's options (QEMU's slirp sends these).
func goodOpts(typ byte) [][]byte {
	return [][]byte{
		opt(53, typ), opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 2),
		opt(6, 10, 0, 2, 3), opt(51, 0, 1, 0x51, 0x80),
	}
}

func TestParseDHCP(t *testing.T) {
	good := reply(0x1234, testMAC, "10.0.2.15", goodOpts(2)...)
	m, err := parseDHCP(good)
	if err != nil {
		t.Fatal(err)
	}
	if m.Xid != 0x1234 || m.Type() != dhcpOffer || m.Yiaddr != netip.MustParseAddr("10.0.2.15") || !bytes.Equal(m.Chaddr, testMAC) {
		t.Fatalf("parsed %+v", m)
	}
	l, err := leaseFrom(m)
	want := Lease{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: testServer, DNS: []netip.Addr{netip.MustParseAddr("10.0.2.3")},
		Server: testServer, Duration: 86400 * time.Second}
	if err != nil || l.Addr != want.Addr || l.Gateway != want.Gateway || l.Server != want.Server || l.Duration != want.Duration ||
		len(l.DNS) != 1 || l.DNS[0] != want.DNS[0] {
		t.Fatalf("lease %+v, %v; want %+v", l, err, want)
	}

	// Options in the file field (overload 1), one split in two parts
	// (RFC 3396), and padding around them.
	over := reply(7, testMAC, "192.168.1.9", opt(52, 1), opt(53, 5), opt(54, 192, 168, 1, 1), []byte{0, 0}, opt(6, 1, 1, 1, 1))
	file := append(append(opt(1, 255, 255, 0, 0), opt(6, 8, 8, 8, 8)...), 255)
	copy(over[108:], file)
	m, err = parseDHCP(over)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := leaseFrom(m); err != nil || l.Addr != netip.MustParsePrefix("192.168.1.9/16") || len(l.DNS) != 2 || l.DNS[1] != netip.MustParseAddr("8.8.8.8") || l.Gateway.IsValid() {
		t.Fatalf("overloaded: %+v %v", l, err)
	}

	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:239], "shorter"},
		{"request", func() []byte { b := bytes.Clone(good); b[0] = 1; return b }(), "BOOTREPLY"},
		{"token ring", func() []byte { b := bytes.Clone(good); b[1] = 6; return b }(), "Ethernet"},
		{"hlen", func() []byte { b := bytes.Clone(good); b[2] = 16; return b }(), "Ethernet"},
		{"cookie", func() []byte { b := bytes.Clone(good); b[239] = 0; return b }(), "cookie"},
		{"truncated option", append(reply(1, testMAC, "10.0.2.15")[:240], 53, 4, 1), "past the message"},
		{"length only", append(reply(1, testMAC, "10.0.2.15")[:240], 53), "past the message"},
		{"overload value", reply(1, testMAC, "10.0.2.15", opt(52, 4)), "overload"},
		{"overload file bad", func() []byte {
			b := reply(1, testMAC, "10.0.2.15", opt(52, 1))
			b[108], b[109] = 3, 200
			return b
		}(), "file field"},
	}
	for _, tc := range bad {
		if _, err := parseDHCP(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// A message without END is taken as ended.
	if _, err := parseDHCP(good[:len(good)-1]); err != nil {
		t.Errorf("no END: %v", err)
	}
}

func TestLeaseFrom(t *testing.T) {
	tests := []struct {
		name   string
		yiaddr string
		opts   [][]byte
		want   string // error substring; "" for success
		check  func(Lease) bool
	}{
		{"slirp", "10.0.2.15", goodOpts(5), "", func(l Lease) bool { return l.Addr.Bits() == 24 && l.Gateway == testServer }},
		{"infinite", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(51, 255, 255, 255, 255)}, "", func(l Lease) bool { return l.Duration == -1 }},
		{"no lease time", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0)}, "", func(l Lease) bool { return l.Duration == 0 && !l.Gateway.IsValid() }},
		{"/32", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 255)}, "", func(l Lease) bool { return l.Addr.Bits() == 32 }},
		{"two routers", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 1, 10, 0, 2, 2)}, "", func(l Lease) bool { return l.Gateway == netip.MustParseAddr("10.0.2.1") }},
		{"no address", "0.0.0.0", goodOpts(5), "not one a host may take", nil},
		{"broadcast", "255.255.255.255", goodOpts(5), "not one a host may take", nil},
		{"multicast", "224.0.0.1", goodOpts(5), "not one a host may take", nil},
		{"loopback", "127.0.0.2", goodOpts(5), "not one a host may take", nil},
		{"no server id", "10.0.2.15", [][]byte{opt(1, 255, 255, 255, 0)}, "server identifier", nil},
		{"short server id", "10.0.2.15", [][]byte{opt(54, 10, 0, 2), opt(1, 255, 255, 255, 0)}, "server identifier", nil},
		{"no mask", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2)}, "no subnet mask", nil},
		{"mask length", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255)}, "subnet mask of 3", nil},
		{"holey mask", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 0, 255, 0)}, "not a prefix", nil},
		{"zero mask", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 0, 0, 0, 0)}, "not a prefix", nil},
		// Google Compute Engine: a /32 and a router outside it.
		{"router off subnet", "10.128.0.5", [][]byte{opt(54, 169, 254, 169, 254), opt(1, 255, 255, 255, 255), opt(3, 10, 128, 0, 1)}, "", func(l Lease) bool {
			return l.Addr == netip.MustParsePrefix("10.128.0.5/32") && l.Gateway == netip.MustParseAddr("10.128.0.1")
		}},
		{"mtu", "10.0.2.15", append(goodOpts(5), opt(26, 0x05, 0xb4)), "", func(l Lease) bool { return l.MTU == 1460 }},
		{"no mtu", "10.0.2.15", goodOpts(5), "", func(l Lease) bool { return l.MTU == 0 }},
		{"mtu length", "10.0.2.15", append(goodOpts(5), opt(26, 5)), "MTU option", nil},
		{"mtu below 68", "10.0.2.15", append(goodOpts(5), opt(26, 0, 67)), "MTU option", nil},
		{"subnet's broadcast", "10.0.2.255", goodOpts(5), "network or broadcast address", nil},
		{"subnet's network", "10.0.2.0", goodOpts(5), "network or broadcast address", nil},
		{"/31", "10.0.2.0", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 254), opt(3, 10, 0, 2, 1)}, "", func(l Lease) bool { return l.Addr.Bits() == 31 }},
		{"router is the subnet's broadcast", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 255)}, "not another host", nil},
		{"router broadcast", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 255, 255, 255, 255)}, "not another host", nil},
		{"router link-local", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 169, 254, 0, 1)}, "not another host", nil},
		{"router is us", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 15)}, "not another host", nil},
		{"router length", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 1, 9)}, "router option of 5", nil},
		{"dns length", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(6, 1, 1, 1)}, "DNS option of 3", nil},
		{"lease length", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(51, 1)}, "lease time of 1", nil},
		{"zero lease", "10.0.2.15", [][]byte{opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(51, 0, 0, 0, 0)}, "0 seconds", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseDHCP(reply(1, testMAC, tc.yiaddr, tc.opts...))
			if err != nil {
				t.Fatal(err)
			}
			l, err := leaseFrom(m)
			if tc.want == "" {
				if err != nil || !tc.check(l) {
					t.Fatalf("lease %+v, %v", l, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("lease %+v, error %v, want %q", l, err, tc.want)
			}
		})
	}
}

// The client's messages, byte by byte against RFC 2131's layout.
func TestEncodeDHCP(t *testing.T) {
	b := encodeDHCP(dhcpRequest, 0xdeadbeef, 3, testMAC, netip.Addr{}, dhcpOpt{optRequestedIP, []byte{10, 0, 2, 15}}, dhcpOpt{optServerID, []byte{10, 0, 2, 2}})
	if len(b) < 300 {
		t.Fatalf("%d bytes, want BOOTP's 300 at least", len(b))
	}
	head := []byte{1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef, 0, 3, 0x80, 0}
	if !bytes.Equal(b[:12], head) {
		t.Fatalf("header % x, want % x", b[:12], head)
	}
	if !bytes.Equal(b[12:28], make([]byte, 16)) || !bytes.Equal(b[28:34], testMAC) || !bytes.Equal(b[34:236], make([]byte, 202)) {
		t.Fatal("addresses, chaddr padding, sname or file not as laid out")
	}
	wantOpts := []byte{99, 130, 83, 99, 53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2, 255}
	if !bytes.Equal(b[236:236+len(wantOpts)], wantOpts) {
		t.Fatalf("options % x, want % x", b[236:236+len(wantOpts)], wantOpts)
	}
	for _, c := range b[236+len(wantOpts):] {
		if c != 0 {
			t.Fatal("padding after END is not zero")
		}
	}
}

// The IPv4 and UDP framing: the checksum maths against RFC 1071's own
// example, and the headers a DHCP server expects.
func TestUDPFrame(t *testing.T) {
	if s := onesSum(0, []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); s != 0xddf2 {
		t.Fatalf("RFC 1071 example sums to %#x, want 0xddf2", s)
	}
	msg := encodeDHCP(dhcpDiscover, 1, 0, testMAC, netip.Addr{}, clientOpts...)
	f := udpFrame(msg)
	if len(f) != 28+len(msg) || f[0] != 0x45 || f[9] != 17 || int(binary.BigEndian.Uint16(f[2:])) != len(f) {
		t.Fatalf("IPv4 header % x", f[:20])
	}
	if !bytes.Equal(f[12:20], []byte{0, 0, 0, 0, 255, 255, 255, 255}) {
		t.Fatalf("addresses % x", f[12:20])
	}
	if onesSum(0, f[:20]) != 0xffff {
		t.Fatal("IPv4 header checksum does not verify")
	}
	pseudo := append(bytes.Clone(f[12:20]), 0, 17, f[24], f[25])
	if onesSum(onesSum(0, pseudo), f[20:]) != 0xffff {
		t.Fatal("UDP checksum does not verify")
	}
	if binary.BigEndian.Uint16(f[20:]) != 68 || binary.BigEndian.Uint16(f[22:]) != 67 {
		t.Fatal("ports")
	}

	// An answer: swap the ports, fix the checksum, add Ethernet padding.
	ans := bytes.Clone(f)
	ans[20], ans[21], ans[22], ans[23] = 0, 67, 0, 68
	ans = append(ans, 0, 0, 0, 0)
	if p, err := parseUDPFrame(ans); err != nil || !bytes.Equal(p, msg) {
		t.Fatalf("parseUDPFrame: %v", err)
	}
	// Each mutation but "checksum" gets a correct header checksum, so
	// that the check it aims at is the one that refuses it.
	bad := map[string]func([]byte){
		"ipv6":         func(b []byte) { b[0] = 0x65 },
		"ihl":          func(b []byte) { b[0] = 0x44 },
		"checksum":     func(b []byte) { b[10]++ },
		"tcp":          func(b []byte) { b[9] = 6 },
		"fragment":     func(b []byte) { b[6] = 0x20 },
		"offset":       func(b []byte) { b[7] = 1 },
		"port":         func(b []byte) { b[23] = 69 },
		"udp length":   func(b []byte) { b[24], b[25] = 0xff, 0xff },
		"udp short":    func(b []byte) { b[24], b[25] = 0, 7 },
		"total length": func(b []byte) { b[2], b[3] = 0xff, 0xff },
		"truncated":    func(b []byte) { b[2], b[3] = 0, 30 },
	}
	for name, mut := range bad {
		b := bytes.Clone(ans)
		mut(b)
		if name != "checksum" {
			b[10], b[11] = 0, 0
			binary.BigEndian.PutUint16(b[10:], ^onesSum(0, b[:20]))
		}
		if _, err := parseUDPFrame(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Whatever arrives on the link, parsing fails with an error or yields a
// message, and a lease read from it passes leaseFrom's checks; it never
// panics.
func FuzzParseDHCP(f *testing.F) {
	f.Add(reply(1, testMAC, "10.0.2.15", goodOpts(2)...))
	f.Add(reply(1, testMAC, "10.0.2.15", opt(52, 3), opt(53, 5)))
	f.Add(udpFrame(reply(9, testMAC, "192.168.0.2", goodOpts(5)...)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := parseUDPFrame(b); err == nil {
			parseDHCP(p)
		}
		m, err := parseDHCP(b)
		if err != nil {
			return
		}
		l, err := leaseFrom(m)
		if err != nil {
			return
		}
		if !usable(l.Addr.Addr()) || !l.Server.Is4() || l.Addr.Bits() < 1 || l.Gateway.IsValid() && (!usable(l.Gateway) || l.Gateway == l.Addr.Addr()) ||
			edgeOfSubnet(l.Addr, l.Addr.Addr()) || l.Gateway.IsValid() && edgeOfSubnet(l.Addr, l.Gateway) {
			t.Fatalf("leaseFrom accepted %+v", l)
		}
	})
}

// fakeServer is a DHCP server in memory, with failure modes, for the
// client's state machine. Its answers are built by reply, not by the
// client's encoder.
type fakeServer struct {
	mu      sync.Mutex
	in      chan []byte
	got     []uint8 // message types received
	drop    int     // client messages to ignore first
	dropReq int     // REQUESTs to ignore first
	sendErr int     // client sends to fail (ENOBUFS) first
	nak     int     // REQUESTs to refuse first
	noise   bool    // send a stranger's answer and garbage before each real one
	bad     bool    // offers without a subnet mask
	silent  bool    // never answer
	yiaddr  string
	servers []string // server ids, one OFFER each
	// Renewals: REQUESTs with ciaddr.
	renewNak  bool
	renewAddr string // the address an ACK gives, "" for ciaddr
	renewals  int
}

func newFakeServer() *fakeServer {
	return &fakeServer{in: make(chan []byte, 16), yiaddr: "10.0.2.15", servers: []string{"10.0.2.2"}}
}

func (s *fakeServer) send(msg []byte) error {
	s.mu.Lock()
	if s.sendErr > 0 {
		s.sendErr--
		s.mu.Unlock()
		return fmt.Errorf("dhcp: send on link 2: %w", syscall.ENOBUFS)
	}
	s.mu.Unlock()
	// A client message parses as a reply once its op is flipped.
	b := bytes.Clone(msg)
	if b[0] != 1 {
		return errors.New("client sent op != BOOTREQUEST")
	}
	b[0] = 2
	m, err := parseDHCP(b)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, m.Type())
	if s.silent || s.drop > 0 {
		s.drop--
		return nil
	}
	if m.Type() == dhcpRequest && s.dropReq > 0 {
		s.dropReq--
		return nil
	}
	if ciaddr := netip.AddrFrom4([4]byte(b[12:16])); m.Type() == dhcpRequest && !ciaddr.IsUnspecified() {
		// RFC 2131 4.3.2: a renewal names no address and no server,
		// and does not ask for a broadcast answer.
		if m.Opts[optRequestedIP] != nil || m.Opts[optServerID] != nil || m.Flags&flagBroadcast != 0 {
			return errors.New("renewal with option 50 or 54 or the broadcast flag")
		}
		s.renewals++
		if s.renewNak {
			s.in <- reply(m.Xid, m.Chaddr, "0.0.0.0", opt(53, dhcpNak), opt(54, 10, 0, 2, 2))
			return nil
		}
		addr := ciaddr.String()
		if s.renewAddr != "" {
			addr = s.renewAddr
		}
		s.in <- reply(m.Xid, m.Chaddr, addr, opt(53, dhcpAck), opt(54, 10, 0, 2, 2), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 2), opt(51, 0, 0, 0, 60))
		return nil
	}
	if s.noise {
		s.in <- reply(m.Xid+1, m.Chaddr, s.yiaddr, goodOpts(2)...)
		s.in <- reply(m.Xid, net.HardwareAddr{1, 2, 3, 4, 5, 6}, s.yiaddr, goodOpts(2)...)
		s.in <- []byte("not a DHCP message at all")
	}
	for _, id := range s.servers {
		sid := netip.MustParseAddr(id).AsSlice()
		opts := [][]byte{opt(54, sid...), opt(1, 255, 255, 255, 0), opt(3, 10, 0, 2, 2), opt(51, 0, 0, 0, 60), opt(26, 0x05, 0xb4)}
		if s.bad {
			opts = [][]byte{opt(54, sid...)}
		}
		switch m.Type() {
		case dhcpDiscover:
			s.in <- reply(m.Xid, m.Chaddr, s.yiaddr, append([][]byte{opt(53, dhcpOffer)}, opts...)...)
		case dhcpRequest:
			if !bytes.Equal(m.Opts[optServerID], sid) {
				continue
			}
			if !bytes.Equal(m.Opts[optRequestedIP], netip.MustParseAddr(s.yiaddr).AsSlice()) {
				return errors.New("REQUEST without the offered address")
			}
			if s.nak > 0 {
				s.nak--
				s.in <- reply(m.Xid, m.Chaddr, "0.0.0.0", opt(53, dhcpNak), opt(54, sid...))
				continue
			}
			s.in <- reply(m.Xid, m.Chaddr, s.yiaddr, append([][]byte{opt(53, dhcpAck)}, opts...)...)
		}
	}
	return nil
}

func (s *fakeServer) recv(ctx context.Context, deadline time.Time) ([]byte, error) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case b := <-s.in:
		return b, nil
	case <-t.C:
		return nil, errRecvDeadline
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func TestDHCPLease(t *testing.T) {
	fast := DHCPTiming{First: 20 * time.Millisecond, Max: 80 * time.Millisecond, Total: 600 * time.Millisecond}
	tests := []struct {
		name    string
		setup   func(*fakeServer)
		want    string // error substring; "" for a lease of 10.0.2.15/24
		types   string // the client's messages, D for DISCOVER, R for REQUEST
		maxTook time.Duration
	}{
		{"plain", func(*fakeServer) {}, "", "DR", time.Second},
		{"lost discovers", func(s *fakeServer) { s.drop = 2 }, "", "DDDR", time.Second},
		{"lost request", func(s *fakeServer) { s.dropReq = 2 }, "", "DRRR", time.Second},
		{"strangers and garbage", func(s *fakeServer) { s.noise = true }, "", "DR", time.Second},
		{"nak starts over", func(s *fakeServer) { s.nak = 1 }, "", "DRDR", time.Second},
		{"two servers", func(s *fakeServer) { s.servers = []string{"10.0.2.2", "10.0.2.3"} }, "", "DR", time.Second},
		{"send fails for a while", func(s *fakeServer) { s.sendErr = 3 }, "", "DR", time.Second},
		{"send always fails", func(s *fakeServer) { s.sendErr = 1 << 30 }, "0 messages sent", "", 2 * time.Second},
		{"no server", func(s *fakeServer) { s.silent = true }, "is there a DHCP server", "", 2 * time.Second},
		{"bad offers", func(s *fakeServer) { s.bad = true }, "no subnet mask", "", 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer()
			tc.setup(s)
			t0 := time.Now()
			l, err := dhcpLease(context.Background(), s, testMAC, fast)
			took := time.Since(t0)
			if took > tc.maxTook {
				t.Errorf("took %s", took)
			}
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "no lease within 600ms") {
					t.Fatalf("lease %+v, error %v, want %q", l, err, tc.want)
				}
				t.Log(err)
				return
			}
			if err != nil || l.Addr != netip.MustParsePrefix("10.0.2.15/24") || l.Gateway != testServer || l.Duration != time.Minute {
				t.Fatalf("lease %+v, %v", l, err)
			}
			var types strings.Builder
			for _, typ := range s.got {
				types.WriteByte(map[uint8]byte{dhcpDiscover: 'D', dhcpRequest: 'R'}[typ])
			}
			if types.String() != tc.types {
				t.Errorf("client sent %s, want %s", types.String(), tc.types)
			}
		})
	}

	// A shutdown during the exchange ends it at once, with its cause.
	s := newFakeServer()
	s.silent = true
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(errors.New("power button")) })
	t0 := time.Now()
	_, err := dhcpLease(ctx, s, testMAC, DefaultDHCPTiming)
	if err == nil || !strings.Contains(err.Error(), "power button") || time.Since(t0) > time.Second {
		t.Fatalf("cancelled lease: %v after %s", err, time.Since(t0))
	}
	// The silence before the shutdown says nothing of the network.
	if strings.Contains(err.Error(), "is there a DHCP server") {
		t.Errorf("cancelled lease blames the network: %v", err)
	}

	// A renewal that hears nothing until the lease ends does suggest it.
	defer func(d time.Duration) { renewMinRetry = d }(renewMinRetry)
	renewMinRetry = 20 * time.Millisecond
	open := func() (dhcpTransport, error) { return s, nil }
	_, err = renewOnce(context.Background(), open, testMAC, Lease{Addr: netip.MustParsePrefix("10.0.2.15/24"), Server: testServer}, time.Now().Add(300*time.Millisecond))
	if !errors.Is(err, errLeaseEnded) || !strings.Contains(err.Error(), "is there a DHCP server") {
		t.Errorf("renewal unanswered until the lease's end: %v", err)
	}
}

// keepLease renews at T1 with the RFC's renewal REQUEST, keeps going on
// an ACK, and reports the address lost on a NAK, on an ACK for another
// address, or when the lease runs out unanswered; an infinite lease needs
// nothing.
func TestKeepLease(t *testing.T) {
	renewMinRetry = 10 * time.Millisecond
	t.Cleanup(func() { renewMinRetry = time.Second }) // after the parallel subtests
	lease := Lease{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: testServer, Server: testServer, Duration: 300 * time.Millisecond}
	tests := []struct {
		name     string
		setup    func(*fakeServer)
		lease    Lease
		want     string // in the error lost gets; "" for none
		renewals int    // at least
		openErrs int    // how many times opening the transport fails first
	}{
		{"renewed", func(*fakeServer) {}, lease, "", 1, 0},
		{"nak", func(s *fakeServer) { s.renewNak = true }, lease, "NAK", 1, 0},
		{"silence", func(s *fakeServer) { s.silent = true }, lease, "lease ended", 0, 0},
		{"other address", func(s *fakeServer) { s.renewAddr = "10.0.2.16" }, lease, "renewal gave 10.0.2.16/24", 1, 0},
		{"infinite", func(*fakeServer) {}, Lease{Addr: lease.Addr, Server: testServer, Duration: -1}, "", 0, 0},
		{"early T1", func(*fakeServer) {}, Lease{Addr: lease.Addr, Server: testServer, Duration: time.Hour, Renew: 50 * time.Millisecond}, "", 1, 0},
		{"socket fails for a while", func(*fakeServer) {}, Lease{Addr: lease.Addr, Server: testServer, Duration: 400 * time.Millisecond, Renew: 20 * time.Millisecond}, "", 1, 1},
		{"socket always fails", func(*fakeServer) {}, lease, "lease ended", 0, 1 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newFakeServer()
			tc.setup(s)
			ctx, cancel := context.WithCancel(context.Background())
			lost := make(chan error, 1)
			done := make(chan struct{})
			t0 := time.Now()
			opens := 0
			open := func() (dhcpTransport, error) {
				if opens++; opens <= tc.openErrs {
					return nil, unix.EMFILE
				}
				return s, nil
			}
			go func() {
				keepLease(ctx, open, testMAC, tc.lease, t0, func(err error) { lost <- err })
				close(done)
			}()
			select {
			case err := <-lost:
				if tc.want == "" || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("lost after %s: %v, want %q", time.Since(t0), err, tc.want)
				}
				if took := time.Since(t0); took < tc.lease.Duration/2 || took > tc.lease.Duration+time.Second {
					t.Errorf("lost after %s of a %s lease", took, tc.lease.Duration)
				}
				t.Log(err)
			case <-time.After(quiet(s, tc.want, tc.renewals)):
				if tc.want != "" {
					t.Fatalf("not lost: want %q", tc.want)
				}
			}
			cancel()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				t.Fatal("keepLease did not return after ctx ended")
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.renewals < tc.renewals || tc.lease.Duration < 0 && len(s.got) != 0 {
				t.Fatalf("%d renewals, %d messages", s.renewals, len(s.got))
			}
		})
	}
}

// The packet socket's BPF filter keeps, in the kernel, only UDP to port
// 68: on the loopback link of a fresh namespace, datagrams to another
// port never reach the socket's queue, and one from port 67 to port 68
// does and parses.
func TestPacketFilter(t *testing.T) {
	inNetNS(t, packetFilterChild)
}

func packetFilterChild() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := NetUp(ctx, nil); err != nil {
		return err
	}
	links, err := Links()
	if err != nil {
		return err
	}
	lo := links[slices.IndexFunc(links, func(l Link) bool { return l.Flags&unix.IFF_LOOPBACK != 0 })]
	pc, err := openPacketConn(int(lo.Index))
	if err != nil {
		return err
	}
	defer pc.Close()
	send := func(from, to int, msg string) error {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: from}, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: to})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(msg))
		return err
	}
	for _, port := range []int{9999, 67, 53, 69} {
		if err := send(0, port, "not for the client"); err != nil {
			return err
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n, err := unix.IoctlGetInt(pc.fd, unix.SIOCINQ); err != nil || n != 0 {
		return fmt.Errorf("%d bytes queued on the packet socket (%v), want the filter to have dropped them", n, err)
	}
	if err := send(67, 68, "for the client"); err != nil {
		return err
	}
	b, err := pc.recv(ctx, time.Now().Add(2*time.Second))
	if err != nil || string(b) != "for the client" {
		return fmt.Errorf("received %q, %v", b, err)
	}
	return nil
}

// quiet is how long TestKeepLease waits for lost to be called: for a
// loss that should come, long enough; for one that should not, it first
// waits until the server has seen the renewals wanted (at most 700 ms),
// then a little more.
func quiet(s *fakeServer, want string, renewals int) time.Duration {
	if want != "" {
		return 3 * time.Second
	}
	t0 := time.Now()
	for time.Since(t0) < 700*time.Millisecond {
		s.mu.Lock()
		n := s.renewals
		s.mu.Unlock()
		if n >= renewals {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 50 * time.Millisecond
}

// In a fresh network namespace, over a veth pair: the client's packet
// socket, IPv4 and UDP framing go through the kernel to a UDP server
// bound to the peer (the fake server's logic behind a real socket), and
// NetUp applies the lease; the kernel's dumps show the address and the
// default route. A link with no server fails within the timing, with an
// error that says so. AutoNet picks DHCP on the first Ethernet link, and
// loopback only without one.
func TestDHCPInNamespace(t *testing.T) {
	if !inChild(t.Name()) {
		t.Log(childOK(t, t.Name(), syscall.CLONE_NEWNET))
		return
	}
	childDone(dhcpChild())
}

func dhcpChild() error {
	autoLinkWait = 200 * time.Millisecond
	dhcpTiming = DHCPTiming{First: 100 * time.Millisecond, Max: 400 * time.Millisecond, Total: 800 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if n, err := AutoNet(ctx); n != nil || err != nil {
		return fmt.Errorf("AutoNet without a link: %+v, %v", n, err)
	}
	c, err := openRtnl()
	if err != nil {
		return err
	}
	defer c.Close()
	idx, err := vethPairs(c, []string{"dhcps", "lones"}, [2]string{"dhcpc", "dhcps"}, [2]string{"lonec", "lones"})
	if err != nil {
		return err
	}
	if err := c.request(func(seq uint32) []byte { return addrMsg(seq, idx["dhcps"], netip.MustParsePrefix("10.0.2.2/24")) }); err != nil {
		return err
	}
	n, err := AutoNet(ctx)
	if first := min(idx["dhcpc"], idx["dhcps"], idx["lonec"], idx["lones"]); err != nil || n == nil || !n.DHCP || idx[n.Iface] != first {
		return fmt.Errorf("AutoNet with links %v: %+v, %v", idx, n, err)
	}

	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = errors.Join(unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "dhcps"),
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1))
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(ctx, "udp4", "0.0.0.0:67")
	if err != nil {
		return err
	}
	defer pc.Close()
	srv := newFakeServer()
	srv.drop = 1 // the first DISCOVER is lost: a retransmission must follow
	go func() {
		buf := make([]byte, 1500)
		bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: 68}
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if err := srv.send(buf[:n]); err != nil {
				fmt.Println("server:", err)
				continue
			}
			for len(srv.in) > 0 {
				pc.WriteTo(<-srv.in, bcast)
			}
		}
	}()

	p, err := dhcpUp(ctx, "dhcpc", idx["dhcpc"], testServer)
	if err != nil {
		return err
	}
	if p != netip.MustParsePrefix("10.0.2.15/24") {
		return fmt.Errorf("leased %s, want 10.0.2.15/24", p)
	}
	// The server's MTU (option 26, as Google Compute Engine's 1460) is
	// the link's now; the veth pair started at 1500.
	links, err := Links()
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(links, func(l Link) bool { return l.Name == "dhcpc" }); i < 0 || links[i].MTU != 1460 {
		return fmt.Errorf("links %+v: dhcpc should have the leased MTU 1460", links)
	}
	// A renewal, from the leased address, through the kernel too. Both
	// ends are in this namespace, so the server's side must be told to
	// take packets from an address of its own host.
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/dhcps/accept_local", []byte("1"), 0o644); err != nil {
		return err
	}
	i := slices.IndexFunc(links, func(l Link) bool { return l.Name == "dhcpc" })
	open := func() (dhcpTransport, error) { return openPacketConn(int(idx["dhcpc"])) }
	l := Lease{Addr: netip.MustParsePrefix("10.0.2.15/24"), Server: testServer}
	if nl, err := renewOnce(ctx, open, links[i].HWAddr, l, time.Now().Add(2*time.Second)); err != nil || nl.Addr != l.Addr || nl.Duration != time.Minute {
		return fmt.Errorf("renewal over veth: %+v, %v", nl, err)
	}
	srv.mu.Lock()
	renewals := srv.renewals
	srv.mu.Unlock()
	if renewals != 1 {
		return fmt.Errorf("the server saw %d renewals", renewals)
	}

	t0 := time.Now()
	err = NetUp(ctx, &NetConfig{DHCP: true, Iface: "lonec"})
	took := time.Since(t0)
	if err == nil || !strings.Contains(err.Error(), "is there a DHCP server") || !strings.Contains(err.Error(), "lonec") || took > 3*time.Second {
		return fmt.Errorf("DHCP without a server: %v after %s", err, took)
	}
	fmt.Println("no server:", err)
	return nil
}

// The client against dnsmasq, a DHCP server nobody here wrote, in a
// network namespace of its own (so that its answers to the leased address
// cross the veth pair, as on a real network): the first lease, its router
// and prefix, and a renewal from the leased address, which dnsmasq
// answers directly to it. Skipped without dnsmasq unless PITH_ORACLES is
// set (scripts/install-oracles.sh installs dnsmasq-base).
func TestDHCPAgainstDnsmasq(t *testing.T) {
	switch os.Getenv(childEnv) {
	case t.Name() + "/server":
		dnsmasqServer()
		return
	case t.Name():
		childDone(dnsmasqClient())
		return
	}
	if _, err := lookDnsmasq(); err != nil {
		if oracle.Mandatory() {
			t.Fatal("dnsmasq missing: run scripts/install-oracles.sh")
		}
		t.Skip("dnsmasq missing: run scripts/install-oracles.sh (or set PITH_ORACLES=1)")
	}
	t.Log(childOK(t, t.Name(), syscall.CLONE_NEWNET))
}

// dhcpUp runs NetUp with DHCP on link (of index idx) and returns the
// IPv4 address the kernel then has on it, having checked that the default
// route goes through gw on it.
func dhcpUp(ctx context.Context, link string, idx int32, gw netip.Addr) (netip.Prefix, error) {
	t0 := time.Now()
	if err := NetUp(ctx, &NetConfig{DHCP: true, Iface: link}); err != nil {
		return netip.Prefix{}, err
	}
	fmt.Println("leased on", link, "in", time.Since(t0))
	addrs, err := Addrs()
	if err != nil {
		return netip.Prefix{}, err
	}
	i := slices.IndexFunc(addrs, func(a Addr) bool { return a.Index == idx && a.Prefix.Addr().Is4() })
	if i < 0 {
		return netip.Prefix{}, fmt.Errorf("no IPv4 address on %s: %+v", link, addrs)
	}
	routes, err := Routes()
	if err != nil {
		return netip.Prefix{}, err
	}
	if !slices.ContainsFunc(routes, func(r Route) bool {
		return !r.Dst.IsValid() && r.Gateway == gw && r.OIF == idx && r.Table == unix.RT_TABLE_MAIN
	}) {
		return netip.Prefix{}, fmt.Errorf("no default route via %s on %s: %+v", gw, link, routes)
	}
	return addrs[i].Prefix, nil
}

// lookDnsmasq finds dnsmasq, also where a PATH without sbin misses it.
func lookDnsmasq() (string, error) {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p, nil
	}
	return exec.LookPath("/usr/sbin/dnsmasq")
}

// dnsmasqServer runs in the server's namespace: once told (a line on
// stdin) that the link dnss is here, it gives it 10.0.3.1/24 and becomes
// dnsmasq, serving 10.0.3.50-60 with two-minute leases (dnsmasq's
// shortest).
func dnsmasqServer() {
	fail := func(err error) { fmt.Println("server:", err); os.Exit(1) }
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fail(err)
	}
	c, err := openRtnl()
	if err != nil {
		fail(err)
	}
	links, err := c.links()
	if err != nil {
		fail(err)
	}
	for _, l := range links {
		if err := c.request(func(seq uint32) []byte { return linkUpMsg(seq, l.Index) }); err != nil {
			fail(err)
		}
		if l.Name == "dnss" {
			if err := c.request(func(seq uint32) []byte { return addrMsg(seq, l.Index, netip.MustParsePrefix("10.0.3.1/24")) }); err != nil {
				fail(err)
			}
		}
	}
	c.Close()
	dir := os.Getenv("PITH_DNSMASQ_DIR")
	bin, err := lookDnsmasq()
	if err != nil {
		fail(err)
	}
	fail(syscall.Exec(bin, []string{"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0",
		"--interface=dnss", "--bind-interfaces", "--dhcp-authoritative", "--user=root", "--group=root",
		"--dhcp-range=10.0.3.50,10.0.3.60,255.255.255.0,2m", "--dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"--pid-file=" + filepath.Join(dir, "pid"), "--log-dhcp", "--log-facility=-",
		// Without this, dnsmasq pings an address for 3 s before offering it.
		"--no-ping"}, os.Environ()))
}

func dnsmasqClient() error {
	c, err := openRtnl()
	if err != nil {
		return err
	}
	defer c.Close()
	idx, err := vethPairs(c, nil, [2]string{"dnsc", "dnss"})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pith-dnsmasq")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv := exec.Command(os.Args[0], "-test.run=^TestDHCPAgainstDnsmasq$")
	srv.Env = append(os.Environ(), childEnv+"=TestDHCPAgainstDnsmasq/server", "PITH_DNSMASQ_DIR="+dir)
	// Pdeathsig: dnsmasq does not outlive this process, however it ends.
	srv.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	var log bytes.Buffer
	srv.Stdout, srv.Stderr = &log, &log
	in, err := srv.StdinPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
		fmt.Printf("dnsmasq's log:\n%s", log.String())
	}()
	// Move dnss into the server's namespace, then let it start.
	move := attr(ifinfomsg(idx["dnss"], 0, 0), unix.IFLA_NET_NS_PID, u32(uint32(srv.Process.Pid)))
	if err := c.request(func(seq uint32) []byte {
		return encodeMsg(unix.RTM_NEWLINK, unix.NLM_F_REQUEST|unix.NLM_F_ACK, seq, move)
	}); err != nil {
		return fmt.Errorf("move dnss: %w", err)
	}
	if _, err := in.Write([]byte("go\n")); err != nil {
		return err
	}

	dhcpTiming = DHCPTiming{First: 200 * time.Millisecond, Max: time.Second, Total: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := dhcpUp(ctx, "dnsc", idx["dnsc"], netip.MustParseAddr("10.0.3.1"))
	if err != nil {
		return err
	}
	if pool := netip.MustParsePrefix("10.0.3.48/28"); p.Bits() != 24 || !pool.Contains(p.Addr()) {
		return fmt.Errorf("leased %s, want one in 10.0.3.50-60/24", p)
	}
	links, err := Links()
	if err != nil {
		return err
	}
	mac := links[slices.IndexFunc(links, func(l Link) bool { return l.Name == "dnsc" })].HWAddr
	open := func() (dhcpTransport, error) { return openPacketConn(int(idx["dnsc"])) }
	l := Lease{Addr: p, Server: netip.MustParseAddr("10.0.3.1")}
	t0 := time.Now()
	nl, err := renewOnce(ctx, open, mac, l, time.Now().Add(5*time.Second))
	// dnsmasq sends T1 a few seconds short of half the lease.
	if err != nil || nl.Addr != l.Addr || nl.Duration != 2*time.Minute || nl.Renew < 45*time.Second || nl.Renew > time.Minute {
		return fmt.Errorf("renewal: %+v, %v", nl, err)
	}
	fmt.Println("renewed by dnsmasq in", time.Since(t0), nl.Addr, nl.Duration, "T1", nl.Renew)
	return nil
}
