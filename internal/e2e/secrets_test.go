package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/internal/memscan"
	"github.com/pith-project/pith/ohttp"
)

// hpkeSecrets are the secrets of one RFC 9458 exchange over
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-128-GCM, worked out
// from the client's ephemeral private key as RFC 9180 section 5.1 and RFC
// 9458 section 4.4 derive them: whoever has any of them reads the request
// or its answer, so the gateway's copies are request content too.
type hpkeSecrets struct {
	dh, shared, key, baseNonce, exporter []byte // the request's context
	respSecret, respKey, respNonce       []byte // the response's
}

func labeledExtract(t *testing.T, suite, salt []byte, label string, ikm []byte) []byte {
	t.Helper()
	in := append(append(append([]byte("HPKE-v1"), suite...), label...), ikm...)
	prk, err := hkdf.Extract(sha256.New, in, salt)
	if err != nil {
		t.Fatal(err)
	}
	return prk
}

func labeledExpand(t *testing.T, suite, prk []byte, label string, info []byte, n int) []byte {
	t.Helper()
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(append(append(in, "HPKE-v1"...), suite...), label...), info...)
	out, err := hkdf.Expand(sha256.New, prk, string(in), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deriveSecrets works the exchange's secrets out from skE, the client's
// ephemeral X25519 key, pkR the gateway's public key, hdr the request's
// key id and suite, and respNonce the answer's first 16 bytes.
func deriveSecrets(t *testing.T, skE, pkR, hdr, respNonce []byte) hpkeSecrets {
	t.Helper()
	sk, err := ecdh.X25519().NewPrivateKey(skE)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ecdh.X25519().NewPublicKey(pkR)
	if err != nil {
		t.Fatal(err)
	}
	var s hpkeSecrets
	if s.dh, err = sk.ECDH(pk); err != nil {
		t.Fatal(err)
	}
	enc := sk.PublicKey().Bytes()
	kemSuite := []byte("KEM\x00\x20")
	s.shared = labeledExpand(t, kemSuite, labeledExtract(t, kemSuite, nil, "eae_prk", s.dh), "shared_secret", append(append([]byte{}, enc...), pkR...), 32)
	suite := []byte("HPKE\x00\x20\x00\x01\x00\x01")
	info := append([]byte("message/bhttp request\x00"), hdr...)
	ks := []byte{0} // mode_base
	ks = append(ks, labeledExtract(t, suite, nil, "psk_id_hash", nil)...)
	ks = append(ks, labeledExtract(t, suite, nil, "info_hash", info)...)
	secret := labeledExtract(t, suite, s.shared, "secret", nil)
	s.key = labeledExpand(t, suite, secret, "key", ks, 16)
	s.baseNonce = labeledExpand(t, suite, secret, "base_nonce", ks, 12)
	s.exporter = labeledExpand(t, suite, secret, "exp", ks, 32)
	s.respSecret = labeledExpand(t, suite, s.exporter, "sec", []byte("message/bhttp response"), 16)
	prk, err := hkdf.Extract(sha256.New, s.respSecret, append(append([]byte{}, enc...), respNonce...))
	if err != nil {
		t.Fatal(err)
	}
	if s.respKey, err = hkdf.Expand(sha256.New, prk, "key", 16); err != nil {
		t.Fatal(err)
	}
	if s.respNonce, err = hkdf.Expand(sha256.New, prk, "nonce", 12); err != nil {
		t.Fatal(err)
	}
	return s
}

// sealedBySecrets sends a summary of text through the gateway as one RFC
// 9458 message sealed to the X25519 key, with an ephemeral key the test
// chose, and returns the needles of the exchange's secrets, every one of
// which the gateway holds while it answers, and the summary. The secrets are
// checked against the exchange itself: the answer must open with the
// response key worked out here, or the needles are not the exchange's.
func (s *served) sealedBySecrets(t *testing.T, text string) (forms, string) {
	t.Helper()
	resp, err := http.Get(s.url + "/.well-known/ohttp-gateway")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := ohttp.ParseKeyConfigs(raw)
	if err != nil {
		t.Fatal(err)
	}
	var cfg *ohttp.KeyConfig
	for i := range cfgs {
		if cfgs[i].KEM == ohttp.KEMX25519 {
			cfg = &cfgs[i]
		}
	}
	if cfg == nil {
		t.Fatal("the gateway offers no X25519 key configuration")
	}
	body, _ := json.Marshal(map[string]any{"messages": []map[string]string{
		{"from": "Ed", "text": "the word is " + text + " ok"}, {"from": "Flo", "text": "fine"}}, "max_words": 20})
	inner, err := (&bhttp.Request{Method: "POST", Scheme: "https", Authority: "pith", Path: "/v1/summarize",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body}).MarshalKnownLength()
	if err != nil {
		t.Fatal(err)
	}
	skE := make([]byte, 32)
	rand.Read(skE)
	suite := ohttp.Suite{KDF: ohttp.KDFHKDFSHA256, AEAD: ohttp.AEADAES128GCM}
	msg, cctx, err := ohttp.EncapsulateRequest(*cfg, suite, inner, bytes.NewReader(skE))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Post(s.url+"/v1/ohttp", "message/ohttp-req", bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(sealed) < 16+16 {
		t.Fatalf("gateway: %s, %d bytes, %v", resp.Status, len(sealed), err)
	}
	plain, err := cctx.DecapsulateResponse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	br, err := bhttp.ParseResponse(plain)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Summary string }
	if err := json.Unmarshal(br.Body, &sum); err != nil || br.Status != 200 {
		t.Fatalf("inner answer %d: %v", br.Status, err)
	}
	sec := deriveSecrets(t, skE, cfg.PublicKey, msg[:7], sealed[:16])
	// The check that these are the exchange's secrets: the answer opens
	// with the key and nonce worked out here.
	block, err := aes.NewCipher(sec.respKey)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aead.Open(nil, sec.respNonce, sealed[16:], nil); err != nil {
		t.Fatalf("the response key worked out from the ephemeral key does not open the answer: %v", err)
	}
	f := forms{
		shown: []memscan.Needle{
			{Name: "HPKE request key", Bytes: sec.key},
			{Name: "HPKE base nonce", Bytes: sec.baseNonce},
			{Name: "HPKE exporter secret", Bytes: sec.exporter},
			{Name: "OHTTP response key", Bytes: sec.respKey},
			{Name: "X25519 shared point", Bytes: sec.dh},
			{Name: "HPKE KEM shared secret", Bytes: sec.shared},
			{Name: "OHTTP response secret", Bytes: sec.respSecret},
			{Name: "OHTTP response nonce", Bytes: sec.respNonce},
		},
	}
	return f, sum.Summary
}
