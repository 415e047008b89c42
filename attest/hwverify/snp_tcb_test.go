package hwverify

import (
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestSNPMinTCBCommitted: the minimum TCB binds COMMITTED_TCB too, the
// level the host may roll provisional firmware back to, and LAUNCH_TCB,
// the firmware that measured the guest. The sample's
// TCBs are all bootloader 2, tee 0, snp 5, microcode 68; the reports are
// re-signed by a chain made here (certificates fails, tcb still runs).
func TestSNPMinTCBCommitted(t *testing.T) {
	s := loadSNPSample(t)
	const (
		offCommittedSNP = 0x1E0 + 6 // COMMITTED_TCB, SNP level (Milan layout)
		offLaunchSNP    = 0x1F0 + 6 // LAUNCH_TCB, SNP level
	)
	sample := attest.SNPTCB{BootLoader: 2, TEE: 0, SNP: 5, Microcode: 68}
	older := sample
	older.SNP = 4
	for _, tc := range []struct {
		name         string
		committedSNP byte
		launchSNP    byte
		min          attest.SNPTCB
		want         string // "ok" or a word of the failure
	}{
		{"committed and launch as reported, at the minimum", 5, 5, sample, "ok"},
		{"committed below the minimum", 4, 5, sample, "committed TCB"},
		{"committed at a lower minimum", 4, 5, older, "ok"},
		{"launched below the minimum", 5, 4, sample, "launch TCB"},
		{"launched at a lower minimum", 5, 4, older, "ok"},
		{"reported below the minimum", 5, 5, attest.SNPTCB{SNP: 6}, "reported TCB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report, certs := selfSignedSNP(t, s, func(r []byte) { r[offCommittedSNP], r[offLaunchSNP] = tc.committedSNP, tc.launchSNP })
			pol := snpSamplePolicy()
			pol.SkipBinding, pol.MinSNPTCB = true, tc.min
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: certs}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "certificates" {
				t.Fatalf("failed check %q (%v), want certificates", got, err)
			}
			c := checkState(t, res, "tcb")
			if c.OK != (tc.want == "ok") || (tc.want != "ok" && !strings.Contains(c.Detail, tc.want)) {
				t.Fatalf("tcb check %+v, want %s", c, tc.want)
			}
		})
	}
}
