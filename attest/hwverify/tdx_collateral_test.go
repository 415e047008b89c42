package hwverify

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/pith-project/pith/attest"
)

// TestTDXCollateralRefused: collateral that is out of date on Policy.Now,
// or that was not issued for this platform, is refused by the collateral
// check alone; the quote's own signature still verifies.
func TestTDXCollateralRefused(t *testing.T) {
	s := loadTDXSample(t)
	with := func(edit func(c *attest.TDXCollateral)) []byte { return s.collateralWith(t, edit) }
	for _, tc := range []struct {
		name       string
		now        time.Time
		collateral []byte
		want       string // in the collateral check's detail
	}{
		// The sample's QE identity has nextUpdate 2023-07-08, its TCB
		// info 2023-07-18; the PCK chain is valid for years after.
		{"QE identity past its nextUpdate", time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), s.collateral, "QeIdentity has expired"},
		{"TCB info past its nextUpdate", time.Date(2023, 7, 19, 0, 0, 0, 0, time.UTC), s.collateral, "tcbInfo has expired"},
		// Only one Intel-signed TCB info ships with go-tdx-guest, so a
		// genuine one for another FMSPC cannot be had here: relabelling
		// the sample's is refused by Intel's signature over the body,
		// before go-tdx-guest's FMSPC comparison would run.
		{"TCB info relabelled for another FMSPC", tdxSampleTime, with(func(c *attest.TDXCollateral) {
			c.TCBInfo = bytes.Replace(c.TCBInfo, []byte(`"fmspc":"50806f000000"`), []byte(`"fmspc":"00906ed50000"`), 1)
		}), "could not verify response body"},
		{"TCB info under the PCK CRL's issuer chain", tdxSampleTime, with(func(c *attest.TDXCollateral) { c.TCBInfoIssuerChain = c.PCKCRLIssuerChain }), "tcbInfo"},
		{"collateral not JSON", tdxSampleTime, []byte(`{"tcb_info":`), "TDX collateral"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "TCB info relabelled for another FMSPC" && bytes.Equal(tc.collateral, s.collateral) {
				t.Fatal("the sample's FMSPC was not found to relabel")
			}
			pol := tdxSamplePolicy()
			pol.Now, pol.SkipBinding = tc.now, true
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote), Collateral: tc.collateral}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "collateral" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("failed check %q (%v), want collateral mentioning %q", got, err, tc.want)
			}
			if c := checkState(t, res, "signature"); !c.OK {
				t.Fatalf("signature check %+v: only the collateral should fail", c)
			}
		})
	}
}

// TestTDXHostileLengths: length fields that point past the quote are
// refused at the report check; go-tdx-guest v0.3.1's parser panics on
// them, which would take down pith verify.
func TestTDXHostileLengths(t *testing.T) {
	s := loadTDXSample(t)
	const certAt = 0x27c + 134
	for _, tc := range []struct {
		name string
		at   int
		v    uint32
		n    int
	}{
		{"signed data size 0", 0x278, 0, 4},
		{"QE authentication data size past the end", certAt + 0x1c0, 0xffff, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := bytes.Clone(s.quote)
			if tc.n == 4 {
				binary.LittleEndian.PutUint32(q[tc.at:], tc.v)
			} else {
				binary.LittleEndian.PutUint16(q[tc.at:], uint16(tc.v))
			}
			pol := tdxSamplePolicy()
			pol.Now, pol.SkipBinding = tdxSampleTime, true
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: q}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "report" {
				t.Fatalf("failed check %q (%v), want report", got, err)
			}
		})
	}
}
