package hwverify

import (
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestSNPPlatformInfo: the platform_info check holds PLATFORM_INFO against
// Policy.RequireSNPPlatform. The genuine sample's PLATFORM_INFO is 0x1
// (SMT_EN alone), so every requirement refuses it; reports with the other
// bits are signed by a chain made here, which the certificates check
// refuses while platform_info still runs on them.
func TestSNPPlatformInfo(t *testing.T) {
	s := loadSNPSample(t)
	const offPlatformInfo = 0x40
	all := attest.SNPPlatformFeatures
	for _, tc := range []struct {
		name    string
		bits    byte // PLATFORM_INFO byte 0 of a re-signed report; 0 for the genuine sample
		require []attest.SNPPlatformFeature
		ok      bool
		detail  string
	}{
		{"sample, nothing required", 0, nil, true, ""},
		{"sample, RAPL disabled required", 0, []attest.SNPPlatformFeature{attest.SNPRAPLDisabled}, false, "PLATFORM_INFO 0x1 lacks RAPL_DIS"},
		{"sample, everything required", 0, all, false, "lacks ECC_EN, RAPL_DIS, CIPHERTEXT_HIDING_DRAM_EN, ALIAS_CHECK_COMPLETE"},
		{"every bit, everything required", 0x3d, all, true, "ECC memory, RAPL disabled, ciphertext hiding in DRAM, memory alias check complete"},
		{"ciphertext hiding alone", 1 | 1<<4, []attest.SNPPlatformFeature{attest.SNPCiphertextHiding, attest.SNPAliasCheckComplete}, false, "lacks ALIAS_CHECK_COMPLETE"},
		{"alias check alone", 1 | 1<<5, []attest.SNPPlatformFeature{attest.SNPAliasCheckComplete}, true, "memory alias check complete"},
		{"ECC alone", 1 | 1<<2, []attest.SNPPlatformFeature{attest.SNPECC, attest.SNPRAPLDisabled}, false, "lacks RAPL_DIS"},
		{"unknown requirement", 0, []attest.SNPPlatformFeature{"tsme"}, false, `requires "tsme"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := s.evidence()
			if tc.bits != 0 {
				ev.Report, ev.Certificates = selfSignedSNP(t, s, func(r []byte) { r[offPlatformInfo] = tc.bits })
			}
			pol := snpSamplePolicy()
			pol.SkipBinding, pol.RequireSNPPlatform = true, tc.require
			res, err := attest.VerifyEvidence(ev, nil, pol, s.manifest())
			want := ""
			switch {
			case tc.bits != 0:
				want = "certificates"
			case !tc.ok:
				want = "platform_info"
			}
			if got := failedCheck(t, res, err); got != want {
				t.Fatalf("failed check %q (%v), want %q", got, err, want)
			}
			if tc.require == nil {
				for _, c := range res.Checks {
					if c.Name == "platform_info" {
						t.Fatalf("platform_info recorded with nothing required: %+v", c)
					}
				}
				return
			}
			if c := checkState(t, res, "platform_info"); c.OK != tc.ok || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("platform_info %+v, want ok %v and %q", c, tc.ok, tc.detail)
			}
		})
	}
}
