package hwverify

import (
	"github.com/pith-project/pith/attest"
	"strings"
	"testing"
)

// FuzzVerifyReport feeds arbitrary reports, with the real certificates
// and manifests, to every platform's verifier: no panic, a failing check.
func FuzzVerifyReport(f *testing.F) {
	snp, tdx := loadSNPSample(f), loadTDXSample(f)
	f.Add(uint8(0), snp.report)
	f.Add(uint8(1), tdx.quote)
	f.Add(uint8(2), make([]byte, 317))
	f.Add(uint8(0), snp.report[:100])
	f.Add(uint8(1), tdx.quote[:1000])
	pol := attest.DefaultPolicy()
	pol.AllowDev = true
	pol.Now = tdxSampleTime
	rd := otherReportData()
	f.Fuzz(func(t *testing.T, which uint8, report []byte) {
		ev := &attest.Evidence{Report: report}
		var m *attest.Manifest
		switch which % 3 {
		case 0:
			ev.Platform, ev.Certificates, m = attest.SEVSNP, snp.certs, snp.manifest()
		case 1:
			ev.Platform, ev.Collateral, m = attest.TDX, tdx.collateral, tdx.manifest()
		case 2:
			ev.Platform, m = attest.Dev, &attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: strings.Repeat("00", 48)}}
		}
		res, err := attest.VerifyEvidence(ev, rd, pol, m)
		if err == nil {
			t.Fatalf("fuzzed %s report verified: %+v", ev.Platform, res)
		}
	})
}
