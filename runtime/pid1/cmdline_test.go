package pid1

import (
	"bytes"
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
	}
	for _, tt := range tests {
		got, err := ParseCmdline(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{`a="b`, strings.Repeat("x", maxCmdline+1)} {
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
	}
	for _, b := range bad {
		ps, err := ParseCmdline(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(ps); err == nil {
			t.Errorf("accepted %q", b)
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
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseCmdline(s)
		if err != nil {
			return
		}
		// Quotes may group spaces into a key or value, but they are
		// removed, the first '=' splits, and "--" ends the list.
		for _, p := range ps {
			if strings.ContainsAny(p.Key, "\"=") || strings.Contains(p.Value, "\"") || p.Key == "--" && !p.HasValue {
				t.Fatalf("bad parameter %+v from %q", p, s)
			}
		}
		ParseConfig(ps)
	})
}
