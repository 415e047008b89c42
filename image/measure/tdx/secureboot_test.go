package tdx

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
)

// Debian's TDVF and the generic OVMF's Microsoft-key variable store enroll
// a PK; the generic store without keys does not. (TestDirectBootTPM boots
// with the latter; TestSecureBootRefusesUnsignedKernel shows the former
// refusing the pinned kernel.)
func TestEnrolledPK(t *testing.T) {
	if pk, err := EnrolledPK(inputstest.Load(t, inputs.OVMFIntelTDX)); err != nil || !pk {
		t.Errorf("OVMF.inteltdx.ms.fd: PK enrolled = %v, %v; want true", pk, err)
	}
	for _, c := range []struct {
		d    inputs.Deb
		want bool
	}{{inputs.OVMFGenericVarsMS, true}, {inputs.OVMFGenericVars, false}} {
		if pk, err := hasPK(inputstest.Load(t, c.d)); err != nil || pk != c.want {
			t.Errorf("%s: PK enrolled = %v, %v; want %v", c.d.File, pk, err, c.want)
		}
	}
	if pk, err := Signed(inputstest.Load(t, inputs.CloudKernel)); err != nil || pk {
		t.Errorf("the -unsigned kernel: signed = %v, %v", pk, err)
	}
}

func TestHasPKRefuses(t *testing.T) {
	vars := inputstest.Load(t, inputs.OVMFGenericVarsMS)
	for _, c := range []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"short", func(b []byte) []byte { return b[:0x40] }, "no firmware volume header"},
		{"no FV signature", func(b []byte) []byte { b[40] = 'X'; return b }, "no firmware volume header"},
		{"other store", func(b []byte) []byte { b[0x48] ^= 1; return b }, "not an authenticated variable store"},
		{"store larger than the volume", func(b []byte) []byte { b[0x48+19] = 0x7f; return b }, "variable store of"},
		{"variable past the store", func(b []byte) []byte { b[0x48+28+40+3] = 0x7f; return b }, "runs past the store"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := hasPK(c.edit(append([]byte(nil), vars...)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

func FuzzHasPK(f *testing.F) {
	f.Add(make([]byte, 0x100))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = hasPK(b) // must not panic
		_, _ = Signed(b)
	})
}

// Debian's TDVF without its keys: the CFV becomes Debian's own empty
// variable store of the same build, nothing else moves, and MRTD stays
// the published vector (in both page orders).
func TestWithoutSecureBoot(t *testing.T) {
	fw := inputstest.Load(t, inputs.OVMFIntelTDX)
	out, err := WithoutSecureBoot(fw)
	if err != nil {
		t.Fatal(err)
	}
	if pk, err := EnrolledPK(out); err != nil || pk {
		t.Errorf("PK enrolled after WithoutSecureBoot: %v, %v", pk, err)
	}
	if pk, _ := EnrolledPK(fw); !pk {
		t.Error("WithoutSecureBoot changed its input")
	}
	cfv, err := cfvSection(out)
	if err != nil {
		t.Fatal(err)
	}
	if empty := inputstest.Load(t, inputs.OVMFGenericVars); !bytes.Equal(cfv, empty) {
		t.Errorf("emptied CFV differs from Debian's OVMF_VARS_4M.fd")
	}
	if n := len(cfv); !bytes.Equal(out[n:], fw[n:]) {
		t.Errorf("bytes outside the CFV (first %d) changed", n)
	}
	for order, want := range map[Order]string{
		SinglePass: "a7a1f751abc454f9cbab198ca8d2edb2821935df525c74182b5e776cb0929e8c59aefecce725b0d08a5e9d3d3183bd08",
		TwoPass:    "b90b236113eb4c0d4df4ef590568c14e6028a3a31d7e8ac63dee9845df5008d3ebf82d4f5974e933798f65d7a279b9a9",
	} {
		if m, err := MRTD(out, order); err != nil || hex.EncodeToString(m[:]) != want {
			t.Errorf("MRTD(%v) without Secure Boot = %x, %v; want the vector %s", order, m, err, want)
		}
	}
	if _, err := WithoutSecureBoot(fw[:0x1000]); err == nil {
		t.Error("WithoutSecureBoot took a truncated image")
	}
}
