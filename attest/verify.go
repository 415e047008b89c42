package attest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Policy says what a verifier accepts beyond a valid vendor signature.
type Policy struct {
	// AllowDev accepts the development stand-in, whose evidence proves
	// nothing; Result.Proven then says so in its first line.
	AllowDev bool
	// AllowDebug accepts guests whose memory the host can read (SEV-SNP
	// policy DEBUG, TDX TD_ATTRIBUTES.DEBUG). Never for real data.
	AllowDebug bool
	// AllowMigrationAgent accepts SEV-SNP guests that may be migrated by a
	// migration agent, which then sees the guest's memory keys.
	AllowMigrationAgent bool
	// AllowSMT accepts SEV-SNP guests on a platform whose firmware reports
	// SMT enabled (PLATFORM_INFO.SMT_EN; the usual cloud setting, and the
	// sibling thread is a side channel). A guest policy that merely permits
	// SMT on a platform with it disabled passes without it.
	AllowSMT bool
	// AllowCXL accepts SEV-SNP guests whose policy sets CXL_ALLOW, letting
	// the host populate CXL devices or memory for the guest; go-sev-guest
	// refuses them unless asked, and so does this verifier.
	AllowCXL bool
	// AllowTDXSEPTVE accepts TDX TDs whose TD_ATTRIBUTES.SEPT_VE_DISABLE
	// is clear. Such a TD takes a #VE, which the host can provoke, on an
	// access to private memory the host has unmapped or never added, in
	// the middle of any kernel code; Linux guests refuse to run so unless
	// the TDX module lets the kernel switch those #VEs off itself
	// (TDCS_TD_CTLS, which no quote attests), and QEMU sets the attribute
	// by default. A cloud whose TDs rely on that switch needs this.
	AllowTDXSEPTVE bool
	// AllowHostData accepts launch values that the host chooses and pith
	// never reads when they are not zero: SEV-SNP HOST_DATA and TDX
	// MRCONFIGID, MROWNER and MROWNERCONFIG. pith's image is launched with
	// them zero, so by default a report that sets one is refused: it is
	// not the launch the manifest describes, and whoever read such a value
	// as an identity (a TD "owned" by the key in MROWNER) would be reading
	// the host's word.
	AllowHostData bool
	// RequireSNPPlatform lists PLATFORM_INFO features the SEV-SNP platform
	// must report (see SNPPlatformFeatures); empty requires none.
	RequireSNPPlatform []SNPPlatformFeature
	// SkipBinding verifies evidence without a nonce: the report_data check
	// is marked skipped and Result.Proven says freshness and key binding are
	// NOT proven. Without it a missing nonce fails.
	SkipBinding bool

	// RequireVCPUs and VCPUType restrict which manifest SEV-SNP entries may
	// match (0 and "" take any entry of the manifest).
	RequireVCPUs int
	VCPUType     string
	// ChipIDs, when not empty, lists the 64-byte SEV-SNP CHIP_IDs accepted:
	// binding a key into a report does not bind the session to one machine.
	ChipIDs [][]byte

	// MaxSNPVMPL is the least privileged VMPL whose reports are accepted.
	// pith's guest runs at VMPL 0 (no SVSM or paravisor), so 0, the
	// default, refuses reports that a less privileged component asked for.
	MaxSNPVMPL uint32

	// MinSNPTCB is the minimum SEV-SNP REPORTED_TCB, COMMITTED_TCB and
	// LAUNCH_TCB, part by part: the host may roll provisional firmware
	// back to the committed level while the guest runs, and the launch
	// firmware computed the measurement.
	MinSNPTCB SNPTCB
	// MinSNPGuestSVN is the minimum guest SVN from the ID block. The host
	// supplies the ID block at launch and may sign one with a key of its
	// own, claiming any GUEST_SVN for the launch digest the manifest
	// publishes; so a minimum above 0 is met only by an ID block signed by
	// a key in SNPIDKeyDigests.
	MinSNPGuestSVN uint32
	// SNPIDKeyDigests, when not empty, lists the SHA-384 digests of the
	// public keys trusted to sign SEV-SNP ID blocks: the report's
	// ID_KEY_DIGEST, or its AUTHOR_KEY_DIGEST when AUTHOR_KEY_EN is set,
	// must be one of them.
	SNPIDKeyDigests [][]byte
	// MinSNPABIMajor/Minor is the minimum firmware ABI the guest policy
	// demands (the guest refuses to run on older firmware).
	MinSNPABIMajor, MinSNPABIMinor uint8

	// MinTDXTeeTCBSVN is the minimum TEE_TCB_SVN of a TDX quote, byte by byte.
	MinTDXTeeTCBSVN [16]byte
	// MinTDXQESVN bounds the quoting enclave's ISVSVN, read from its report
	// (signed by the PCK key), and MinTDXPCESVN the PCE SVN the PCK
	// certificate was issued for; never the quote header's QE_SVN and
	// PCE_SVN, which are reserved (zero) in version 4 quotes.
	MinTDXQESVN, MinTDXPCESVN uint16
	// MinTDXTCBEvaluationDataNumber is the minimum tcbEvaluationDataNumber
	// of the TDX collateral, in both its TCB info and its QE identity.
	// Intel raises it at each TCB recovery, and collateral from before one
	// stays valid until it expires (about a month): a host could keep
	// attaching that copy. Above 0 it needs collateral, from the document
	// or from Fetch.
	MinTDXTCBEvaluationDataNumber uint32

	// Fetch, when set, downloads the VCEK (SEV-SNP) a document lacks from
	// AMD, and the TDX collateral from Intel whether or not the document
	// carries some (the host could serve a copy from before a TCB
	// recovery until it expires), with a cache. Nil, the default, never
	// touches the network.
	Fetch *Fetcher

	// Now is the time certificates and collateral must be valid at; zero
	// means the current time.
	Now time.Time
}

// SNPPlatformFeature names one PLATFORM_INFO bit of an SEV-SNP report that
// Policy.RequireSNPPlatform may demand.
type SNPPlatformFeature string

// The PLATFORM_INFO bits a verifier may require, as go-sev-guest's
// abi.SnpPlatformInfo reads them from the signed report. SMT_EN has its own
// check (Policy.AllowSMT). TSME_EN is not here: transparent SME encrypts
// the host's memory under one platform key and adds nothing to a guest
// whose memory SEV-SNP already encrypts under its own.
const (
	// SNPECC is ECC_EN (bit 2): the platform's memory uses error
	// correction, which the firmware reports only when it can tell.
	SNPECC SNPPlatformFeature = "ecc"
	// SNPRAPLDisabled is RAPL_DIS (bit 3): Running Average Power Limit
	// is off, closing the power side channel its energy counters open.
	SNPRAPLDisabled SNPPlatformFeature = "rapl-disabled"
	// SNPCiphertextHiding is CIPHERTEXT_HIDING_DRAM_EN (bit 4): the host
	// cannot read the ciphertext of guest memory in DRAM, which
	// ciphertext side channels (CipherLeaks) compare over time.
	SNPCiphertextHiding SNPPlatformFeature = "ciphertext-hiding"
	// SNPAliasCheckComplete is ALIAS_CHECK_COMPLETE (bit 5): the
	// firmware found no aliased memory addresses since the last reset,
	// AMD's mitigation of BadRAM (AMD-SB-3015).
	SNPAliasCheckComplete SNPPlatformFeature = "alias-check-complete"
)

// SNPPlatformFeatures is every SNPPlatformFeature, in bit order.
var SNPPlatformFeatures = []SNPPlatformFeature{SNPECC, SNPRAPLDisabled, SNPCiphertextHiding, SNPAliasCheckComplete}

// SNPTCB is an SEV-SNP TCB version: the security patch levels of the
// bootloader, PSP OS (TEE), SNP firmware and microcode.
type SNPTCB struct {
	BootLoader, TEE, SNP, Microcode uint8
}

func (t SNPTCB) String() string {
	return fmt.Sprintf("bootloader %d, tee %d, snp %d, microcode %d", t.BootLoader, t.TEE, t.SNP, t.Microcode)
}

// AtLeast reports whether every part of t is at least min's.
func (t SNPTCB) AtLeast(min SNPTCB) bool {
	return t.BootLoader >= min.BootLoader && t.TEE >= min.TEE && t.SNP >= min.SNP && t.Microcode >= min.Microcode
}

// DefaultPolicy refuses the stand-in, debug guests and migration agents,
// accepts SMT (which every major cloud enables) and sets no minimum versions:
// set those from the vendor's current security bulletins.
func DefaultPolicy() Policy {
	return Policy{AllowSMT: true}
}

// Check is the outcome of one step of verification.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Skipped checks did not run (policy.SkipBinding, or an earlier failure
	// left nothing to check); they are neither passed nor failed.
	Skipped bool `json:"skipped,omitempty"`
}

// Result is what verification established.
type Result struct {
	Platform Platform `json:"platform"`
	Checks   []Check  `json:"checks"`
	// Measurement is the launch measurement the hardware reported (SEV-SNP
	// MEASUREMENT, TDX MRTD, stand-in executable hash).
	Measurement []byte `json:"measurement,omitempty"`
	// Matched names the manifest entry the measurement matched.
	Matched string `json:"matched,omitempty"`
	// KeyConfig is the OHTTP key configuration, set only when REPORT_DATA
	// proved the enclave made it: encrypt to this and nothing else.
	KeyConfig []byte `json:"ohttp_keys,omitempty"`
	// Proven says in plain words what was and was not proven.
	Proven string `json:"proven"`
}

var platformName = map[Platform]string{SEVSNP: "AMD SEV-SNP", TDX: "Intel TDX"}

// CheckError is the error Verify returns: the first failing check.
type CheckError struct{ Check Check }

func (e *CheckError) Error() string { return "verify: " + e.Check.Name + ": " + e.Check.Detail }

// ErrVerify matches every CheckError with errors.Is.
var ErrVerify = errors.New("verify")

func (e *CheckError) Is(target error) bool { return target == ErrVerify }

// Verify checks doc against the client's nonce, policy and the manifest the
// client trusts (never the document's own copy). On failure it returns the
// Result so far, with every check, and a *CheckError naming the first one
// that failed. nonce may be nil only with policy.SkipBinding.
func Verify(doc *Document, nonce []byte, policy Policy, manifest *Manifest) (*Result, error) {
	if doc == nil {
		return nil, fmt.Errorf("verify: document: %w", ErrEmpty)
	}
	var want []byte
	if nonce != nil {
		rd, err := ReportData(nonce, doc.KeyConfig)
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		want = rd[:]
	}
	ev := &Evidence{Platform: doc.Platform, Report: doc.Report, Certificates: doc.Certificates, Collateral: doc.Collateral}
	res, err := VerifyEvidence(ev, want, policy, manifest)
	// REPORT_DATA proves the enclave made the key configuration only when
	// the report itself is proven: genuine platform, chain, signature,
	// policy and measurement. A matching REPORT_DATA in a report that
	// failed any of them is the host's word.
	if err == nil && want != nil && res.check("report_data").OK {
		res.KeyConfig = append([]byte(nil), doc.KeyConfig...)
	}
	return res, err
}

// VerifyEvidence runs every check on raw evidence. expectedReportData is
// the 64 bytes REPORT_DATA must equal, or nil when the caller has no nonce
// (then the report_data check fails unless policy.SkipBinding).
func VerifyEvidence(ev *Evidence, expectedReportData []byte, policy Policy, manifest *Manifest) (*Result, error) {
	if ev == nil {
		return nil, fmt.Errorf("verify: evidence: %w", ErrEmpty)
	}
	if policy.Now.IsZero() {
		policy.Now = time.Now()
	}
	res := &Result{Platform: ev.Platform}
	c := &Recorder{res: res}
	var obs *Observed
	switch ev.Platform {
	case Dev:
		c.Add("platform", policy.AllowDev, "dev: the development stand-in, which proves nothing",
			"dev is the development stand-in, whose signing key the software made itself; refused without --allow-dev (Policy.AllowDev)")
		obs = verifyDev(ev, policy, manifest, c)
	case SEVSNP, TDX:
		v := verifierFor(ev.Platform)
		if !c.Add("platform", v != nil, string(ev.Platform)+": "+platformName[ev.Platform],
			fmt.Sprintf("%s evidence, but this program has no %s verifier (import github.com/pith-project/pith/attest/hwverify)", ev.Platform, ev.Platform)) {
			break
		}
		obs = v(ev, policy, manifest, c)
	default:
		c.Add("platform", false, "", fmt.Sprintf("unknown platform %q", ev.Platform))
	}
	if obs != nil {
		res.Measurement = obs.Measurement
		res.Matched = obs.Matched
		checkBinding(c, obs.ReportData, expectedReportData, policy)
	}
	return c.finish(obs)
}

// Observed is what a platform verifier read from the evidence.
type Observed struct {
	Measurement []byte
	ReportData  []byte
	Matched     string   // the manifest entry the measurement matched
	Facts       []string // plain-words statements of what the checks proved
	NotRun      []string // checks that could not run, said plainly
}

// A Recorder collects the checks of one verification, in order.
type Recorder struct {
	res *Result
}

// Add records a check; okDetail describes a pass, failDetail a failure. It
// returns ok.
func (c *Recorder) Add(name string, ok bool, okDetail, failDetail string) bool {
	d := okDetail
	if !ok {
		d = failDetail
	}
	c.res.Checks = append(c.res.Checks, Check{Name: name, OK: ok, Detail: d})
	return ok
}

// Skip records a check that could not run.
func (c *Recorder) Skip(name, detail string) {
	c.res.Checks = append(c.res.Checks, Check{Name: name, Skipped: true, Detail: detail})
}

// A PlatformVerifier runs one platform's checks (vendor chain, signature,
// policy, measurement) on evidence and returns what it read, or nil when
// the evidence could not be read at all. VerifyEvidence adds the platform
// check before and the report_data check after.
type PlatformVerifier func(ev *Evidence, pol Policy, m *Manifest, rec *Recorder) *Observed

var (
	verifiersMu sync.RWMutex
	verifiers   = map[Platform]PlatformVerifier{}
)

// RegisterVerifier installs the verifier for SEV-SNP or TDX evidence.
// Package attest/hwverify calls it from init: the verifiers and their vendor
// libraries live there so that the guest (pith-init), which only makes
// evidence, does not carry them. Registering a platform twice panics.
func RegisterVerifier(p Platform, v PlatformVerifier) {
	verifiersMu.Lock()
	defer verifiersMu.Unlock()
	if p != SEVSNP && p != TDX {
		panic("attest: RegisterVerifier: platform " + string(p))
	}
	if _, dup := verifiers[p]; dup {
		panic("attest: RegisterVerifier: " + string(p) + " registered twice")
	}
	verifiers[p] = v
}

func verifierFor(p Platform) PlatformVerifier {
	verifiersMu.RLock()
	defer verifiersMu.RUnlock()
	return verifiers[p]
}

func (r *Result) check(name string) Check {
	for _, ch := range r.Checks {
		if ch.Name == name {
			return ch
		}
	}
	return Check{Name: name}
}

// Failed returns the first failing check, if any.
func (r *Result) Failed() (Check, bool) {
	for _, ch := range r.Checks {
		if !ch.OK && !ch.Skipped {
			return ch, true
		}
	}
	return Check{}, false
}

func (c *Recorder) finish(obs *Observed) (*Result, error) {
	r := c.res
	if bad, failed := r.Failed(); failed {
		r.Proven = "Nothing: the " + bad.Name + " check failed (" + bad.Detail + ")."
		return r, &CheckError{Check: bad}
	}
	var lines []string
	if r.Platform == Dev {
		lines = append(lines, "NOTHING WAS PROVEN: this is the development stand-in, whose signing key was made by the software it describes; any server can produce this evidence.")
	}
	if obs != nil {
		lines = append(lines, obs.Facts...)
		lines = append(lines, obs.NotRun...)
	}
	if ch := r.check("report_data"); ch.OK && r.Platform == Dev {
		// The stand-in signs its own report, so the binding shows only
		// that the server answered this nonce, not where the key lives.
		lines = append(lines, "The report carries your fresh nonce and the SHA-256 of the OHTTP key configuration, but the stand-in signed it itself: that shows the server answered now, not where the key was made.")
	} else if ch.OK {
		lines = append(lines, "The report carries your fresh nonce and the SHA-256 of the OHTTP key configuration, so that key was made inside this guest for this session.")
	} else if ch.Skipped {
		lines = append(lines, "NOT PROVEN: that the report is fresh or that the OHTTP key was made inside the guest ("+ch.Detail+").")
	}
	r.Proven = strings.Join(lines, "\n")
	return r, nil
}

// checkBinding compares REPORT_DATA with what this nonce and key
// configuration require.
func checkBinding(c *Recorder, got, want []byte, p Policy) {
	if want == nil {
		if p.SkipBinding {
			c.Skip("report_data", "no nonce was given")
			return
		}
		c.Add("report_data", false, "", "no nonce given, so neither freshness nor the OHTTP key binding can be checked")
		return
	}
	ok := len(want) == 64 && bytes.Equal(got, want)
	c.Add("report_data", ok, "REPORT_DATA binds this nonce and the OHTTP key configuration",
		fmt.Sprintf("got %x, want %x for this nonce and key configuration", got, want))
}

// expectHex compares a measurement with the manifest's hex string.
func expectHex(got []byte, want string) bool {
	w, err := hex.DecodeString(want)
	return err == nil && len(w) > 0 && bytes.Equal(got, w)
}
