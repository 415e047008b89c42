package hwverify

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// TestSNPGuestSVNNeedsIDKey: GUEST_SVN comes from an ID block the host may
// sign itself, so a minimum is met only under a trusted ID or author key.
// The reports are re-signed by a chain made here, which fails the
// certificates check; the id_key and guest_svn checks still run on them.
func TestSNPGuestSVNNeedsIDKey(t *testing.T) {
	s := loadSNPSample(t)
	const (
		offGuestSVN   = 0x04
		offSignerInfo = 0x48
		offIDKey      = 0xE0
		offAuthorKey  = 0x110
	)
	idKey, authorKey, other := bytes.Repeat([]byte{0x11}, 48), bytes.Repeat([]byte{0x22}, 48), bytes.Repeat([]byte{0x33}, 48)
	sign := func(authorKeyEn bool, id []byte) (report, certs []byte) {
		return selfSignedSNP(t, s, func(r []byte) {
			r[offGuestSVN] = 5
			copy(r[offIDKey:], id)
			copy(r[offAuthorKey:], authorKey)
			if authorKeyEn {
				r[offSignerInfo] |= 1
			}
		})
	}
	for _, tc := range []struct {
		name        string
		authorKeyEn bool
		id          []byte
		minSVN      uint32
		keys        [][]byte
		idKey       string // "" for no id_key check, else "ok" or a word of its failure
		guestSVN    string // "ok" or a word of its failure
	}{
		{"minimum without trusted keys", false, idKey, 5, nil, "", "SNPIDKeyDigests"},
		{"minimum under the trusted ID key", false, idKey, 5, [][]byte{other, idKey}, "ok", "ok"},
		{"above the SVN under the trusted ID key", false, idKey, 6, [][]byte{idKey}, "ok", "below"},
		{"author key not enabled", false, idKey, 5, [][]byte{authorKey}, "neither", "SNPIDKeyDigests"},
		{"trusted author key", true, idKey, 5, [][]byte{authorKey}, "ok", "ok"},
		{"untrusted key, no minimum", false, idKey, 0, [][]byte{other}, "neither", "ok"},
		{"no ID block and a zero digest listed", false, make([]byte, 48), 0, [][]byte{make([]byte, 48)}, "neither", "ok"},
		{"no minimum, no keys", false, idKey, 0, nil, "", "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			report, certs := sign(tc.authorKeyEn, tc.id)
			pol := snpSamplePolicy()
			pol.SkipBinding, pol.MinSNPGuestSVN, pol.SNPIDKeyDigests = true, tc.minSVN, tc.keys
			res, err := attest.VerifyEvidence(&attest.Evidence{Platform: attest.SEVSNP, Report: report, Certificates: certs}, nil, pol, s.manifest())
			if got := failedCheck(t, res, err); got != "certificates" {
				t.Fatalf("failed check %q (%v), want certificates", got, err)
			}
			for name, want := range map[string]string{"id_key": tc.idKey, "guest_svn": tc.guestSVN} {
				if want == "" {
					for _, c := range res.Checks {
						if c.Name == name {
							t.Fatalf("%s check without trusted keys: %+v", name, c)
						}
					}
					continue
				}
				c := checkState(t, res, name)
				if c.OK != (want == "ok") || (want != "ok" && !strings.Contains(c.Detail, want)) {
					t.Fatalf("%s check %+v, want %s", name, c, want)
				}
			}
		})
	}
}
