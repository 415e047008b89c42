// Package attestsamples loads, for tests, the real attestation evidence that
// ships inside the go-sev-guest and go-tdx-guest modules: a Milan SEV-SNP
// report with its VCEK and AMD's Milan ASK/ARK, and a Sapphire Rapids TDX
// quote with Intel PCS collateral. The files are read from the module cache
// at test time, never copied into this repository.
package attestsamples

import (
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sevabi "github.com/google/go-sev-guest/abi"
	tdxabi "github.com/google/go-tdx-guest/abi"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/uuid"
)

// ModuleFile reads path inside the module mod as the build sees it.
func ModuleFile(t testing.TB, mod, path string) []byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", mod, err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SNP is go-sev-guest's verify/testdata/attestation.bin with a certificate
// table (the extended report's format) holding vcek.testcer and the ASK and
// ARK of milan.testcer. The report comes from a debug guest (policy 0xb0000).
type SNP struct {
	Report      []byte
	Certs       []byte
	Measurement string // hex
}

func LoadSNP(t testing.TB) SNP {
	t.Helper()
	const mod = "github.com/google/go-sev-guest"
	report := ModuleFile(t, mod, "verify/testdata/attestation.bin")
	vcek := ModuleFile(t, mod, "verify/testdata/vcek.testcer")
	ask, rest := pem.Decode(ModuleFile(t, mod, "verify/testdata/milan.testcer"))
	ark, _ := pem.Decode(rest)
	if ask == nil || ark == nil {
		t.Fatal("milan.testcer: want two PEM certificates (ASK, ARK)")
	}
	table := sevabi.CertTable{Entries: []sevabi.CertTableEntry{
		{GUID: uuid.MustParse(sevabi.VcekGUID), RawCert: vcek},
		{GUID: uuid.MustParse(sevabi.AskGUID), RawCert: ask.Bytes},
		{GUID: uuid.MustParse(sevabi.ArkGUID), RawCert: ark.Bytes},
	}}
	rep, err := sevabi.ReportToProto(report)
	if err != nil {
		t.Fatal(err)
	}
	return SNP{Report: report, Certs: table.Marshal(), Measurement: hex.EncodeToString(rep.GetMeasurement())}
}

// TDXTime is within the validity of the TDX sample's collateral.
var TDXTime = time.Date(2023, time.July, 1, 1, 0, 0, 0, time.UTC)

// TDX is go-tdx-guest's testing/testdata/tdx_prod_quote_SPR_E4.dat and the
// PCS responses its tests verify it with. The issuer chains are the PCS
// response headers in go-tdx-guest's testing/test_cases.go (PEM).
type TDX struct {
	Quote                                                        []byte
	MRTD                                                         string
	RTMRs                                                        [3]string
	TCBInfo, QEIdentity, PCKCRL, RootCRL                         []byte
	TCBInfoIssuerChain, QEIdentityIssuerChain, PCKCRLIssuerChain string
}

func LoadTDX(t testing.TB) TDX {
	t.Helper()
	const mod = "github.com/google/go-tdx-guest"
	s := TDX{
		Quote:      ModuleFile(t, mod, "testing/testdata/tdx_prod_quote_SPR_E4.dat"),
		TCBInfo:    ModuleFile(t, mod, "testing/testdata/sample_tcbInfo_response"),
		QEIdentity: ModuleFile(t, mod, "testing/testdata/sample_qeIdentity_response"),
		PCKCRL:     ModuleFile(t, mod, "testing/testdata/pckcrl"),
		RootCRL:    ModuleFile(t, mod, "testing/testdata/rootcrl.der"),
	}
	anyQ, err := tdxabi.QuoteToProto(s.Quote)
	if err != nil {
		t.Fatal(err)
	}
	body := anyQ.(*pb.QuoteV4).GetTdQuoteBody()
	s.MRTD = hex.EncodeToString(body.GetMrTd())
	for i := range s.RTMRs {
		s.RTMRs[i] = hex.EncodeToString(body.GetRtmrs()[i])
	}
	src := string(ModuleFile(t, mod, "testing/test_cases.go"))
	chain := func(name string) string {
		i := strings.Index(src, "var "+name+" = []string{")
		if i < 0 {
			t.Fatalf("test_cases.go: no %s", name)
		}
		rest := src[i:]
		a := strings.Index(rest, "\"")
		b := strings.Index(rest[a+1:], "\"")
		p, err := url.QueryUnescape(rest[a+1 : a+1+b])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	s.TCBInfoIssuerChain = chain("tcbInfoIssuerChain")
	s.QEIdentityIssuerChain = chain("qeIdentityIssuerChain")
	s.PCKCRLIssuerChain = chain("pckCrlIssuerChain")
	return s
}
