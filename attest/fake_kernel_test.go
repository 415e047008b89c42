package attest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	sevclient "github.com/google/go-sev-guest/client"
	sevlabi "github.com/google/go-sev-guest/client/linuxabi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	tdxclient "github.com/google/go-tdx-guest/client"
	tdxlabi "github.com/google/go-tdx-guest/client/linuxabi"
	samples "github.com/pith-project/pith/internal/attestsamples"
)

// FAKE kernel interfaces. Nothing here talks to a real TEE: a temp
// directory laid out like /sys/kernel/config/tsm/report (with FIFOs where
// the kernel computes on read) and fake /dev/sev-guest and /dev/tdx_guest
// devices that answer ioctls with the module samples.

// fakeTSM stands in for configfs-tsm under a temp dir.
type fakeTSM struct {
	dir      string
	provider string
	// answer builds outblob and auxblob from what was written to inblob.
	answer func(inblob []byte) (out, aux []byte)
	// race bumps generation after outblob is read, as a concurrent writer
	// would.
	race bool
}

func installFakeTSM(t *testing.T, f *fakeTSM) {
	t.Helper()
	f.dir = t.TempDir()
	orig := tsmMkdir
	t.Cleanup(func() { tsmMkdir = orig })
	tsmMkdir = func(dir string) (string, error) {
		entry, err := orig(dir)
		if err != nil || dir != f.dir {
			return entry, err
		}
		write := func(name, s string) {
			if err := os.WriteFile(filepath.Join(entry, name), []byte(s), 0o600); err != nil {
				t.Error(err)
			}
		}
		write("provider", f.provider+"\n")
		// configfs bumps generation on every write to inblob; the fake
		// starts where one write would leave it.
		write("generation", "1\n")
		write("inblob", "")
		if f.answer == nil {
			return entry, nil
		}
		out := filepath.Join(entry, "outblob")
		if err := syscall.Mkfifo(out, 0o600); err != nil {
			t.Fatal(err)
		}
		go func() {
			// Opening a FIFO for writing waits for the reader, by
			// which time inblob holds the request, as in configfs.
			w, err := os.OpenFile(out, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			in, _ := os.ReadFile(filepath.Join(entry, "inblob"))
			o, aux := f.answer(in)
			if aux != nil {
				write("auxblob", string(aux))
			}
			if f.race {
				write("generation", "2\n")
			}
			w.Write(o)
			w.Close()
		}()
		return entry, nil
	}
}

// withPaths points the package at fake paths for one test.
func withPaths(t *testing.T, tsm, sev, tdx string) {
	t.Helper()
	a, b, c := tsmReportDir, sevGuestDev, tdxGuestDev
	tsmReportDir, sevGuestDev, tdxGuestDev = tsm, sev, tdx
	t.Cleanup(func() { tsmReportDir, sevGuestDev, tdxGuestDev = a, b, c })
}

// snpWith returns the sample report carrying reportData (its signature no
// longer verifies; providers do not check signatures).
func snpWith(s samples.SNP, reportData []byte) []byte {
	r := bytes.Clone(s.Report)
	copy(r[0x50:0x90], reportData)
	return r
}

func tdxWith(s samples.TDX, reportData []byte) []byte {
	q := bytes.Clone(s.Quote)
	copy(q[48+520:48+584], reportData)
	return q
}

func TestFakeTSMProviders(t *testing.T) {
	snp, tdx := samples.LoadSNP(t), samples.LoadTDX(t)
	rd, err := ReportData(bytes.Repeat([]byte{3}, 32), []byte("kc"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		provider string
		answer   func(in []byte) ([]byte, []byte)
		race     bool
		want     Platform
		wantErr  string
	}{
		{"sev_guest", "sev_guest", func(in []byte) ([]byte, []byte) { return snpWith(snp, in), snp.Certs }, false, SEVSNP, ""},
		{"tdx_guest", "tdx_guest", func(in []byte) ([]byte, []byte) { return tdxWith(tdx, in), nil }, false, TDX, ""},
		{"generation moved", "sev_guest", func(in []byte) ([]byte, []byte) { return snpWith(snp, in), nil }, true, SEVSNP, "generation"},
		{"someone else's report data", "sev_guest", func(in []byte) ([]byte, []byte) { return snp.Report, nil }, false, SEVSNP, "REPORT_DATA"},
		{"garbage outblob", "tdx_guest", func(in []byte) ([]byte, []byte) { return []byte("not a quote"), nil }, false, TDX, "quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeTSM{provider: tc.provider, answer: tc.answer, race: tc.race}
			installFakeTSM(t, f)
			withPaths(t, f.dir, "/nonexistent/sev-guest", "/nonexistent/tdx_guest")
			p, err := Open(context.Background(), "auto", nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Platform() != tc.want {
				t.Fatalf("auto chose %s, want %s", p.Platform(), tc.want)
			}
			ev, err := p.Evidence(context.Background(), rd)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tc.answer(rd[:])
			if !bytes.Equal(ev.Report, want) {
				t.Fatal("evidence is not the outblob")
			}
			if tc.want == SEVSNP && !bytes.Equal(ev.Certificates, snp.Certs) {
				t.Fatal("certificates are not the auxblob")
			}
			// Neither has a device here, so neither has a derived key.
			if _, err := p.DerivedSecret(context.Background()); !errors.Is(err, ErrNoDerivedKey) {
				t.Fatalf("DerivedSecret without a device: %v, want ErrNoDerivedKey", err)
			}
		})
	}
}

func TestOpenNothingThere(t *testing.T) {
	d := t.TempDir()
	withPaths(t, filepath.Join(d, "tsm"), filepath.Join(d, "sev-guest"), filepath.Join(d, "tdx_guest"))
	for _, mode := range []string{"auto", "sev-snp", "tdx"} {
		_, err := Open(context.Background(), mode, nil)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(d, "sev-guest")) && !strings.Contains(err.Error(), filepath.Join(d, "tdx_guest")) {
			t.Errorf("mode %s: err = %v, want the paths looked at", mode, err)
		}
	}
	if _, err := Open(context.Background(), "sgx", nil); err == nil {
		t.Error("unknown mode accepted")
	}
}

// fakeSEVDevice answers /dev/sev-guest ioctls the way the firmware would,
// from the sample report, at a given VMPL.
type fakeSEVDevice struct {
	t         *testing.T
	sample    samples.SNP
	vmpl      uint32
	extended  bool // answer SNP_GET_EXT_REPORT; else fail it like a host with no certificates
	key       [32]byte
	keyReqs   []sevlabi.SnpDerivedKeyReqABI
	closed    bool
	reportFor [][64]byte
}

func (d *fakeSEVDevice) Open(string) error { return nil }
func (d *fakeSEVDevice) Close() error      { d.closed = true; return nil }
func (d *fakeSEVDevice) Product() *spb.SevProduct {
	return nil
}

func (d *fakeSEVDevice) report(rd [64]byte) []byte {
	r := snpWith(d.sample, rd[:])
	binary.LittleEndian.PutUint32(r[0x30:], d.vmpl)
	d.reportFor = append(d.reportFor, rd)
	return r
}

func (d *fakeSEVDevice) Ioctl(cmd uintptr, arg any) (uintptr, error) {
	req, ok := arg.(*sevlabi.SnpUserGuestRequest)
	if !ok {
		return 0, fmt.Errorf("fake sev-guest: argument %T", arg)
	}
	switch cmd {
	case sevlabi.IocSnpGetReport:
		in := req.ReqData.(*sevlabi.SnpReportReqABI)
		out := req.RespData.(*sevlabi.SnpReportRespABI)
		r := d.report(in.ReportData)
		out.ReportSize = uint32(len(r))
		copy(out.Data[:], r)
		return 0, nil
	case sevlabi.IocSnpGetExtendedReport:
		if !d.extended {
			return 0, syscall.EIO
		}
		in := req.ReqData.(*sevlabi.SnpExtendedReportReq)
		if len(in.Certs) < len(d.sample.Certs) {
			in.CertsLength = uint32(len(d.sample.Certs))
			req.FwErr = 0x100000000 // SEV_RET_INVALID_LEN in the VMM error word
			return 0, syscall.EIO
		}
		out := req.RespData.(*sevlabi.SnpReportRespABI)
		r := d.report(in.Data.ReportData)
		out.ReportSize = uint32(len(r))
		copy(out.Data[:], r)
		copy(in.Certs, d.sample.Certs)
		in.CertsLength = uint32(len(d.sample.Certs))
		return 0, nil
	case sevlabi.IocSnpGetDerivedKey:
		in := req.ReqData.(*sevlabi.SnpDerivedKeyReqABI)
		d.keyReqs = append(d.keyReqs, *in)
		out := req.RespData.(*sevlabi.SnpDerivedKeyRespABI)
		out.Data = d.key
		return 0, nil
	}
	return 0, fmt.Errorf("fake sev-guest: ioctl %#x", cmd)
}

func TestFakeSEVGuestDevice(t *testing.T) {
	s := samples.LoadSNP(t)
	dir := t.TempDir()
	dev := filepath.Join(dir, "sev-guest")
	os.WriteFile(dev, nil, 0o600) // only its existence is looked at; ioctls go to the fake
	withPaths(t, filepath.Join(dir, "no-tsm"), dev, filepath.Join(dir, "no-tdx"))
	rd, _ := ReportData(bytes.Repeat([]byte{9}, 32), []byte("kc"))
	for _, extended := range []bool{false, true} {
		fake := &fakeSEVDevice{t: t, sample: s, vmpl: 2, extended: extended}
		copy(fake.key[:], bytes.Repeat([]byte{0x5a}, 32))
		orig := openSEVDevice
		openSEVDevice = func() (sevclient.Device, error) { return fake, nil }
		t.Cleanup(func() { openSEVDevice = orig })

		p, err := Open(context.Background(), "auto", nil)
		if err != nil || p.Platform() != SEVSNP {
			t.Fatalf("Open: %v, %v", p, err)
		}
		ev, err := p.Evidence(context.Background(), rd)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev.Report[0x50:0x90], rd[:]) {
			t.Fatal("report does not carry the REPORT_DATA asked for")
		}
		if extended != bytes.Equal(ev.Certificates, s.Certs) {
			t.Fatalf("extended %v: certificates %d bytes", extended, len(ev.Certificates))
		}
		key, err := p.DerivedSecret(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key, fake.key[:]) {
			t.Fatal("derived secret is not the firmware's answer")
		}
		// The key request binds measurement and policy, roots in the VCEK,
		// and names the VMPL the guest runs at (read from its report).
		if len(fake.keyReqs) != 1 {
			t.Fatalf("%d key requests", len(fake.keyReqs))
		}
		kr := fake.keyReqs[0]
		if kr.RootKeySelect != 0 || kr.GuestFieldSelect != 1<<3|1<<0 || kr.Vmpl != 2 || kr.GuestSVN != 0 || kr.TCBVersion != 0 {
			t.Fatalf("key request %+v", kr)
		}
		if !fake.closed {
			t.Fatal("device left open")
		}
	}
	// A firmware that answers with zeros is an error, not "no key".
	fake := &fakeSEVDevice{t: t, sample: s}
	openSEVDevice = func() (sevclient.Device, error) { return fake, nil }
	p, _ := Open(context.Background(), "sev-snp", nil)
	if _, err := p.DerivedSecret(context.Background()); err == nil || errors.Is(err, ErrNoDerivedKey) {
		t.Fatalf("all-zero key: %v", err)
	}
}

// fakeTDXDevice answers /dev/tdx_guest's report and quote ioctls.
type fakeTDXDevice struct {
	sample samples.TDX
	rd     [64]byte
}

func (d *fakeTDXDevice) Open(string) error { return nil }
func (d *fakeTDXDevice) Close() error      { return nil }
func (d *fakeTDXDevice) Ioctl(cmd uintptr, arg any) (uintptr, error) {
	switch req := arg.(type) {
	case *tdxlabi.TdxReportReq:
		if cmd != tdxlabi.IocTdxGetReport {
			return 0, fmt.Errorf("fake tdx_guest: ioctl %#x with a report request", cmd)
		}
		d.rd = req.ReportData
		copy(req.TdReport[:], "FAKE TDREPORT")
		return 0, nil
	case *tdxlabi.TdxQuoteReq:
		hdr := req.Buffer.(*tdxlabi.TdxQuoteHdr)
		if cmd != tdxlabi.IocTdxGetQuote || hdr.InLen != tdxlabi.TdReportSize || !bytes.HasPrefix(hdr.Data[:], []byte("FAKE TDREPORT")) {
			return 0, fmt.Errorf("fake tdx_guest: bad quote request")
		}
		q := tdxWith(d.sample, d.rd[:])
		hdr.OutLen = uint32(copy(hdr.Data[:], q))
		return 0, nil
	}
	return 0, fmt.Errorf("fake tdx_guest: argument %T", arg)
}

func TestFakeTDXGuestDevice(t *testing.T) {
	s := samples.LoadTDX(t)
	dir := t.TempDir()
	dev := filepath.Join(dir, "tdx_guest")
	os.WriteFile(dev, nil, 0o600)
	withPaths(t, filepath.Join(dir, "no-tsm"), filepath.Join(dir, "no-sev"), dev)
	orig := openTDXDevice
	openTDXDevice = func() (tdxclient.Device, error) { return &fakeTDXDevice{sample: s}, nil }
	t.Cleanup(func() { openTDXDevice = orig })
	p, err := Open(context.Background(), "auto", nil)
	if err != nil || p.Platform() != TDX {
		t.Fatalf("Open: %v, %v", p, err)
	}
	rd, _ := ReportData(bytes.Repeat([]byte{4}, 32), []byte("kc"))
	ev, err := p.Evidence(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Report, tdxWith(s, rd[:])) {
		t.Fatal("evidence is not the device's quote")
	}
}

// iowr is Linux's _IOWR(type, nr, size) from include/uapi/asm-generic/ioctl.h.
func iowr(typ byte, nr, size uintptr) uintptr {
	return 3<<30 | size<<16 | uintptr(typ)<<8 | nr
}

// TestIoctlLayouts checks the request structures the libraries hand to the
// kernel against include/uapi/linux/sev-guest.h and tdx-guest.h.
func TestIoctlLayouts(t *testing.T) {
	var g sevlabi.SnpUserGuestRequestABI // struct snp_guest_request_ioctl
	var dk sevlabi.SnpDerivedKeyReqABI   // struct snp_derived_key_req
	var tr tdxlabi.TdxReportReq          // struct tdx_report_req
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"snp_guest_request_ioctl size", unsafe.Sizeof(g), 32},
		{"snp_guest_request_ioctl.req_data", unsafe.Offsetof(g.ReqData), 8},
		{"snp_guest_request_ioctl.resp_data", unsafe.Offsetof(g.RespData), 16},
		{"snp_guest_request_ioctl.exitinfo2", unsafe.Offsetof(g.FwErr), 24},
		{"snp_report_req size", unsafe.Sizeof(sevlabi.SnpReportReqABI{}), 96},
		{"snp_report_resp size", unsafe.Sizeof(sevlabi.SnpReportRespABI{}), 4000},
		{"snp_derived_key_req size", unsafe.Sizeof(dk), 32},
		{"snp_derived_key_req.guest_field_select", unsafe.Offsetof(dk.GuestFieldSelect), 8},
		{"snp_derived_key_req.vmpl", unsafe.Offsetof(dk.Vmpl), 16},
		{"snp_derived_key_req.guest_svn", unsafe.Offsetof(dk.GuestSVN), 20},
		{"snp_derived_key_req.tcb_version", unsafe.Offsetof(dk.TCBVersion), 24},
		{"snp_derived_key_resp size", unsafe.Sizeof(sevlabi.SnpDerivedKeyRespABI{}), 64},
		{"SNP_GET_REPORT", sevlabi.IocSnpGetReport, iowr('S', 0, 32)},
		{"SNP_GET_DERIVED_KEY", sevlabi.IocSnpGetDerivedKey, iowr('S', 1, 32)},
		{"SNP_GET_EXT_REPORT", sevlabi.IocSnpGetExtendedReport, iowr('S', 2, 32)},
		{"tdx_report_req size", unsafe.Sizeof(tr), 64 + 1024},
		{"tdx_report_req.tdreport", unsafe.Offsetof(tr.TdReport), 64},
		{"TDX_CMD_GET_REPORT0", tdxlabi.IocTdxGetReport, iowr('T', 1, 64+1024)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d (%#x), kernel header says %d (%#x)", tc.name, tc.got, tc.got, tc.want, tc.want)
		}
	}
}

func flipBit(b []byte, i int) []byte {
	out := bytes.Clone(b)
	out[i] ^= 1
	return out
}
