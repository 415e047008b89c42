package hwverify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestHostData: the host_data check refuses launch values the host chose
// (SEV-SNP HOST_DATA, TDX MRCONFIGID, MROWNER, MROWNERCONFIG) unless
// Policy.AllowHostData, and the rtmr3 check refuses a TDX RTMR3 that
// something in the TD extended. Both genuine samples have them zero; the
// changed copies are re-signed by a chain made here (SEV-SNP) or fail the
// signature (TDX), while these checks still run on them and are read here
// by name.
func TestHostData(t *testing.T) {
	snp, tdx := loadSNPSample(t), loadTDXSample(t)
	const (
		offSNPHostData = 0xc0
		offTDXBody     = 48
		offMRConfigID  = offTDXBody + 184
		offMROwner     = offTDXBody + 232
		offMROwnerCfg  = offTDXBody + 280
		offRTMR3       = offTDXBody + 328 + 3*48
	)
	for _, tc := range []struct {
		name   string
		tdx    bool
		set    int // offset of a byte set to 0x5a; 0 for the genuine sample
		allow  bool
		check  string
		ok     bool
		detail string
	}{
		{"SEV-SNP sample", false, 0, false, "host_data", true, "HOST_DATA zero"},
		{"SEV-SNP HOST_DATA", false, offSNPHostData + 31, false, "host_data", false, "HOST_DATA " + strings.Repeat("00", 31) + "5a: chosen by the host"},
		{"SEV-SNP HOST_DATA allowed", false, offSNPHostData, true, "host_data", true, "accepted by policy"},
		{"TDX sample", true, 0, false, "host_data", true, "MRCONFIGID, MROWNER, MROWNERCONFIG zero"},
		{"TDX sample RTMR3", true, 0, false, "rtmr3", true, "RTMR3 zero"},
		{"TDX MRCONFIGID", true, offMRConfigID, false, "host_data", false, "MRCONFIGID 5a00"},
		{"TDX MROWNER", true, offMROwner + 47, false, "host_data", false, "MROWNER 0000"},
		{"TDX MROWNERCONFIG allowed", true, offMROwnerCfg, true, "host_data", true, "MROWNERCONFIG 5a00"},
		{"TDX RTMR3", true, offRTMR3, true, "rtmr3", false, "RTMR3 5a00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev *attest.Evidence
			var man *attest.Manifest
			pol := snpSamplePolicy()
			if tc.tdx {
				q := bytes.Clone(tdx.quote)
				if tc.set != 0 {
					q[tc.set] = 0x5a
				}
				ev, man, pol = &attest.Evidence{Platform: attest.TDX, Report: q}, tdx.manifest(), tdxSamplePolicy()
				pol.Now = tdxSampleTime
			} else {
				ev, man = snp.evidence(), snp.manifest()
				if tc.set != 0 {
					ev.Report, ev.Certificates = selfSignedSNP(t, snp, func(r []byte) { r[tc.set] = 0x5a })
				}
			}
			pol.SkipBinding, pol.AllowHostData = true, tc.allow
			res, err := attest.VerifyEvidence(ev, nil, pol, man)
			c := checkState(t, res, tc.check)
			if c.OK != tc.ok || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("%s %+v, want ok %v naming %q", tc.check, c, tc.ok, tc.detail)
			}
			want := ""
			switch {
			case tc.set != 0 && tc.tdx:
				want = "signature"
			case tc.set != 0:
				want = "certificates"
			}
			if got := failedCheck(t, res, err); got != want {
				t.Fatalf("failed check %q (%v), want %q", got, err, want)
			}
		})
	}
}
