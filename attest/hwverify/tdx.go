package hwverify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-tdx-guest/pcs"
	pb "github.com/google/go-tdx-guest/proto/tdx"
	"github.com/google/go-tdx-guest/verify"
	"github.com/pith-project/pith/attest"
)

// collateralGetter answers go-tdx-guest's PCS requests from an attest.TDXCollateral,
// so verification never touches the network.
type collateralGetter struct{ c *attest.TDXCollateral }

func (g collateralGetter) Get(u string) (map[string][]string, []byte, error) {
	h := func(k, v string) map[string][]string { return map[string][]string{k: {url.QueryEscape(v)}} }
	switch {
	case isTCBInfoURL(u):
		return h("Tcb-Info-Issuer-Chain", g.c.TCBInfoIssuerChain), g.c.TCBInfo, nil
	case isQEIdentityURL(u):
		return h("Sgx-Enclave-Identity-Issuer-Chain", g.c.QEIdentityIssuerChain), g.c.QEIdentity, nil
	case strings.Contains(u, "/pckcrl?"):
		return h("Sgx-Pck-Crl-Issuer-Chain", g.c.PCKCRLIssuerChain), g.c.PCKCRL, nil
	case strings.HasSuffix(strings.ToLower(u), ".der") || strings.Contains(u, "crl"):
		return nil, g.c.RootCRL, nil
	}
	return nil, nil, fmt.Errorf("collateral has no answer for %s", u)
}

func isTCBInfoURL(u string) bool    { return strings.Contains(u, "/tcb?fmspc=") }
func isQEIdentityURL(u string) bool { return strings.HasSuffix(u, "/qe/identity") }

// recordingGetter keeps the TCB info and QE identity bodies go-tdx-guest
// fetched through it, so that the tcb_evaluation check reads exactly the
// bytes whose signatures the collateral check verified.
type recordingGetter struct {
	g                   intelGetter
	tcbInfo, qeIdentity []byte
}

func (r *recordingGetter) Get(u string) (map[string][]string, []byte, error) {
	h, b, err := r.g.Get(u)
	switch {
	case err != nil:
	case isTCBInfoURL(u):
		r.tcbInfo = b
	case isQEIdentityURL(u):
		r.qeIdentity = b
	}
	return h, b, err
}

func verifyTDX(ev *attest.Evidence, pol attest.Policy, m *attest.Manifest, c *attest.Recorder) *attest.Observed {
	q, err := attest.ParseTDXQuote(ev.Report)
	if !c.Add("report", err == nil, "TDX quote version 4 parsed", fmt.Sprintf("TDX quote: %v", err)) {
		return nil
	}
	body := q.GetTdQuoteBody()
	obs := &attest.Observed{Measurement: body.GetMrTd(), ReportData: body.GetReportData()}

	roots, leaf := tdxChain(q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetPckCertificateChainData().GetPckCertChain(), c)
	chainOK := roots != nil
	signed := false
	if !chainOK {
		c.Skip("signature", "no PCK certificate chain to check it with")
	} else {
		err := verify.TdxQuote(q, &verify.Options{Now: pol.Now, TrustedRoots: roots})
		signed = c.Add("signature", err == nil, "PCK chain to Intel's SGX Root CA; QE report and quote signatures verify",
			fmt.Sprintf("go-tdx-guest: %v", err))
		if signed {
			obs.Facts = append(obs.Facts, "The quote was signed by a genuine Intel TDX platform's quoting enclave (PCK certificate chained to Intel's SGX Root CA).")
		}
	}
	seamErr := checkTDXModule(body)
	c.Add("tdx_module", seamErr == nil, "MRSIGNERSEAM and SEAMATTRIBUTES are the Intel TDX module's (zero)", fmt.Sprint(seamErr))
	qeErr := checkTDQEIdentity(q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport())
	c.Add("qe_identity", qeErr == nil, "the QE report is Intel's TD quoting enclave's (MRSIGNER, ISVPRODID 2, DEBUG off)", fmt.Sprint(qeErr))
	// With Fetch the verifier's own collateral from Intel PCS wins over the
	// document's: a host may keep serving collateral from before a TCB
	// recovery until it expires (about a month), and only a fresh copy
	// says whether Intel still considers this platform's TCB up to date.
	if pol.Fetch != nil && chainOK {
		g := &recordingGetter{g: intelGetter{pol.Fetch}}
		err := verify.TdxQuote(q, &verify.Options{Now: pol.Now, TrustedRoots: roots, GetCollateral: true, CheckRevocations: true, Getter: g})
		if err != nil && (g.tcbInfo == nil || g.qeIdentity == nil) {
			// Nothing to read the numbers from: the collateral check
			// below fails with the fetch's own error, which is the one
			// to show first.
			if pol.MinTDXTCBEvaluationDataNumber > 0 {
				c.Skip("tcb_evaluation", "Intel's collateral could not be fetched (see collateral)")
			}
		} else {
			checkTCBEvaluation(c, pol, g.tcbInfo, g.qeIdentity, "fetched from Intel PCS", obs)
		}
		if c.Add("collateral", err == nil, "TCB level, QE identity, PCK and root CRLs checked against collateral fetched from Intel PCS",
			fmt.Sprintf("go-tdx-guest with fetched collateral: %v", err)) {
			obs.Facts = append(obs.Facts, "Intel's signed collateral (fetched from PCS) lists this platform's TCB level as acceptable and its PCK certificate as not revoked.")
		}
	} else if len(ev.Collateral) == 0 {
		if pol.MinTDXTCBEvaluationDataNumber > 0 {
			c.Add("tcb_evaluation", false, "", fmt.Sprintf("a minimum tcbEvaluationDataNumber (%d) is met only by Intel's collateral, and the document carries none (fetching it from Intel PCS is opt-in)", pol.MinTDXTCBEvaluationDataNumber))
		}
		c.Skip("collateral", "no collateral: the TCB status of the platform and of the QE, and revocation, were NOT checked (the QE identity was checked against the pinned one)")
		obs.NotRun = append(obs.NotRun, "NOT CHECKED: whether Intel considers this platform's TCB up to date, and revocation (no collateral in the document).")
	} else if chainOK {
		if col, err := attest.ParseTDXCollateral(ev.Collateral); err != nil {
			c.Add("collateral", false, "", err.Error())
		} else {
			checkTCBEvaluation(c, pol, col.TCBInfo, col.QEIdentity, "carried by the document", obs)
			err := verify.TdxQuote(q, &verify.Options{Now: pol.Now, TrustedRoots: roots, GetCollateral: true, CheckRevocations: true, Getter: collateralGetter{col}})
			if c.Add("collateral", err == nil, "TCB level, QE identity, PCK and root CRLs checked against Intel-signed collateral",
				fmt.Sprintf("go-tdx-guest with collateral: %v", err)) {
				obs.Facts = append(obs.Facts, "Intel's signed collateral lists this platform's TCB level as acceptable and its PCK certificate as not revoked.")
			}
		}
	} else {
		if pol.MinTDXTCBEvaluationDataNumber > 0 {
			c.Skip("tcb_evaluation", "no trusted PCK chain, so no collateral was checked")
		}
		c.Skip("collateral", "no trusted PCK chain")
	}

	// Byte 0 of TD_ATTRIBUTES is TUD, "TD under debug": bit 0 is DEBUG and
	// bits 1-7 are reserved for more such flags. Intel's TDX module ABI
	// (TD_ATTRIBUTES, TUD group) says a TD with any of them set is
	// untrusted, and dcap-qvl (validate_attrs) refuses it: a
	// reserved bit is a debug mode this verifier cannot describe.
	attrs := body.GetTdAttributes()
	var tud byte
	if len(attrs) > 0 {
		tud = attrs[0]
	}
	debug := tud != 0
	debugOK := "TD_ATTRIBUTES.TUD clear: DEBUG off (the host cannot read the TD's memory)"
	debugFail := "TD_ATTRIBUTES.DEBUG is set: the host can read and write the TD's memory"
	if tud&^1 != 0 {
		debugFail = fmt.Sprintf("TD_ATTRIBUTES.TUD is %#02x: a reserved TD-under-debug bit is set, which makes the TD untrusted", tud)
	}
	if debug {
		debugOK = fmt.Sprintf("TD_ATTRIBUTES.TUD %#02x (TD under debug), accepted by policy: the host can read and write the TD's memory", tud)
		obs.Facts = append([]string{"DEBUGGING IS ON: the host can read and write this TD's memory, so nothing in it is confidential."}, obs.Facts...)
	}
	c.Add("debug", !debug || pol.AllowDebug, debugOK, debugFail)
	migratable := len(attrs) > 3 && attrs[3]&(1<<5) != 0
	c.Add("migration_agent", !migratable || pol.AllowMigrationAgent, onOff("TD_ATTRIBUTES.MIGRATABLE", migratable, ""),
		"TD_ATTRIBUTES.MIGRATABLE is set: a migration TD may take the TD's keys")
	attrFail, sept := checkTDAttributes(attrs, pol.AllowTDXSEPTVE)
	attrOK := "TD_ATTRIBUTES.SEPT_VE_DISABLE set (no host-provoked #VE on private memory); no attribute this verifier does not know"
	if !sept {
		attrOK = "TD_ATTRIBUTES.SEPT_VE_DISABLE clear, accepted by policy: only the guest kernel keeps the host from provoking a #VE on private memory; no attribute this verifier does not know"
	}
	if c.Add("td_attributes", attrFail == "", attrOK, attrFail) {
		if sept {
			obs.Facts = append(obs.Facts, "The TD is set so that the host cannot provoke a #VE on its private memory (SEPT_VE_DISABLE).")
		} else {
			obs.NotRun = append(obs.NotRun, "NOT CHECKED: that the host cannot provoke a #VE on the TD's private memory (TD_ATTRIBUTES.SEPT_VE_DISABLE is clear, accepted by policy; only the guest kernel, switching such #VEs off itself, prevents it).")
		}
	}
	checkHostData(c, obs, pol, []hostValue{
		{"MRCONFIGID", body.GetMrConfigId()}, {"MROWNER", body.GetMrOwner()}, {"MROWNERCONFIG", body.GetMrOwnerConfig()},
	})
	// Only software inside the TD can extend RTMR3, and nothing in pith's
	// image does: a value there means the TD runs something else.
	var rtmr3 []byte
	if r := body.GetRtmrs(); len(r) > 3 {
		rtmr3 = r[3]
	}
	c.Add("rtmr3", len(rtmr3) > 0 && isZero(rtmr3), "RTMR3 zero (nothing in the TD extended it)",
		fmt.Sprintf("RTMR3 %x is not zero: pith's image never extends it, so something else in the TD did", rtmr3))
	tcbOK, tcbGot, tcbFail := tdxTCB(q, leaf, signed, pol)
	c.Add("tcb", tcbOK, tcbGot, tcbFail)

	rtmrs := body.GetRtmrs()
	switch {
	case m == nil:
		c.Add("measurement", false, "", "no manifest given")
	case m.TDX == nil:
		c.Add("measurement", false, "", fmt.Sprintf("got MRTD %x, manifest has no tdx entry", body.GetMrTd()))
	default:
		regs := []struct {
			name string
			got  []byte
			want string
		}{{"MRTD", body.GetMrTd(), m.TDX.MRTD}}
		for i, w := range m.TDX.RTMRs() {
			if w == "" {
				// Say so rather than pass over it: an unpinned RTMR is a
				// part of the boot nobody compared.
				why := m.TDX.NotPinned[fmt.Sprintf("rtmr%d", i)]
				if why == "" {
					why = "the manifest gives no value"
				} else {
					why = "the manifest does not pin it: " + why
				}
				obs.NotRun = append(obs.NotRun, fmt.Sprintf("NOT CHECKED: RTMR%d (%s).", i, why))
				continue
			}
			var got []byte // a quote without this RTMR matches nothing
			if i < len(rtmrs) {
				got = rtmrs[i]
			}
			regs = append(regs, struct {
				name string
				got  []byte
				want string
			}{fmt.Sprintf("RTMR%d", i), got, w})
		}
		bad := ""
		var names []string
		for _, r := range regs {
			names = append(names, r.name)
			if bad == "" && !equalHex(r.got, r.want) {
				bad = fmt.Sprintf("%s: got %x, manifest expects %s", r.name, r.got, r.want)
			}
		}
		if c.Add("measurement", bad == "", strings.Join(names, ", ")+" match the manifest", bad) {
			obs.Matched = "TDX (" + strings.Join(names, ", ") + ")"
			obs.Facts = append(obs.Facts, fmt.Sprintf("It launched exactly the image the manifest describes (%s; MRTD %x).", strings.Join(names, ", "), body.GetMrTd()))
		}
	}
	if !debug {
		obs.Facts = append(obs.Facts, "Debugging is off.")
	}
	return obs
}

// TD_ATTRIBUTES bits, as the Intel TDX module's td_param_attributes_t
// numbers them (intel/tdx-module, td_control_structures.h).
const (
	tdAttrICSSD         = 16 // instruction-count single-step defense
	tdAttrLASS          = 27 // linear address space separation
	tdAttrSEPTVEDisable = 28
	tdAttrMigratable    = 29
	tdAttrPKS           = 30 // supervisor protection keys
	tdAttrKL            = 31 // key locker
	tdAttrPerfmon       = 63 // the TD's own use of the PMU
)

// tdAttrKnown are the TD_ATTRIBUTES bits the td_attributes check accepts or
// leaves to another check: byte 0 (TUD: DEBUG and bits reserved for more
// debug modes) to the debug check, MIGRATABLE to migration_agent. Every
// other bit is refused. The module sets only bits its version defines, so
// an unknown bit is a feature of a newer module this verifier cannot
// judge: Intel's ABI keeps bits 15:4 for TD-under-profiling modes (the
// host watching the TD run) and 26:23 for future bits that weaken the TD,
// and dcap-qvl (verify.rs, validate_attrs) refuses reserved bits too.
const tdAttrKnown = 0xff | 1<<tdAttrICSSD | 1<<tdAttrLASS | 1<<tdAttrSEPTVEDisable | 1<<tdAttrMigratable |
	1<<tdAttrPKS | 1<<tdAttrKL | 1<<tdAttrPerfmon

// checkTDAttributes returns why TD_ATTRIBUTES fail the td_attributes check
// ("" if they pass) and whether SEPT_VE_DISABLE is set. Without it the
// host may leave a private page unmapped or pending and have the TD take
// a #VE on its next access, anywhere in the kernel, where no handler can
// recover safely: Linux's TDX guest refuses to run so (arch/x86/coco/tdx,
// "SEPT #VE has to be disabled") unless the TDX module lets it disable
// those #VEs itself; dcap-qvl and Tinfoil's verifier refuse such TDs.
// PKS, KL, LASS and ICSSD strengthen the TD; PERFMON lets it use the PMU,
// whose state the module keeps from the host.
func checkTDAttributes(attrs []byte, allowSEPTVE bool) (fail string, sept bool) {
	if len(attrs) != 8 {
		return fmt.Sprintf("TD_ATTRIBUTES of %d bytes, want 8", len(attrs)), false
	}
	a := binary.LittleEndian.Uint64(attrs)
	sept = a&(1<<tdAttrSEPTVEDisable) != 0
	if u := a &^ tdAttrKnown; u != 0 {
		var bits []string
		for i := range 64 {
			if u&(1<<i) != 0 {
				bits = append(bits, fmt.Sprint(i))
			}
		}
		return fmt.Sprintf("TD_ATTRIBUTES %#016x sets bit(s) %s, reserved or unknown to this verifier (a newer TDX module's feature, which may weaken the TD)", a, strings.Join(bits, ", ")), sept
	}
	if !sept && !allowSEPTVE {
		return fmt.Sprintf("TD_ATTRIBUTES %#016x: SEPT_VE_DISABLE is clear, so the host may provoke a #VE on the TD's private memory; refused without --allow-tdx-sept-ve (Policy.AllowTDXSEPTVE), for guest kernels that switch those #VEs off themselves", a), sept
	}
	return "", sept
}

// checkTCBEvaluation holds the collateral's tcbEvaluationDataNumber, in
// both the TCB info and the QE identity, against the policy's minimum (as
// Intel's QVL and dcap-qvl do). Intel raises the number at each TCB
// recovery, and collateral from before one stays valid until its
// nextUpdate, about a month: without a minimum a host can keep attaching
// the old copy, which still rates a platform acceptable that the recovery
// demoted. The numbers are read from the very bytes the collateral check
// verifies Intel's signature over, and verification passes only when that
// check passes too; a refusal here needs no signature.
func checkTCBEvaluation(c *attest.Recorder, pol attest.Policy, tcbInfo, qeIdentity []byte, from string, obs *attest.Observed) {
	floor := int64(pol.MinTDXTCBEvaluationDataNumber)
	if floor == 0 {
		return
	}
	var ti struct {
		TCBInfo struct {
			N *int64 `json:"tcbEvaluationDataNumber"`
		} `json:"tcbInfo"`
	}
	var qe struct {
		EnclaveIdentity struct {
			N *int64 `json:"tcbEvaluationDataNumber"`
		} `json:"enclaveIdentity"`
	}
	for _, part := range []struct {
		name string
		body []byte
		into any
		n    **int64
	}{{"TCB info", tcbInfo, &ti, &ti.TCBInfo.N}, {"QE identity", qeIdentity, &qe, &qe.EnclaveIdentity.N}} {
		err := json.Unmarshal(part.body, part.into)
		if err != nil || *part.n == nil {
			why := "it has none"
			if err != nil {
				why = err.Error()
			}
			c.Add("tcb_evaluation", false, "", fmt.Sprintf("%s %s: no tcbEvaluationDataNumber to hold against the minimum %d (%s)", part.name, from, floor, why))
			return
		}
	}
	t, q := *ti.TCBInfo.N, *qe.EnclaveIdentity.N
	got := fmt.Sprintf("collateral %s: TCB info tcbEvaluationDataNumber %d, QE identity %d", from, t, q)
	if c.Add("tcb_evaluation", t >= floor && q >= floor, fmt.Sprintf("%s, at least the minimum %d", got, floor),
		fmt.Sprintf("%s: below the minimum %d, so it may be from before a TCB recovery Intel has since published", got, floor)) {
		obs.Facts = append(obs.Facts, fmt.Sprintf("Intel's collateral is from TCB evaluation %d or later.", min(t, q)))
	}
}

// tdQE is Intel's TDX quoting enclave as PCS describes it
// (tdx/certification/v4/qe/identity, id TD_QE; unchanged across its
// versions: only its TCB levels move). The PCK key signs the report of any
// enclave allowed the provisioning key, and on a platform with flexible
// launch control the host decides which enclaves are: without this check
// a host's own enclave could get its attestation key certified and sign
// any TD quote body. go-tdx-guest compares the QE report with the QE
// identity only when given collateral, and collateral is optional here, so
// the identity is pinned and checked always; collateral, when present,
// checks it again against Intel's signed copy, with the QE's TCB status.
var tdQE = struct {
	mrSigner             string // hex
	isvProdID            uint32
	miscSelect, miscMask uint32
	attributes, attrMask string // hex, 16 bytes
}{
	mrSigner:   "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5",
	isvProdID:  2,
	miscSelect: 0, miscMask: 0xffffffff,
	// INIT and MODE64BIT set, DEBUG (bit 1) clear; PROVISIONKEY (bit 4)
	// and KSS are masked off, XFRM bytes too.
	attributes: "11000000000000000000000000000000",
	attrMask:   "fbffffffffffffff0000000000000000",
}

// checkTDQEIdentity refuses a QE report that is not Intel's TD quoting
// enclave's, compared as Intel's verifier compares the QE identity:
// MISCSELECT and ATTRIBUTES under their masks, MRSIGNER and ISVPRODID
// exactly.
func checkTDQEIdentity(r *pb.EnclaveReport) error {
	attrs, _ := hex.DecodeString(tdQE.attributes)
	mask, _ := hex.DecodeString(tdQE.attrMask)
	got := r.GetAttributes()
	if len(got) != len(mask) {
		return fmt.Errorf("QE report ATTRIBUTES of %d bytes, want %d", len(got), len(mask))
	}
	for i := range mask {
		if got[i]&mask[i] != attrs[i] {
			return fmt.Errorf("QE report ATTRIBUTES %x, want %s under mask %s (bit 1 is DEBUG: a debug enclave's keys are readable)", got, tdQE.attributes, tdQE.attrMask)
		}
	}
	if m := r.GetMiscSelect(); m&tdQE.miscMask != tdQE.miscSelect {
		return fmt.Errorf("QE report MISCSELECT %#x, want %#x", m, tdQE.miscSelect)
	}
	if s := hex.EncodeToString(r.GetMrSigner()); s != tdQE.mrSigner {
		return fmt.Errorf("QE report MRSIGNER %s is not Intel's TD quoting enclave signer %s", s, tdQE.mrSigner)
	}
	if id := r.GetIsvProdId(); id != tdQE.isvProdID {
		return fmt.Errorf("QE report ISVPRODID %d, want %d (Intel's TD quoting enclave)", id, tdQE.isvProdID)
	}
	return nil
}

// checkTDXModule refuses a quote whose TDX module is not one Intel signed
// and released: Intel's TCB info (tdxModule: mrsigner all zero, attributes
// 0 under mask ffffffffffffffff) and the TDX module ABI (MRSIGNERSEAM "zero
// for the Intel TDX module") say what Intel's module reports. go-tdx-guest
// compares these with the TCB info only when given collateral, which is
// optional here; the values are fixed, so they are checked always.
func checkTDXModule(body *pb.TDQuoteBody) error {
	if s := body.GetMrSignerSeam(); len(s) == 0 || !isZero(s) {
		return fmt.Errorf("MRSIGNERSEAM %x is not zero: the TDX module was not signed by Intel", s)
	}
	if a := body.GetSeamAttributes(); len(a) == 0 || !isZero(a) {
		return fmt.Errorf("SEAMATTRIBUTES %x is not zero, as Intel's TCB info requires of its TDX module", a)
	}
	return nil
}

// tdxTCB compares the quote's TCB with the policy's minimums and returns
// the outcome, what was compared, and why it failed. The QE and PCE SVNs
// are not the quote header's QE_SVN and PCE_SVN, which are reserved (zero
// in version 4 quotes from Intel's QE, so any minimum refused every genuine
// quote) and covered by no signature but the attestation key's. The QE's is
// the ISVSVN of its own report, which the PCK key signs; the PCE's is the
// PCESVN the PCK certificate was issued for. Both are believed only when
// the signature check verified the chain and those signatures (signed).
func tdxTCB(q *pb.QuoteV4, leaf *x509.Certificate, signed bool, pol attest.Policy) (ok bool, got, fail string) {
	svn := q.GetTdQuoteBody().GetTeeTcbSvn()
	ok = len(svn) == 16
	for i := 0; ok && i < 16; i++ {
		ok = svn[i] >= pol.MinTDXTeeTCBSVN[i]
	}
	got = fmt.Sprintf("TEE_TCB_SVN %x", svn)
	if !signed {
		// Nothing vouches for the QE report or the PCK certificate, so
		// a minimum on them cannot be met.
		if pol.MinTDXQESVN != 0 || pol.MinTDXPCESVN != 0 {
			return false, "", got + "; the QE and PCE SVNs are not read from a quote whose signatures did not verify, and the policy sets minimums for them"
		}
		return ok, got + " (QE and PCE SVNs not read: the quote's signatures did not verify)", fmt.Sprintf("%s: below the minimum %x", got, pol.MinTDXTeeTCBSVN)
	}
	ext, err := pcs.PckCertificateExtensions(leaf)
	if err != nil {
		return false, "", fmt.Sprintf("%s; PCK certificate's SGX extensions: %v", got, err)
	}
	qe := q.GetSignedData().GetCertificationData().GetQeReportCertificationData().GetQeReport().GetIsvSvn()
	pce := ext.TCB.PCESvn
	got += fmt.Sprintf(", QE report ISVSVN %d, PCK certificate PCESVN %d", qe, pce)
	ok = ok && qe >= uint32(pol.MinTDXQESVN) && pce >= pol.MinTDXPCESVN
	return ok, got, fmt.Sprintf("%s: below the minimum TEE_TCB_SVN %x, QE ISVSVN %d, PCESVN %d", got, pol.MinTDXTeeTCBSVN, pol.MinTDXQESVN, pol.MinTDXPCESVN)
}

// intelSGXRootSHA256 pins Intel's SGX Root CA, the root of every TDX PCK
// chain, by the SHA-256 of its DER encoding. It is the root go-tdx-guest
// compiles in (verify/trusted_root.pem; a test compares the two). Passing it
// explicitly as TrustedRoots keeps go-tdx-guest from printing a warning to
// stdout on every verification.
const intelSGXRootSHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

// tdxChain checks that the quote carries a PCK chain (leaf, intermediate,
// root, each signed by the next) whose root is Intel's, and returns a pool
// holding that root and the leaf (the PCK certificate).
func tdxChain(pemChain []byte, c *attest.Recorder) (*x509.CertPool, *x509.Certificate) {
	var certs []*x509.Certificate
	rest := bytes.TrimRight(pemChain, "\x00")
	for len(bytes.TrimSpace(rest)) > 0 && len(certs) < 4 {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil || blk.Type != "CERTIFICATE" {
			c.Add("certificates", false, "", "PCK certificate chain is not a sequence of PEM certificates")
			return nil, nil
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			c.Add("certificates", false, "", fmt.Sprintf("PCK chain certificate %d: %v", len(certs), err))
			return nil, nil
		}
		certs = append(certs, cert)
	}
	if len(certs) != 3 {
		c.Add("certificates", false, "", fmt.Sprintf("PCK chain has %d certificates, want 3", len(certs)))
		return nil, nil
	}
	for i := 0; i < 3; i++ {
		parent := certs[min(i+1, 2)]
		if err := certs[i].CheckSignatureFrom(parent); err != nil {
			c.Add("certificates", false, "", fmt.Sprintf("PCK chain: %q not signed by %q: %v", certs[i].Subject.CommonName, parent.Subject.CommonName, err))
			return nil, nil
		}
	}
	if sum := sha256.Sum256(certs[2].Raw); hex.EncodeToString(sum[:]) != intelSGXRootSHA256 {
		c.Add("certificates", false, "", fmt.Sprintf("PCK chain root %q (SHA-256 %x) is not Intel's SGX Root CA", certs[2].Subject.CommonName, sum))
		return nil, nil
	}
	c.Add("certificates", true, fmt.Sprintf("PCK chain %q <- %q <- %q (Intel's SGX Root CA)", certs[0].Subject.CommonName, certs[1].Subject.CommonName, certs[2].Subject.CommonName), "")
	pool := x509.NewCertPool()
	pool.AddCert(certs[2])
	return pool, certs[0]
}
