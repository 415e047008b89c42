package attest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/google/go-tdx-guest/abi"
	"github.com/google/go-tdx-guest/client"
	pb "github.com/google/go-tdx-guest/proto/tdx"
)

// tdxProvider takes TDX quotes through configfs-tsm, else through the
// /dev/tdx_guest quote ioctl (kernels before 6.7). TDX has no key derived
// from the measurement that a guest can ask for: DerivedSecret returns
// ErrNoDerivedKey, and key generation relies on the kernel RNG, which TDX
// guests seed from RDSEED rather than the host's virtio-rng.
type tdxProvider struct {
	log    *slog.Logger
	tsmDir string
	open   func() (client.Device, error)
}

// openTDXDevice opens /dev/tdx_guest; tests replace it with a fake.
var openTDXDevice = func() (client.Device, error) {
	d := &client.LinuxDevice{}
	if err := d.Open(tdxGuestDev); err != nil {
		return nil, err
	}
	return d, nil
}

func openTDX(log *slog.Logger) (Provider, error) {
	dir, err := guestInterface(TDX, "tdx_guest", tdxGuestDev, log)
	if err != nil {
		return nil, err
	}
	return &tdxProvider{log: log, tsmDir: dir, open: openTDXDevice}, nil
}

func (*tdxProvider) Platform() Platform { return TDX }

// DerivedSecret: TDX offers no measurement-bound key to the guest.
func (*tdxProvider) DerivedSecret(context.Context) ([]byte, error) {
	return nil, fmt.Errorf("attest: tdx: %w", ErrNoDerivedKey)
}

func (p *tdxProvider) Evidence(ctx context.Context, reportData [64]byte) (*Evidence, error) {
	var quote []byte
	if p.tsmDir != "" {
		r, err := tsmGetReport(ctx, p.tsmDir, reportData, -1)
		if err != nil {
			return nil, fmt.Errorf("attest: tdx: %w", err)
		}
		if r.Provider != "" && r.Provider != "tdx_guest" {
			return nil, fmt.Errorf("attest: tdx: configfs-tsm provider %q, want tdx_guest", r.Provider)
		}
		quote = r.Out
	} else {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := p.open()
		if err != nil {
			return nil, fmt.Errorf("attest: tdx: open %s: %w", tdxGuestDev, err)
		}
		defer d.Close()
		if quote, err = client.GetRawQuote(d, reportData); err != nil {
			return nil, fmt.Errorf("attest: tdx: quote: %w", err)
		}
	}
	q, err := ParseTDXQuote(quote)
	if err != nil {
		return nil, fmt.Errorf("attest: tdx: quote from the kernel: %w", err)
	}
	if got := q.GetTdQuoteBody().GetReportData(); !bytes.Equal(got, reportData[:]) {
		return nil, fmt.Errorf("attest: tdx: quote carries REPORT_DATA %x, asked for %x", got, reportData)
	}
	return &Evidence{Platform: TDX, Report: quote}, nil
}

// ParseTDXQuote decodes a version 4 TDX quote and checks its field sizes.
func ParseTDXQuote(b []byte) (*pb.QuoteV4, error) {
	anyQ, err := quoteToProto(b)
	if err != nil {
		return nil, err
	}
	q, ok := anyQ.(*pb.QuoteV4)
	if !ok {
		return nil, fmt.Errorf("quote type %T, want a version 4 quote", anyQ)
	}
	if err := abi.CheckQuoteV4(q); err != nil {
		return nil, err
	}
	return q, nil
}
