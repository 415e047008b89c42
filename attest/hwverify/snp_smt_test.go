package hwverify

import (
	"strings"
	"testing"

	"github.com/google/go-sev-guest/abi"
	"github.com/pith-project/pith/attest"
)

// TestSNPSMTPlatformInfo: the smt check refuses what the platform runs,
// PLATFORM_INFO.SMT_EN, not what the guest policy merely permits. The
// genuine sample (policy SMT allowed, SMT_EN set) cannot be re-signed by
// AMD, so the other combinations are signed by a chain made here: the
// certificates check fails on them and the smt check still runs.
func TestSNPSMTPlatformInfo(t *testing.T) {
	s := loadSNPSample(t)
	const (
		offPolicySMT    = 0x08 + 2 // guest policy bit 16
		offPlatformInfo = 0x40
	)
	for _, tc := range []struct {
		name             string
		policySMT, smtEn bool
		allowSMT         bool
		ok               bool
		detail           string
	}{
		{"allowed by the guest, on in the platform", true, true, false, false, "PLATFORM_INFO.SMT_EN says the platform has it enabled: this verifier's policy refuses SMT"},
		{"allowed by the guest, on, accepted", true, true, true, true, "accepted by policy"},
		{"allowed by the guest, off in the platform", true, false, false, true, "PLATFORM_INFO.SMT_EN says the platform has it disabled"},
		{"forbidden by the guest, off", false, false, false, true, "the guest policy forbids it and PLATFORM_INFO.SMT_EN is clear"},
		{"forbidden by the guest, yet on", false, true, false, false, "although the guest policy forbids it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report, certs := selfSignedSNP(t, s, func(r []byte) {
				r[offPolicySMT] &^= 1
				r[offPlatformInfo] &^= 1
				if tc.policySMT {
					r[offPolicySMT] |= 1
				}
				if tc.smtEn {
					r[offPlatformInfo] |= 1
				}
			})
			pol := snpSamplePolicy()
			pol.SkipBinding, pol.AllowSMT = true, tc.allowSMT
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: certs}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "certificates" {
				t.Fatalf("failed check %q (%v), want certificates", got, err)
			}
			if c := checkState(t, res, "smt"); c.OK != tc.ok || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("smt check %+v, want ok %v and %q", c, tc.ok, tc.detail)
			}
		})
	}
}

// Proven's policy line names every relaxation a verifier's policy let
// through, not only the protections that held.
func TestSNPPolicyRulesNameRelaxations(t *testing.T) {
	tcb := attest.SNPTCB{}
	for _, tc := range []struct {
		name  string
		gp    abi.SnpPolicy
		smtOn bool
		vmpl  uint32
		want  []string
	}{
		{"strict", abi.SnpPolicy{}, false, 0, []string{"debugging off", "no migration agent", "SMT off on the platform"}},
		{"smt", abi.SnpPolicy{SMT: true}, true, 0, []string{"SMT on"}},
		{"migration agent", abi.SnpPolicy{MigrateMA: true}, false, 0, []string{"MIGRATION AGENT ALLOWED"}},
		{"cxl", abi.SnpPolicy{CXLAllowed: true}, false, 0, []string{"CXL ALLOWED"}},
		{"vmpl", abi.SnpPolicy{}, false, 2, []string{"report requested at VMPL 2"}},
	} {
		got := strings.Join(snpPolicyRules(tc.gp, tc.smtOn, tc.vmpl, nil, tcb), ", ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		if tc.name != "strict" && strings.Contains(got, "no migration agent") == tc.gp.MigrateMA {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
	// The genuine sample runs with SMT on, which the default policy
	// accepts: its Proven says so.
	s := loadSNPSample(t)
	pol := snpSamplePolicy()
	pol.SkipBinding = true
	res, err := attest.VerifyEvidence(s.evidence(), nil, pol, s.manifest())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Proven, "SMT on") {
		t.Errorf("Proven does not say SMT is on:\n%s", res.Proven)
	}
}
