package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/internal/attestsamples"
)

// snpSampleFiles writes an attestation document around go-sev-guest's real
// Milan report (read from the module cache) and a manifest expecting its
// measurement.
func snpSampleFiles(t *testing.T) (doc, manifest string) {
	t.Helper()
	s := attestsamples.LoadSNP(t)
	d := attest.Document{Format: attest.DocumentFormat, Platform: attest.SEVSNP, Report: s.Report, Certificates: s.Certs, KeyConfig: []byte("key config")}
	m := attest.Manifest{Format: attest.ManifestFormat, SEVSNP: []attest.SNPMeasurement{{VCPUs: 4, VCPUType: "EPYC-Milan", GuestFeatures: 1, Measurement: s.Measurement}}}
	return writeSampleFiles(t, d, m)
}

// tdxSampleFiles writes an attestation document around go-tdx-guest's real
// Sapphire Rapids quote, with or without the Intel collateral its tests
// use, and a manifest pinning its MRTD and RTMRs. The collateral is valid
// at attestsamples.TDXTime only (a test sets verifyNow to it), and it rates
// the sample's TCB out of date, so the collateral check fails on it.
func tdxSampleFiles(t *testing.T, withCollateral bool) (doc, manifest string) {
	t.Helper()
	s := attestsamples.LoadTDX(t)
	var col []byte
	if withCollateral {
		var err error
		col, err = json.Marshal(attest.TDXCollateral{
			TCBInfo: s.TCBInfo, TCBInfoIssuerChain: s.TCBInfoIssuerChain,
			QEIdentity: s.QEIdentity, QEIdentityIssuerChain: s.QEIdentityIssuerChain,
			PCKCRL: s.PCKCRL, PCKCRLIssuerChain: s.PCKCRLIssuerChain, RootCRL: s.RootCRL,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d := attest.Document{Format: attest.DocumentFormat, Platform: attest.TDX, Report: s.Quote, Collateral: col, KeyConfig: []byte("key config")}
	m := attest.Manifest{Format: attest.ManifestFormat, TDX: &attest.TDXMeasurement{MRTD: s.MRTD, RTMR0: s.RTMRs[0], RTMR1: s.RTMRs[1], RTMR2: s.RTMRs[2]}}
	return writeSampleFiles(t, d, m)
}

func writeSampleFiles(t *testing.T, d attest.Document, m attest.Manifest) (doc, manifest string) {
	t.Helper()
	db, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	doc, manifest = filepath.Join(tmp, "attestation.json"), filepath.Join(tmp, "manifest.json")
	if err := os.WriteFile(doc, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, mb, 0o600); err != nil {
		t.Fatal(err)
	}
	return doc, manifest
}

func runVerifyCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	old := verifyStdout
	verifyStdout = &out
	defer func() { verifyStdout = old }()
	code := runMain(append([]string{"verify"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyCommandSNPSample(t *testing.T) {
	doc, man := snpSampleFiles(t)
	nonce := strings.Repeat("ab", 32)
	idKey := strings.Repeat("11", 48)
	runVerifyCases(t, []verifyCase{
		{"proven", []string{"--manifest", man, "--skip-binding", "--allow-debug", doc}, 0, "genuine AMD Milan", ""},
		{"binding not proven said", []string{"--manifest", man, "--skip-binding", "--allow-debug", doc}, 0, "NOT PROVEN", ""},
		{"debug guest refused", []string{"--manifest", man, "--skip-binding", doc}, 1, "", "verify: debug:"},
		{"foreign nonce", []string{"--manifest", man, "--nonce", nonce, "--allow-debug", doc}, 1, "", "verify: report_data:"},
		{"wrong vCPUs", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--vcpus", "8", doc}, 1, "", "verify: measurement:"},
		{"negative vCPUs", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--vcpus", "-4", doc}, 2, "", "--vcpus -4: want a vCPU count of at least 1, or 0 for any"},
		{"json lists every check", []string{"--manifest", man, "--nonce", nonce, "--allow-debug", "--json", doc}, 1, `"name": "signature"`, "verify: report_data:"},
		{"no nonce", []string{"--manifest", man, doc}, 2, "", "--nonce"},
		{"no manifest", []string{doc}, 2, "", "--manifest is required"},
		{"short nonce", []string{"--manifest", man, "--nonce", "abcd", doc}, 2, "", "--nonce"},
		{"missing file", []string{"--manifest", man, "--skip-binding", doc + ".nope"}, 1, "", "no such file"},
		{"cache without fetch", []string{"--manifest", man, "--skip-binding", "--cache", "/tmp/x", doc}, 2, "", "--cache goes with --fetch"},
		{"manifest is not one", []string{"--manifest", doc, "--skip-binding", doc}, 1, "", "attest: manifest"},
		// The sample's firmware is bootloader 2, tee 0, snp 5, microcode 68.
		{"firmware floor met", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--min-snp-tcb", "bootloader=2,tee=0,snp=5,microcode=68", doc}, 0, "genuine AMD Milan", ""},
		{"firmware below the floor", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--min-snp-tcb", "snp=6", doc}, 1, "", "verify: tcb: reported TCB bootloader 2, tee 0, snp 5, microcode 68 is below the minimum bootloader 0, tee 0, snp 6, microcode 0"},
		{"floor not a number", []string{"--manifest", man, "--skip-binding", "--min-snp-tcb", "snp=256", doc}, 2, "", "--min-snp-tcb: snp=\"256\" is not a number"},
		{"tdx floor short", []string{"--manifest", man, "--skip-binding", "--min-tdx-tcb", "0304", doc}, 2, "", "--min-tdx-tcb: want 16 bytes"},
		// The sample was asked for at VMPL 0, by a guest without an ID
		// block (GUEST_SVN 0, ID and author key digests zero) nor CXL_ALLOW.
		{"VMPL relaxed", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--allow-snp-vmpl", "3", doc}, 0, "genuine AMD Milan", ""},
		{"VMPL past 3", []string{"--manifest", man, "--skip-binding", "--allow-snp-vmpl", "4", doc}, 2, "", "--allow-snp-vmpl 4: at most 3"},
		{"CXL relaxed", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--allow-snp-cxl", doc}, 0, "genuine AMD Milan", ""},
		// Its PLATFORM_INFO is 0x1: SMT_EN and nothing else.
		{"platform feature the sample lacks", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--require-snp-platform", "ecc,rapl-disabled", doc}, 1, "", "verify: platform_info: PLATFORM_INFO 0x1 lacks ECC_EN, RAPL_DIS, which the policy requires"},
		{"platform feature unknown", []string{"--manifest", man, "--skip-binding", "--require-snp-platform", "smt", doc}, 2, "", `--require-snp-platform: "smt" is not one of`},
		{"guest SVN floor at the sample's", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--min-snp-guest-svn", "0", doc}, 0, "genuine AMD Milan", ""},
		{"guest SVN floor without an ID key", []string{"--manifest", man, "--skip-binding", "--min-snp-guest-svn", "1", doc}, 2, "", "--min-snp-guest-svn needs --snp-id-key-digest"},
		{"ID key not the sample's", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--snp-id-key-digest", idKey, doc}, 1, "", "verify: id_key: ID block keys"},
		{"ID keys repeated, guest SVN above", []string{"--manifest", man, "--skip-binding", "--allow-debug", "--json", "--snp-id-key-digest", idKey, "--snp-id-key-digest", strings.Repeat("22", 48), "--min-snp-guest-svn", "1", doc}, 1, "a minimum guest SVN (1) is met only under an ID block key", "verify: id_key:"},
		{"ID key short", []string{"--manifest", man, "--skip-binding", "--snp-id-key-digest", "abcd", doc}, 2, "", `--snp-id-key-digest "abcd": want a SHA-384 digest`},
		{"guest SVN past 32 bits", []string{"--manifest", man, "--skip-binding", "--min-snp-guest-svn", "4294967296", "--snp-id-key-digest", idKey, doc}, 2, "", "--min-snp-guest-svn 4294967296: at most 4294967295"},
	})
}

// verifyCase is one `pith verify` call and what it must give.
type verifyCase struct {
	name    string
	args    []string
	code    int
	out     string // in stdout
	errText string // in stderr
}

func runVerifyCases(t *testing.T, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errText := runVerifyCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errText, tc.errText) || strings.Contains(out, "hardware_signature") {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errText)
			}
		})
	}
}

// TestVerifyCommandTDXSample checks the TDX floors end to end on
// go-tdx-guest's real quote and Intel's collateral for it: a floor at the
// sample's level passes, one step above fails naming the check.
func TestVerifyCommandTDXSample(t *testing.T) {
	doc, man := tdxSampleFiles(t, false)
	old := verifyNow
	verifyNow = attestsamples.TDXTime
	defer func() { verifyNow = old }()
	// The sample's TD_ATTRIBUTES leave SEPT_VE_DISABLE clear: refused by
	// default, by name, and accepted with the flag that says so.
	base := []string{"--manifest", man, "--skip-binding", "--allow-tdx-sept-ve"}
	cases := []verifyCase{
		{"proven", nil, 0, "genuine Intel TDX platform", ""},
		{"SEPT #VE refused by default", []string{"--allow-tdx-sept-ve=false"}, 1, "", "verify: td_attributes: TD_ATTRIBUTES 0x0000000040000000: SEPT_VE_DISABLE is clear"},
		{"SEPT #VE said when accepted", nil, 0, "NOT CHECKED: that the host cannot provoke a #VE", ""},
		// The QE report's ISVSVN is 4, the PCK certificate's PCESVN 11.
		{"QE SVN at the sample's", []string{"--min-tdx-qe-svn", "4"}, 0, "QE report ISVSVN 4", ""},
		{"QE SVN above", []string{"--min-tdx-qe-svn", "5"}, 1, "", "verify: tcb: TEE_TCB_SVN"},
		{"PCE SVN at the sample's", []string{"--min-tdx-pce-svn", "11"}, 0, "PCK certificate PCESVN 11", ""},
		{"PCE SVN above", []string{"--min-tdx-pce-svn", "12"}, 1, "", "PCESVN 12"},
		{"QE SVN past 16 bits", []string{"--min-tdx-qe-svn", "65536"}, 2, "", "--min-tdx-qe-svn 65536: at most 65535"},
		{"PCE SVN negative", []string{"--min-tdx-pce-svn", "-1"}, 2, "", "-min-tdx-pce-svn"},
	}
	for i := range cases {
		cases[i].args = append(append(append([]string(nil), base...), cases[i].args...), doc)
	}
	// Intel's collateral for the sample has tcbEvaluationDataNumber 15 in
	// its TCB info and QE identity, and rates the sample's TCB out of date:
	// at the minimum only the collateral check fails.
	withCol, man := tdxSampleFiles(t, true)
	for _, tc := range []verifyCase{
		{"evaluation at the sample's", []string{"--min-tdx-tcb-evaluation", "15"}, 1, "", "verify: collateral: go-tdx-guest with collateral: TDX TCB info reported by Intel PCS failed TCB status check"},
		{"evaluation at the sample's, every check", []string{"--min-tdx-tcb-evaluation", "15", "--json"}, 1, "QE identity 15, at least the minimum 15", "verify: collateral:"},
		{"evaluation above", []string{"--min-tdx-tcb-evaluation", "16"}, 1, "", "verify: tcb_evaluation: collateral carried by the document: TCB info tcbEvaluationDataNumber 15, QE identity 15: below the minimum 16"},
		{"evaluation without collateral", []string{"--min-tdx-tcb-evaluation", "1", doc}, 1, "", "verify: tcb_evaluation: a minimum tcbEvaluationDataNumber (1) is met only by Intel's collateral"},
		{"evaluation past 32 bits", []string{"--min-tdx-tcb-evaluation", "4294967296"}, 2, "", "--min-tdx-tcb-evaluation 4294967296: at most 4294967295"},
	} {
		if tc.args[len(tc.args)-1] != doc {
			tc.args = append(tc.args, withCol)
		}
		tc.args = append([]string{"--manifest", man, "--skip-binding", "--allow-tdx-sept-ve"}, tc.args...)
		cases = append(cases, tc)
	}
	runVerifyCases(t, cases)
}

// TestVerifyCommandURL fetches from a server that answers with the
// development stand-in, as `pith serve` does on a host.
func TestVerifyCommandURL(t *testing.T) {
	p, err := attest.NewDevProvider(nil)
	if err != nil {
		t.Fatal(err)
	}
	kc := []byte("ohttp key configuration")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce, err := hex.DecodeString(r.URL.Query().Get("nonce"))
		if r.URL.Path != "/v1/attestation" || err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		b, err := attest.NewDocument(context.Background(), p, nonce, kc, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	m, err := attest.DevMeasurement("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	digest := strings.Repeat("5e", 32)
	mb, _ := json.Marshal(attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: m},
		Model: &attest.Artifact{Name: "tiny:latest", SHA256: digest, Size: 1}})
	man := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(man, mb, 0o600)

	code, out, errText := runVerifyCmd(t, "--manifest", man, "--url", srv.URL, "--allow-dev")
	if code != 0 || !strings.HasPrefix(out, "NOTHING WAS PROVEN") {
		t.Fatalf("--allow-dev: exit %d\n%s\n%s", code, out, errText)
	}
	// What the stand-in cannot show is said loudly, at the top and
	// among the checks: the hardware signature, the launch measurement
	// and the model, which nothing binds.
	lines := strings.Split(out, "\n")
	for i, want := range []string{
		"NOT CHECKED: hardware signature: no AMD or Intel processor signed this report",
		"NOT CHECKED: launch measurement: no hardware measured what was launched",
		"NOT CHECKED: model digest: the manifest names tiny:latest (sha256 " + digest + "), but nothing in the stand-in's evidence binds",
	} {
		if len(lines) <= i+1 || !strings.HasPrefix(lines[i+1], want) {
			t.Errorf("--allow-dev: line %d is not %q:\n%s", i+2, want, out)
		}
	}
	for _, want := range []string{"SKIP hardware_signature ", "SKIP launch_measurement ", "SKIP model_digest "} {
		if !strings.Contains(out, want) {
			t.Errorf("--allow-dev: the checks lack %q:\n%s", want, out)
		}
	}
	code, out, errText = runVerifyCmd(t, "--manifest", man, "--url", srv.URL, "--allow-dev", "--json")
	var res attest.Result
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("--allow-dev --json: exit %d, %v\n%s\n%s", code, err, out, errText)
	}
	if c := res.Checks[len(res.Checks)-1]; c.Name != "model_digest" || !c.Skipped || c.OK || !strings.Contains(res.Proven, "NOT CHECKED: model digest") {
		t.Errorf("--allow-dev --json: last check %+v, proven %q", c, res.Proven)
	}
	// Saying so weakens nothing: a stand-in of another executable is
	// still refused.
	wrong := filepath.Join(t.TempDir(), "wrong.json")
	wb, _ := json.Marshal(attest.Manifest{Format: attest.ManifestFormat, Dev: &attest.DevEntry{Measurement: strings.Repeat("ab", 48)}})
	os.WriteFile(wrong, wb, 0o600)
	if code, out, errText := runVerifyCmd(t, "--manifest", wrong, "--url", srv.URL, "--allow-dev"); code != 1 || !strings.Contains(errText, "verify: measurement:") || out != "" {
		t.Errorf("--allow-dev, other executable: exit %d\n%s\n%s", code, out, errText)
	}
	code, _, errText = runVerifyCmd(t, "--manifest", man, "--url", srv.URL)
	if code != 1 || !strings.Contains(errText, "verify: platform:") {
		t.Fatalf("dev without --allow-dev: exit %d, %s", code, errText)
	}
	code, _, errText = runVerifyCmd(t, "--manifest", man, "--url", srv.URL+"/nothing-here", "--allow-dev")
	if code != 1 || !strings.Contains(errText, "400 Bad Request") {
		t.Fatalf("bad URL: exit %d, %s", code, errText)
	}
}

func TestParseSNPTCB(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want attest.SNPTCB
		err  string
	}{
		{"bootloader=4,tee=0,snp=22,microcode=213", attest.SNPTCB{BootLoader: 4, SNP: 22, Microcode: 213}, ""},
		{" snp=7 , microcode=1", attest.SNPTCB{SNP: 7, Microcode: 1}, ""},
		{"snp=1,snp=2", attest.SNPTCB{}, "given twice"},
		{"fmc=1", attest.SNPTCB{}, "is not one of"},
		{"snp", attest.SNPTCB{}, "is not one of"},
		{"tee=-1", attest.SNPTCB{}, "not a number"},
		{"", attest.SNPTCB{}, "is not one of"},
	} {
		got, err := parseSNPTCB(tc.in)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
}
