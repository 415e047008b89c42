package hwverify

import (
	"encoding/json"
	"testing"

	"github.com/pith-project/pith/attest"
)

// FuzzVerifyEvidenceExtras mutates what rides beside the report in a
// document: the SEV-SNP certificate table and the TDX collateral.
func FuzzVerifyEvidenceExtras(f *testing.F) {
	snp, tdx := loadSNPSample(f), loadTDXSample(f)
	var col attest.TDXCollateral
	if err := json.Unmarshal(tdx.collateral, &col); err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), snp.certs)
	// Offset+length wrapping in 32 bits, and a 4 GiB length: go-sev-guest's
	// parser panics on the first and allocates for the second.
	f.Add(uint8(0), certTable(0, [2]uint32{0xFFFFFFF0, 0x20}))
	f.Add(uint8(0), certTable(0, [2]uint32{48, 0xFFFFFFFF}))
	f.Add(uint8(1), col.TCBInfo)
	f.Add(uint8(2), col.QEIdentity)
	f.Add(uint8(3), col.PCKCRL)
	f.Add(uint8(4), col.RootCRL)
	f.Add(uint8(5), []byte(col.TCBInfoIssuerChain))
	f.Add(uint8(6), []byte(col.PCKCRLIssuerChain))
	f.Add(uint8(7), []byte(col.QEIdentityIssuerChain))
	pol := attest.DefaultPolicy()
	pol.Now, pol.SkipBinding, pol.AllowDebug = tdxSampleTime, true, true
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		if which%8 == 0 {
			attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: snp.report, Certificates: b}, nil, pol, snp.manifest())
			return
		}
		c := col
		switch which % 8 {
		case 1:
			c.TCBInfo = b
		case 2:
			c.QEIdentity = b
		case 3:
			c.PCKCRL = b
		case 4:
			c.RootCRL = b
		case 5:
			c.TCBInfoIssuerChain = string(b)
		case 6:
			c.PCKCRLIssuerChain = string(b)
		case 7:
			c.QEIdentityIssuerChain = string(b)
		}
		raw, _ := json.Marshal(c)
		attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: tdx.quote, Collateral: raw}, nil, pol, tdx.manifest())
	})
}
