package tdx_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/pith-project/pith/image/measure/tdx"
)

func TestLoadOptions(t *testing.T) {
	for _, c := range []struct {
		cmdline string
		initrd  bool
		want    []byte
	}{
		{"", false, nil},
		{"", true, []byte("i\x00n\x00i\x00t\x00r\x00d\x00=\x00i\x00n\x00i\x00t\x00r\x00d\x00 \x00\x00\x00")},
		{"a b", false, []byte("a\x00 \x00b\x00\x00\x00")},
		{"a", true, []byte("i\x00n\x00i\x00t\x00r\x00d\x00=\x00i\x00n\x00i\x00t\x00r\x00d\x00 \x00a\x00\x00\x00")},
		// %a widens bytes; it does not decode UTF-8.
		{"\xc3\xa9", false, []byte("\xc3\x00\xa9\x00\x00\x00")},
	} {
		if got := tdx.LoadOptions(c.cmdline, c.initrd); !bytes.Equal(got, c.want) {
			t.Errorf("LoadOptions(%q, %v) = %q, want %q", c.cmdline, c.initrd, got, c.want)
		}
	}
}

func TestRTMRForPCR(t *testing.T) {
	want := map[int]int{1: 0, 7: 0, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 8: 2, 9: 2, 10: 2, 11: 2, 12: 2, 13: 2, 14: 2, 15: 2}
	for pcr := -1; pcr <= 24; pcr++ {
		got, err := tdx.RTMRForPCR(pcr)
		w, ok := want[pcr]
		if ok != (err == nil) || (ok && got != w) {
			t.Errorf("RTMRForPCR(%d) = %d, %v; want %d (mapped %v)", pcr, got, err, w, ok)
		}
	}
}

// Replay against the extend written out: SHA-384 over the 96 bytes of the
// register and the digest, from 48 zero bytes.
func TestReplay(t *testing.T) {
	d1, d2 := sha512.Sum384([]byte("one")), sha512.Sum384([]byte("two"))
	step := func(mr [48]byte, d [48]byte) [48]byte { return sha512.Sum384(append(mr[:], d[:]...)) }
	mr, err := tdx.Replay([]tdx.Event{{RTMR: 2, Digest: d1}, {RTMR: 0, Digest: d2}, {RTMR: 2, Digest: d2}})
	if err != nil {
		t.Fatal(err)
	}
	var zero [48]byte
	if mr[2] != step(step(zero, d1), d2) || mr[0] != step(zero, d2) || mr[1] != zero || mr[3] != zero {
		t.Errorf("Replay = %x", mr)
	}
	if _, err := tdx.Replay([]tdx.Event{{RTMR: 4}}); err == nil {
		t.Error("Replay took RTMR 4")
	}
}

// The event sequence of a direct boot, on craftedPE as the kernel: the
// structure the QEMU test checks against a real firmware and kernel.
func TestDirectBootEvents(t *testing.T) {
	kernel := craftedPE()
	auth, err := tdx.Authenticode(kernel, sha512.New384)
	if err != nil {
		t.Fatal(err)
	}
	initrd := []byte("an initrd")
	ev, err := tdx.DirectBoot{Kernel: kernel, Initrd: initrd, Cmdline: "console=ttyS0"}.Events()
	if err != nil {
		t.Fatal(err)
	}
	h := func(s string) [48]byte { return sha512.Sum384([]byte(s)) }
	want := []tdx.Event{
		{RTMR: 1, PCR: 4, Type: tdx.EvEFIBootServicesApplication, Digest: [48]byte(auth)},
		{RTMR: 1, PCR: 4, Type: tdx.EvEFIAction, Digest: h("Calling EFI Application from Boot Option")},
		{RTMR: 1, PCR: 4, Type: tdx.EvSeparator, Digest: h("\x00\x00\x00\x00")},
		{RTMR: 1, PCR: 5, Type: tdx.EvEFIAction, Digest: h("Exit Boot Services Invocation")},
		{RTMR: 1, PCR: 5, Type: tdx.EvEFIAction, Digest: h("Exit Boot Services Returned with Success")},
		{RTMR: 2, PCR: 9, Type: tdx.EvEventTag, Digest: sha512.Sum384(tdx.LoadOptions("console=ttyS0", true))},
		{RTMR: 2, PCR: 9, Type: tdx.EvEventTag, Digest: h("an initrd")},
	}
	if len(ev) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(ev), len(want), ev)
	}
	for i := range want {
		g, w := ev[i], want[i]
		if g.RTMR != w.RTMR || g.PCR != w.PCR || g.Type != w.Type || g.Digest != w.Digest {
			t.Errorf("event %d (%s) = RTMR%d PCR%d type %#x %x\n want RTMR%d PCR%d type %#x %x", i, g.What, g.RTMR, g.PCR, g.Type, g.Digest[:8], w.RTMR, w.PCR, w.Type, w.Digest[:8])
		}
		if r, err := tdx.RTMRForPCR(g.PCR); err != nil || r != g.RTMR {
			t.Errorf("event %d: PCR %d is not in RTMR%d", i, g.PCR, g.RTMR)
		}
	}
	// No initrd and no command line: no RTMR2 events at all.
	ev, err = tdx.DirectBoot{Kernel: kernel}.Events()
	if err != nil || len(ev) != 5 {
		t.Errorf("kernel alone: %d events, %v; want the 5 of RTMR1", len(ev), err)
	}
	if _, err := (tdx.DirectBoot{Kernel: []byte("not a PE")}).Events(); err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("a kernel that is no PE image: %v", err)
	}
}

// craftedLog is a TCG2 event log: the Spec ID event naming SHA-256 and
// SHA-384, then one event per (pcr, type, data), zero-padded at the end.
func craftedLog(events ...tdx.LogEvent) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	spec := append([]byte("Spec ID Event03\x00"), make([]byte, 12)...)
	binary.LittleEndian.PutUint32(spec[24:], 2)
	spec = binary.LittleEndian.AppendUint16(spec, 0x0b)
	spec = binary.LittleEndian.AppendUint16(spec, 32)
	spec = binary.LittleEndian.AppendUint16(spec, tdx.AlgSHA384)
	spec = binary.LittleEndian.AppendUint16(spec, 48)
	spec = append(spec, 0)
	le(uint32(0))
	le(uint32(3))
	b.Write(make([]byte, 20))
	le(uint32(len(spec)))
	b.Write(spec)
	for _, e := range events {
		le(e.Index)
		le(e.Type)
		le(uint32(2))
		le(uint16(0x0b))
		b.Write(make([]byte, 32))
		le(uint16(tdx.AlgSHA384))
		b.Write(e.Digests[tdx.AlgSHA384])
		le(uint32(len(e.Data)))
		b.Write(e.Data)
	}
	b.Write(make([]byte, 64))
	return b.Bytes()
}

func TestParseLog(t *testing.T) {
	d := sha512.Sum384([]byte("x"))
	in := []tdx.LogEvent{
		{Index: 4, Type: tdx.EvEFIAction, Digests: map[uint16][]byte{tdx.AlgSHA384: d[:]}, Data: []byte("Calling EFI Application from Boot Option")},
		{Index: 9, Type: tdx.EvEventTag, Digests: map[uint16][]byte{tdx.AlgSHA384: d[:]}, Data: []byte("tag")},
	}
	b := craftedLog(in...)
	got, err := tdx.ParseLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Index != 4 || got[1].Type != tdx.EvEventTag || string(got[1].Data) != "tag" ||
		!bytes.Equal(got[0].Digests[tdx.AlgSHA384], d[:]) || len(got[0].Digests[0x0b]) != 32 {
		t.Fatalf("ParseLog = %+v", got)
	}
	for _, cut := range []int{0, 10, 40, 80, len(b) - 70} {
		if _, err := tdx.ParseLog(b[:cut]); err == nil {
			t.Errorf("log cut at %d bytes parsed", cut)
		}
	}
	bad := append([]byte(nil), b...)
	copy(bad[32:], "Spec ID Event02")
	if _, err := tdx.ParseLog(bad); err == nil || !strings.Contains(err.Error(), "Spec ID") {
		t.Errorf("a log without the Spec ID event: %v", err)
	}
}

func FuzzParseLog(f *testing.F) {
	d := sha512.Sum384(nil)
	f.Add(craftedLog(tdx.LogEvent{Index: 9, Type: 6, Digests: map[uint16][]byte{tdx.AlgSHA384: d[:]}, Data: []byte("x")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = tdx.ParseLog(b) // must not panic
	})
}

// TestParseLogCCELPadding: TdTcg2Dxe fills the CCEL log area with 0xFF
// before it writes the first event ("so the OS can know the last entry"),
// and Linux exposes the whole area (/sys/firmware/acpi/tables/data/CCEL),
// so a real TD's log ends in 0xFF bytes, not zeroes.
func TestParseLogCCELPadding(t *testing.T) {
	d := sha512.Sum384([]byte("x"))
	ev := tdx.LogEvent{Index: 3, Type: tdx.EvEventTag, Digests: map[uint16][]byte{tdx.AlgSHA384: d[:]}, Data: []byte("tag")}
	zeroPadded := craftedLog(ev)
	events := zeroPadded[:len(zeroPadded)-64]
	for _, c := range []struct {
		name string
		pad  []byte
		ok   bool
	}{
		{"0xFF to the end", bytes.Repeat([]byte{0xff}, 4096), true},
		{"zeroes to the end", make([]byte, 4096), true},
		{"nothing", nil, true},
		{"0xFF then data", append(bytes.Repeat([]byte{0xff}, 100), 1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := tdx.ParseLog(append(append([]byte(nil), events...), c.pad...))
			if !c.ok {
				if err == nil {
					t.Fatalf("ParseLog = %d events, want an error", len(got))
				}
				return
			}
			if err != nil || len(got) != 1 || got[0].Index != 3 || string(got[0].Data) != "tag" {
				t.Fatalf("ParseLog = %+v, %v; want the one event", got, err)
			}
		})
	}
}
