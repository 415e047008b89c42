package pid1

import (
	"bytes"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []Param
	}{
		{"", nil},
		{"  console=ttyS0   quiet\n", []Param{{"console", "ttyS0", true}, {"quiet", "", false}}},
		{`a="b c" "d=e f" g=`, []Param{{"a", "b c", true}, {"d", "e f", true}, {"g", "", true}}},
		{"x=1=2 -- pith.model=/evil", []Param{{"x", "1=2", true}}},
		{"\tinit_on_free=1\r\n", []Param{{"init_on_free", "1", true}}},
		// The kernel's isspace splits at \v, \f and 0xa0 too.
		{"pith.attest=dev\vquiet", []Param{{"pith.attest", "dev", true}, {"quiet", "", false}}},
		{"a\fpith.model=/x\xa0b", []Param{{"a", "", false}, {"pith.model", "/x", true}, {"b", "", false}}},
		// Only the quote that opens the parameter or the value, and the
		// one that ends the parameter, are removed (next_arg).
		{`pith.model="/dev/vda" "pith.listen=:80"`, []Param{{"pith.model", "/dev/vda", true}, {"pith.listen", ":80", true}}},
		{`"pith.attest"=dev`, []Param{{`pith.attest"`, "dev", true}}},
		{`pi"th.att"est=dev`, []Param{{`pi"th.att"est`, "dev", true}}},
		{`pith.model=/dev/v"d"a`, []Param{{"pith.model", `/dev/v"d"a`, true}}},
		{`"pith.model="/dev/vda""`, []Param{{"pith.model", `/dev/vda"`, true}}},
		{`a=" b="`, []Param{{"a", ` b=`, true}}},
		{`"" a="`, nil}, // an unterminated quote: refused below
		// A leading '=' is no separator unless another follows.
		{"=x =a=b", []Param{{"=x", "", false}, {"=a", "b", true}}},
		// Only a bare "--" ends the parameters.
		{`-"-" --=1 "--" x`, []Param{{`-"-"`, "", false}, {"--", "1", true}}},
	}
	for _, tt := range tests {
		if strings.Count(tt.in, `"`)%2 == 1 {
			continue
		}
		got, err := ParseCmdline(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`a="b`, `"" a="`, "a\x00b", strings.Repeat("x", maxCmdline+1)} {
		if _, err := ParseCmdline(bad); err == nil {
			t.Errorf("accepted %.20q", bad)
		}
	}
}

func TestParseConfig(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	ps, err := ParseCmdline("console=ttyS0 pith.model=/dev/vda pith.model.sha256=" + sum +
		" pith.model.size=349000000 pith.net=10.0.2.15/24,10.0.2.2 pith.listen=:8443 pith.attest=dev pith.modules=virtio_net,virtio-blk")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(ps)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Model: "/dev/vda", ModelSHA256: bytes.Repeat([]byte{0xab}, 32), ModelSize: 349000000,
		Net:    &NetConfig{Addr: netip.MustParsePrefix("10.0.2.15/24"), Gateway: netip.MustParseAddr("10.0.2.2")},
		Listen: ":8443", Attest: "dev", Modules: []string{"virtio_net", "virtio-blk"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v (net %+v), want %+v", c, c.Net, want)
	}
	bad := []string{
		"pith.model=/a pith.model=/b", // repeated
		"pith.modle=/dev/vda",         // typo
		"pith.model",                  // no value
		"pith.model.sha256=abcd",      // short
		"pith.model.sha256=" + strings.Repeat("z", 64),
		"pith.model.size=-1",
		"pith.attest=none",
		"pith.modules=virtio_net,,x",
		"pith.modules=../evil",
		"pith.net=dhcp,eth0,x",
		"pith.net=dhcp,",
		"pith.net=dhcp,a/b",
		"pith.net=10.0.2.15,10.0.2.2",   // no prefix
		"pith.net=10.0.2.15/24,fe80::1", // mixed families
		"pith.net=10.0.2.15/24,10.0.2.2,eth0,extra",
		"pith.net=10.0.2.15/24,10.0.2.2,averyveryverylongname",
		"pith.net=0.0.0.0/24,10.0.2.2",          // unspecified
		"pith.net=224.0.0.5/24,",                // multicast
		"pith.net=127.0.0.9/8,",                 // loopback
		"pith.net=255.255.255.255/32,",          // limited broadcast
		"pith.net=10.9.0.1/0,",                  // the whole Internet on the link
		"pith.net=::/64,",                       // unspecified
		"pith.net=ff02::5/64,",                  // multicast
		"pith.net=::ffff:10.0.0.1/120,",         // IPv4 in IPv6 clothing
		"pith.net=10.0.2.0/24,10.0.2.2",         // the subnet's network address
		"pith.net=10.0.2.255/24,10.0.2.2",       // the subnet's broadcast address
		"pith.net=10.0.2.15/24,10.0.2.15",       // the gateway is the address
		"pith.net=fd03::2/64,fd03::2",           // the gateway is the address
		"pith.net=10.0.2.15/24,10.0.2.255",      // the subnet's broadcast as gateway
		"pith.net=10.0.2.15/24,0.0.0.0",         // unspecified gateway
		"pith.net=10.0.2.15/24,224.0.0.1",       // multicast gateway
		"pith.net=fd00::2/64,::1",               // loopback gateway
		"pith.net=10.0.2.15/24,255.255.255.255", // limited broadcast gateway
		"pith.listen=8443",                      // no colon
		"pith.listen=:",                         // no port
		"pith.listen=:0",                        // a port nobody knows in advance
		"pith.listen=:65536",                    // too large
		"pith.listen=:-1",                       // negative
		"pith.listen=:+80",                      // not just digits
		"pith.listen=:https",                    // service names need /etc/services
		"pith.listen=localhost:8443",            // names need a resolver
		"pith.listen=pith.example:8443",         // names need a resolver
		"pith.listen=10.0.2.256:8443",           // not an address
		"pith.listen=::1:8443",                  // IPv6 without brackets
		"pith.listen=[fe80::1%eth0]:8443",       // zone
		"pith.listen=[::1]:80:80",
		`pith.listen="1.2.3.4:8443 x"`,
	}
	for _, b := range bad {
		ps, err := ParseCmdline(b)
		if err != nil {
			t.Fatal(err)
		}
		// The error names the parameter, so the image's author knows
		// which one to fix.
		key, _, _ := strings.Cut(b, "=")
		if _, err := ParseConfig(ps); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: got %v, want an error naming %s", b, err, key)
		}
	}
	for _, l := range []string{":8443", ":1", ":65535", "0.0.0.0:8080", "10.0.2.15:443", "[::]:8443", "[fd00::2]:8443", "[::ffff:10.0.0.1]:80"} {
		ps, err := ParseCmdline("pith.listen=" + l)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := ParseConfig(ps); err != nil || c.Listen != l {
			t.Errorf("pith.listen=%s: got %q, %v", l, c.Listen, err)
		}
	}
	// Hosts that are: a /31's two ends, a /32 with a router outside it
	// (netUp adds the host route), an IPv6 link-local gateway, and a
	// network or broadcast address of another subnet as the gateway.
	for _, s := range []string{"10.0.2.0/31,10.0.2.1", "10.0.2.1/31,10.0.2.0", "10.128.0.5/32,10.128.0.1", "fd00::2/64,fe80::1",
		"10.0.2.15/24,10.0.3.0", "10.0.2.15/24,10.0.3.255", "169.254.0.2/16,"} {
		if _, err := ParseNet(s); err != nil {
			t.Errorf("ParseNet(%q): %v", s, err)
		}
	}
	// IPv6, no gateway, a named interface.
	n, err := ParseNet("fd00::2/64,,eth1")
	if err != nil || n.Addr != netip.MustParsePrefix("fd00::2/64") || n.Gateway.IsValid() || n.Iface != "eth1" {
		t.Fatalf("IPv6: %+v, %v", n, err)
	}
	for s, want := range map[string]NetConfig{"dhcp": {DHCP: true}, "dhcp,ens3": {DHCP: true, Iface: "ens3"}} {
		if n, err := ParseNet(s); err != nil || n != want {
			t.Errorf("ParseNet(%q) = %+v, %v; want %+v", s, n, err, want)
		}
	}
}

// Any command line parses to parameters without the separators, or to an
// error, and the pith.* reading of it never panics.
func FuzzParseCmdline(f *testing.F) {
	f.Add("console=ttyS0 pith.model=/dev/vda pith.model.sha256=" + strings.Repeat("0", 64))
	f.Add(`a="b c" pith.net=10.0.0.2/8,10.0.0.1,eth0 -- x`)
	f.Add(`pith.net="fd00::1/64,fd00::2" pith.modules=a,b "`)
	f.Add("pith.listen=[fd00::2]:8443")
	f.Add("pith.listen=[fe80::1%eth0]:0")
	f.Add("pith.listen=localhost:https")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseCmdline(s)
		if err != nil {
			return
		}
		// Keys and values are pieces of the line; a key has no '='
		// after its first byte; a bare "--" ends the list.
		for _, p := range ps {
			if !strings.Contains(s, p.Key) || !strings.Contains(s, p.Value) || strings.Contains(p.Key[min(1, len(p.Key)):], "=") ||
				!p.HasValue && p.Value != "" || p.Key == "--" && !p.HasValue {
				t.Fatalf("bad parameter %+v from %q", p, s)
			}
		}
		c, err := ParseConfig(ps)
		if err != nil || c.Listen == "" {
			return
		}
		// An accepted address is one the server can listen on, without
		// a name or service lookup: an IP literal or none, a real port.
		host, _, err := net.SplitHostPort(c.Listen)
		if err != nil || host != "" && net.ParseIP(host) == nil {
			t.Fatalf("pith.listen=%q accepted, but its host is not an IP literal (%v)", c.Listen, err)
		}
		if a, err := net.ResolveTCPAddr("tcp", c.Listen); err != nil || a.Port == 0 || a.Zone != "" {
			t.Fatalf("pith.listen=%q accepted, but it resolves to %v, %v", c.Listen, a, err)
		}
	})
}
