package pid1

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Param is one kernel command line parameter. A bare word has no value
// and HasValue false.
type Param struct {
	Key, Value string
	HasValue   bool
}

// maxCmdline bounds the command line; the kernel's own limit on x86 is
// 2048 bytes (COMMAND_LINE_SIZE), so anything far larger is not one.
const maxCmdline = 64 << 10

// ParseCmdline splits a kernel command line the way the kernel does
// (lib/cmdline.c next_arg, with lib/ctype.c's isspace): parameters
// separated by whitespace, a value after the first '=', double quotes
// grouping whitespace. Like the kernel, it removes only a quote that opens
// the whole parameter or the value and the quote that ends the parameter;
// quotes elsewhere stay, so `"pith.attest"=dev` is the parameter
// `pith.attest"`, as the kernel and anyone who reads the command line by
// its rules sees it, not pith.attest. Parsing stops at a bare "--", after
// which the words belong to init's argv. Where the kernel would read on
// (an unterminated quote, a NUL byte), this refuses.
func ParseCmdline(s string) ([]Param, error) {
	if len(s) > maxCmdline {
		return nil, fmt.Errorf("pid1: command line of %d bytes (limit %d)", len(s), maxCmdline)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, errors.New("pid1: command line with a NUL byte")
	}
	var out []Param
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		quoted := s[i] == '"'
		if quoted {
			i++
		}
		// The kernel's loop: equals is the offset of the first '=' in
		// the parameter, where 0 means none (so a leading '=' counts
		// only if another follows, as in the kernel).
		start, equals, inQuote := i, 0, quoted
		for ; i < len(s) && (inQuote || !isSpace(s[i])); i++ {
			if equals == 0 && s[i] == '=' {
				equals = i - start
			}
			if s[i] == '"' {
				inQuote = !inQuote
			}
		}
		if inQuote {
			return nil, errors.New("pid1: command line: unterminated quote")
		}
		// The kernel cuts the parameter in place with NULs; the same
		// cuts on a copy, then each part ends at its first NUL.
		w := []byte(s[start:i])
		p := Param{}
		valAt := len(w)
		if equals > 0 {
			w[equals] = 0
			valAt = equals + 1
			if valAt < len(w) && w[valAt] == '"' {
				valAt++
				if w[len(w)-1] == '"' {
					w[len(w)-1] = 0
				}
			}
			p.HasValue = true
		}
		if quoted && len(w) > 0 && w[len(w)-1] == '"' {
			w[len(w)-1] = 0
		}
		p.Key = cstring(w)
		if p.HasValue {
			p.Value = cstring(w[valAt:])
		}
		if !p.HasValue && p.Key == "--" {
			return out, nil
		}
		out = append(out, p)
	}
}

// cstring is b up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// isSpace is the kernel's isspace: lib/ctype.c marks \t, \n, \v, \f, \r,
// the space and Latin-1's no-break space (0xa0) as space, and next_arg
// splits the command line at each.
func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' || c == 0xa0 }

// Config is what pith-init takes from the measured command line. Only
// pith.* keys are read; an unknown or repeated pith.* key is an error, so
// that a typo in an image is found at boot, not ignored.
type Config struct {
	// Model is where the model is: a raw disk (pith.model=/dev/vda) or a
	// file in the initramfs.
	Model string
	// ModelSHA256 is the model's digest (pith.model.sha256=64 hex),
	// nil when absent.
	ModelSHA256 []byte
	// ModelSize is how many bytes of Model are the model
	// (pith.model.size=N): a raw disk is padded to whole sectors. Zero
	// means all of it.
	ModelSize int64
	// Net is the network: static (pith.net=ADDR/PREFIX,GATEWAY[,IFNAME])
	// or DHCP (pith.net=dhcp[,IFNAME]); nil when absent, which Boot takes
	// as DHCP on the first Ethernet link if there is one (see AutoNet).
	Net *NetConfig
	// Listen is the server's address (pith.listen=HOST:PORT, HOST an IP
	// address or empty for every address, PORT 1..65535), "" for the
	// server's default.
	Listen string
	// Attest selects the attestation provider (pith.attest=auto|sev-snp|tdx|dev),
	// "" for auto.
	Attest string
	// Modules are the kernel modules to load, in addition to their
	// dependencies (pith.modules=virtio_net,virtio_blk,...).
	Modules []string
}

// NetConfig is a static IPv4 or IPv6 configuration, or DHCP.
type NetConfig struct {
	Addr    netip.Prefix // address and prefix length of the interface
	Gateway netip.Addr   // default route; invalid for none
	Iface   string       // "" picks the first non-loopback Ethernet link
	DHCP    bool         // Addr and Gateway come from a DHCPv4 lease
}

// ReadConfig reads /proc/cmdline and parses its pith.* keys.
func ReadConfig() (Config, error) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return Config{}, fmt.Errorf("pid1: %w", err)
	}
	ps, err := ParseCmdline(string(b))
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(ps)
}

// ParseConfig reads the pith.* keys of a parsed command line.
func ParseConfig(ps []Param) (Config, error) {
	var c Config
	seen := map[string]bool{}
	for _, p := range ps {
		if !strings.HasPrefix(p.Key, "pith.") {
			continue
		}
		if seen[p.Key] {
			return Config{}, fmt.Errorf("pid1: command line: %s given twice", p.Key)
		}
		seen[p.Key] = true
		if !p.HasValue || p.Value == "" {
			return Config{}, fmt.Errorf("pid1: command line: %s needs a value", p.Key)
		}
		var err error
		switch p.Key {
		case "pith.model":
			c.Model = p.Value
		case "pith.model.sha256":
			if len(p.Value) != 64 {
				return Config{}, fmt.Errorf("pid1: command line: pith.model.sha256 has %d characters, want 64 hex", len(p.Value))
			}
			if c.ModelSHA256, err = hex.DecodeString(p.Value); err != nil {
				return Config{}, fmt.Errorf("pid1: command line: pith.model.sha256: %w", err)
			}
		case "pith.model.size":
			if c.ModelSize, err = strconv.ParseInt(p.Value, 10, 64); err != nil || c.ModelSize <= 0 {
				return Config{}, fmt.Errorf("pid1: command line: pith.model.size %q is not a positive byte count", p.Value)
			}
		case "pith.net":
			n, err := ParseNet(p.Value)
			if err != nil {
				return Config{}, err
			}
			c.Net = &n
		case "pith.listen":
			if err := checkListen(p.Value); err != nil {
				return Config{}, err
			}
			c.Listen = p.Value
		case "pith.attest":
			switch p.Value {
			case "auto", "sev-snp", "tdx", "dev":
				c.Attest = p.Value
			default:
				return Config{}, fmt.Errorf("pid1: command line: pith.attest=%q, want auto, sev-snp, tdx or dev", p.Value)
			}
		case "pith.modules":
			for _, m := range strings.Split(p.Value, ",") {
				if m == "" || strings.ContainsAny(m, "/.") {
					return Config{}, fmt.Errorf("pid1: command line: pith.modules: bad module name %q", m)
				}
				c.Modules = append(c.Modules, m)
			}
		default:
			return Config{}, fmt.Errorf("pid1: command line: unknown key %s", p.Key)
		}
	}
	return c, nil
}

// ParseNet parses ADDR/PREFIX,GATEWAY[,IFNAME] (GATEWAY may be empty for
// none) or dhcp[,IFNAME]. A static address on the measured command line is
// also what a verifier sees; a leased one is not measured, which is no
// loss, since clients trust the attested key, not the address.
func ParseNet(s string) (NetConfig, error) {
	parts := strings.Split(s, ",")
	if parts[0] == "dhcp" {
		n := NetConfig{DHCP: true}
		if len(parts) > 2 {
			return NetConfig{}, fmt.Errorf("pid1: pith.net=%q: want dhcp[,IFNAME]", s)
		}
		if len(parts) == 2 {
			n.Iface = parts[1]
			if err := checkIface(n.Iface); err != nil {
				return NetConfig{}, err
			}
		}
		return n, nil
	}
	if len(parts) < 2 || len(parts) > 3 {
		return NetConfig{}, fmt.Errorf("pid1: pith.net=%q: want ADDR/PREFIX,GATEWAY[,IFNAME]", s)
	}
	var n NetConfig
	var err error
	if n.Addr, err = netip.ParsePrefix(parts[0]); err != nil {
		return NetConfig{}, fmt.Errorf("pid1: pith.net address: %w", err)
	}
	if parts[1] != "" {
		if n.Gateway, err = netip.ParseAddr(parts[1]); err != nil {
			return NetConfig{}, fmt.Errorf("pid1: pith.net gateway: %w", err)
		}
		if n.Gateway.Is4() != n.Addr.Addr().Is4() || n.Gateway.Zone() != "" {
			return NetConfig{}, fmt.Errorf("pid1: pith.net gateway %s is not of the address's family", n.Gateway)
		}
	}
	if n.Addr.Addr().Zone() != "" {
		return NetConfig{}, fmt.Errorf("pid1: pith.net address %s has a zone", n.Addr)
	}
	// The kernel takes 0.0.0.0/24, 224.0.0.5/24, 127.0.0.9/8, a /0 or a
	// gateway that is the address itself without a word, and the machine
	// boots unreachable; a subnet's broadcast address as the gateway, or
	// an IPv6 gateway equal to the address, it refuses only at boot. The
	// image builder checks pith.net with this parser, so all are refused
	// here, before an image is measured.
	if !hostAddr(n.Addr.Addr()) || n.Addr.Bits() == 0 || edgeOfSubnet(n.Addr, n.Addr.Addr()) {
		return NetConfig{}, fmt.Errorf("pid1: pith.net address %s is not one a host may take", n.Addr)
	}
	if n.Gateway.IsValid() && (!hostAddr(n.Gateway) || n.Gateway == n.Addr.Addr() || edgeOfSubnet(n.Addr, n.Gateway)) {
		return NetConfig{}, fmt.Errorf("pid1: pith.net gateway %s is not another host", n.Gateway)
	}
	if len(parts) == 3 {
		n.Iface = parts[2]
		if err := checkIface(n.Iface); err != nil {
			return NetConfig{}, err
		}
	}
	return n, nil
}

// hostAddr reports whether a is a unicast address a host may have: not
// unspecified, loopback, multicast, the limited broadcast, or an IPv6
// spelling of an IPv4 address.
func hostAddr(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && !a.Is4In6() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// edgeOfSubnet reports whether a is the network or the broadcast address
// of p's IPv4 subnet, which are no host's (RFC 1122 3.2.1.3); subnets of
// /31 (RFC 3021) and /32 have no such addresses.
func edgeOfSubnet(p netip.Prefix, a netip.Addr) bool {
	if !a.Is4() || p.Bits() > 30 || !p.Masked().Contains(a) {
		return false
	}
	v, base := binary.BigEndian.Uint32(a.AsSlice()), binary.BigEndian.Uint32(p.Masked().Addr().AsSlice())
	return v == base || v == base|(1<<(32-p.Bits())-1)
}

// checkIface refuses what cannot be a Linux interface name (IFNAMSIZ 16
// with the NUL, no slash or space).
func checkIface(name string) error {
	if name == "" || len(name) >= 16 || strings.ContainsAny(name, "/ \x00") {
		return fmt.Errorf("pid1: pith.net interface name %q", name)
	}
	return nil
}

// checkListen refuses a pith.listen the server could not listen on, so the
// image builder, which checks options with this parser, refuses it too,
// rather than the VM failing at boot after it has loaded the model.
//
// The host must be an IP address, or empty for every address: the VM has
// no resolver configuration, and if it had one the resolver would be
// reached over the host's network, so the address the server binds to
// would be chosen by the untrusted host, not by the measured command line.
// A zone is refused as pith.net refuses one: the server is reached through
// routed addresses, never a link-local one. The port is a number, because
// service names are looked up in /etc/services, which the initramfs does
// not hold, and 0 would bind a port nobody could know in advance.
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("pid1: command line: pith.listen=%q: want HOST:PORT: %w", s, err)
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("pid1: command line: pith.listen=%q: host %q is not an IP address (no names are resolved in the VM; leave it empty for every address)", s, host)
		}
		if a.Zone() != "" {
			return fmt.Errorf("pid1: command line: pith.listen=%q: address %s has a zone", s, a)
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("pid1: command line: pith.listen=%q: port %q is not a number in 1..65535", s, port)
	}
	return nil
}
