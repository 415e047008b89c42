package hwverify

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	"github.com/pith-project/pith/attest"
)

// TestSNPTurinRefusedByName: a version 3 report naming a Turin CPU is
// refused at the certificates check with the reason (go-sev-guest cannot
// read Turin VCEKs), and no VCEK is asked of KDS for it. The report is the
// sample re-signed by a chain made here: no Turin evidence is invented,
// and none could pass.
func TestSNPTurinRefusedByName(t *testing.T) {
	s := loadSNPSample(t)
	const offFMS = 0x188 // family, model, stepping (report version 3 on)
	family, model, stepping := byte(0x1A), byte(0x02), byte(0x00)
	if line := kds.ProductLineFromFms(abi.FmsToCpuid1Eax(family, model, stepping)); line != "Turin" {
		t.Fatalf("family %#x model %#x is %q, not Turin", family, model, line)
	}
	report, certs := selfSignedSNP(t, s, func(r []byte) {
		r[0] = 3 // report version
		r[offFMS], r[offFMS+1], r[offFMS+2] = family, model, stepping
	})
	pcs := &fakePCS{}
	for _, tc := range []struct {
		name  string
		certs []byte
		fetch *attest.Fetcher
	}{
		{"certificates in the document", certs, nil},
		{"VCEK to fetch", nil, &attest.Fetcher{Client: &http.Client{Transport: pcs}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := snpSamplePolicy()
			pol.SkipBinding, pol.Fetch = true, tc.fetch
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: tc.certs}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "certificates" || !strings.Contains(err.Error(), "Turin reports cannot be verified yet") {
				t.Fatalf("failed check %q (%v), want certificates naming Turin", got, err)
			}
			if pcs.hits != 0 {
				t.Fatalf("%d requests to KDS for a Turin VCEK", pcs.hits)
			}
		})
	}
}
