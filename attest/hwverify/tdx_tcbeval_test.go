package hwverify

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestTDXTCBEvaluationNumber: a minimum tcbEvaluationDataNumber is held
// against Intel's collateral, both its TCB info and its QE identity (15
// each in the sample). Intel's sample collateral rates the sample quote's
// TCB out of date, so the collateral check fails on it whatever the
// minimum; the tcb_evaluation check runs first and is asserted alone.
func TestTDXTCBEvaluationNumber(t *testing.T) {
	s := loadTDXSample(t)
	col := s.parsedCollateral(t)
	const n15 = `"tcbEvaluationDataNumber":15`
	relabel := func(body []byte, n string) []byte {
		if !bytes.Contains(body, []byte(n15)) {
			t.Fatalf("the sample has no %s", n15)
		}
		return bytes.Replace(body, []byte(n15), []byte(`"tcbEvaluationDataNumber":`+n), 1)
	}
	with := func(edit func(c *attest.TDXCollateral)) []byte { return s.collateralWith(t, edit) }
	for _, tc := range []struct {
		name       string
		min        uint32
		collateral []byte
		fetch      *attest.TDXCollateral // served by a fake PCS when set
		want       string                // "ok", "" for no check, else in the detail
	}{
		{"no minimum", 0, s.collateral, nil, ""},
		{"at the sample's", 15, s.collateral, nil, "ok"},
		{"above the sample's", 16, s.collateral, nil, "TCB info tcbEvaluationDataNumber 15, QE identity 15: below the minimum 16"},
		{"QE identity older than the TCB info", 15, with(func(c *attest.TDXCollateral) { c.QEIdentity = relabel(c.QEIdentity, "14") }), nil, "QE identity 14: below"},
		{"TCB info older than the QE identity", 15, with(func(c *attest.TDXCollateral) { c.TCBInfo = relabel(c.TCBInfo, "14") }), nil, "TCB info tcbEvaluationDataNumber 14"},
		{"QE identity without a number", 1, with(func(c *attest.TDXCollateral) { c.QEIdentity = relabel(c.QEIdentity, "null") }), nil, "QE identity carried by the document: no tcbEvaluationDataNumber"},
		{"no collateral", 1, nil, nil, "the document carries none"},
		// With Fetch the numbers are PCS's, not the document's.
		{"fetched over a newer-looking document", 16, with(func(c *attest.TDXCollateral) {
			c.TCBInfo, c.QEIdentity = relabel(c.TCBInfo, "99"), relabel(c.QEIdentity, "99")
		}), &col, "fetched from Intel PCS: TCB info tcbEvaluationDataNumber 15"},
		{"fetched, at the minimum", 15, nil, &col, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tdxSamplePolicy()
			pol.Now, pol.SkipBinding, pol.MinTDXTCBEvaluationDataNumber = tdxSampleTime, true, tc.min
			if tc.fetch != nil {
				pol.Fetch = &attest.Fetcher{Client: &http.Client{Transport: &fakePCS{col: *tc.fetch}}}
			}
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote), Collateral: tc.collateral}, nil, pol, s.manifest())
			got := failedCheck(t, res, err)
			if tc.want == "" {
				for _, c := range res.Checks {
					if c.Name == "tcb_evaluation" {
						t.Fatalf("tcb_evaluation check without a minimum: %+v", c)
					}
				}
				return
			}
			c := checkState(t, res, "tcb_evaluation")
			if c.OK != (tc.want == "ok") || (tc.want != "ok" && (got != "tcb_evaluation" || !strings.Contains(c.Detail, tc.want))) {
				t.Fatalf("tcb_evaluation %+v, first failure %q (%v); want %s", c, got, err, tc.want)
			}
			if tc.want == "ok" && got != "collateral" {
				t.Fatalf("first failure %q (%v), want collateral (the sample's out-of-date TCB)", got, err)
			}
		})
	}
}

// unreachable is Intel PCS out of reach.
type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: connect: network is unreachable")
}

// With Fetch and a minimum, a PCS out of reach fails verification by the
// fetch's own error (collateral), not by a tcb_evaluation that had nothing
// to read.
func TestTDXTCBEvaluationFetchFails(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePolicy()
	pol.Now, pol.SkipBinding, pol.MinTDXTCBEvaluationDataNumber = tdxSampleTime, true, 15
	pol.Fetch = &attest.Fetcher{Client: &http.Client{Transport: unreachable{}}}
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote), Collateral: s.collateral}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "collateral" {
		t.Fatalf("first failure %q (%v), want collateral with the fetch's error", got, err)
	}
	if c := checkState(t, res, "tcb_evaluation"); !c.Skipped {
		t.Fatalf("tcb_evaluation %+v, want skipped", c)
	}
}
