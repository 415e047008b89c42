package hwverify

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
	samples "github.com/pith-project/pith/internal/attestsamples"
)

type snpSample struct {
	report, certs []byte
	measurement   string
}

func loadSNPSample(t testing.TB) snpSample {
	s := samples.LoadSNP(t)
	return snpSample{s.Report, s.Certs, s.Measurement}
}

func (s snpSample) manifest() *attest.Manifest {
	return &attest.Manifest{Format: attest.ManifestFormat, SEVSNP: []attest.SNPMeasurement{
		{VCPUs: 4, VCPUType: "EPYC-Milan", GuestFeatures: 1, Measurement: s.measurement},
		{VCPUs: 2, VCPUType: "EPYC-Milan", GuestFeatures: 1, Measurement: strings.Repeat("ab", 48)},
	}}
}

func (s snpSample) evidence() *attest.Evidence {
	return &attest.Evidence{Platform: attest.SEVSNP, Report: bytes.Clone(s.report), Certificates: bytes.Clone(s.certs)}
}

// snpSamplePolicy accepts what the go-sev-guest sample is: a debug guest.
func snpSamplePolicy() attest.Policy {
	p := attest.DefaultPolicy()
	p.AllowDebug = true
	return p
}

type tdxSample struct {
	quote, collateral []byte
	mrtd              string
	rtmrs             [3]string
}

var tdxSampleTime = samples.TDXTime

// tdxSamplePolicy accepts what the go-tdx-guest sample is: a TD whose
// TD_ATTRIBUTES leave SEPT_VE_DISABLE clear (0x40000000, PKS alone).
func tdxSamplePolicy() attest.Policy {
	p := attest.DefaultPolicy()
	p.AllowTDXSEPTVE = true
	return p
}

func loadTDXSample(t testing.TB) tdxSample {
	s := samples.LoadTDX(t)
	col, err := json.Marshal(attest.TDXCollateral{
		TCBInfo: s.TCBInfo, TCBInfoIssuerChain: s.TCBInfoIssuerChain,
		QEIdentity: s.QEIdentity, QEIdentityIssuerChain: s.QEIdentityIssuerChain,
		PCKCRL: s.PCKCRL, PCKCRLIssuerChain: s.PCKCRLIssuerChain,
		RootCRL: s.RootCRL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tdxSample{quote: s.Quote, collateral: col, mrtd: s.MRTD, rtmrs: s.RTMRs}
}

// parsedCollateral is the sample's collateral as the document carries it.
func (s tdxSample) parsedCollateral(t testing.TB) attest.TDXCollateral {
	t.Helper()
	var col attest.TDXCollateral
	if err := json.Unmarshal(s.collateral, &col); err != nil {
		t.Fatal(err)
	}
	return col
}

// collateralWith is the sample's collateral changed by edit, encoded.
func (s tdxSample) collateralWith(t testing.TB, edit func(c *attest.TDXCollateral)) []byte {
	t.Helper()
	col := s.parsedCollateral(t)
	edit(&col)
	b, err := json.Marshal(col)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s tdxSample) manifest() *attest.Manifest {
	return &attest.Manifest{Format: attest.ManifestFormat, TDX: &attest.TDXMeasurement{MRTD: s.mrtd, RTMR0: s.rtmrs[0], RTMR1: s.rtmrs[1], RTMR2: s.rtmrs[2]}}
}

func flipBit(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1
	return out
}

// otherReportData is a REPORT_DATA no sample carries.
func otherReportData() []byte {
	h := sha512.Sum512([]byte("not the sample's report data"))
	return h[:]
}

// failedCheck returns the name of the check err names.
func failedCheck(t *testing.T, res *attest.Result, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ce *attest.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *CheckError", err)
	}
	if !errors.Is(err, attest.ErrVerify) {
		t.Fatalf("error %v does not match ErrVerify", err)
	}
	if res == nil {
		t.Fatalf("no Result with error %v", err)
	}
	return ce.Check.Name
}

// checkState returns the check called name, and fails the test when the
// verifier did not record one: a check deleted from the verifier must not
// read as a check that passed or failed.
func checkState(t *testing.T, res *attest.Result, name string) attest.Check {
	t.Helper()
	if res == nil {
		t.Fatalf("no Result to find the %s check in", name)
	}
	for _, c := range res.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check among %+v", name, res.Checks)
	return attest.Check{}
}
