package hwverify_test

import (
	"fmt"

	"github.com/pith-project/pith/attest"
	_ "github.com/pith-project/pith/attest/hwverify"
)

// With the blank import, attest.Verify and attest.VerifyEvidence check
// SEV-SNP and TDX evidence; an all-zero "report" fails the first check.
func Example() {
	_, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: make([]byte, 1184)}, nil, attest.DefaultPolicy(), nil)
	fmt.Println(err)
	_, err = attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: []byte("not a quote")}, nil, attest.DefaultPolicy(), nil)
	fmt.Println(err)
	// Output:
	// verify: report: SEV-SNP report: malformed guest policy: policy[17] is reserved, must be 1, got 0
	// verify: report: TDX quote: quote format not supported
}
