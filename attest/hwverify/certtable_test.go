package hwverify

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/pith-project/pith/attest"
)

// certTable builds a certificate table: one entry per {offset, length}
// pair, each with a non-zero GUID, the all-zero terminator, then pad bytes
// of certificate data.
func certTable(pad int, ranges ...[2]uint32) []byte {
	b := make([]byte, 24*(len(ranges)+1)+pad)
	for i, r := range ranges {
		e := b[24*i:]
		copy(e, "0123456789abcdef")
		e[15] = byte(i)
		binary.LittleEndian.PutUint32(e[16:], r[0])
		binary.LittleEndian.PutUint32(e[20:], r[1])
	}
	return b
}

// TestCertTableRefuses: tables whose entries point outside the blob are
// refused by our walk, with an error naming the table, before
// go-sev-guest's parser (which panics on, or allocates 4 GiB for, the first
// two) sees them.
func TestCertTableRefuses(t *testing.T) {
	many := make([][2]uint32, maxCertTableEntries+1)
	for i := range many {
		many[i] = [2]uint32{uint32(24 * (len(many) + 1)), 1}
	}
	for _, tc := range []struct {
		name  string
		table []byte
		want  string
	}{
		{"offset+length wraps in 32 bits", certTable(0, [2]uint32{0xFFFFFFF0, 0x20}), "outside the certificates"},
		{"length 0xFFFFFFFF", certTable(0, [2]uint32{48, 0xFFFFFFFF}), "outside the certificates"},
		{"one byte past the end", certTable(10, [2]uint32{48, 11}), "outside the certificates"},
		{"offset inside the table", certTable(10, [2]uint32{40, 10}), "outside the certificates"},
		{"no terminator", certTable(0, [2]uint32{48, 0})[:24], "ends with an all-zero entry"},
		{"truncated entry", make([]byte, 23), "ends with an all-zero entry"},
		{"too many entries", certTable(1, many...), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCertTable(tc.table)
			if !errors.Is(err, errCertTable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %v mentioning %q", err, errCertTable, tc.want)
			}
		})
	}
}

// TestCertTableAccepts: entries that end exactly at the blob's end, or are
// empty right after the table, are inside it.
func TestCertTableAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table []byte
	}{
		{"the sample's", loadSNPSample(t).certs},
		{"exactly to the end", certTable(10, [2]uint32{48, 10})},
		{"empty, right after the table", certTable(0, [2]uint32{48, 0})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := parseCertTable(tc.table)
			if err != nil {
				t.Fatal(err)
			}
			if len(ct.Entries) == 0 {
				t.Fatal("no entries")
			}
		})
	}
}

// TestSNPHostileCertTable: the reviewer's two 48-byte tables, in a
// document beside the genuine report, fail the certificates check and
// nothing else takes the verifier down.
func TestSNPHostileCertTable(t *testing.T) {
	s := loadSNPSample(t)
	for _, r := range [][2]uint32{{0xFFFFFFF0, 0x20}, {48, 0xFFFFFFFF}} {
		ev := s.evidence()
		ev.Certificates = certTable(0, r)
		res, err := attest.VerifyEvidence(ev, nil, snpSamplePolicy(), s.manifest())
		if got := failedCheck(t, res, err); got != "certificates" || !strings.Contains(err.Error(), "SEV-SNP certificate table") {
			t.Fatalf("table %x: failed check %q (%v), want certificates", r, got, err)
		}
	}
}
