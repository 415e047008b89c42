package pid1

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The DHCP client speaks through an AF_PACKET datagram socket bound to the
// link, writing the IPv4 and UDP headers itself. A UDP socket would not do
// before the link has an address: the kernel drops an IPv4 packet for an
// address it does not have (a server may unicast the OFFER to the address
// it offers, whatever the broadcast flag asks), and what it would choose as
// the source of a broadcast is not defined without one. The packet socket
// sees every IPv4 packet on the link; parseUDPFrame keeps the DHCP replies.

const (
	portServer = 67
	portClient = 68
)

// htons turns a protocol number into the network-order value that
// sockaddr_ll and socket(2) take for AF_PACKET.
func htons(v uint16) uint16 { return ne.Uint16(binary.BigEndian.AppendUint16(nil, v)) }

type packetConn struct {
	fd      int
	ifindex int
	buf     []byte
}

func openPacketConn(ifindex int) (*packetConn, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("dhcp: packet socket: %w", err)
	}
	// The filter first: the socket would otherwise copy every IPv4
	// packet of the link, which on a serving machine (a renewal) is all
	// of its traffic.
	prog := unix.SockFprog{Len: uint16(len(dhcpFilter)), Filter: &dhcpFilter[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("dhcp: attach filter: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("dhcp: bind to link %d: %w", ifindex, err)
	}
	return &packetConn{fd: fd, ifindex: ifindex, buf: make([]byte, 65536)}, nil
}

func (p *packetConn) Close() error { return unix.Close(p.fd) }

// dhcpFilter is a classic BPF program that keeps, of the IPv4 packets a
// datagram packet socket sees (from the IP header on), the unfragmented
// UDP ones to port 68; parseUDPFrame checks the rest.
var dhcpFilter = []unix.SockFilter{
	{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 9},                        // 0: A = protocol
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.IPPROTO_UDP, Jf: 6}, // 1: not UDP: 8
	{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 6},                        // 2: A = flags, fragment offset
	{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: 0x3fff, Jt: 4},          // 3: a fragment: 8
	{Code: unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH, K: 0},                       // 4: X = IP header length
	{Code: unix.BPF_LD | unix.BPF_H | unix.BPF_IND, K: 2},                        // 5: A = UDP destination port
	{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: portClient, Jf: 1},       // 6: not 68: 8
	{Code: unix.BPF_RET | unix.BPF_K, K: 0xffff},                                 // 7: keep
	{Code: unix.BPF_RET | unix.BPF_K, K: 0},                                      // 8: drop
}

// send broadcasts msg from 0.0.0.0:68 to 255.255.255.255:67 on the link.
func (p *packetConn) send(msg []byte) error {
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: p.ifindex, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	if err := unix.Sendto(p.fd, udpFrame(msg), 0, to); err != nil {
		return fmt.Errorf("dhcp: send on link %d: %w", p.ifindex, err)
	}
	return nil
}

// recvSlice bounds one poll, so that a cancelled ctx is seen soon.
const recvSlice = 200 * time.Millisecond

func (p *packetConn) recv(ctx context.Context, deadline time.Time) ([]byte, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, errRecvDeadline
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(min(left, recvSlice).Milliseconds())+1); err != nil && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("dhcp: poll: %w", err)
		}
		for {
			n, _, err := unix.Recvfrom(p.fd, p.buf, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("dhcp: receive on link %d: %w", p.ifindex, err)
			}
			if payload, err := parseUDPFrame(p.buf[:n]); err == nil {
				return append([]byte(nil), payload...), nil
			}
		}
	}
}

// udpFrame wraps a client message in the IPv4 and UDP headers of a
// broadcast from port 68 to 255.255.255.255:67, from the message's ciaddr:
// 0.0.0.0 before the client has an address, its address when it renews.
func udpFrame(msg []byte) []byte {
	b := make([]byte, 28, 28+len(msg))
	b[0] = 0x45 // IPv4, 5-word header
	binary.BigEndian.PutUint16(b[2:], uint16(28+len(msg)))
	b[8] = 64 // TTL
	b[9] = unix.IPPROTO_UDP
	if len(msg) >= 16 {
		copy(b[12:16], msg[12:16])
	}
	copy(b[16:20], []byte{255, 255, 255, 255})
	binary.BigEndian.PutUint16(b[10:], ^onesSum(0, b[:20]))
	binary.BigEndian.PutUint16(b[20:], portClient)
	binary.BigEndian.PutUint16(b[22:], portServer)
	binary.BigEndian.PutUint16(b[24:], uint16(8+len(msg)))
	b = append(b, msg...)
	// The UDP checksum covers a pseudo header of the addresses, the
	// protocol and the UDP length; 0 means none, so 0 is sent as ffff.
	pseudo := make([]byte, 12)
	copy(pseudo[0:8], b[12:20])
	pseudo[9] = unix.IPPROTO_UDP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(8+len(msg)))
	sum := ^onesSum(onesSum(0, pseudo), b[20:])
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(b[26:], sum)
	return b
}

// onesSum adds b to the 16-bit ones' complement sum acc (RFC 1071).
func onesSum(acc uint16, b []byte) uint16 {
	s := uint32(acc)
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// parseUDPFrame returns the payload of an IPv4 packet if it is an
// unfragmented UDP datagram from port 67 to port 68 with a valid header
// checksum. The UDP checksum is not checked: a packet from this host (a
// veth peer, a bridge) may reach a packet socket before the checksum is
// filled in (CHECKSUM_PARTIAL), and the DHCP checks that follow (xid,
// hardware address, options) do not rest on it.
func parseUDPFrame(b []byte) ([]byte, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil, errors.New("dhcp: not an IPv4 packet")
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl+8 || total > len(b) {
		return nil, fmt.Errorf("dhcp: IPv4 header length %d, total %d of %d bytes", ihl, total, len(b))
	}
	b = b[:total] // an Ethernet frame may carry padding after the packet
	if onesSum(0, b[:ihl]) != 0xffff {
		return nil, errors.New("dhcp: IPv4 header checksum")
	}
	if b[9] != unix.IPPROTO_UDP {
		return nil, errors.New("dhcp: not UDP")
	}
	if binary.BigEndian.Uint16(b[6:])&0x3fff != 0 {
		return nil, errors.New("dhcp: IPv4 fragment")
	}
	u := b[ihl:]
	if binary.BigEndian.Uint16(u[0:]) != portServer || binary.BigEndian.Uint16(u[2:]) != portClient {
		return nil, errors.New("dhcp: not from port 67 to port 68")
	}
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < 8 || ulen > len(u) {
		return nil, fmt.Errorf("dhcp: UDP length %d of %d bytes", ulen, len(u))
	}
	return u[8:ulen], nil
}
