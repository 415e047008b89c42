package ohttp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var ecdhX25519 = ecdh.X25519()

// sealer is the sending half of an HPKE context: crypto/hpke's Sender, or
// x25519Sender.
type sealer interface {
	Seal(aad, plaintext []byte) ([]byte, error)
	Export(exporterContext string, length int) ([]byte, error)
}

// x25519Sender is an HPKE base-mode sending context (RFC 9180 sections
// 4.1, 5.1 and 5.2) for DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and
// AES-GCM. It exists because crypto/hpke draws the ephemeral key from the
// process's random source and offers no way to pass one: here it comes from
// the caller's io.Reader, so a client can be driven by a deterministic
// source (RFC 9458 Appendix A is checked byte for byte that way). The
// result is checked against crypto/hpke's recipient and the RFC vectors.
type x25519Sender struct {
	aead     cipher.AEAD
	nonce    []byte
	exporter []byte
	suiteID  []byte
	seq      uint64
}

// labeledExtract and labeledExpand are RFC 9180 section 4's, over SHA-256.
func labeledExtract(suiteID []byte, salt []byte, label string, ikm []byte) []byte {
	in := append(append(append([]byte("HPKE-v1"), suiteID...), label...), ikm...)
	prk, err := hkdf.Extract(sha256.New, in, salt)
	if err != nil {
		panic(err) // HKDF-Extract cannot fail for SHA-256
	}
	return prk
}

func labeledExpand(suiteID, prk []byte, label string, info []byte, n int) ([]byte, error) {
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(append(append(in, "HPKE-v1"...), suiteID...), label...), info...)
	return hkdf.Expand(sha256.New, prk, string(in), n)
}

func newX25519Sender(pkR []byte, aeadID uint16, info []byte, rand io.Reader) (enc []byte, s *x25519Sender, err error) {
	pub, err := ecdhX25519.NewPublicKey(pkR)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: X25519 public key: %w", err)
	}
	var ikm [32]byte
	if _, err := io.ReadFull(rand, ikm[:]); err != nil {
		return nil, nil, fmt.Errorf("ohttp: ephemeral key: %w", err)
	}
	skE, err := ecdhX25519.NewPrivateKey(ikm[:])
	clear(ikm[:])
	if err != nil {
		return nil, nil, err
	}
	dh, err := skE.ECDH(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: X25519: %w", err)
	}
	enc = skE.PublicKey().Bytes()
	kemSuite := []byte{'K', 'E', 'M', 0x00, 0x20}
	eae := labeledExtract(kemSuite, nil, "eae_prk", dh)
	shared, err := labeledExpand(kemSuite, eae, "shared_secret", append(append([]byte{}, enc...), pkR...), 32)
	if err != nil {
		return nil, nil, err
	}
	nk, ok := aeadKeySize(aeadID)
	if !ok {
		return nil, nil, fmt.Errorf("ohttp: AEAD 0x%04x: %w", aeadID, ErrUnknownKey)
	}
	suiteID := []byte{'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, byte(aeadID >> 8), byte(aeadID)}
	ctx := []byte{0} // mode_base
	ctx = append(ctx, labeledExtract(suiteID, nil, "psk_id_hash", nil)...)
	ctx = append(ctx, labeledExtract(suiteID, nil, "info_hash", info)...)
	secret := labeledExtract(suiteID, shared, "secret", nil)
	key, err := labeledExpand(suiteID, secret, "key", ctx, nk)
	if err != nil {
		return nil, nil, err
	}
	s = &x25519Sender{suiteID: suiteID}
	if s.nonce, err = labeledExpand(suiteID, secret, "base_nonce", ctx, 12); err != nil {
		return nil, nil, err
	}
	if s.exporter, err = labeledExpand(suiteID, secret, "exp", ctx, 32); err != nil {
		return nil, nil, err
	}
	if s.aead, err = newGCM(key); err != nil {
		return nil, nil, err
	}
	return enc, s, nil
}

func (s *x25519Sender) Seal(aad, plaintext []byte) ([]byte, error) {
	if s.seq == 1<<64-1 {
		return nil, errors.New("ohttp: HPKE sequence number exhausted")
	}
	nonce := counterNonce(s.nonce, s.seq)
	s.seq++
	return s.aead.Seal(nil, nonce, plaintext, aad), nil
}

func (s *x25519Sender) Export(exporterContext string, length int) ([]byte, error) {
	return labeledExpand(s.suiteID, s.exporter, "sec", []byte(exporterContext), length)
}

// counterNonce returns base XOR the big-endian counter (RFC 9180 5.2, and
// the chunk nonces of chunked OHTTP).
func counterNonce(base []byte, seq uint64) []byte {
	n := append([]byte(nil), base...)
	for i := 0; i < 8; i++ {
		n[len(n)-1-i] ^= byte(seq >> (8 * i))
	}
	return n
}

func aeadKeySize(id uint16) (int, bool) {
	switch id {
	case AEADAES128GCM:
		return 16, true
	case AEADAES256GCM:
		return 32, true
	}
	return 0, false
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// responseKeys derives the response AEAD and nonce (RFC 9458 section 4.4;
// draft-ietf-ohai-chunked-ohttp section 6.2 with its own label) from the
// HPKE context's exported secret, the request's enc and the response nonce.
func responseKeys(ctx sealerExporter, label string, aeadID uint16, enc, responseNonce []byte) (cipher.AEAD, []byte, error) {
	nk, _ := aeadKeySize(aeadID)
	secret, err := ctx.Export(label, max(nk, 12))
	if err != nil {
		return nil, nil, err
	}
	salt := append(append([]byte{}, enc...), responseNonce...)
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, nil, err
	}
	key, err := hkdf.Expand(sha256.New, prk, "key", nk)
	if err != nil {
		return nil, nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "nonce", 12)
	if err != nil {
		return nil, nil, err
	}
	aead, err := newGCM(key)
	clear(key)
	clear(secret)
	return aead, nonce, err
}

// sealerExporter is what responseKeys needs of either side's context.
type sealerExporter interface {
	Export(exporterContext string, length int) ([]byte, error)
}

// responseNonceLen is max(Nn, Nk).
func responseNonceLen(aeadID uint16) int {
	nk, _ := aeadKeySize(aeadID)
	return max(nk, 12)
}
