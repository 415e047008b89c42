package attest

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReportDataCoreutils recomputes the binding with coreutils' sha256sum
// and sha512sum, an implementation nobody here wrote.
func TestReportDataCoreutils(t *testing.T) {
	for _, tool := range []string{"sha256sum", "sha512sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	sum := func(tool string, in []byte) []byte {
		cmd := exec.Command(tool)
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		b, err := hex.DecodeString(strings.Fields(string(out))[0])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		nonce     []byte
		keyConfig []byte
	}{
		{"zeros", make([]byte, 32), []byte{0}},
		{"counting", bytes.Repeat([]byte{1, 2, 3, 4}, 8), bytes.Repeat([]byte("key config "), 40)},
		{"ones", bytes.Repeat([]byte{0xff}, 32), []byte("\x01\x00\x20")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReportData(tc.nonce, tc.keyConfig)
			if err != nil {
				t.Fatal(err)
			}
			in := append([]byte("pith-attestation-v1"), tc.nonce...)
			in = append(in, sum("sha256sum", tc.keyConfig)...)
			if want := sum("sha512sum", in); !bytes.Equal(got[:], want) {
				t.Fatalf("ReportData = %x, sha512sum says %x", got, want)
			}
		})
	}
}

func TestReportDataRefuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nonce, kc []byte
		want      error
	}{
		{"short nonce", make([]byte, 31), []byte{1}, ErrNonceSize},
		{"long nonce", make([]byte, 33), []byte{1}, ErrNonceSize},
		{"nil nonce", nil, []byte{1}, ErrNonceSize},
		{"no key config", make([]byte, 32), nil, ErrEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReportData(tc.nonce, tc.kc); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func devManifest(t *testing.T) *Manifest {
	t.Helper()
	m, err := DevMeasurement(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	return &Manifest{Format: ManifestFormat, Dev: &DevEntry{Measurement: m}}
}

// devDocument is the stand-in's attestation document for a fixed nonce
// and key configuration.
func devDocument(t *testing.T) (nonce, kc, doc []byte) {
	t.Helper()
	ctx := context.Background()
	p, err := Open(ctx, "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	nonce = bytes.Repeat([]byte{7}, 32)
	kc = []byte("ohttp key configuration bytes")
	doc, err = NewDocument(ctx, p, nonce, kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return nonce, kc, doc
}

func TestDevRoundTrip(t *testing.T) {
	nonce, kc, b := devDocument(t)
	doc, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	m := devManifest(t)

	pol := DefaultPolicy()
	if _, err := Verify(doc, nonce, pol, m); err == nil || !strings.HasPrefix(err.Error(), "verify: platform:") {
		t.Fatalf("dev without AllowDev: err = %v, want the platform check named", err)
	}
	pol.AllowDev = true
	res, err := Verify(doc, nonce, pol, m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Proven, "NOTHING WAS PROVEN") {
		t.Fatalf("Proven does not start by saying nothing was proven:\n%s", res.Proven)
	}
	// Its binding line must not claim what only hardware evidence shows.
	if strings.Contains(res.Proven, "made inside this guest") {
		t.Fatalf("Proven claims the stand-in's key was made inside a guest:\n%s", res.Proven)
	}
	if !bytes.Equal(res.KeyConfig, kc) {
		t.Fatalf("KeyConfig = %q", res.KeyConfig)
	}
	other := bytes.Repeat([]byte{8}, 32)
	if _, err := Verify(doc, other, pol, m); err == nil || !strings.HasPrefix(err.Error(), "verify: report_data:") {
		t.Fatalf("wrong nonce: err = %v", err)
	}
}

// TestReportDataEveryByte: the report_data check compares all 64 bytes of
// REPORT_DATA; an expected value that differs in any one byte, the last
// included, fails it.
func TestReportDataEveryByte(t *testing.T) {
	ctx := context.Background()
	p, err := Open(ctx, "dev", nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := ReportData(bytes.Repeat([]byte{5}, 32), []byte("kc"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := p.Evidence(ctx, rd)
	if err != nil {
		t.Fatal(err)
	}
	pol := DefaultPolicy()
	pol.AllowDev = true
	if _, err := VerifyEvidence(ev, rd[:], pol, devManifest(t)); err != nil {
		t.Fatalf("the evidence's own REPORT_DATA: %v", err)
	}
	for _, i := range []int{0, 31, 32, 63} {
		want := bytes.Clone(rd[:])
		want[i] ^= 1
		res, err := VerifyEvidence(ev, want, pol, devManifest(t))
		if bad, _ := res.Failed(); err == nil || bad.Name != "report_data" {
			t.Errorf("REPORT_DATA differing in byte %d: failed check %q (%v), want report_data", i, bad.Name, err)
		}
	}
}

// TestNoHardwareVerifierLinked: this package's tests do not import
// attest/hwverify, so SEV-SNP and TDX evidence must be refused at the
// platform check, naming the import, never passed.
func TestNoHardwareVerifierLinked(t *testing.T) {
	for _, p := range []Platform{SEVSNP, TDX} {
		pol := DefaultPolicy()
		pol.SkipBinding = true
		res, err := VerifyEvidence(&Evidence{Platform: p, Report: make([]byte, 1184)}, nil, pol, &Manifest{Format: ManifestFormat})
		var ce *CheckError
		if !errors.As(err, &ce) || ce.Check.Name != "platform" || !strings.Contains(err.Error(), "attest/hwverify") || res == nil {
			t.Fatalf("%s without a verifier: %v", p, err)
		}
	}
}

func TestRegisterVerifierRefuses(t *testing.T) {
	for _, p := range []Platform{Dev, "sgx"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterVerifier(%q) did not panic", p)
				}
			}()
			RegisterVerifier(p, nil)
		}()
	}
}
