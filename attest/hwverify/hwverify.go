// Package hwverify verifies SEV-SNP reports and TDX quotes for attest.Verify,
// with go-sev-guest and go-tdx-guest. Importing it registers both:
//
//	import _ "github.com/pith-project/pith/attest/hwverify"
//
// It is apart from package attest so that the guest, which only makes
// evidence, does not carry the vendor verifiers, certificate and CRL
// parsers: a program without this import refuses SEV-SNP and TDX evidence
// at the platform check, naming the import.
//
// Roots of trust: for SEV-SNP, the AMD ARK/ASK pairs compiled into
// go-sev-guest (Milan, Genoa, Turin; Turin reports are refused, by name,
// until go-sev-guest reads Turin VCEKs), never the chain a document brings; for
// TDX, Intel's SGX Root CA, pinned by digest (the one go-tdx-guest compiles
// in).
package hwverify

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pith-project/pith/attest"
)

func init() {
	attest.RegisterVerifier(attest.SEVSNP, verifySNP)
	attest.RegisterVerifier(attest.TDX, verifyTDX)
}

// equalHex compares a measurement with the manifest's hex string.
func equalHex(got []byte, want string) bool {
	w, err := hex.DecodeString(want)
	return err == nil && len(w) > 0 && bytes.Equal(got, w)
}

// hostValue is a launch value the host chooses and pith does not read.
type hostValue struct {
	name  string
	value []byte
}

// checkHostData records the host_data check: every value zero, or, with
// Policy.AllowHostData, any value, which Proven then says went unchecked.
func checkHostData(c *attest.Recorder, obs *attest.Observed, pol attest.Policy, vals []hostValue) {
	var names, set []string
	for _, v := range vals {
		names = append(names, v.name)
		if !isZero(v.value) {
			set = append(set, fmt.Sprintf("%s %x", v.name, v.value))
		}
	}
	all := strings.Join(names, ", ")
	if len(set) == 0 {
		c.Add("host_data", true, all+" zero (nothing chosen by the host)", "")
		return
	}
	given := strings.Join(set, "; ")
	if c.Add("host_data", pol.AllowHostData, given+": chosen by the host at launch, accepted by policy",
		given+": chosen by the host at launch, which pith never reads and launches with zero; refused without --allow-host-data (Policy.AllowHostData)") {
		obs.NotRun = append(obs.NotRun, "NOT CHECKED: "+given+" (chosen by the host at launch, accepted by policy: it says nothing about the enclave, and pith does not read it).")
	}
}

// isZero reports whether b is all zero bytes (an empty b too).
func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
