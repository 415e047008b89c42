package tdx_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"hash"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/image/measure/inputs"
	"github.com/pith-project/pith/image/measure/inputs/inputstest"
	"github.com/pith-project/pith/image/measure/tdx"
	"github.com/pith-project/pith/internal/oracle"
)

// Layout of craftedPE, a PE32+ image with three sections listed out of
// file order (one without raw data), data after the last section and a
// certificate table at the end.
const (
	peOpt      = 0x40 + 4 + 20 // optional header
	peChecksum = peOpt + 64
	peCertDir  = peOpt + 112 + 4*8
	peHeaders  = 0x200
	peCertOff  = 0x540
	peCertLen  = 0x40
	peLen      = peCertOff + peCertLen
)

func craftedPE() []byte {
	b := make([]byte, peLen)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	le16 := func(off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
	le32 := func(off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
	copy(b, "MZ")
	le32(0x3c, 0x40)
	copy(b[0x40:], "PE\x00\x00")
	le16(0x44, 0x8664) // Machine
	le16(0x46, 3)      // NumberOfSections
	le16(0x54, 240)    // SizeOfOptionalHeader
	le16(peOpt, 0x20b)
	le32(peOpt+60, peHeaders)    // SizeOfHeaders
	le32(peChecksum, 0x12345678) // CheckSum
	le32(peOpt+108, 16)          // NumberOfRvaAndSizes
	le32(peCertDir, peCertOff)
	le32(peCertDir+4, peCertLen)
	sec := peOpt + 240
	for i, s := range []struct{ off, size uint32 }{{0x400, 0x100}, {0x200, 0x200}, {0x300, 0}} {
		le32(sec+40*i+16, s.size)
		le32(sec+40*i+20, s.off)
	}
	return b
}

// The digest by the steps of the PE/COFF specification's Appendix A,
// written out as byte ranges of craftedPE.
func TestAuthenticodeCrafted(t *testing.T) {
	pe := craftedPE()
	h := sha512.New384()
	for _, r := range [][2]int{
		{0, peChecksum},                // headers up to CheckSum
		{peChecksum + 4, peCertDir},    // to the certificate directory
		{peCertDir + 8, peHeaders},     // rest of the headers
		{0x200, 0x400}, {0x400, 0x500}, // sections in file order
		{0x500, peCertOff}, // data after the sections, without the certificate table
	} {
		h.Write(pe[r[0]:r[1]])
	}
	want := h.Sum(nil)
	got, err := tdx.Authenticode(pe, sha512.New384)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Authenticode = %x\n            want %x", got, want)
	}
	// What the digest leaves out may change; anything else may not.
	for _, c := range []struct {
		at   int
		same bool
	}{{peChecksum, true}, {peCertDir + 1, true}, {peCertOff + 3, true}, {peOpt + 8, false}, {0x1ff, false}, {0x210, false}, {0x520, false}} {
		m := append([]byte(nil), pe...)
		m[c.at] ^= 0x40
		d, err := tdx.Authenticode(m, sha512.New384)
		if err != nil {
			// Flipping a byte of the certificate directory's address
			// leaves the digest alone but must not be an error either.
			t.Fatalf("byte %#x flipped: %v", c.at, err)
		}
		if bytes.Equal(d, want) != c.same {
			t.Errorf("byte %#x flipped: digest unchanged = %v, want %v", c.at, bytes.Equal(d, want), c.same)
		}
	}
}

func TestAuthenticodeRefuses(t *testing.T) {
	le32 := func(b []byte, off int, v uint32) []byte { binary.LittleEndian.PutUint32(b[off:], v); return b }
	for _, c := range []struct {
		name string
		pe   func([]byte) []byte
		want string
	}{
		{"empty", func([]byte) []byte { return nil }, "past the"},
		{"truncated headers", func(b []byte) []byte { return b[:0x100] }, "past the"},
		{"no PE signature", func(b []byte) []byte { b[0x41] = 'X'; return b }, "no PE signature"},
		{"e_lfanew past the end", func(b []byte) []byte { return le32(b, 0x3c, 1<<30) }, "e_lfanew"},
		{"bad magic", func(b []byte) []byte { b[peOpt] = 0x99; return b }, "magic"},
		{"section past the end", func(b []byte) []byte { return le32(b, peOpt+240+16, 0x10000) }, "section data"},
		{"SizeOfHeaders past the end", func(b []byte) []byte { return le32(b, peOpt+60, 1<<31) }, "SizeOfHeaders"},
		{"certificate table too big", func(b []byte) []byte { return le32(b, peCertDir+4, 0x1000) }, "certificate table"},
		{"too many sections", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[0x46:], 1000); return b }, "sections"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tdx.Authenticode(c.pe(craftedPE()), sha512.New384)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}

func FuzzAuthenticode(f *testing.F) {
	f.Add(craftedPE())
	f.Add(craftedPE()[:0x1c0])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = tdx.Authenticode(b, sha512.New384) // must not panic
	})
}

// requireTool returns the path of an oracle program, skipping the test
// when it is missing unless PITH_ORACLES makes that a failure.
func requireTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := name + " missing (" + install + "; 'make test' installs it through scripts/install-oracles.sh)"
	if oracle.Mandatory() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// throwawaySigner writes a fresh self-signed certificate and its key, for
// osslsigncode to sign with: it prints the digest only of signed files.
func throwawaySigner(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pith test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// The Authenticode digest of the pinned Debian kernel against
// osslsigncode's: it signs the kernel and prints the digest it put in the
// signature, over the unsigned file. Our digest of the unsigned kernel and
// of the signed one (whose certificate table must be left out) must both
// equal it, for SHA-256 and SHA-384. osslsigncode pads an image to a
// multiple of 8 bytes before hashing, edk2 does not: the kernel is
// 11612672 bytes, a multiple of 8, so both rules agree on it.
func TestAuthenticodeOsslsigncode(t *testing.T) {
	tool := requireTool(t, "osslsigncode", "apt-get install osslsigncode")
	kernel := inputstest.Load(t, inputs.CloudKernel)
	if len(kernel)%8 != 0 {
		t.Fatalf("kernel of %d bytes: not a multiple of 8, where osslsigncode's padding would differ from edk2", len(kernel))
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(in, kernel, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := throwawaySigner(t, dir)
	digestLine := regexp.MustCompile(`(?m)^Current message digest\s*:\s*([0-9A-Fa-f]+)\s*$`)
	for _, c := range []struct {
		alg string
		h   func() hash.Hash
	}{{"sha256", sha256.New}, {"sha384", sha512.New384}} {
		t.Run(c.alg, func(t *testing.T) {
			out := filepath.Join(dir, "signed-"+c.alg)
			if b, err := exec.Command(tool, "sign", "-h", c.alg, "-certs", cert, "-key", key, "-in", in, "-out", out).CombinedOutput(); err != nil {
				t.Fatalf("osslsigncode sign: %v\n%s", err, b)
			}
			b, _ := exec.Command(tool, "verify", "-in", out).CombinedOutput() // fails on the untrusted signer, still prints the digest
			m := digestLine.FindSubmatch(b)
			if m == nil {
				t.Fatalf("osslsigncode verify printed no digest:\n%s", b)
			}
			want := strings.ToLower(string(m[1]))
			got, err := tdx.Authenticode(kernel, c.h)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != want {
				t.Errorf("Authenticode(kernel) = %x\n osslsigncode says %s", got, want)
			}
			signed, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = tdx.Authenticode(signed, c.h); err != nil || hex.EncodeToString(got) != want {
				t.Errorf("Authenticode(signed kernel) = %x, %v\n osslsigncode says %s", got, err, want)
			}
			if s, err := tdx.Signed(signed); err != nil || !s {
				t.Errorf("Signed(signed kernel) = %v, %v", s, err)
			}
		})
	}
}
