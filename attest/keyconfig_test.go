package attest

import (
	"bytes"
	"strings"
	"testing"
)

// TestKeyConfigOnlyOnSuccess: Result.KeyConfig, the key a client encrypts
// to, is set only when every check passed. In each failing case the
// REPORT_DATA itself matches, so only the other checks stand between the
// client and a key the host chose.
func TestKeyConfigOnlyOnSuccess(t *testing.T) {
	nonce, kc, b := devDocument(t)
	for _, tc := range []struct {
		name   string
		mutate func(doc *Document, pol *Policy, m *Manifest)
		failed string // the failing check, "" for success
	}{
		{"verified", func(*Document, *Policy, *Manifest) {}, ""},
		{"dev refused without AllowDev", func(_ *Document, pol *Policy, _ *Manifest) { pol.AllowDev = false }, "platform"},
		{"bad signature", func(doc *Document, _ *Policy, _ *Manifest) { doc.Report[len(doc.Report)-1] ^= 1 }, "signature"},
		{"another measurement", func(_ *Document, _ *Policy, m *Manifest) { m.Dev.Measurement = strings.Repeat("00", 48) }, "measurement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := ParseDocument(b)
			if err != nil {
				t.Fatal(err)
			}
			pol, m := DefaultPolicy(), devManifest(t)
			pol.AllowDev = true
			tc.mutate(doc, &pol, m)
			res, err := Verify(doc, nonce, pol, m)
			if res == nil {
				t.Fatalf("no Result (err %v)", err)
			}
			if bad, _ := res.Failed(); bad.Name != tc.failed {
				t.Fatalf("failed check %q (%v), want %q", bad.Name, err, tc.failed)
			}
			if !res.check("report_data").OK {
				t.Fatalf("report_data check %+v: the case must fail elsewhere", res.check("report_data"))
			}
			want := kc
			if tc.failed != "" {
				want = nil
			}
			if !bytes.Equal(res.KeyConfig, want) {
				t.Fatalf("KeyConfig = %q, want %q", res.KeyConfig, want)
			}
		})
	}
}
