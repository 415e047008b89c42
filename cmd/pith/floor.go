package main

import (
	"crypto/sha512"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pith-project/pith/attest"
)

// floorFlags are the policy flags every command that verifies an enclave
// shares (verify, summarize, proxy): the firmware and enclave minimums a
// verifier may demand, and the few relaxations of attest.Policy. Without
// the minimums attest.DefaultPolicy accepts any firmware level: a platform
// whose firmware has a published vulnerability passes as well as a patched
// one, and only the verifier knows which levels it trusts (AMD and Intel
// publish them with each security bulletin).
type floorFlags struct {
	snpTCB, tdxTCB      string
	tdxQESVN, tdxPCESVN uint64
	tdxTCBEvaluation    uint64
	snpGuestSVN         uint64
	snpIDKeys           []string
	allowSNPVMPL        uint64
	allowCXL            bool
	allowTDXSEPTVE      bool
	allowHostData       bool
	snpPlatform         string
}

func (f *floorFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.snpTCB, "min-snp-tcb", "", "refuse SEV-SNP firmware below these security versions: any of\n`bootloader=N,tee=N,snp=N,microcode=N`, held against the report's\nreported, committed and launch TCB (the parts not named may be anything)")
	fs.StringVar(&f.tdxTCB, "min-tdx-tcb", "", "refuse a TDX module whose TEE_TCB_SVN is below this one, byte by byte\n(16 bytes as 32 `hex` digits)")
	fs.Uint64Var(&f.tdxQESVN, "min-tdx-qe-svn", 0, "refuse a TDX quote whose quoting enclave's ISVSVN (from its report,\nsigned by the PCK key) is below `N`")
	fs.Uint64Var(&f.tdxPCESVN, "min-tdx-pce-svn", 0, "refuse a TDX quote whose PCK certificate was issued for a PCESVN\nbelow `N`")
	fs.Uint64Var(&f.tdxTCBEvaluation, "min-tdx-tcb-evaluation", 0, "refuse TDX collateral whose TCB info or QE identity has a\ntcbEvaluationDataNumber below `N` (Intel raises it at each TCB recovery;\nthe host could keep attaching older collateral until it expires); needs\ncollateral in the document, or --fetch where the command has it")
	fs.Uint64Var(&f.snpGuestSVN, "min-snp-guest-svn", 0, "refuse an SEV-SNP guest whose ID block's GUEST_SVN is below `N`;\nneeds --snp-id-key-digest, since the host may sign an ID block itself")
	// Repeatable, as bench model's --model; a command declared again (each
	// run in tests) starts without the last run's keys.
	f.snpIDKeys = nil
	fs.Func("snp-id-key-digest", "accept only SEV-SNP guests whose ID block was signed by the key with this\nSHA-384 digest (48 bytes as 96 `hex` digits; ID or author key); repeat\nthe flag to trust several keys", func(s string) error { f.snpIDKeys = append(f.snpIDKeys, s); return nil })
	fs.Uint64Var(&f.allowSNPVMPL, "allow-snp-vmpl", 0, "WEAKENS the check: accept SEV-SNP reports requested at VMPL `N` or more\nprivileged, not only VMPL 0 (pith's guest runs at VMPL 0; a report from\nVMPL 1-3 was asked for by a less privileged component, such as a guest\nunder an SVSM or paravisor that pith's image does not have)")
	fs.StringVar(&f.snpPlatform, "require-snp-platform", "", "refuse an SEV-SNP platform whose signed PLATFORM_INFO lacks any of these\ncomma-separated `features`: ecc (ECC memory), rapl-disabled (no RAPL\npower side channel), ciphertext-hiding (the host cannot read guest\nciphertext in DRAM), alias-check-complete (AMD's BadRAM mitigation ran);\nfirmware too old to report a feature fails it")
	fs.BoolVar(&f.allowTDXSEPTVE, "allow-tdx-sept-ve", false, "WEAKENS the check: accept TDX TDs whose TD_ATTRIBUTES.SEPT_VE_DISABLE is\nclear, so that the host can make the TD take a #VE on its private memory;\nonly for a guest kernel that switches those #VEs off itself (TDCS_TD_CTLS,\nwhich the quote does not show), as some clouds' TDs need")
	fs.BoolVar(&f.allowHostData, "allow-host-data", false, "WEAKENS the check: accept launch values the host chose and pith never\nreads (SEV-SNP HOST_DATA; TDX MRCONFIGID, MROWNER, MROWNERCONFIG) when\nthey are not zero; pith's image is launched with them zero")
	fs.BoolVar(&f.allowCXL, "allow-snp-cxl", false, "WEAKENS the check: accept SEV-SNP guests whose policy sets CXL_ALLOW,\nletting the host populate CXL devices or memory for the guest")
}

// apply sets pol's minimums and relaxations from the flags, or says which
// flag is wrong.
func (f *floorFlags) apply(pol *attest.Policy) error {
	if f.snpTCB != "" {
		t, err := parseSNPTCB(f.snpTCB)
		if err != nil {
			return usagef("--min-snp-tcb: %v", err)
		}
		pol.MinSNPTCB = t
	}
	if f.tdxTCB != "" {
		b, err := hex.DecodeString(f.tdxTCB)
		if err != nil || len(b) != len(pol.MinTDXTeeTCBSVN) {
			return usagef("--min-tdx-tcb: want %d bytes as %d hex digits", len(pol.MinTDXTeeTCBSVN), 2*len(pol.MinTDXTeeTCBSVN))
		}
		copy(pol.MinTDXTeeTCBSVN[:], b)
	}
	for _, n := range []struct {
		name string
		v    uint64
		max  uint64
		what string
	}{
		{"--min-tdx-qe-svn", f.tdxQESVN, math.MaxUint16, "an ISVSVN is 16 bits"},
		{"--min-tdx-pce-svn", f.tdxPCESVN, math.MaxUint16, "a PCESVN is 16 bits"},
		{"--min-snp-guest-svn", f.snpGuestSVN, math.MaxUint32, "GUEST_SVN is 32 bits"},
		{"--min-tdx-tcb-evaluation", f.tdxTCBEvaluation, math.MaxUint32, "Intel's evaluation numbers are far below"},
		{"--allow-snp-vmpl", f.allowSNPVMPL, 3, "SEV-SNP has VMPLs 0 to 3"},
	} {
		if n.v > n.max {
			return usagef("%s %d: at most %d (%s)", n.name, n.v, n.max, n.what)
		}
	}
	pol.MinTDXQESVN, pol.MinTDXPCESVN = uint16(f.tdxQESVN), uint16(f.tdxPCESVN)
	pol.MinTDXTCBEvaluationDataNumber = uint32(f.tdxTCBEvaluation)
	pol.MinSNPGuestSVN, pol.MaxSNPVMPL = uint32(f.snpGuestSVN), uint32(f.allowSNPVMPL)
	pol.AllowCXL, pol.AllowTDXSEPTVE, pol.AllowHostData = f.allowCXL, f.allowTDXSEPTVE, f.allowHostData
	if f.snpPlatform != "" {
		for _, name := range strings.Split(f.snpPlatform, ",") {
			feat := attest.SNPPlatformFeature(strings.TrimSpace(name))
			if !slices.Contains(attest.SNPPlatformFeatures, feat) {
				return usagef("--require-snp-platform: %q is not one of %v", name, attest.SNPPlatformFeatures)
			}
			if !slices.Contains(pol.RequireSNPPlatform, feat) {
				pol.RequireSNPPlatform = append(pol.RequireSNPPlatform, feat)
			}
		}
	}
	for _, s := range f.snpIDKeys {
		d, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(d) != sha512.Size384 {
			return usagef("--snp-id-key-digest %q: want a SHA-384 digest, %d bytes as %d hex digits", s, sha512.Size384, 2*sha512.Size384)
		}
		pol.SNPIDKeyDigests = append(pol.SNPIDKeyDigests, d)
	}
	if pol.MinSNPGuestSVN > 0 && len(pol.SNPIDKeyDigests) == 0 {
		// The verifier would refuse every report at guest_svn; saying so
		// now, before anything is fetched, names the missing flag.
		return usagef("--min-snp-guest-svn needs --snp-id-key-digest: GUEST_SVN comes from an ID block the host may sign with a key of its own")
	}
	return nil
}

// parseSNPTCB reads "bootloader=N,tee=N,snp=N,microcode=N", any subset, each
// part once.
func parseSNPTCB(s string) (attest.SNPTCB, error) {
	var t attest.SNPTCB
	parts := map[string]*uint8{"bootloader": &t.BootLoader, "tee": &t.TEE, "snp": &t.SNP, "microcode": &t.Microcode}
	seen := map[string]bool{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		p, known := parts[k]
		if !ok || !known {
			return t, fmt.Errorf("%q is not one of bootloader=N, tee=N, snp=N, microcode=N", kv)
		}
		if seen[k] {
			return t, fmt.Errorf("%s is given twice", k)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return t, fmt.Errorf("%s=%q is not a number from 0 to 255", k, v)
		}
		*p = uint8(n)
	}
	return t, nil
}
