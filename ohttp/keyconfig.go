// Package ohttp implements Oblivious HTTP (RFC 9458), its key configuration
// media type (RFC 9540, application/ohttp-keys) and chunked Oblivious HTTP
// (draft-ietf-ohai-chunked-ohttp), for the pith gateway inside the
// confidential VM and for its clients.
//
// Two KEMs are supported: DHKEM(X25519, HKDF-SHA256), for interoperability
// with RFC 9458 clients, and the ML-KEM-768 + X25519 hybrid of crypto/hpke
// (draft-ietf-hpke-pq, "X-Wing"), which resists a future quantum computer
// recording today's traffic. Both use HKDF-SHA256 and AES-128-GCM.
//
// Gateway errors wrap ErrUnknownKey, ErrMalformed, ErrDecrypt or
// ErrTruncated, so a server can map them to an outer HTTP status without
// revealing detail.
package ohttp

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
)

// HPKE algorithm identifiers (IANA "Hybrid Public Key Encryption" registry;
// the hybrid KEM's from draft-ietf-hpke-pq, the same value crypto/hpke
// uses for MLKEM768X25519).
const (
	KEMX25519         uint16 = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	KEMMLKEM768X25519 uint16 = 0x647a // MLKEM768-X25519 (X-Wing)
	KDFHKDFSHA256     uint16 = 0x0001
	AEADAES128GCM     uint16 = 0x0001
	AEADAES256GCM     uint16 = 0x0002
)

// Media types.
const (
	MediaTypeKeys        = "application/ohttp-keys"
	MediaTypeRequest     = "message/ohttp-req"
	MediaTypeResponse    = "message/ohttp-res"
	MediaTypeChunkedReq  = "message/ohttp-chunked-req"
	MediaTypeChunkedResp = "message/ohttp-chunked-res"
)

// RFC 9458 section 5.3: a gateway that has no key with a request's key
// id answers 400 with an RFC 9457 problem of this type, in a body of this
// media type, so that a client tells it from every other 400 (and
// fetches the gateway's keys again) and a relay or any other OHTTP client
// understands it.
const (
	KeyProblemType   = "https://iana.org/assignments/http-problem-types#ohttp-key"
	MediaTypeProblem = "application/problem+json"
)

// Errors a gateway reports; each returned error wraps exactly one.
var (
	// ErrUnknownKey: the key identifier, KEM or symmetric suite names no
	// key this gateway holds (the client's configuration is stale).
	ErrUnknownKey = errors.New("ohttp: unknown key configuration")
	// ErrMalformed: the message is too short or badly framed.
	ErrMalformed = errors.New("ohttp: malformed message")
	// ErrDecrypt: authentication failed.
	ErrDecrypt = errors.New("ohttp: decryption failed")
	// ErrTruncated: a chunked message ended before its final chunk.
	ErrTruncated = errors.New("ohttp: chunked message truncated before its final chunk")
)

// Suite is a symmetric algorithm pair a key configuration supports.
type Suite struct{ KDF, AEAD uint16 }

// KeyConfig is one key configuration (RFC 9458 section 3.1).
type KeyConfig struct {
	KeyID     uint8
	KEM       uint16
	PublicKey []byte
	Suites    []Suite
}

// kemInfo describes what the wire format needs of a KEM.
type kemInfo struct {
	kem  hpke.KEM
	npk  int // public key length
	nenc int // encapsulated key length
	nsk  int // bytes of randomness a private key is made from
	name string
}

func lookupKEM(id uint16) (kemInfo, bool) {
	switch id {
	case KEMX25519:
		return kemInfo{hpke.DHKEM(ecdhX25519), 32, 32, 32, "DHKEM(X25519, HKDF-SHA256)"}, true
	case KEMMLKEM768X25519:
		// ML-KEM-768 encapsulation key (1184) + X25519 (32); ciphertext
		// 1088 + 32; the private key is a 32-byte seed.
		return kemInfo{hpke.MLKEM768X25519(), 1216, 1120, 32, "MLKEM768-X25519"}, true
	}
	return kemInfo{}, false
}

// supportedSuite reports whether the symmetric suite is one this package
// implements: the response side derives keys with HKDF-SHA256 and seals
// with AES-GCM itself.
// SupportedSuite reports whether this package can seal and open with s.
func SupportedSuite(s Suite) bool { return supportedSuite(s) }

func supportedSuite(s Suite) bool {
	return s.KDF == KDFHKDFSHA256 && (s.AEAD == AEADAES128GCM || s.AEAD == AEADAES256GCM)
}

// Marshal encodes c in the form of RFC 9458 section 3.1.
func (c KeyConfig) Marshal() []byte {
	b := make([]byte, 0, 7+len(c.PublicKey)+4*len(c.Suites))
	b = append(b, c.KeyID)
	b = binary.BigEndian.AppendUint16(b, c.KEM)
	b = append(b, c.PublicKey...)
	b = binary.BigEndian.AppendUint16(b, uint16(4*len(c.Suites)))
	for _, s := range c.Suites {
		b = binary.BigEndian.AppendUint16(b, s.KDF)
		b = binary.BigEndian.AppendUint16(b, s.AEAD)
	}
	return b
}

// MarshalKeyConfigs encodes configurations as application/ohttp-keys
// (RFC 9540 section 3): each one preceded by its 2-byte length.
func MarshalKeyConfigs(cs []KeyConfig) []byte {
	var b []byte
	for _, c := range cs {
		m := c.Marshal()
		b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
		b = append(b, m...)
	}
	return b
}

// ParseKeyConfig decodes a single configuration in the form of RFC 9458
// section 3.1 (no length prefix), which must fill b exactly.
func ParseKeyConfig(b []byte) (KeyConfig, error) {
	c, n, err := parseKeyConfig(b)
	if err != nil {
		return KeyConfig{}, err
	}
	if n != len(b) {
		return KeyConfig{}, fmt.Errorf("ohttp: key configuration has %d bytes after its end: %w", len(b)-n, ErrMalformed)
	}
	return c, nil
}

func parseKeyConfig(b []byte) (KeyConfig, int, error) {
	if len(b) < 3 {
		return KeyConfig{}, 0, fmt.Errorf("ohttp: key configuration of %d bytes is too short: %w", len(b), ErrMalformed)
	}
	c := KeyConfig{KeyID: b[0], KEM: binary.BigEndian.Uint16(b[1:])}
	k, ok := lookupKEM(c.KEM)
	if !ok {
		return c, 0, fmt.Errorf("ohttp: key configuration %d uses KEM 0x%04x: %w", c.KeyID, c.KEM, ErrUnknownKey)
	}
	off := 3
	if len(b) < off+k.npk+2 {
		return KeyConfig{}, 0, fmt.Errorf("ohttp: key configuration %d ends inside its %s public key: %w", c.KeyID, k.name, ErrMalformed)
	}
	c.PublicKey = append([]byte(nil), b[off:off+k.npk]...)
	if _, err := k.kem.NewPublicKey(c.PublicKey); err != nil {
		return KeyConfig{}, 0, fmt.Errorf("ohttp: key configuration %d: invalid %s public key: %v: %w", c.KeyID, k.name, err, ErrMalformed)
	}
	off += k.npk
	n := int(binary.BigEndian.Uint16(b[off:]))
	off += 2
	if n < 4 || n%4 != 0 || len(b) < off+n {
		return KeyConfig{}, 0, fmt.Errorf("ohttp: key configuration %d: symmetric algorithms length %d (of %d bytes left) is not a positive multiple of 4: %w", c.KeyID, n, len(b)-off, ErrMalformed)
	}
	for i := 0; i < n; i += 4 {
		c.Suites = append(c.Suites, Suite{binary.BigEndian.Uint16(b[off+i:]), binary.BigEndian.Uint16(b[off+i+2:])})
	}
	return c, off + n, nil
}

// ParseKeyConfigs decodes application/ohttp-keys (RFC 9540). Entries whose
// KEM this package does not know are skipped, as the length prefix allows;
// it is an error if none is left.
func ParseKeyConfigs(b []byte) ([]KeyConfig, error) {
	var cs []KeyConfig
	skipped := 0
	for off := 0; off < len(b); {
		if len(b)-off < 2 {
			return nil, fmt.Errorf("ohttp: key configurations: %d stray bytes at the end: %w", len(b)-off, ErrMalformed)
		}
		n := int(binary.BigEndian.Uint16(b[off:]))
		off += 2
		if n > len(b)-off {
			return nil, fmt.Errorf("ohttp: key configuration of %d bytes at offset %d runs past the end: %w", n, off, ErrMalformed)
		}
		c, err := ParseKeyConfig(b[off : off+n])
		switch {
		case errors.Is(err, ErrUnknownKey):
			skipped++
		case err != nil:
			return nil, err
		default:
			cs = append(cs, c)
		}
		off += n
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("ohttp: no usable key configuration (%d with unknown KEMs): %w", skipped, ErrUnknownKey)
	}
	return cs, nil
}
