package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
)

// The development stand-in's report: a fixed 317-byte record, little-endian
//
//	0   magic "PITHDEV1"
//	8   version uint32 (1)
//	12  report_data [64]
//	76  measurement [48]  SHA-384 of the executable that made it
//	124 public key [97]   uncompressed P-384 point
//	221 signature [96]    ECDSA P-384 r||s over SHA-384 of bytes 0..220
//
// The key is made at start-up by the same software the report describes, so
// a valid signature shows only that the bytes were not changed in transit.
const (
	devMagic      = "PITHDEV1"
	devVersion    = 1
	devReportSize = 317
	devSignedSize = 221
)

// DevProvider is the development stand-in. It proves nothing.
type DevProvider struct {
	key         *ecdsa.PrivateKey
	measurement [48]byte
}

// devWarning is logged at every start, in capitals, so nobody mistakes a
// development server for an attested one.
const devWarning = "DEVELOPMENT ATTESTATION STAND-IN: THIS PROVES NOTHING. ITS SIGNING KEY WAS MADE BY THIS PROCESS; USE ONLY FOR TESTS AND DEMOS"

// NewDevProvider makes a stand-in whose measurement is SHA-384 of the
// running executable.
func NewDevProvider(log *slog.Logger) (*DevProvider, error) {
	if log == nil {
		log = slog.Default()
	}
	exe := "/proc/self/exe"
	if !exists(exe) {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("attest: dev: executable: %w", err)
		}
	}
	m, err := devMeasure(exe)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("attest: dev: key: %w", err)
	}
	log.Warn(devWarning, "platform", Dev, "measurement", hex.EncodeToString(m[:]))
	return &DevProvider{key: key, measurement: m}, nil
}

func (*DevProvider) Platform() Platform { return Dev }

// DerivedSecret: the stand-in has no hardware to derive from.
func (*DevProvider) DerivedSecret(context.Context) ([]byte, error) {
	return nil, fmt.Errorf("attest: dev: %w", ErrNoDerivedKey)
}

func (p *DevProvider) Evidence(ctx context.Context, reportData [64]byte) (*Evidence, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := make([]byte, devReportSize)
	copy(r, devMagic)
	binary.LittleEndian.PutUint32(r[8:], devVersion)
	copy(r[12:76], reportData[:])
	copy(r[76:124], p.measurement[:])
	pub, err := p.key.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("attest: dev: public key: %w", err)
	}
	copy(r[124:221], pub)
	h := sha512.Sum384(r[:devSignedSize])
	sr, ss, err := ecdsa.Sign(rand.Reader, p.key, h[:])
	if err != nil {
		return nil, fmt.Errorf("attest: dev: sign: %w", err)
	}
	sr.FillBytes(r[221:269])
	ss.FillBytes(r[269:317])
	return &Evidence{Platform: Dev, Report: r}, nil
}

// DevMeasurement returns what the stand-in reports when running exePath:
// the lower-case hex SHA-384 of the file, for a host's dev manifest.
func DevMeasurement(exePath string) (string, error) {
	m, err := devMeasure(exePath)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(m[:]), nil
}

func devMeasure(path string) ([48]byte, error) {
	var out [48]byte
	f, err := os.Open(path)
	if err != nil {
		return out, fmt.Errorf("attest: dev measurement: %w", err)
	}
	defer f.Close()
	h := sha512.New384()
	if _, err := io.Copy(h, f); err != nil {
		return out, fmt.Errorf("attest: dev measurement of %q: %w", path, err)
	}
	copy(out[:], h.Sum(nil))
	return out, nil
}

// devReport is a parsed stand-in report.
type devReport struct {
	reportData  []byte
	measurement []byte
	pub         *ecdsa.PublicKey
	signed      []byte
	r, s        *big.Int
}

var errDevReport = errors.New("not a pith dev report")

func parseDevReport(b []byte) (*devReport, error) {
	if len(b) != devReportSize {
		return nil, fmt.Errorf("attest: dev report of %d bytes, want %d: %w", len(b), devReportSize, errDevReport)
	}
	if string(b[:8]) != devMagic {
		return nil, fmt.Errorf("attest: dev report magic %q: %w", b[:8], errDevReport)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != devVersion {
		return nil, fmt.Errorf("attest: dev report version %d: %w", v, errDevReport)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P384(), b[124:221])
	if err != nil {
		return nil, fmt.Errorf("attest: dev report public key: %w", err)
	}
	return &devReport{
		reportData:  b[12:76],
		measurement: b[76:124],
		pub:         pub,
		signed:      b[:devSignedSize],
		r:           new(big.Int).SetBytes(b[221:269]),
		s:           new(big.Int).SetBytes(b[269:317]),
	}, nil
}
