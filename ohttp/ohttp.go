package ohttp

import (
	"crypto/hpke"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Labels of RFC 9458 section 4 and draft-ietf-ohai-chunked-ohttp section 6.
const (
	labelRequest         = "message/bhttp request"
	labelResponse        = "message/bhttp response"
	labelChunkedRequest  = "message/bhttp chunked request"
	labelChunkedResponse = "message/bhttp chunked response"
)

// hdrLen is the request header: key id, KEM, KDF and AEAD identifiers.
const hdrLen = 7

// PrivateKey is a gateway's HPKE private key with its key configuration.
type PrivateKey struct {
	config KeyConfig
	key    hpke.PrivateKey
}

// GenerateKey makes a key for configuration id with the given KEM
// (KEMX25519 or KEMMLKEM768X25519), offering HKDF-SHA256 with AES-128-GCM.
// The key is a function of the 32 bytes it reads from rand (the X25519
// scalar, or the hybrid KEM's seed), so a server can derive it from a
// mixture of the kernel's randomness and a hardware secret, and a test can
// reproduce a published key.
func GenerateKey(id uint8, kem uint16, rand io.Reader) (*PrivateKey, error) {
	k, ok := lookupKEM(kem)
	if !ok {
		return nil, fmt.Errorf("ohttp: generate key: KEM 0x%04x is not supported", kem)
	}
	seed := make([]byte, k.nsk)
	defer clear(seed)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("ohttp: generate %s key: %w", k.name, err)
	}
	sk, err := k.kem.NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("ohttp: generate %s key: %w", k.name, err)
	}
	return &PrivateKey{
		config: KeyConfig{KeyID: id, KEM: kem, PublicKey: sk.PublicKey().Bytes(),
			Suites: []Suite{{KDFHKDFSHA256, AEADAES128GCM}}},
		key: sk,
	}, nil
}

// Config returns the key's public configuration.
func (k *PrivateKey) Config() KeyConfig {
	c := k.config
	c.PublicKey = slices.Clone(c.PublicKey)
	c.Suites = slices.Clone(c.Suites)
	return c
}

// Gateway decapsulates requests sealed to any of its keys and seals the
// responses. It is safe for concurrent use.
type Gateway struct {
	keys []*PrivateKey
	// Rand, if set, supplies response nonces instead of crypto/rand; for
	// tests that reproduce published vectors.
	Rand io.Reader
}

// NewGateway returns a gateway holding keys, the current one first (for
// rotation, the previous ones after it, until their grace period ends).
// Key identifiers must differ.
func NewGateway(keys ...*PrivateKey) (*Gateway, error) {
	if len(keys) == 0 {
		return nil, errors.New("ohttp: gateway without keys")
	}
	for i, k := range keys {
		for _, o := range keys[:i] {
			if o.config.KeyID == k.config.KeyID {
				return nil, fmt.Errorf("ohttp: two gateway keys with id %d", k.config.KeyID)
			}
		}
	}
	return &Gateway{keys: keys}, nil
}

// KeyConfigs returns the configurations of the gateway's keys, current
// first; MarshalKeyConfigs of it is what /.well-known/ohttp-gateway serves.
func (g *Gateway) KeyConfigs() []KeyConfig {
	cs := make([]KeyConfig, len(g.keys))
	for i, k := range g.keys {
		cs[i] = k.Config()
	}
	return cs
}

func (g *Gateway) rand() io.Reader {
	if g.Rand != nil {
		return g.Rand
	}
	return rand.Reader
}

// ResponseContext is what a gateway keeps from a request to seal the
// response to it.
type ResponseContext struct {
	r       *hpke.Recipient
	enc     []byte
	aead    uint16
	chunked bool
	rand    io.Reader
}

// header parses a request header and finds the key and suite it names.
func (g *Gateway) header(hdr []byte) (*PrivateKey, Suite, kemInfo, error) {
	id := hdr[0]
	kem := binary.BigEndian.Uint16(hdr[1:])
	s := Suite{binary.BigEndian.Uint16(hdr[3:]), binary.BigEndian.Uint16(hdr[5:])}
	for _, k := range g.keys {
		if k.config.KeyID != id {
			continue
		}
		if k.config.KEM != kem {
			return nil, s, kemInfo{}, fmt.Errorf("ohttp: key %d is not for KEM 0x%04x: %w", id, kem, ErrUnknownKey)
		}
		if !slices.Contains(k.config.Suites, s) {
			return nil, s, kemInfo{}, fmt.Errorf("ohttp: key %d does not offer KDF 0x%04x with AEAD 0x%04x: %w", id, s.KDF, s.AEAD, ErrUnknownKey)
		}
		info, _ := lookupKEM(kem)
		return k, s, info, nil
	}
	return nil, s, kemInfo{}, fmt.Errorf("ohttp: no key with id %d: %w", id, ErrUnknownKey)
}

// recipient sets up the HPKE receiving context for a request whose header
// and enc are at the start of msg, and returns what follows them.
func (g *Gateway) recipient(msg []byte, label string, chunked bool) (*ResponseContext, []byte, error) {
	if len(msg) < hdrLen {
		return nil, nil, fmt.Errorf("ohttp: request of %d bytes is shorter than its header: %w", len(msg), ErrMalformed)
	}
	k, s, kinfo, err := g.header(msg[:hdrLen])
	if err != nil {
		return nil, nil, err
	}
	if len(msg) < hdrLen+kinfo.nenc {
		return nil, nil, fmt.Errorf("ohttp: request of %d bytes ends inside its %d-byte encapsulated key: %w", len(msg), kinfo.nenc, ErrMalformed)
	}
	enc := slices.Clone(msg[hdrLen : hdrLen+kinfo.nenc])
	info := append(append([]byte(label), 0), msg[:hdrLen]...)
	aead, err := hpke.NewAEAD(s.AEAD)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: AEAD 0x%04x: %w", s.AEAD, ErrUnknownKey)
	}
	r, err := hpke.NewRecipient(enc, k.key, hpke.HKDFSHA256(), aead, info)
	if err != nil {
		// A bad encapsulated key (say, a low-order X25519 point) is
		// indistinguishable to the client from a failed decryption.
		return nil, nil, fmt.Errorf("ohttp: encapsulated key: %v: %w", err, ErrDecrypt)
	}
	return &ResponseContext{r: r, enc: enc, aead: s.AEAD, chunked: chunked, rand: g.rand()},
		msg[hdrLen+kinfo.nenc:], nil
}

// DecapsulateRequest opens an encapsulated request (RFC 9458 section 4.3)
// and returns the binary HTTP request with the context for the response.
//
// The plaintext is a fresh heap slice made by crypto/hpke, which offers no
// way to open into caller memory: a server that keeps plaintext off the
// heap calls this inside runtime/secret.Do and copies the result into its
// arena.
func (g *Gateway) DecapsulateRequest(msg []byte) (plaintext []byte, resp *ResponseContext, err error) {
	ctx, ct, err := g.recipient(msg, labelRequest, false)
	if err != nil {
		return nil, nil, err
	}
	pt, err := ctx.r.Open(nil, ct)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: request: %w", ErrDecrypt)
	}
	return pt, ctx, nil
}

// EncapsulateResponse seals a binary HTTP response (RFC 9458 section 4.4).
func (c *ResponseContext) EncapsulateResponse(plaintext []byte) ([]byte, error) {
	return c.AppendEncapsulatedResponse(nil, plaintext)
}

// AppendEncapsulatedResponse appends the encapsulated response to dst. The
// plaintext is read in place and never copied.
func (c *ResponseContext) AppendEncapsulatedResponse(dst, plaintext []byte) ([]byte, error) {
	if c.chunked {
		return nil, errors.New("ohttp: a chunked request's response must be chunked (NewChunkedResponseWriter)")
	}
	n := responseNonceLen(c.aead)
	start := len(dst)
	dst = slices.Grow(dst, n+len(plaintext)+16)[:start+n]
	if _, err := io.ReadFull(c.rand, dst[start:]); err != nil {
		return nil, fmt.Errorf("ohttp: response nonce: %w", err)
	}
	aead, nonce, err := responseKeys(c.r, labelResponse, c.aead, c.enc, dst[start:])
	if err != nil {
		return nil, fmt.Errorf("ohttp: response keys: %w", err)
	}
	return aead.Seal(dst, nonce, plaintext, nil), nil
}

// ClientContext is what a client keeps from a request to open the
// response to it.
type ClientContext struct {
	s       sealer
	enc     []byte
	aead    uint16
	chunked bool
}

// sender sets up the HPKE sending context and returns the request header
// with the encapsulated key.
func sender(cfg KeyConfig, suite Suite, label string, rand io.Reader) ([]byte, *ClientContext, error) {
	k, ok := lookupKEM(cfg.KEM)
	if !ok {
		return nil, nil, fmt.Errorf("ohttp: key configuration %d uses KEM 0x%04x: %w", cfg.KeyID, cfg.KEM, ErrUnknownKey)
	}
	if !slices.Contains(cfg.Suites, suite) || !supportedSuite(suite) {
		return nil, nil, fmt.Errorf("ohttp: KDF 0x%04x with AEAD 0x%04x is not offered by key %d or not supported: %w", suite.KDF, suite.AEAD, cfg.KeyID, ErrUnknownKey)
	}
	hdr := []byte{cfg.KeyID}
	hdr = binary.BigEndian.AppendUint16(hdr, cfg.KEM)
	hdr = binary.BigEndian.AppendUint16(hdr, suite.KDF)
	hdr = binary.BigEndian.AppendUint16(hdr, suite.AEAD)
	info := append(append([]byte(label), 0), hdr...)
	if rand == nil {
		rand = cryptoRand
	}
	var (
		enc []byte
		s   sealer
		err error
	)
	if cfg.KEM == KEMX25519 {
		enc, s, err = newX25519Sender(cfg.PublicKey, suite.AEAD, info, rand)
	} else {
		var pk hpke.PublicKey
		if pk, err = k.kem.NewPublicKey(cfg.PublicKey); err != nil {
			return nil, nil, fmt.Errorf("ohttp: %s public key: %w", k.name, err)
		}
		aead, _ := hpke.NewAEAD(suite.AEAD)
		enc, s, err = hpke.NewSender(pk, hpke.HKDFSHA256(), aead, info)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: HPKE sender: %w", err)
	}
	return append(hdr, enc...), &ClientContext{s: s, enc: enc, aead: suite.AEAD}, nil
}

var cryptoRand = rand.Reader

// EncapsulateRequest seals a binary HTTP request to a gateway's key
// configuration with one of its suites (RFC 9458 section 4.3).
//
// For X25519 configurations the ephemeral key is the 32 bytes read from
// rand (nil means crypto/rand), so a deterministic source gives a
// reproducible message. For the hybrid KEM crypto/hpke draws its own
// randomness and rand is not used.
func EncapsulateRequest(cfg KeyConfig, suite Suite, plaintext []byte, rand io.Reader) (msg []byte, ctx *ClientContext, err error) {
	hdr, ctx, err := sender(cfg, suite, labelRequest, rand)
	if err != nil {
		return nil, nil, err
	}
	ct, err := ctx.s.Seal(nil, plaintext)
	if err != nil {
		return nil, nil, fmt.Errorf("ohttp: seal request: %w", err)
	}
	return append(hdr, ct...), ctx, nil
}

// DecapsulateResponse opens an encapsulated response (RFC 9458 4.4).
func (c *ClientContext) DecapsulateResponse(msg []byte) ([]byte, error) {
	return c.AppendDecapsulatedResponse(nil, msg)
}

// AppendDecapsulatedResponse appends the opened response to dst, so a
// caller can decrypt into memory of its choosing.
func (c *ClientContext) AppendDecapsulatedResponse(dst, msg []byte) ([]byte, error) {
	if c.chunked {
		return nil, errors.New("ohttp: a chunked request's response is chunked (NewChunkedResponseReader)")
	}
	n := responseNonceLen(c.aead)
	if len(msg) < n+16 {
		return nil, fmt.Errorf("ohttp: response of %d bytes is shorter than its nonce and tag: %w", len(msg), ErrMalformed)
	}
	aead, nonce, err := responseKeys(c.s, labelResponse, c.aead, c.enc, msg[:n])
	if err != nil {
		return nil, fmt.Errorf("ohttp: response keys: %w", err)
	}
	out, err := aead.Open(dst, nonce, msg[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("ohttp: response: %w", ErrDecrypt)
	}
	return out, nil
}
