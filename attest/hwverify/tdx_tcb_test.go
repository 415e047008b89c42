package hwverify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestTDXQEPCESVN: the QE and PCE SVN minimums are held against the QE
// report's ISVSVN (4 in Intel's sample) and the PCK certificate's PCESVN
// (11), not against the quote header's reserved QE_SVN and PCE_SVN (0 in
// the sample), so a minimum at the genuine value passes and one above it
// is refused, and the detail names the values compared.
func TestTDXQEPCESVN(t *testing.T) {
	s := loadTDXSample(t)
	q, err := attest.ParseTDXQuote(s.quote)
	if err != nil {
		t.Fatal(err)
	}
	if h := q.GetHeader(); !bytes.Equal(h.GetQeSvn(), []byte{0, 0}) || !bytes.Equal(h.GetPceSvn(), []byte{0, 0}) {
		t.Fatalf("the sample's header QE_SVN %x, PCE_SVN %x: this test assumes the reserved zeros", h.GetQeSvn(), h.GetPceSvn())
	}
	const compared = "QE report ISVSVN 4, PCK certificate PCESVN 11"
	for _, tc := range []struct {
		name    string
		qe, pce uint16
		ok      bool
	}{
		{"QE at the sample's ISVSVN", 4, 0, true},
		{"QE above it", 5, 0, false},
		{"PCE at the sample's PCESVN", 0, 11, true},
		{"PCE above it", 0, 12, false},
		{"both at the sample's", 4, 11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tdxSamplePolicy()
			pol.Now, pol.SkipBinding = tdxSampleTime, true
			pol.MinTDXQESVN, pol.MinTDXPCESVN = tc.qe, tc.pce
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, nil, pol, s.manifest())
			want := ""
			if !tc.ok {
				want = "tcb"
			}
			if got := failedCheck(t, res, err); got != want {
				t.Fatalf("failed check %q (%v), want %q", got, err, want)
			}
			if c := checkState(t, res, "tcb"); !strings.Contains(c.Detail, compared) {
				t.Fatalf("tcb detail %q does not name %q", c.Detail, compared)
			}
		})
	}
}

// TestTDXQESVNUnsigned: a quote whose signatures do not verify cannot meet
// a QE or PCE SVN minimum, whatever its QE report says.
func TestTDXQESVNUnsigned(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding = tdxSampleTime, true
	pol.MinTDXQESVN = 1
	const sigOff = 48 + 584 + 4
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: flipBit(s.quote, sigOff+5)}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "signature" {
		t.Fatalf("failed check %q (%v), want signature", got, err)
	}
	if c := checkState(t, res, "tcb"); c.OK {
		t.Fatalf("tcb check passed on an unverified quote: %+v", c)
	}
}
