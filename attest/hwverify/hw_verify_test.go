package hwverify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/pem"
	"github.com/pith-project/pith/attest"
	samples "github.com/pith-project/pith/internal/attestsamples"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-sev-guest/abi"
	sevtest "github.com/google/go-sev-guest/testing"
)

func TestSNPSampleVerifies(t *testing.T) {
	s := loadSNPSample(t)
	pol := snpSamplePolicy()

	// The sample comes from a debug guest (guest policy 0xb0000, bit 19):
	// the default policy refuses it, by name.
	res, err := attest.VerifyEvidence(s.evidence(), nil, attest.DefaultPolicy(), s.manifest())
	if got := failedCheck(t, res, err); got != "debug" {
		t.Fatalf("debug sample under the default policy: failed check %q (%v), want debug", got, err)
	}

	// Every check passes but the binding, which a foreign sample cannot
	// satisfy: shown by skipping it, by failing it alone, and by passing it
	// with the sample's own REPORT_DATA.
	pol.SkipBinding = true
	res, err = attest.VerifyEvidence(s.evidence(), nil, pol, s.manifest())
	if err != nil {
		t.Fatalf("%v\n%+v", err, res.Checks)
	}
	for _, c := range res.Checks {
		if !c.OK && c.Name != "report_data" {
			t.Errorf("check %s did not pass: %s", c.Name, c.Detail)
		}
	}
	if res.Matched != "4 vCPUs of type EPYC-Milan" || !strings.Contains(res.Proven, "NOT PROVEN") || !strings.Contains(res.Proven, "genuine AMD Milan") ||
		!strings.Contains(res.Proven, "NOT CHECKED: AMD's certificate revocation list") {
		t.Errorf("Matched %q, Proven:\n%s", res.Matched, res.Proven)
	}

	res, err = attest.VerifyEvidence(s.evidence(), otherReportData(), snpSamplePolicy(), s.manifest())
	if got := failedCheck(t, res, err); got != "report_data" {
		t.Fatalf("foreign REPORT_DATA: failed check %q (%v), want report_data", got, err)
	}
	n := 0
	for _, c := range res.Checks {
		if !c.OK && !c.Skipped {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d checks failed, want only report_data: %+v", n, res.Checks)
	}

	rep, _ := abi.ReportToProto(s.report)
	if _, err := attest.VerifyEvidence(s.evidence(), rep.GetReportData(), snpSamplePolicy(), s.manifest()); err != nil {
		t.Fatalf("with the sample's own REPORT_DATA: %v", err)
	}
}

func TestSNPRefuses(t *testing.T) {
	s := loadSNPSample(t)
	rep, _ := abi.ReportToProto(s.report)
	const (
		offReportData  = 0x50
		offMeasurement = 0x90
		offPolicy      = 0x08
		offSignature   = 0x2A0
	)
	vcekOff := func(certs []byte) int {
		hs, err := abi.ParseSnpCertTableHeader(certs)
		if err != nil {
			t.Fatal(err)
		}
		return int(hs[0].Offset) + 200 // inside the VCEK's signed part
	}
	for _, tc := range []struct {
		name   string
		mutate func(ev *attest.Evidence, pol *attest.Policy, m *attest.Manifest, want *[]byte)
		check  string
	}{
		{"signature bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, offSignature+3)
		}, "signature"},
		{"measurement bit in the report", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, offMeasurement+7)
		}, "signature"},
		{"report data bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, offReportData)
		}, "signature"},
		{"debug bit in the guest policy", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report[offPolicy+2] ^= 1 << 3 // bit 19
		}, "signature"},
		{"debug guest under a policy refusing debug", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.AllowDebug = false
		}, "debug"},
		{"certificate bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Certificates = flipBit(ev.Certificates, vcekOff(ev.Certificates))
		}, "certificates"},
		{"no certificates", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Certificates = nil
		}, "certificates"},
		{"manifest expects another measurement", func(_ *attest.Evidence, _ *attest.Policy, m *attest.Manifest, _ *[]byte) {
			m.SEVSNP[0].Measurement = "ff" + m.SEVSNP[0].Measurement[2:]
		}, "measurement"},
		{"wrong vCPU count", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.RequireVCPUs = 2
		}, "measurement"},
		{"vCPU count the manifest lacks", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.RequireVCPUs = 8
		}, "measurement"},
		{"wrong nonce", func(_ *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, want *[]byte) {
			*want = flipBit(rep.GetReportData(), 0)
		}, "report_data"},
		{"wrong nonce in the last byte only", func(_ *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, want *[]byte) {
			*want = flipBit(rep.GetReportData(), 63) // a 32-byte comparison would pass it
		}, "report_data"},
		{"no nonce", func(_ *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, want *[]byte) {
			*want = nil
		}, "report_data"},
		{"old TCB", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.MinSNPTCB = attest.SNPTCB{BootLoader: 0xff}
		}, "tcb"},
		{"guest SVN", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.MinSNPGuestSVN = 1 << 30
		}, "guest_svn"},
		{"guest policy ABI", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.MinSNPABIMajor = 0xff
		}, "guest_policy_abi"},
		{"chip not on the allowlist", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.ChipIDs = [][]byte{make([]byte, 64)}
		}, "chip_id"},
		{"truncated report", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = ev.Report[:100]
		}, "report"},
		{"certificates expired by then", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.Now = time.Date(2051, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, pol, m := s.evidence(), snpSamplePolicy(), s.manifest()
			want := rep.GetReportData()
			tc.mutate(ev, &pol, m, &want)
			res, err := attest.VerifyEvidence(ev, want, pol, m)
			if got := failedCheck(t, res, err); got != tc.check {
				t.Fatalf("failed check %q (%v), want %q", got, err, tc.check)
			}
			if !strings.HasPrefix(err.Error(), "verify: "+tc.check+": ") {
				t.Fatalf("error %q does not start by naming the check", err)
			}
		})
	}
	// Two checks that a genuinely signed sample cannot reach.
	t.Run("smt", func(t *testing.T) {
		gp, _ := abi.ParseSnpPolicy(rep.GetPolicy())
		pol := snpSamplePolicy()
		pol.AllowSMT = false
		res, err := attest.VerifyEvidence(s.evidence(), rep.GetReportData(), pol, s.manifest())
		if got := failedCheck(t, res, err); gp.SMT != (got == "smt") {
			t.Fatalf("policy SMT %v: failed check %q", gp.SMT, got)
		}
	})
}

// TestSNPFirmwareCheck reaches the firmware check, go-sev-guest's
// comparison of the report with its VCEK: a report cannot be re-signed by
// AMD's key, but the check runs beside the signature check, on a changed
// REPORTED_TCB or CHIP_ID, with the sample's genuine VCEK.
func TestSNPFirmwareCheck(t *testing.T) {
	s := loadSNPSample(t)
	const (
		offReportedTCB = 0x180
		offChipID      = 0x1A0
	)
	for _, tc := range []struct {
		name string
		at   int    // the report byte to change, -1 for none
		want string // in the firmware check's detail; "" for a pass
	}{
		{"genuine sample", -1, ""},
		{"REPORTED_TCB bit", offReportedTCB, "REPORTED_TCB"},
		{"last CHIP_ID byte", offChipID + 63, "CHIP_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, pol := s.evidence(), snpSamplePolicy()
			pol.SkipBinding = true
			want := ""
			if tc.at >= 0 {
				ev.Report[tc.at] ^= 1
				want = "signature"
			}
			res, err := attest.VerifyEvidence(ev, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != want {
				t.Fatalf("failed check %q (%v), want %q", got, err, want)
			}
			c := checkState(t, res, "firmware")
			if c.OK != (tc.want == "") || !strings.Contains(c.Detail, tc.want) {
				t.Fatalf("firmware check %+v, want it to fail naming %q", c, tc.want)
			}
		})
	}
}

// TestSNPSelfMadeChain re-signs the sample, with debugging, a migration
// agent and CXL allowed and at VMPL 2, by a chain made here (go-sev-guest's
// test-only ARK/ASK/VCEK): the document's own chain must not be trusted,
// and those policy checks must fail as well.
func TestSNPSelfMadeChain(t *testing.T) {
	s := loadSNPSample(t)
	report, certs := selfSignedSNP(t, s, func(report []byte) {
		report[0x08+2] |= 1<<5 | 1<<3 | 1<<2 // policy bits 21 (CXL_ALLOW), 19 (DEBUG) and 18 (MIGRATE_MA)
		report[0x30] = 2                     // VMPL 2
	})
	pol := attest.DefaultPolicy()
	pol.SkipBinding = true
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: certs}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "certificates" {
		t.Fatalf("self-made chain: failed check %q (%v), want certificates", got, err)
	}
	if c := checkState(t, res, "debug"); c.OK {
		t.Fatalf("debug check passed on a debug guest: %+v", c)
	}
	if c := checkState(t, res, "migration_agent"); c.OK {
		t.Fatalf("migration_agent check passed on a guest with a migration agent: %+v", c)
	}
	if c := checkState(t, res, "vmpl"); c.OK {
		t.Fatalf("vmpl check passed on a VMPL 2 report: %+v", c)
	}
	if c := checkState(t, res, "cxl"); c.OK {
		t.Fatalf("cxl check passed on a guest allowing CXL: %+v", c)
	}
	pol.AllowDebug, pol.AllowMigrationAgent, pol.MaxSNPVMPL, pol.AllowCXL = true, true, 2, true
	res, _ = attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: certs}, nil, pol, s.manifest())
	for _, name := range []string{"debug", "migration_agent", "vmpl", "cxl"} {
		if c := checkState(t, res, name); !c.OK {
			t.Fatalf("%s check failed although the policy allows it: %+v", name, c)
		}
	}
}

func TestTDXSampleVerifies(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePolicy()
	pol.Now = tdxSampleTime
	pol.SkipBinding = true
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, nil, pol, s.manifest())
	if err != nil {
		t.Fatalf("%v\n%+v", err, res.Checks)
	}
	if c := checkState(t, res, "collateral"); !c.Skipped || !strings.Contains(res.Proven, "NOT CHECKED") {
		t.Fatalf("without collateral: check %+v, Proven:\n%s", c, res.Proven)
	}
	pol.SkipBinding = false
	q, _ := attest.ParseTDXQuote(s.quote)
	if _, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, q.GetTdQuoteBody().GetReportData(), pol, s.manifest()); err != nil {
		t.Fatalf("with the sample's own REPORT_DATA: %v", err)
	}
	res, err = attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, otherReportData(), pol, s.manifest())
	if got := failedCheck(t, res, err); got != "report_data" {
		t.Fatalf("failed check %q (%v), want report_data", got, err)
	}
}

// An RTMR the manifest leaves out is named as not checked, with the
// manifest's reason, and the match names only what was compared.
func TestTDXUnpinnedRTMR(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePolicy()
	pol.Now = tdxSampleTime
	pol.SkipBinding = true
	m := s.manifest()
	m.TDX.RTMR0, m.TDX.RTMR2 = "", ""
	m.TDX.NotPinned = map[string]string{"rtmr0": "platform-dependent"}
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}, nil, pol, m)
	if err != nil {
		t.Fatalf("%v\n%+v", err, res.Checks)
	}
	for _, want := range []string{"NOT CHECKED: RTMR0 (the manifest does not pin it: platform-dependent)", "NOT CHECKED: RTMR2 (the manifest gives no value)"} {
		if !strings.Contains(res.Proven, want) {
			t.Errorf("Proven lacks %q:\n%s", want, res.Proven)
		}
	}
	if res.Matched != "TDX (MRTD, RTMR1)" {
		t.Errorf("Matched %q, want TDX (MRTD, RTMR1)", res.Matched)
	}
}

// TestTDXCollateralOldTCB: Intel's sample collateral is newer than the
// sample quote's platform, so by Intel's own signed word its TCB is out of
// date (go-tdx-guest's tests expect the same).
func TestTDXCollateralOldTCB(t *testing.T) {
	s := loadTDXSample(t)
	pol := tdxSamplePolicy()
	pol.Now = tdxSampleTime
	pol.SkipBinding = true
	res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: s.quote, Collateral: s.collateral}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "collateral" || !strings.Contains(err.Error(), "TCB") {
		t.Fatalf("failed check %q (%v), want collateral naming the TCB", got, err)
	}
	if c := checkState(t, res, "signature"); !c.OK {
		t.Fatalf("signature check %+v", c)
	}
	pol.Now = time.Date(2053, 1, 1, 0, 0, 0, 0, time.UTC)
	res, err = attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: s.quote, Collateral: s.collateral}, nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "signature" {
		t.Fatalf("in 2053: failed check %q (%v), want signature (expired certificates)", got, err)
	}
}

func TestIntelRootPin(t *testing.T) {
	b := samples.ModuleFile(t, "github.com/google/go-tdx-guest", "verify/trusted_root.pem")
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("trusted_root.pem: no PEM block")
	}
	if sum := sha256.Sum256(blk.Bytes); hex.EncodeToString(sum[:]) != intelSGXRootSHA256 {
		t.Fatalf("go-tdx-guest's root has SHA-256 %x, pinned %s", sum, intelSGXRootSHA256)
	}
}

func TestTDXRefuses(t *testing.T) {
	s := loadTDXSample(t)
	q, _ := attest.ParseTDXQuote(s.quote)
	const (
		offBody       = 48
		offMRTD       = offBody + 136
		offReportData = offBody + 520
		offTDAttrs    = offBody + 120
	)
	sigOff := 48 + 584 + 4 // signature data length, then the quote signature
	pemOff := strings.Index(string(s.quote), "-----BEGIN CERTIFICATE-----") + 200
	for _, tc := range []struct {
		name   string
		mutate func(ev *attest.Evidence, pol *attest.Policy, m *attest.Manifest, want *[]byte)
		check  string
	}{
		{"signature bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, sigOff+5)
		}, "signature"},
		{"MRTD bit in the quote", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, offMRTD)
		}, "signature"},
		{"report data bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, offReportData)
		}, "signature"},
		{"debug attribute", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) { ev.Report[offTDAttrs] |= 1 }, "signature"},
		{"reserved TUD bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report[offTDAttrs] |= 1 << 1
		}, "signature"},
		{"migratable attribute", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report[offTDAttrs+3] |= 1 << 5
		}, "signature"},
		{"certificate bit", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = flipBit(ev.Report, pemOff)
		}, "certificates"},
		{"manifest MRTD", func(_ *attest.Evidence, _ *attest.Policy, m *attest.Manifest, _ *[]byte) {
			m.TDX.MRTD = strings.Repeat("00", 48)
		}, "measurement"},
		{"manifest RTMR2", func(_ *attest.Evidence, _ *attest.Policy, m *attest.Manifest, _ *[]byte) {
			m.TDX.RTMR2 = strings.Repeat("00", 48)
		}, "measurement"},
		{"old TCB", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) { p.MinTDXTeeTCBSVN[0] = 0xff }, "tcb"},
		{"old QE", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) { p.MinTDXQESVN = 0xffff }, "tcb"},
		{"wrong nonce", func(_ *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, w *[]byte) { *w = otherReportData() }, "report_data"},
		{"wrong nonce in the last byte only", func(_ *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, w *[]byte) {
			*w = flipBit(*w, 63) // a 32-byte comparison would pass it
		}, "report_data"},
		{"certificates expired", func(_ *attest.Evidence, p *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			p.Now = time.Date(2053, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "signature"},
		{"truncated quote", func(ev *attest.Evidence, _ *attest.Policy, _ *attest.Manifest, _ *[]byte) {
			ev.Report = ev.Report[:600]
		}, "report"},
		{"no manifest tdx entry", func(_ *attest.Evidence, _ *attest.Policy, m *attest.Manifest, _ *[]byte) { m.TDX = nil }, "measurement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &attest.Evidence{Platform: attest.TDX, Report: bytes.Clone(s.quote)}
			pol, m := tdxSamplePolicy(), s.manifest()
			pol.Now = tdxSampleTime
			want := bytes.Clone(q.GetTdQuoteBody().GetReportData())
			tc.mutate(ev, &pol, m, &want)
			res, err := attest.VerifyEvidence(ev, want, pol, m)
			if got := failedCheck(t, res, err); got != tc.check {
				t.Fatalf("failed check %q (%v), want %q", got, err, tc.check)
			}
			// The attribute checks fail too, beside the signature.
			for name, attr := range map[string]string{"debug attribute": "debug", "reserved TUD bit": "debug", "migratable attribute": "migration_agent"} {
				if tc.name == name {
					if c := checkState(t, res, attr); c.OK {
						t.Fatalf("%s check passed: %+v", attr, c)
					}
				}
			}
		})
	}
}

// selfSignedSNP changes a copy of the sample report with edit and signs it
// with a chain made here (go-sev-guest's test-only ARK/ASK/VCEK), which the
// verifier must refuse at the certificates check; the checks after it
// still run on the changed fields.
func selfSignedSNP(t *testing.T, s snpSample, edit func(report []byte)) (report, certs []byte) {
	t.Helper()
	// Making the chain's RSA keys takes seconds; one chain serves all.
	testSignerOnce.Do(func() {
		testSigner, testSignerErr = sevtest.DefaultTestOnlyCertChain("Milan-B0", time.Now().Add(-time.Hour))
	})
	signer, err := testSigner, testSignerErr
	if err != nil {
		t.Fatal(err)
	}
	report = bytes.Clone(s.report)
	edit(report)
	r, sig, err := signer.Sign(abi.SignedComponent(report))
	if err != nil {
		t.Fatal(err)
	}
	if err := abi.SetSignature(r, sig, report); err != nil {
		t.Fatal(err)
	}
	if certs, err = signer.CertTableBytes(); err != nil {
		t.Fatal(err)
	}
	// The forged report really is signed by the forged VCEK.
	h := sha512.Sum384(abi.SignedComponent(report))
	if !ecdsa.Verify(&signer.Keys.Vcek.PublicKey, h[:], r, sig) {
		t.Fatal("forged signature does not verify with the forged key")
	}
	return report, certs
}

var (
	testSignerOnce sync.Once
	testSigner     *sevtest.AmdSigner
	testSignerErr  error
)

// TestSNPNegativeVCPUs: a negative Policy.RequireVCPUs matches no manifest
// entry, and the measurement check says so instead of blaming the manifest
// for lacking an entry "for any vCPU count".
func TestSNPNegativeVCPUs(t *testing.T) {
	s := loadSNPSample(t)
	pol := snpSamplePolicy()
	pol.SkipBinding, pol.RequireVCPUs = true, -4
	res, err := attest.VerifyEvidence(s.evidence(), nil, pol, s.manifest())
	if got := failedCheck(t, res, err); got != "measurement" || !strings.Contains(err.Error(), "Policy.RequireVCPUs -4: want a vCPU count of at least 1") {
		t.Fatalf("failed check %q (%v), want measurement naming RequireVCPUs", got, err)
	}
}
