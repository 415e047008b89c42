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
