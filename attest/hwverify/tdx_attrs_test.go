package hwverify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestTDXAttributes: the td_attributes check on the real go-tdx-guest
// quote, whose TD_ATTRIBUTES are PKS alone (SEPT_VE_DISABLE clear), and on
// copies with other bits set. A changed quote fails the signature check,
// but td_attributes still runs on it and is read here by name.
func TestTDXAttributes(t *testing.T) {
	s := loadTDXSample(t)
	const offTDAttrs = 48 + 120
	for _, tc := range []struct {
		name   string
		set    map[int]byte // TD_ATTRIBUTES byte -> bits to set
		allow  bool         // Policy.AllowTDXSEPTVE
		ok     bool
		detail string // in the check's detail
	}{
		{"sample: SEPT_VE_DISABLE clear", nil, false, false, "SEPT_VE_DISABLE is clear"},
		{"sample, SEPT #VE allowed", nil, true, true, "accepted by policy"},
		{"SEPT_VE_DISABLE set", map[int]byte{3: 1 << 4}, false, true, "SEPT_VE_DISABLE set"},
		{"and PERFMON", map[int]byte{3: 1 << 4, 7: 1 << 7}, false, true, "SEPT_VE_DISABLE set"},
		{"and LASS, KL and ICSSD", map[int]byte{2: 1, 3: 1<<4 | 1<<3 | 1<<7}, false, true, "SEPT_VE_DISABLE set"},
		{"TD-under-profiling group bit 8", map[int]byte{1: 1, 3: 1 << 4}, true, false, "bit(s) 8,"},
		{"reserved negative bit 24", map[int]byte{3: 1<<4 | 1}, false, false, "bit(s) 24,"},
		{"reserved bit 40", map[int]byte{3: 1 << 4, 5: 1}, true, false, "bit(s) 40,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := bytes.Clone(s.quote)
			for i, b := range tc.set {
				q[offTDAttrs+i] |= b
			}
			pol := attest.DefaultPolicy()
			pol.Now, pol.SkipBinding, pol.AllowTDXSEPTVE = tdxSampleTime, true, tc.allow
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.TDX, Report: q}, nil, pol, s.manifest())
			c := checkState(t, res, "td_attributes")
			if c.OK != tc.ok || !strings.Contains(c.Detail+",", tc.detail) {
				t.Fatalf("td_attributes %+v, want ok %v naming %q", c, tc.ok, tc.detail)
			}
			want := "td_attributes"
			switch {
			case tc.set != nil:
				want = "signature" // the first failure of a changed quote
			case tc.ok:
				want = ""
			}
			if got := failedCheck(t, res, err); got != want {
				t.Fatalf("failed check %q (%v), want %q", got, err, want)
			}
			if want == "" && !strings.Contains(res.Proven, "NOT CHECKED: that the host cannot provoke a #VE") {
				t.Fatalf("Proven does not say SEPT #VEs were accepted:\n%s", res.Proven)
			}
		})
	}
}
