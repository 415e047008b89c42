// Package attest produces and checks the hardware evidence that lets a client
// trust a pith enclave before sending it a byte.
//
// Inside the guest a Provider (SEV-SNP, TDX, or the development stand-in)
// signs REPORT_DATA, which binds a client's fresh nonce and the OHTTP key
// configuration the server will decrypt with. Outside, Verify checks the
// vendor signature chain, the report's signature, the platform policy, the
// launch measurement against a manifest the client trusts, and the binding.
package attest

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// Platform names the kind of evidence.
type Platform string

const (
	SEVSNP Platform = "sev-snp"
	TDX    Platform = "tdx"
	// Dev is the development stand-in: it signs with a key made at start-up,
	// so its evidence proves nothing about the machine or the code.
	Dev Platform = "dev"
)

// Format URIs name the JSON layouts; a new incompatible layout gets a new URI,
// so an old verifier refuses it instead of misreading it.
const (
	DocumentFormat = "https://github.com/pith-project/pith/attestation/v1"
	ManifestFormat = "https://github.com/pith-project/pith/manifest/v1"
)

// NonceSize is the length of the client's nonce: enough that a verifier
// never sees a replayed report, short enough for a query string.
const NonceSize = 32

// bindingLabel separates this use of SHA-512 from any other that might put
// the same bytes in REPORT_DATA.
const bindingLabel = "pith-attestation-v1"

// ReportData computes the 64 bytes a report must carry for this nonce and
// key configuration: SHA-512("pith-attestation-v1" || nonce || SHA-256(keyConfig)).
// Hashing the key configuration first keeps the label/nonce boundary fixed.
func ReportData(nonce, keyConfig []byte) ([64]byte, error) {
	var out [64]byte
	if len(nonce) != NonceSize {
		return out, fmt.Errorf("attest: nonce of %d bytes: %w", len(nonce), ErrNonceSize)
	}
	if len(keyConfig) == 0 {
		return out, fmt.Errorf("attest: key configuration: %w", ErrEmpty)
	}
	kh := sha256.Sum256(keyConfig)
	h := sha512.New()
	h.Write([]byte(bindingLabel))
	h.Write(nonce)
	h.Write(kh[:])
	copy(out[:], h.Sum(nil))
	return out, nil
}

var (
	// ErrNoDerivedKey is returned by DerivedSecret on platforms without a
	// hardware key bound to the measurement: TDX has none (its guests rely on
	// RDSEED-backed kernel randomness), and the stand-in has no hardware.
	ErrNoDerivedKey = errors.New("no hardware-derived key on this platform")
	ErrNonceSize    = fmt.Errorf("nonce must be exactly %d bytes", NonceSize)
	ErrEmpty        = errors.New("empty")
)

// Evidence is what a Provider returns: the raw report or quote and whatever
// the verifier needs to chain it to the vendor.
type Evidence struct {
	Platform Platform
	// Report is the SEV-SNP attestation report (1184 bytes), the TDX quote,
	// or the stand-in's report.
	Report []byte
	// Certificates: for SEV-SNP the GUID-keyed certificate table of the
	// extended report (configfs-tsm auxblob), holding VCEK/VLEK, ASK and ARK
	// when the host supplies them.
	Certificates []byte
	// Collateral: for TDX, optional JSON collateral (see TDXCollateral).
	Collateral []byte
}

// Provider produces evidence inside the guest.
type Provider interface {
	Platform() Platform
	// Evidence asks the hardware for a report carrying reportData.
	Evidence(ctx context.Context, reportData [64]byte) (*Evidence, error)
	// DerivedSecret returns 32 bytes derived by the hardware from the launch
	// measurement (SEV-SNP MSG_KEY_REQ), or ErrNoDerivedKey. It is meant to
	// be mixed (HKDF) with kernel randomness, never used alone.
	DerivedSecret(ctx context.Context) ([]byte, error)
}

// Where the guest kernel exposes attestation. Variables so tests can point
// them at fake trees; nothing else changes them.
var (
	tsmReportDir = "/sys/kernel/config/tsm/report"
	sevGuestDev  = "/dev/sev-guest"
	tdxGuestDev  = "/dev/tdx_guest"
)

// Open picks a provider. mode "auto" takes SEV-SNP when configfs-tsm reports
// the sev_guest provider or /dev/sev-guest exists, else TDX when configfs-tsm
// reports tdx_guest or /dev/tdx_guest exists, else fails naming what it
// looked for; "auto" never falls back to the stand-in. "sev-snp", "tdx" and
// "dev" force one.
func Open(ctx context.Context, mode string, log *slog.Logger) (Provider, error) {
	if log == nil {
		log = slog.Default()
	}
	switch mode {
	case "auto", "":
		p, err := detect()
		if err != nil {
			return nil, err
		}
		return Open(ctx, string(p), log)
	case string(SEVSNP):
		return openSNP(log)
	case string(TDX):
		return openTDX(log)
	case string(Dev):
		return NewDevProvider(log)
	}
	return nil, fmt.Errorf("attest: mode %q: want auto, sev-snp, tdx or dev", mode)
}

// detect decides between SEV-SNP and TDX from what the kernel offers.
func detect() (Platform, error) {
	prov := tsmProvider(tsmReportDir)
	switch {
	case prov == "sev_guest" || exists(sevGuestDev):
		return SEVSNP, nil
	case prov == "tdx_guest" || exists(tdxGuestDev):
		return TDX, nil
	}
	return "", fmt.Errorf("attest: no confidential-computing guest interface: looked for %s (provider sev_guest or tdx_guest), %s and %s; use mode dev for development",
		tsmReportDir, sevGuestDev, tdxGuestDev)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
