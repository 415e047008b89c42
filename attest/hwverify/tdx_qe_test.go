package hwverify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"

	pb "github.com/google/go-tdx-guest/proto/tdx"
)

// TestTDQEIdentity: the sample's QE report is Intel's TD quoting enclave;
// each way a report can differ from it is refused, by name.
func TestTDQEIdentity(t *testing.T) {
	s := loadTDXSample(t)
	// A fresh copy of the sample's QE report each time.
	qeReport := func() *pb.EnclaveReport {
		q, err := attest.ParseTDXQuote(s.quote)
		if err != nil {
			t.Fatal(err)
		}
		return q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport()
	}
	if err := checkTDQEIdentity(qeReport()); err != nil {
		t.Fatalf("the sample's QE report: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(r *pb.EnclaveReport)
		want   string
	}{
		{"another signer", func(r *pb.EnclaveReport) { r.MrSigner[31] ^= 1 }, "MRSIGNER"},
		{"the SGX QE's product id", func(r *pb.EnclaveReport) { r.IsvProdId = 1 }, "ISVPRODID"},
		{"debug enclave", func(r *pb.EnclaveReport) { r.Attributes[0] |= 2 }, "DEBUG"},
		{"not 64-bit", func(r *pb.EnclaveReport) { r.Attributes[0] &^= 0x10 }, "ATTRIBUTES"},
		{"miscselect", func(r *pb.EnclaveReport) { r.MiscSelect = 1 }, "MISCSELECT"},
		{"short attributes", func(r *pb.EnclaveReport) { r.Attributes = r.Attributes[:8] }, "ATTRIBUTES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := qeReport()
			tc.mutate(r)
			if err := checkTDQEIdentity(r); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	// Masked bits (PROVISIONKEY, the XFRM half) may differ.
	r := qeReport()
	r.Attributes[0] ^= 4
	r.Attributes[9] ^= 0xff
	if err := checkTDQEIdentity(r); err != nil {
		t.Fatalf("masked attribute bits: %v", err)
	}
}

// TestTDXQEIdentityChecked: VerifyEvidence records the QE identity check,
// passes it for the sample and fails it for a quote whose QE report names
// another signer, even where no collateral is given.
func TestTDXQEIdentityChecked(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePasses(t, s, "qe_identity")
	// Header, body, signature length, quote signature, attestation key,
	// certification data type and size, then the QE report; its MRSIGNER
	// is at 128.
	const offQEMRSigner = 48 + 584 + 4 + 64 + 64 + 2 + 4 + 128
	q, _ := attest.ParseTDXQuote(s.quote)
	if got := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport().GetMrSigner(); !bytes.Equal(got, s.quote[offQEMRSigner:offQEMRSigner+32]) {
		t.Fatalf("offset %d is not the QE report's MRSIGNER", offQEMRSigner)
	}
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: flipBit(s.quote, offQEMRSigner)}, nil, pol, s.manifest())
	if err == nil {
		t.Fatal("accepted")
	}
	if c := checkState(t, res, "qe_identity"); c.OK || !strings.Contains(c.Detail, "MRSIGNER") {
		t.Fatalf("another QE signer: %+v", c)
	}
}

// TestTDXModuleIdentity: the sample's TDX module is Intel's; a quote whose
// MRSIGNERSEAM or SEAMATTRIBUTES is not zero fails the tdx_module check by
// name, with or without collateral.
func TestTDXModuleIdentity(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePasses(t, s, "tdx_module")
	const (
		offBody          = 48
		offMRSignerSEAM  = offBody + 64
		offSEAMAttribute = offBody + 112
	)
	for _, tc := range []struct {
		name string
		off  int
		want string
	}{
		{"MRSIGNERSEAM", offMRSignerSEAM + 47, "MRSIGNERSEAM"},
		{"SEAMATTRIBUTES", offSEAMAttribute, "SEAMATTRIBUTES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, col := range [][]byte{nil, s.collateral} {
				res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: flipBit(s.quote, tc.off), Collateral: col}, nil, pol, s.manifest())
				if err == nil {
					t.Fatal("accepted")
				}
				if c := checkState(t, res, "tdx_module"); c.OK || !strings.Contains(c.Detail, tc.want) {
					t.Fatalf("collateral %v: %+v", col != nil, c)
				}
			}
		})
	}
}

// tdxSamplePasses verifies the TDX sample without collateral or binding,
// requires the named check to pass, and returns the policy it used.
func tdxSamplePasses(t *testing.T, s tdxSample, check string) attest.Policy {
	t.Helper()
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding = tdxSampleTime, true
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, nil, pol, s.manifest())
	if err != nil {
		t.Fatal(err)
	}
	if c := checkState(t, res, check); !c.OK {
		t.Fatalf("sample: %+v", c)
	}
	return pol
}
