package hwverify

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/validate"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"
	"github.com/pith-project/pith/attest"
)

// amdRoots returns the AMD ARK/ASK pairs compiled into go-sev-guest, per
// product line (Milan, Genoa, Turin). They are the only roots we trust: the
// ASK and ARK a document carries are never used, so a self-made chain fails.
func amdRoots() map[string][]*trust.AMDRootCerts {
	out := map[string][]*trust.AMDRootCerts{}
	for line, r := range trust.DefaultRootCerts {
		out[line] = []*trust.AMDRootCerts{r}
	}
	return out
}

// snpTCB splits a TCB_VERSION into its parts; Turin moved them to make room
// for an FMC level (SEV-SNP ABI 1.58, table 3). (Turin reports are refused
// at the certificates check for now: see errTurin.)
func snpTCB(v uint64, productLine string) attest.SNPTCB {
	b := func(i int) uint8 { return uint8(v >> (8 * i)) }
	if productLine == "Turin" {
		return attest.SNPTCB{BootLoader: b(1), TEE: b(2), SNP: b(3), Microcode: b(7)}
	}
	return attest.SNPTCB{BootLoader: b(0), TEE: b(1), SNP: b(6), Microcode: b(7)}
}

func verifySNP(ev *attest.Evidence, pol attest.Policy, m *attest.Manifest, c *attest.Recorder) *attest.Observed {
	if len(ev.Report) != abi.ReportSize {
		c.Add("report", false, "", fmt.Sprintf("SEV-SNP report of %d bytes, want %d", len(ev.Report), abi.ReportSize))
		return nil
	}
	rep, err := abi.ReportToProto(ev.Report)
	if err != nil {
		c.Add("report", false, "", fmt.Sprintf("SEV-SNP report: %v", err))
		return nil
	}
	c.Add("report", true, fmt.Sprintf("SEV-SNP report version %d, VMPL %d", rep.GetVersion(), rep.GetVmpl()), "")
	obs := &attest.Observed{Measurement: rep.GetMeasurement(), ReportData: rep.GetReportData()}

	att, ekCert, productLine := snpChain(ev, rep, pol, c)
	if ekCert == nil {
		c.Skip("signature", "no endorsement key certificate that chains to AMD")
	} else {
		// go-sev-guest re-checks the chain against the same compiled-in roots,
		// the V[CL]EK's KDS extensions, and the report's ECDSA P-384 signature.
		err := verify.SnpAttestation(att, &verify.Options{DisableCertFetching: true, TrustedRoots: amdRoots(), Now: pol.Now})
		if c.Add("signature", err == nil, "report signed by that key (ECDSA P-384)", fmt.Sprintf("go-sev-guest: %v", err)) {
			obs.Facts = append(obs.Facts, fmt.Sprintf("The report was signed by a genuine AMD %s processor's firmware (endorsement key chained to AMD's %s root, which is compiled into go-sev-guest).", productLine, productLine))
		}
		// Said as the TDX verifier says it of Intel's CRLs: the chain was
		// checked against the compiled-in roots, but AMD's CRL (which
		// revokes intermediate keys; VCEKs are superseded by TCB instead)
		// was not fetched.
		obs.NotRun = append(obs.NotRun, fmt.Sprintf("NOT CHECKED: AMD's certificate revocation list, that is whether AMD has revoked the %s intermediate key that issued this endorsement key.", productLine))
	}

	gp, err := abi.ParseSnpPolicy(rep.GetPolicy())
	if !c.Add("guest_policy", err == nil, fmt.Sprintf("guest policy %#x", rep.GetPolicy()), fmt.Sprintf("guest policy %#x: %v", rep.GetPolicy(), err)) {
		return obs
	}
	debugOK := "debugging off (the host cannot read the guest's memory)"
	if gp.Debug {
		debugOK = "DEBUGGING ON, accepted by policy: the host can read and write the guest's memory"
	}
	c.Add("debug", !gp.Debug || pol.AllowDebug, debugOK, "the guest policy lets the host debug (read and write) the guest's memory")
	c.Add("migration_agent", !gp.MigrateMA || pol.AllowMigrationAgent, onOff("migration agent", gp.MigrateMA, ""),
		"the guest policy allows a migration agent, which holds the guest's memory keys")
	smtOn, smtDetail := snpSMT(gp.SMT, rep.GetPlatformInfo())
	if smtOn && pol.AllowSMT {
		smtDetail += ", accepted by policy"
	}
	c.Add("smt", !smtOn || pol.AllowSMT, smtDetail, smtDetail+": this verifier's policy refuses SMT (the sibling thread is a side channel)")
	c.Add("cxl", !gp.CXLAllowed || pol.AllowCXL, onOff("CXL", gp.CXLAllowed, ""),
		"the guest policy sets CXL_ALLOW: the host may populate CXL devices or memory for the guest, which this verifier's policy refuses")
	checkHostData(c, obs, pol, []hostValue{{"HOST_DATA", rep.GetHostData()}})
	var platformHas []string
	if len(pol.RequireSNPPlatform) > 0 {
		var fail string
		platformHas, fail = snpPlatformRequired(rep.GetPlatformInfo(), pol.RequireSNPPlatform)
		c.Add("platform_info", fail == "", fmt.Sprintf("PLATFORM_INFO %#x: %s", rep.GetPlatformInfo(), strings.Join(platformHas, ", ")), fail)
	}
	abiOK := gp.ABIMajor > pol.MinSNPABIMajor || (gp.ABIMajor == pol.MinSNPABIMajor && gp.ABIMinor >= pol.MinSNPABIMinor)
	c.Add("guest_policy_abi", abiOK, fmt.Sprintf("guest demands firmware ABI %d.%d or newer", gp.ABIMajor, gp.ABIMinor),
		fmt.Sprintf("guest demands firmware ABI %d.%d, policy wants at least %d.%d", gp.ABIMajor, gp.ABIMinor, pol.MinSNPABIMajor, pol.MinSNPABIMinor))

	c.Add("vmpl", rep.GetVmpl() <= pol.MaxSNPVMPL, fmt.Sprintf("requested at VMPL %d", rep.GetVmpl()),
		fmt.Sprintf("requested at VMPL %d, policy accepts VMPL %d or more privileged", rep.GetVmpl(), pol.MaxSNPVMPL))

	// The minimum binds COMMITTED_TCB as well as REPORTED_TCB: firmware
	// newer than the committed version is provisional, and the host may
	// load any firmware down to COMMITTED_TCB while the guest runs, so a
	// report at a new REPORTED_TCB over an old commitment proves only the
	// older level (AMD's attestation guidance: reported <= committed <=
	// current, check that COMMITTED_TCB addresses the vulnerabilities).
	// LAUNCH_TCB too: the firmware the guest was launched under computed
	// the MEASUREMENT, and a later live update does not make that
	// computation trustworthy (go-sev-guest's MinimumLaunchTCB).
	tcb := snpTCB(rep.GetReportedTcb(), productLine)
	committed := snpTCB(rep.GetCommittedTcb(), productLine)
	launch := snpTCB(rep.GetLaunchTcb(), productLine)
	var tcbFail string
	switch {
	case !tcb.AtLeast(pol.MinSNPTCB):
		tcbFail = fmt.Sprintf("reported TCB %s is below the minimum %s", tcb, pol.MinSNPTCB)
	case !committed.AtLeast(pol.MinSNPTCB):
		tcbFail = fmt.Sprintf("committed TCB %s is below the minimum %s: the host may roll the firmware back to it while the guest runs", committed, pol.MinSNPTCB)
	case !launch.AtLeast(pol.MinSNPTCB):
		tcbFail = fmt.Sprintf("launch TCB %s is below the minimum %s: the guest was launched, and measured, under that firmware", launch, pol.MinSNPTCB)
	}
	c.Add("tcb", tcbFail == "", fmt.Sprintf("reported TCB %s; committed TCB %s; launch TCB %s", tcb, committed, launch), tcbFail)
	idKeyTrusted := false
	if len(pol.SNPIDKeyDigests) > 0 {
		var which string
		idKeyTrusted, which = snpIDKeyTrusted(rep, pol.SNPIDKeyDigests)
		c.Add("id_key", idKeyTrusted, "ID block signed by a trusted key ("+which+")",
			fmt.Sprintf("ID block keys ID_KEY_DIGEST %x, AUTHOR_KEY_DIGEST %x: neither is in Policy.SNPIDKeyDigests", rep.GetIdKeyDigest(), rep.GetAuthorKeyDigest()))
	}
	svnFail := fmt.Sprintf("guest SVN %d is below the minimum %d", rep.GetGuestSvn(), pol.MinSNPGuestSVN)
	if pol.MinSNPGuestSVN > 0 && !idKeyTrusted {
		svnFail = fmt.Sprintf("a minimum guest SVN (%d) is met only under an ID block key in Policy.SNPIDKeyDigests: GUEST_SVN %d comes from an ID block the host supplies and may sign with a key of its own", pol.MinSNPGuestSVN, rep.GetGuestSvn())
	}
	c.Add("guest_svn", rep.GetGuestSvn() >= pol.MinSNPGuestSVN && (pol.MinSNPGuestSVN == 0 || idKeyTrusted), fmt.Sprintf("guest SVN %d", rep.GetGuestSvn()), svnFail)
	if ekCert != nil {
		// The rules go-sev-guest knows beyond ours: the reported TCB equals
		// the one the VCEK was issued for, committed firmware is not newer
		// than current, CHIP_ID equals the VCEK's HWID. Its guest policy
		// rules are switched off: the checks above run them, by name.
		err := validate.SnpAttestation(att, &validate.Options{
			GuestPolicy:               abi.SnpPolicy{Debug: true, MigrateMA: true, SMT: true, CXLAllowed: true},
			PermitProvisionalFirmware: true,
		})
		c.Add("firmware", err == nil, "TCB and CHIP_ID consistent with the endorsement key's certificate", fmt.Sprintf("go-sev-guest validate: %v", err))
	} else {
		c.Skip("firmware", "no trusted endorsement key certificate to compare with")
	}
	if len(pol.ChipIDs) > 0 {
		ok := false
		for _, id := range pol.ChipIDs {
			ok = ok || bytes.Equal(id, rep.GetChipId())
		}
		c.Add("chip_id", ok, "CHIP_ID is on the allowlist", fmt.Sprintf("CHIP_ID %x is not on the allowlist", rep.GetChipId()))
	}

	obs.Matched = matchSNP(rep.GetMeasurement(), pol, m, c)
	if obs.Matched != "" {
		obs.Facts = append(obs.Facts, fmt.Sprintf("It launched exactly the image the manifest describes for %s (MEASUREMENT %x).", obs.Matched, rep.GetMeasurement()))
	}
	if gp.Debug {
		obs.Facts = append([]string{"DEBUGGING IS ON: the host can read and write this guest's memory, so nothing in it is confidential."}, obs.Facts...)
	}
	obs.Facts = append(obs.Facts, "Its policy: "+strings.Join(snpPolicyRules(gp, smtOn, rep.GetVmpl(), platformHas, tcb), ", ")+".")
	return obs
}

// snpPolicyRules says what the report's policy and platform are, in words,
// for Proven: what protects the guest, and every relaxation the verifier's
// policy accepted, so that a reader of Proven alone sees what a flag such
// as --allow-snp-vmpl let through (debugging has a line of its own).
func snpPolicyRules(gp abi.SnpPolicy, smtOn bool, vmpl uint32, platformHas []string, tcb attest.SNPTCB) []string {
	var rules []string
	if !gp.Debug {
		rules = append(rules, "debugging off")
	}
	if gp.MigrateMA {
		rules = append(rules, "MIGRATION AGENT ALLOWED (it holds the guest's memory keys)")
	} else {
		rules = append(rules, "no migration agent")
	}
	if smtOn {
		rules = append(rules, "SMT on (the sibling thread may run another tenant)")
	} else {
		rules = append(rules, "SMT off on the platform")
	}
	if gp.CXLAllowed {
		rules = append(rules, "CXL ALLOWED (the host may populate CXL devices or memory for the guest)")
	}
	if vmpl > 0 {
		rules = append(rules, fmt.Sprintf("report requested at VMPL %d, not by the most privileged guest software", vmpl))
	}
	rules = append(rules, platformHas...)
	return append(rules, "reported TCB "+tcb.String())
}

// snpSMT reports whether SMT is on for the guest and says why. The guest
// policy's SMT bit only permits SMT: the firmware refuses to launch a guest
// whose policy forbids it on a platform that has it (SEV-SNP ABI, guest
// policy bit 16), but a policy that permits it says nothing of whether the
// platform has it. PLATFORM_INFO bit 0, SMT_EN, does: the firmware signs
// it in the report, and SMT is a platform setting that changes only with a
// reset, which ends the guest. So a guest whose policy permits SMT on a
// platform that has it off has no sibling thread to fear, and passes (as
// go-sev-guest's validate keeps the two apart: GuestPolicy.SMT and
// PlatformInfo.SMTEnabled); SMT_EN set under a policy forbidding SMT is a
// report genuine firmware cannot make, and counts as on.
func snpSMT(policySMT bool, platformInfo uint64) (on bool, detail string) {
	// ParseSnpPlatformInfo fills SMTEnabled even when it also refuses bits
	// it does not know; the other bits are not this check's business.
	pi, _ := abi.ParseSnpPlatformInfo(platformInfo)
	switch {
	case pi.SMTEnabled && policySMT:
		return true, "SMT on: the guest policy allows it and PLATFORM_INFO.SMT_EN says the platform has it enabled"
	case pi.SMTEnabled:
		return true, "PLATFORM_INFO.SMT_EN says SMT is enabled although the guest policy forbids it"
	case policySMT:
		return false, "SMT off: the guest policy allows it, but PLATFORM_INFO.SMT_EN says the platform has it disabled"
	}
	return false, "SMT off: the guest policy forbids it and PLATFORM_INFO.SMT_EN is clear"
}

// snpPlatformRequired holds the report's PLATFORM_INFO, which the
// firmware signs, against the features the policy requires, read as
// go-sev-guest's abi.ParseSnpPlatformInfo reads them (its validate does
// the same with Options.PlatformInfo). It returns what was found, in
// words, and why the check fails ("" if it passes). A report from
// firmware that predates a bit has it clear, and fails a requirement of it.
func snpPlatformRequired(platformInfo uint64, required []attest.SNPPlatformFeature) (has []string, fail string) {
	// ParseSnpPlatformInfo fills every field even when it also refuses
	// bits it does not know; those are not this check's business.
	pi, _ := abi.ParseSnpPlatformInfo(platformInfo)
	bits := map[attest.SNPPlatformFeature]struct {
		on         bool
		name, says string
	}{
		attest.SNPECC:                {pi.ECCEnabled, "ECC_EN", "ECC memory"},
		attest.SNPRAPLDisabled:       {pi.RAPLDisabled, "RAPL_DIS", "RAPL disabled"},
		attest.SNPCiphertextHiding:   {pi.CiphertextHidingDRAMEnabled, "CIPHERTEXT_HIDING_DRAM_EN", "ciphertext hiding in DRAM"},
		attest.SNPAliasCheckComplete: {pi.AliasCheckComplete, "ALIAS_CHECK_COMPLETE", "memory alias check complete"},
	}
	var missing []string
	for _, r := range required {
		b, known := bits[r]
		switch {
		case !known:
			return nil, fmt.Sprintf("the policy requires %q of PLATFORM_INFO, which is not one of %v", r, attest.SNPPlatformFeatures)
		case b.on:
			has = append(has, b.says)
		default:
			missing = append(missing, b.name)
		}
	}
	if len(missing) > 0 {
		return has, fmt.Sprintf("PLATFORM_INFO %#x lacks %s, which the policy requires", platformInfo, strings.Join(missing, ", "))
	}
	return has, ""
}

// snpIDKeyTrusted reports whether the report's ID block was signed by a
// key in trusted, directly (ID_KEY_DIGEST) or through an author key
// (AUTHOR_KEY_DIGEST, counted only when AUTHOR_KEY_EN says the firmware
// checked it), as go-sev-guest's validateKeys. An all-zero digest is a
// launch without that key and never matches.
func snpIDKeyTrusted(rep *spb.Report, trusted [][]byte) (bool, string) {
	info, err := abi.ParseSignerInfo(rep.GetSignerInfo())
	if err != nil {
		return false, ""
	}
	listed := func(d []byte) bool {
		return !isZero(d) &&
			slices.ContainsFunc(trusted, func(t []byte) bool { return bytes.Equal(t, d) })
	}
	if info.AuthorKeyEn && listed(rep.GetAuthorKeyDigest()) {
		return true, fmt.Sprintf("AUTHOR_KEY_DIGEST %x", rep.GetAuthorKeyDigest())
	}
	if listed(rep.GetIdKeyDigest()) {
		return true, fmt.Sprintf("ID_KEY_DIGEST %x", rep.GetIdKeyDigest())
	}
	return false, ""
}

func onOff(what string, on bool, why string) string {
	s := what + " off"
	if on {
		s = what + " on"
	}
	if why != "" {
		s += " (" + why + ")"
	}
	return s
}

// snpChain checks the endorsement key (VCEK, or a cloud's VLEK) from the
// document's certificate table against the compiled-in AMD roots.
func snpChain(ev *attest.Evidence, rep *spb.Report, pol attest.Policy, c *attest.Recorder) (*spb.Attestation, *x509.Certificate, string) {
	att := &spb.Attestation{Report: rep, CertificateChain: &spb.CertificateChain{Extras: map[string][]byte{}}}
	if len(ev.Certificates) > 0 {
		t, err := parseCertTable(ev.Certificates)
		if err != nil {
			c.Add("certificates", false, "", err.Error())
			return att, nil, ""
		}
		att.CertificateChain = t.Proto()
	}
	info, err := abi.ParseSignerInfo(rep.GetSignerInfo())
	if err != nil {
		c.Add("certificates", false, "", fmt.Sprintf("report signer info: %v", err))
		return att, nil, ""
	}
	der := att.CertificateChain.GetVcekCert()
	if info.SigningKey == abi.VlekReportSigner {
		der = att.CertificateChain.GetVlekCert()
	}
	if len(der) == 0 && info.SigningKey == abi.VcekReportSigner && pol.Fetch != nil {
		var err error
		if der, err = fetchVCEK(rep, pol.Fetch); err != nil {
			c.Add("certificates", false, "", err.Error())
			return att, nil, ""
		}
		att.CertificateChain.VcekCert = der
	}
	if len(der) == 0 {
		c.Add("certificates", false, "", fmt.Sprintf("the document has no %v certificate (the host supplied none; fetching from AMD KDS is opt-in)", info.SigningKey))
		return att, nil, ""
	}
	cert, err := trust.ParseCert(der)
	if err != nil {
		c.Add("certificates", false, "", fmt.Sprintf("%v certificate: %v", info.SigningKey, err))
		return att, nil, ""
	}
	productLine := ""
	if fms := rep.GetCpuid1EaxFms(); fms != 0 {
		productLine = kds.ProductLineFromFms(fms)
	} else if exts, err := kds.CertificateExtensions(cert, info.SigningKey); err == nil {
		productLine = kds.ProductLineOfProductName(exts.ProductName)
	}
	if productLine == "Turin" {
		c.Add("certificates", false, "", errTurin.Error())
		return att, nil, productLine
	}
	root, ok := trust.DefaultRootCerts[productLine]
	if !ok {
		lines := make([]string, 0, len(trust.DefaultRootCerts))
		for l := range trust.DefaultRootCerts {
			lines = append(lines, l)
		}
		sort.Strings(lines)
		c.Add("certificates", false, "", fmt.Sprintf("product line %q has no compiled-in AMD root (known: %s)", productLine, strings.Join(lines, ", ")))
		return att, nil, productLine
	}
	opts := root.X509Options(pol.Now, info.SigningKey)
	if opts == nil {
		c.Add("certificates", false, "", fmt.Sprintf("no compiled-in AMD %s root for %v", productLine, info.SigningKey))
		return att, nil, productLine
	}
	if _, err := cert.Verify(*opts); err != nil {
		c.Add("certificates", false, "", fmt.Sprintf("%v certificate does not chain to AMD's %s root: %v", info.SigningKey, productLine, err))
		return att, nil, productLine
	}
	c.Add("certificates", true, fmt.Sprintf("%v certificate chains to AMD's %s ASK and ARK compiled into go-sev-guest (the document's own ASK/ARK are ignored)", info.SigningKey, productLine), "")
	return att, cert, productLine
}

// errTurin refuses Turin reports by their real reason. go-sev-guest
// v0.15.0 reads only the VCEK certificates of Milan and Genoa (KDS
// StructVersion 0: a 64-byte HWID, a TCB without an FMC level): a genuine
// Turin VCEK (StructVersion 1: an 8-byte HWID, fmcSPL) fails its extension
// parser, its TCB comparison reads the Turin layout as Milan's, and KDS
// wants Turin VCEKs asked for by the 8-byte ID and the FMC level
// (google/go-sev-guest issue 165). Without this the refusal surfaced as a
// puzzling signature or firmware failure, after a KDS request for a URL
// that cannot exist.
var errTurin = errors.New("AMD Turin reports cannot be verified yet: go-sev-guest v0.15.0 reads only Milan and Genoa VCEK certificates (Turin's carry an 8-byte HWID and an FMC level; google/go-sev-guest issue 165)")

// errCertTable marks a certificate table that cannot be read.
var errCertTable = errors.New("SEV-SNP certificate table")

// maxCertTableEntries bounds the table walk. AMD defines entries for the
// ARK, ASK, VCEK, VLEK and a CRL; a real table has a handful.
const maxCertTableEntries = 64

// checkCertTable walks the GUID table at the head of an extended report's
// certificate blob (24-byte entries: GUID, offset and length as uint32 LE,
// ended by an all-zero entry) and refuses any entry whose bytes are not
// inside the blob, after the table. go-sev-guest v0.15.0's
// CertTable.Unmarshal adds offset and length in 32 bits: a hostile host's
// offset 0xFFFFFFF0 with length 0x20 wraps past its check and panics the
// verifier, and length 0xFFFFFFFF at a small offset makes it allocate 4 GiB.
// Here the sums are 64-bit, so with this walk passed every range the
// library slices is in the blob.
func checkCertTable(b []byte) error {
	type entry struct {
		guid        []byte
		off, length uint64
	}
	var entries []entry
	end := 0 // the end of the table, terminator included
	for {
		if len(entries) > maxCertTableEntries {
			return fmt.Errorf("%w: more than %d entries", errCertTable, maxCertTableEntries)
		}
		if len(b)-end < abi.CertTableEntrySize {
			return fmt.Errorf("%w: entry %d at byte %d: %d bytes left, want %d (the table ends with an all-zero entry)", errCertTable, len(entries), end, len(b)-end, abi.CertTableEntrySize)
		}
		e := b[end : end+abi.CertTableEntrySize]
		end += abi.CertTableEntrySize
		if !slices.ContainsFunc(e, func(x byte) bool { return x != 0 }) {
			break
		}
		entries = append(entries, entry{
			guid:   e[:abi.GUIDSize],
			off:    uint64(binary.LittleEndian.Uint32(e[abi.GUIDSize:])),
			length: uint64(binary.LittleEndian.Uint32(e[abi.GUIDSize+4:])),
		})
	}
	for i, e := range entries {
		if e.off < uint64(end) || e.off+e.length > uint64(len(b)) {
			return fmt.Errorf("%w: entry %d (GUID %x) claims bytes %d to %d, outside the certificates after the %d-byte table in a %d-byte blob",
				errCertTable, i, e.guid, e.off, e.off+e.length, end, len(b))
		}
	}
	return nil
}

// parseCertTable is abi.CertTable.Unmarshal for a table from the host:
// checkCertTable first, then the library's parser, with a recover as a
// second line (as quoteToProto for TDX quotes): a parser of host bytes must
// return an error, never take the client down.
func parseCertTable(b []byte) (t *abi.CertTable, err error) {
	if err := checkCertTable(b); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%w: go-sev-guest parser: %v", errCertTable, r)
		}
	}()
	t = new(abi.CertTable)
	if err := t.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %v", errCertTable, err)
	}
	return t, nil
}

// matchSNP finds the manifest entry with the reported measurement among the
// entries the policy allows, and returns its description.
func matchSNP(got []byte, pol attest.Policy, m *attest.Manifest, c *attest.Recorder) string {
	if m == nil {
		c.Add("measurement", false, "", "no manifest given")
		return ""
	}
	if pol.RequireVCPUs < 0 {
		// It matches no entry, and "any vCPU count" would say why wrongly.
		c.Add("measurement", false, "", fmt.Sprintf("Policy.RequireVCPUs %d: want a vCPU count of at least 1, or 0 for any entry", pol.RequireVCPUs))
		return ""
	}
	var cands []attest.SNPMeasurement
	for _, e := range m.SEVSNP {
		if (pol.RequireVCPUs == 0 || e.VCPUs == pol.RequireVCPUs) && (pol.VCPUType == "" || strings.EqualFold(e.VCPUType, pol.VCPUType)) {
			cands = append(cands, e)
		}
	}
	if len(cands) == 0 {
		c.Add("measurement", false, "", fmt.Sprintf("got %x, manifest has no sev_snp entry for %s", got, describeVCPUs(pol.RequireVCPUs, pol.VCPUType)))
		return ""
	}
	for _, e := range cands {
		if equalHex(got, e.Measurement) {
			d := describeVCPUs(e.VCPUs, e.VCPUType)
			c.Add("measurement", true, "MEASUREMENT matches the manifest for "+d, "")
			return d
		}
	}
	more := ""
	if len(cands) > 1 {
		more = fmt.Sprintf(" (and %d other entries)", len(cands)-1)
	}
	c.Add("measurement", false, "", fmt.Sprintf("got %x, manifest expects %s for %s%s", got, cands[0].Measurement, describeVCPUs(cands[0].VCPUs, cands[0].VCPUType), more))
	return ""
}

func describeVCPUs(n int, typ string) string {
	s := "any vCPU count"
	if n == 1 {
		s = "1 vCPU"
	} else if n > 1 {
		s = fmt.Sprintf("%d vCPUs", n)
	}
	if typ != "" {
		s += " of type " + typ
	}
	return s
}

// fetchVCEK asks AMD KDS for the VCEK of the report's chip at its reported
// TCB. Reports before version 3 do not say which product line they come
// from, and guessing would ask KDS the wrong question.
func fetchVCEK(rep *spb.Report, f *attest.Fetcher) ([]byte, error) {
	fms := rep.GetCpuid1EaxFms()
	if fms == 0 {
		return nil, fmt.Errorf("report version %d does not name its product line, so the VCEK cannot be fetched; supply the certificates", rep.GetVersion())
	}
	line := kds.ProductLineFromFms(fms)
	if line == "Turin" {
		return nil, errTurin
	}
	u := kds.VCEKCertURL(line, rep.GetChipId(), kds.TCBVersion(rep.GetReportedTcb()))
	der, err := amdGetter{f}.Get(u)
	if err != nil {
		return nil, fmt.Errorf("fetch VCEK from AMD KDS: %w", err)
	}
	return der, nil
}
