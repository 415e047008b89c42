package hwverify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/pith-project/pith/attest"
	"math/big"
	"strings"
	"testing"
	"time"

	tdxabi "github.com/google/go-tdx-guest/abi"
)

// forgedIntelChain makes a leaf/intermediate/root chain with Intel's names,
// signed by keys made here.
func forgedIntelChain(t *testing.T) []byte {
	t.Helper()
	var out []byte
	var parent *x509.Certificate
	var parentKey *ecdsa.PrivateKey
	names := []string{"Intel SGX Root CA", "Intel SGX PCK Platform CA", "Intel SGX PCK Certificate"}
	var pems [][]byte
	for i, cn := range names {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"Intel Corporation"}},
			NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2049, 1, 1, 0, 0, 0, 0, time.UTC),
			IsCA:         i < 2, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		parent, parentKey = c, key
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	for i := len(pems) - 1; i >= 0; i-- { // leaf first, as in a quote
		out = append(out, pems[i]...)
	}
	return out
}

// TestTDXForgedChain swaps the sample quote's PCK chain for one made here
// with Intel's names: it is well formed and internally signed, and still
// refused because its root is not Intel's.
func TestTDXForgedChain(t *testing.T) {
	s := loadTDXSample(t)
	q, err := attest.ParseTDXQuote(s.quote)
	if err != nil {
		t.Fatal(err)
	}
	chain := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetPckCertificateChainData()
	forged := forgedIntelChain(t)
	delta := uint32(len(forged)) - chain.GetSize()
	chain.PckCertChain, chain.Size = forged, uint32(len(forged))
	cd := q.GetSignedData().GetCertificationData()
	cd.Size += delta
	q.SignedDataSize += delta
	raw, err := tdxabi.QuoteToAbiBytes(q)
	if err != nil {
		t.Fatal(err)
	}
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding = tdxSampleTime, true
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: raw}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "certificates" || !strings.Contains(err.Error(), "not Intel's SGX Root CA") {
		t.Fatalf("forged chain: failed check %q (%v)", got, err)
	}
	if c := checkState(t, res, "measurement"); !c.OK {
		t.Fatalf("the other checks should still run: %+v", res.Checks)
	}
}
