package attest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"

	sevclient "github.com/google/go-sev-guest/client"
	sevlabi "github.com/google/go-sev-guest/client/linuxabi"
	tdxabi "github.com/google/go-tdx-guest/abi"
	tdxlabi "github.com/google/go-tdx-guest/client/linuxabi"
	samples "github.com/pith-project/pith/internal/attestsamples"
)

// fakeTSMStatic is a FAKE configfs-tsm report directory whose entries hold
// plain files fixed in advance (fake_kernel_test.go's fakeTSM computes
// outblob from inblob through a FIFO). It reaches the states a kernel or a
// hostile host can leave behind: oversized, empty or missing blobs, a
// generation that is not a number, an auxblob read that fails, another
// TEE's provider.
type fakeTSMStatic struct {
	dir string
	// files maps a name inside each new entry to its content; a nil value
	// makes a directory of that name, so reading it fails as a kernel
	// read error would.
	files map[string][]byte
}

func installFakeTSMStatic(t testing.TB, files map[string][]byte) *fakeTSMStatic {
	t.Helper()
	f := &fakeTSMStatic{dir: t.TempDir(), files: files}
	orig := tsmMkdir
	t.Cleanup(func() { tsmMkdir = orig })
	tsmMkdir = func(dir string) (string, error) {
		entry, err := orig(dir)
		if err != nil || dir != f.dir {
			return entry, err
		}
		for name, b := range f.files {
			p := filepath.Join(entry, name)
			if b == nil {
				err = os.Mkdir(p, 0o700)
			} else {
				err = os.WriteFile(p, b, 0o600)
			}
			if err != nil {
				return "", err
			}
		}
		return entry, nil
	}
	return f
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// entries counts the report entries made under the fake directory.
func (f *fakeTSMStatic) entries(t testing.TB) int {
	t.Helper()
	d, err := os.ReadDir(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(d)
}

func TestTSMRefusesWhatTheKernelShouldNotSay(t *testing.T) {
	snp, tdx := samples.LoadSNP(t), samples.LoadTDX(t)
	var rd [64]byte
	copy(rd[:], bytes.Repeat([]byte{0x7e}, 64))
	snpOut, tdxOut := snpWith(snp, rd[:]), tdxWith(tdx, rd[:])
	files := func(provider string, out []byte, extra ...any) map[string][]byte {
		m := map[string][]byte{"provider": []byte(provider + "\n"), "generation": []byte("4\n"), "inblob": {}, "outblob": out}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == nil {
				m[extra[i].(string)] = nil
				continue
			}
			m[extra[i].(string)] = extra[i+1].([]byte)
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		platform Platform
		files    map[string][]byte
		wantErr  string // "" when the report must be taken
		errIs    error
		wantAux  []byte
	}{
		{"sev_guest report and certificate table", SEVSNP, files("sev_guest", snpOut, "auxblob", snp.Certs), "", nil, snp.Certs},
		// The kernel fails the auxblob read when the host stored no
		// certificates: the report alone is still evidence.
		{"auxblob read fails", SEVSNP, files("sev_guest", snpOut, "auxblob", nil), "", nil, nil},
		{"tdx_guest quote", TDX, files("tdx_guest", tdxOut), "", nil, nil},
		{"outblob over the bound", TDX, files("tdx_guest", make([]byte, maxTSMBlob+1)), "larger than", nil, nil},
		{"empty outblob", SEVSNP, files("sev_guest", []byte{}), "outblob", ErrEmpty, nil},
		{"no outblob", TDX, func() map[string][]byte { m := files("tdx_guest", nil); delete(m, "outblob"); return m }(), "outblob", os.ErrNotExist, nil},
		{"generation not a number", SEVSNP, files("sev_guest", snpOut, "generation", []byte("many\n")), "generation", nil, nil},
		{"no generation", SEVSNP, func() map[string][]byte { m := files("sev_guest", snpOut); delete(m, "generation"); return m }(), "generation", os.ErrNotExist, nil},
		{"SEV-SNP asked, TDX answered", SEVSNP, files("tdx_guest", tdxOut), "want sev_guest", nil, nil},
		{"TDX asked, SEV-SNP answered", TDX, files("sev_guest", snpOut), "want tdx_guest", nil, nil},
		{"SNP report too short", SEVSNP, files("sev_guest", snpOut[:0x90]), "report from the kernel", nil, nil},
		{"TDX quote cut in its signature", TDX, files("tdx_guest", tdxOut[:700]), "quote from the kernel", nil, nil},
		{"TDX quote for other REPORT_DATA", TDX, files("tdx_guest", tdx.Quote), "REPORT_DATA", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := installFakeTSMStatic(t, tc.files)
			var p Provider = &snpProvider{log: discard(), tsmDir: f.dir}
			if tc.platform == TDX {
				p = &tdxProvider{log: discard(), tsmDir: f.dir}
			}
			ev, err := p.Evidence(context.Background(), rd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if tc.errIs != nil && !errors.Is(err, tc.errIs) {
					t.Fatalf("err = %v, want errors.Is %v", err, tc.errIs)
				}
				// Errors name the platform, so a log line says which TEE failed.
				if !strings.HasPrefix(err.Error(), "attest: "+string(tc.platform)+": ") {
					t.Fatalf("err = %q, want it to start with %q", err, "attest: "+tc.platform+": ")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Platform != tc.platform || !bytes.Equal(ev.Report, tc.files["outblob"]) || !bytes.Equal(ev.Certificates, tc.wantAux) {
				t.Fatalf("evidence %s, %d-byte report, %d-byte certificates; want %s, the outblob and %d bytes",
					ev.Platform, len(ev.Report), len(ev.Certificates), tc.platform, len(tc.wantAux))
			}
		})
	}
}

// A cancelled request must not leave an entry behind: configfs entries are
// kernel objects that live until removed.
func TestTSMCancelledMakesNoEntry(t *testing.T) {
	f := installFakeTSMStatic(t, map[string][]byte{"provider": []byte("sev_guest\n")})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, p := range []Provider{&snpProvider{log: discard(), tsmDir: f.dir}, &tdxProvider{log: discard(), tsmDir: f.dir}} {
		if _, err := p.Evidence(ctx, [64]byte{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: err = %v, want context.Canceled", p.Platform(), err)
		}
	}
	if n := f.entries(t); n != 0 {
		t.Fatalf("%d entries made for a cancelled request", n)
	}
}

// The derived key exists only behind /dev/sev-guest (MSG_KEY_REQ has no
// configfs-tsm interface): a guest that has only configfs must be told
// which device it lacks, and a device that exists but cannot be opened is
// a failure, not "this platform has no key".
func TestSNPDerivedKeyNeedsTheDevice(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "sev-guest")
	withPaths(t, filepath.Join(dir, "tsm"), dev, filepath.Join(dir, "tdx_guest"))
	p := &snpProvider{log: discard(), tsmDir: filepath.Join(dir, "tsm"), open: func() (sevclient.Device, error) {
		t.Fatal("opened a device that does not exist")
		return nil, nil
	}}
	_, err := p.DerivedSecret(context.Background())
	if err == nil || !strings.Contains(err.Error(), dev) {
		t.Fatalf("configfs only: err = %v, want one naming %s", err, dev)
	}

	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p.open = func() (sevclient.Device, error) { return nil, os.ErrPermission }
	_, err = p.DerivedSecret(context.Background())
	if err == nil || errors.Is(err, ErrNoDerivedKey) || !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), dev) {
		t.Fatalf("device not openable: err = %v, want a permission error naming %s and not ErrNoDerivedKey", err, dev)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.DerivedSecret(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

func TestTDXHasNoDerivedKey(t *testing.T) {
	p := &tdxProvider{log: discard()}
	k, err := p.DerivedSecret(context.Background())
	if k != nil || !errors.Is(err, ErrNoDerivedKey) {
		t.Fatalf("TDX DerivedSecret = %x, %v; want ErrNoDerivedKey", k, err)
	}
}

// TestIoctlLayoutsMore extends TestIoctlLayouts to the structures of the
// extended report and the TDX quote request.
func TestIoctlLayoutsMore(t *testing.T) {
	var rr sevlabi.SnpReportReqABI         // struct snp_report_req
	var er sevlabi.SnpExtendedReportReqABI // struct snp_ext_report_req
	var qh tdxlabi.TdxQuoteHdr             // struct tdx_quote_hdr
	var qr tdxlabi.TdxQuoteReqABI          // struct tdx_quote_req
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		// include/uapi/linux/sev-guest.h
		{"snp_report_req.vmpl", unsafe.Offsetof(rr.Vmpl), 64},
		{"snp_ext_report_req.certs_address", unsafe.Offsetof(er.CertsAddress), 96},
		{"snp_ext_report_req.certs_len", unsafe.Offsetof(er.CertsLength), 104},
		{"snp_ext_report_req size", unsafe.Sizeof(er), 112},
		// The TDX GetQuote ioctl never reached mainline (6.7 took
		// configfs-tsm instead); these are the layouts of the posted
		// tdx-guest.h patches, which the GHCI's GetQuote buffer follows.
		{"tdx_quote_hdr.status", unsafe.Offsetof(qh.Status), 8},
		{"tdx_quote_hdr.in_len", unsafe.Offsetof(qh.InLen), 16},
		{"tdx_quote_hdr.out_len", unsafe.Offsetof(qh.OutLen), 20},
		{"tdx_quote_hdr.data", unsafe.Offsetof(qh.Data), 24},
		{"tdx_quote_req.len", unsafe.Offsetof(qr.Length), 8},
		{"tdx_quote_req size", unsafe.Sizeof(qr), 16},
		{"TDX_CMD_GET_QUOTE type", tdxlabi.IocTdxGetQuote >> 8 & 0xff, 'T'},
		{"TDX_CMD_GET_QUOTE nr", tdxlabi.IocTdxGetQuote & 0xff, 2},
		{"TDX_CMD_GET_QUOTE size", tdxlabi.IocTdxGetQuote >> 16 & 0x3fff, 16},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d (%#x), kernel header says %d (%#x)", tc.name, tc.got, tc.got, tc.want, tc.want)
		}
	}
	// The TD report the quote request carries must fit the header's
	// buffer, and a quote of the sample's size must fit it on the way back.
	if len(qh.Data) < tdxlabi.TdReportSize || len(qh.Data) < len(samples.LoadTDX(t).Quote) {
		t.Errorf("tdx_quote_hdr.data holds %d bytes", len(qh.Data))
	}
}

// tdxReportDataAt is where REPORT_DATA sits in a version 4 quote: the
// 48-byte header, then 520 bytes of the TD quote body before it.
const tdxReportDataAt = 48 + 520

func TestParseTDXQuote(t *testing.T) {
	s := samples.LoadTDX(t)
	q, err := ParseTDXQuote(s.Quote)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.GetTdQuoteBody().GetReportData(); !bytes.Equal(got, s.Quote[tdxReportDataAt:tdxReportDataAt+64]) {
		t.Fatalf("REPORT_DATA %x is not the bytes at offset %d", got, tdxReportDataAt)
	}
	back, err := tdxabi.QuoteToAbiBytes(q)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, s.Quote[:len(back)]) {
		t.Fatal("decoded quote does not serialise back to the sample's bytes")
	}

	// Offsets in the sample: the signed data starts at 0x27c, its
	// certification data 134 bytes later, the QE authentication data size
	// 0x1c0 bytes after that.
	const certAt = 0x27c + 134
	put32 := func(at int, v uint32) []byte {
		b := bytes.Clone(s.Quote)
		binary.LittleEndian.PutUint32(b[at:], v)
		return b
	}
	put16 := func(at int, v uint16) []byte {
		b := bytes.Clone(s.Quote)
		binary.LittleEndian.PutUint16(b[at:], v)
		return b
	}
	signedSize := int(binary.LittleEndian.Uint32(s.Quote[0x278:]))
	for _, tc := range []struct {
		name   string
		quote  []byte
		layout bool // refused by the layout walk, before go-tdx-guest sees it
	}{
		{"empty", nil, false},
		{"header only", s.Quote[:48], true},
		{"no signed data", s.Quote[:0x27c], true},
		{"signed data size beyond the end", put32(0x278, 0xffffffff), true},
		// This and the next three panic inside go-tdx-guest v0.3.1's
		// parser (slice bounds out of range).
		{"signed data size zero", put32(0x278, 0), true},
		{"certification data without a QE report", func() []byte {
			b := put32(0x278, 140)
			binary.LittleEndian.PutUint32(b[0x27c+130:], 6)
			return b
		}(), true},
		{"QE authentication data size beyond the end", put16(certAt+0x1c0, 0xffff), true},
		{"QE authentication data over the PCK chain header", put16(certAt+0x1c0, uint16(signedSize-134-0x1c0-2-5)), true},
		{"certification data size wrong", put32(0x27c+130, 7), false},
		{"version 5", put16(0, 5), false},
		{"version 3", put16(0, 3), false},
		{"not a TDX quote (TEE type)", put32(4, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTDXQuote(tc.quote)
			if err == nil {
				t.Fatal("decoded")
			}
			if tc.layout != errors.Is(err, errQuoteLayout) {
				t.Fatalf("err = %v; layout error expected: %v", err, tc.layout)
			}
			if !strings.Contains(err.Error(), "go-tdx-guest parser") {
				return
			}
			t.Fatalf("the layout walk let through a quote that panics go-tdx-guest: %v", err)
		})
	}
}

// A quote's length fields come from the host: decoding must cost memory in
// proportion to the bytes received, never to what the fields claim.
func TestDecodeQuoteV4BoundedAlloc(t *testing.T) {
	s := samples.LoadTDX(t)
	liar := bytes.Clone(s.Quote)
	binary.LittleEndian.PutUint32(liar[0x278:], 0xfffffff0)
	for _, b := range [][]byte{s.Quote, liar} {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		for range 10 {
			ParseTDXQuote(b)
		}
		runtime.ReadMemStats(&m1)
		if per := (m1.TotalAlloc - m0.TotalAlloc) / 10; per > uint64(16*len(b)+64<<10) {
			t.Errorf("decoding a %d-byte quote allocated %d bytes", len(b), per)
		}
	}
}

// FuzzDecodeQuoteV4 feeds the quote decoder what a host could put in an
// outblob or a server in a document: no panic (the recover must never be
// what saved it: the layout walk has to refuse first), bounded work, and
// whatever decodes carries its REPORT_DATA where the binding check reads it.
func FuzzDecodeQuoteV4(f *testing.F) {
	s := samples.LoadTDX(f)
	f.Add(s.Quote)
	f.Add(s.Quote[:0x27c])
	f.Add(s.Quote[:1200])
	zero := bytes.Clone(s.Quote)
	binary.LittleEndian.PutUint32(zero[0x278:], 0)
	f.Add(zero)
	f.Add([]byte{4, 0, 2, 0, 0x81, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := ParseTDXQuote(b)
		if err != nil {
			if strings.Contains(err.Error(), "go-tdx-guest parser") {
				t.Fatalf("layout walk passed a quote the parser panicked on: %v", err)
			}
			return
		}
		if got := q.GetTdQuoteBody().GetReportData(); !bytes.Equal(got, b[tdxReportDataAt:tdxReportDataAt+64]) {
			t.Fatalf("REPORT_DATA %x is not the bytes at offset %d", got, tdxReportDataAt)
		}
	})
}

// FuzzTSMOutblob hands arbitrary outblobs and auxblobs to both providers
// through the fake configfs-tsm: no panic, and evidence only when the report
// carries the REPORT_DATA asked for.
func FuzzTSMOutblob(f *testing.F) {
	snp, tdx := samples.LoadSNP(f), samples.LoadTDX(f)
	var rd [64]byte
	copy(rd[:], bytes.Repeat([]byte{0x33}, 64))
	f.Add(false, snpWith(snp, rd[:]), snp.Certs)
	f.Add(true, tdxWith(tdx, rd[:]), []byte{})
	f.Add(false, snp.Report[:100], []byte{1})
	fake := installFakeTSMStatic(f, map[string][]byte{"generation": []byte("1\n")})
	f.Fuzz(func(t *testing.T, isTDX bool, out, aux []byte) {
		fake.files["outblob"], fake.files["auxblob"] = out, aux
		var p Provider = &snpProvider{log: discard(), tsmDir: fake.dir}
		fake.files["provider"] = []byte("sev_guest")
		if isTDX {
			p = &tdxProvider{log: discard(), tsmDir: fake.dir}
			fake.files["provider"] = []byte("tdx_guest")
		}
		ev, err := p.Evidence(context.Background(), rd)
		if err != nil {
			return
		}
		at := 0x50
		if isTDX {
			at = tdxReportDataAt
		}
		if len(ev.Report) < at+64 || !bytes.Equal(ev.Report[at:at+64], rd[:]) {
			t.Fatalf("%s evidence without the REPORT_DATA asked for", p.Platform())
		}
	})
}

// A generation that moves once is another writer's race: the report is
// asked for again in a fresh entry. One that moves every time is refused.
func TestTSMRetriesARace(t *testing.T) {
	snp := samples.LoadSNP(t)
	var rd [64]byte
	copy(rd[:], bytes.Repeat([]byte{0x5c}, 64))
	for _, races := range []int{1, tsmAttempts - 1, tsmAttempts, 100} {
		var n atomic.Int32
		f := &fakeTSM{provider: "sev_guest", race: true}
		f.answer = func(in []byte) ([]byte, []byte) {
			f.race = int(n.Add(1)) <= races // read after answer returns, in the same goroutine
			return snpWith(snp, in), nil
		}
		installFakeTSM(t, f)
		ev, err := (&snpProvider{log: discard(), tsmDir: f.dir}).Evidence(context.Background(), rd)
		if races < tsmAttempts {
			if err != nil || !bytes.Equal(ev.Report[0x50:0x90], rd[:]) {
				t.Fatalf("%d races: err = %v", races, err)
			}
			if int(n.Load()) != races+1 {
				t.Fatalf("%d races: %d attempts, want %d", races, n.Load(), races+1)
			}
			continue
		}
		if !errors.Is(err, errTSMRace) || int(n.Load()) != tsmAttempts {
			t.Fatalf("%d races: err = %v after %d attempts, want errTSMRace after %d", races, err, n.Load(), tsmAttempts)
		}
	}
}
