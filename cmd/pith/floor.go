package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/pith-project/pith/attest"
)

// floorFlags are the firmware minimums a verifier may demand. Without them
// attest.DefaultPolicy accepts any firmware level: a platform whose
// firmware has a published vulnerability passes as well as a patched one,
// and only the verifier knows which levels it trusts (AMD and Intel
// publish them with each security bulletin).
type floorFlags struct {
	snpTCB, tdxTCB string
}

func (f *floorFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&f.snpTCB, "min-snp-tcb", "", "refuse SEV-SNP firmware below these security versions: any of\n`bootloader=N,tee=N,snp=N,microcode=N`, held against the report's\nreported, committed and launch TCB (the parts not named may be anything)")
	fs.StringVar(&f.tdxTCB, "min-tdx-tcb", "", "refuse a TDX module whose TEE_TCB_SVN is below this one, byte by byte\n(16 bytes as 32 `hex` digits)")
}

// apply sets pol's minimums from the flags, or says which flag is wrong.
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
