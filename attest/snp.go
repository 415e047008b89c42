package attest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/client"
)

// snpProvider takes SEV-SNP reports through configfs-tsm when the kernel
// offers it (one interface for every TEE, and the kernel manages the VMPCK
// sequence numbers), else through /dev/sev-guest. The derived key exists only
// behind the device's ioctl.
type snpProvider struct {
	log    *slog.Logger
	tsmDir string // configfs-tsm report directory, "" to use the device
	open   func() (client.Device, error)
}

// openSEVDevice opens /dev/sev-guest; tests replace it with a fake device.
var openSEVDevice = func() (client.Device, error) {
	d := &client.LinuxDevice{}
	if err := d.Open(sevGuestDev); err != nil {
		return nil, err
	}
	return d, nil
}

func openSNP(log *slog.Logger) (Provider, error) {
	dir, err := guestInterface(SEVSNP, "sev_guest", sevGuestDev, log)
	if err != nil {
		return nil, err
	}
	return &snpProvider{log: log, tsmDir: dir, open: openSEVDevice}, nil
}

func (*snpProvider) Platform() Platform { return SEVSNP }

func (p *snpProvider) Evidence(ctx context.Context, reportData [64]byte) (*Evidence, error) {
	var report, certs []byte
	if p.tsmDir != "" {
		r, err := tsmGetReport(ctx, p.tsmDir, reportData, -1)
		if err != nil {
			return nil, fmt.Errorf("attest: sev-snp: %w", err)
		}
		if r.Provider != "" && r.Provider != "sev_guest" {
			return nil, fmt.Errorf("attest: sev-snp: configfs-tsm provider %q, want sev_guest", r.Provider)
		}
		report, certs = r.Out, r.Aux
	} else {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := p.open()
		if err != nil {
			return nil, fmt.Errorf("attest: sev-snp: open %s: %w", sevGuestDev, err)
		}
		defer d.Close()
		// The Device functions are deprecated in favour of QuoteProvider,
		// which opens the device itself: tests could not put a fake
		// under it, and the derived key needs the Device API anyway.
		//lint:ignore SA1019 see above
		report, certs, err = client.GetRawExtendedReport(d, reportData)
		if err != nil {
			// A host that stores no certificates fails the extended
			// request on some kernels; the plain report still proves
			// everything once the verifier has the VCEK.
			p.log.Warn("sev-snp extended report failed; taking a report without certificates", "err", err)
			//lint:ignore SA1019 see above
			if report, err = client.GetRawReport(d, reportData); err != nil {
				return nil, fmt.Errorf("attest: sev-snp: report: %w", err)
			}
			certs = nil
		}
	}
	if len(report) > abi.ReportSize {
		report = report[:abi.ReportSize]
	}
	rep, err := abi.ReportToProto(report)
	if err != nil {
		return nil, fmt.Errorf("attest: sev-snp: report from the kernel: %w", err)
	}
	// A kernel or host that answered with another request's report would
	// otherwise surface only at the client, as a binding failure.
	if !bytes.Equal(rep.GetReportData(), reportData[:]) {
		return nil, fmt.Errorf("attest: sev-snp: report carries REPORT_DATA %x, asked for %x", rep.GetReportData(), reportData)
	}
	return &Evidence{Platform: SEVSNP, Report: report, Certificates: certs}, nil
}

// derivedKeyFields binds the derived key to the launch measurement and the
// guest policy: another image, or this image launched with debugging
// allowed, gets a different key. TCB and SVN are left out so a firmware
// update does not change it (the key only strengthens fresh randomness).
var derivedKeyFields = client.GuestFieldSelect{Measurement: true, GuestPolicy: true}

// DerivedSecret asks the SEV-SNP firmware (MSG_KEY_REQ) for 32 bytes
// derived from the chip's VCEK secret, the launch measurement and the
// guest policy, at the VMPL this guest runs at. Without /dev/sev-guest it
// returns ErrNoDerivedKey.
func (p *snpProvider) DerivedSecret(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// MSG_KEY_REQ has no configfs-tsm interface: without the device this
	// guest has no derived key to offer, which is not a failure.
	if !exists(sevGuestDev) {
		return nil, fmt.Errorf("attest: sev-snp: %s absent: %w", sevGuestDev, ErrNoDerivedKey)
	}
	d, err := p.open()
	if err != nil {
		return nil, fmt.Errorf("attest: sev-snp derived key needs %s: %w", sevGuestDev, err)
	}
	defer d.Close()
	// The request may not name a VMPL more privileged than ours, and the
	// report is the one place that says which VMPL we run at.
	var zero [64]byte
	//lint:ignore SA1019 QuoteProvider cannot share the device the key request needs
	raw, err := client.GetRawReport(d, zero)
	if err != nil {
		return nil, fmt.Errorf("attest: sev-snp derived key: report for the VMPL: %w", err)
	}
	rep, err := abi.ReportToProto(raw)
	if err != nil {
		return nil, fmt.Errorf("attest: sev-snp derived key: %w", err)
	}
	resp, err := client.GetDerivedKeyAcknowledgingItsLimitations(d, &client.SnpDerivedKeyReq{
		UseVCEK:          true,
		GuestFieldSelect: derivedKeyFields,
		Vmpl:             rep.GetVmpl(),
	})
	if err != nil {
		return nil, fmt.Errorf("attest: sev-snp derived key: %w", err)
	}
	out := bytes.Clone(resp.Data[:])
	clear(resp.Data[:])
	if bytes.Equal(out, make([]byte, len(out))) {
		return nil, fmt.Errorf("attest: sev-snp derived key: firmware returned all zeros")
	}
	return out, nil
}
