package attest

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/google/go-tdx-guest/abi"
)

// Layout of a version 4 TDX quote (Intel TDX DCAP Quote Generation Library
// and Quote Verification Library, appendix "Quote Format"), as far as the
// walk in checkQuoteV4Layout needs it. Offsets within the signed data and
// the certification data are relative to their own start.
const (
	quoteV4SignedSizeAt = 0x278 // after the 48-byte header and 584-byte TD quote body
	quoteV4SignedAt     = 0x27c
	// signature (64), attestation key (64), then certification data:
	// type (2), size (4).
	signedCertDataAt = 0x80 + 6
	// enclave (QE) report (384), its signature (64), then QE
	// authentication data: size (2), data.
	certQEAuthSizeAt = 0x1c0
	// after the QE authentication data: PCK chain type (2) and size (4).
	pckChainHeader = 6
)

// errQuoteLayout marks a quote whose length fields point outside it.
var errQuoteLayout = errors.New("TDX quote layout")

// checkQuoteV4Layout walks the length fields of a version 4 quote and
// refuses any that points past the bytes received. go-tdx-guest v0.3.1's
// abi.QuoteToProto slices by these host-controlled fields without checking
// them and panics (index out of range) on, for example, a signed data size
// of 0: a hostile server could crash every client that verifies its
// document. With this walk passed, every slice it takes is in range.
func checkQuoteV4Layout(b []byte) error {
	if len(b) < abi.QuoteMinSize {
		return fmt.Errorf("%w: %d bytes, shorter than the %d of the smallest quote", errQuoteLayout, len(b), abi.QuoteMinSize)
	}
	signedSize := uint64(binary.LittleEndian.Uint32(b[quoteV4SignedSizeAt:]))
	if signedSize > uint64(len(b)-quoteV4SignedAt) {
		return fmt.Errorf("%w: signed data of %d bytes claimed, %d present", errQuoteLayout, signedSize, len(b)-quoteV4SignedAt)
	}
	signed := b[quoteV4SignedAt : quoteV4SignedAt+signedSize]
	if len(signed) < signedCertDataAt {
		return fmt.Errorf("%w: signed data of %d bytes, shorter than its fixed part (%d)", errQuoteLayout, len(signed), signedCertDataAt)
	}
	cert := signed[signedCertDataAt:]
	if len(cert) < certQEAuthSizeAt+2 {
		return fmt.Errorf("%w: certification data of %d bytes, shorter than a QE report, its signature and an authentication data size (%d)", errQuoteLayout, len(cert), certQEAuthSizeAt+2)
	}
	authSize := int(binary.LittleEndian.Uint16(cert[certQEAuthSizeAt:]))
	if need := certQEAuthSizeAt + 2 + authSize + pckChainHeader; len(cert) < need {
		return fmt.Errorf("%w: QE authentication data of %d bytes leaves no room for the PCK chain header (%d bytes present, %d needed)", errQuoteLayout, authSize, len(cert), need)
	}
	return nil
}

// quoteToProto is abi.QuoteToProto for quotes from outside: for a version 4
// quote the layout walk first (other versions the library refuses without
// parsing), then the library's parser, with a recover as a second line
// should the library find another way to index past its input (a parser of
// host bytes must return an error, never take the process down).
func quoteToProto(b []byte) (q any, err error) {
	if len(b) >= 2 && binary.LittleEndian.Uint16(b) == abi.QuoteVersion {
		if err := checkQuoteV4Layout(b); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			q, err = nil, fmt.Errorf("%w: go-tdx-guest parser: %v", errQuoteLayout, r)
		}
	}()
	return abi.QuoteToProto(b)
}
