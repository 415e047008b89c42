package client

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/pith-project/pith/ohttp"
)

// The client seals with a suite it supports, whichever the configuration
// lists first, and passes over a configuration with none (RFC 9458
// section 3 leaves the choice to the client).
func TestPickConfigSuite(t *testing.T) {
	key := func(id uint8, kem uint16, suites ...ohttp.Suite) ohttp.KeyConfig {
		k, err := ohttp.GenerateKey(id, kem, bytes.NewReader(make([]byte, 4096)))
		if err != nil {
			t.Fatal(err)
		}
		c := k.Config()
		c.Suites = suites
		return c
	}
	chacha := ohttp.Suite{KDF: ohttp.KDFHKDFSHA256, AEAD: 0x0003}
	aes128 := ohttp.Suite{KDF: ohttp.KDFHKDFSHA256, AEAD: ohttp.AEADAES128GCM}
	aes256 := ohttp.Suite{KDF: ohttp.KDFHKDFSHA256, AEAD: ohttp.AEADAES256GCM}
	for _, tc := range []struct {
		name    string
		cfgs    []ohttp.KeyConfig
		wantID  uint8
		want    ohttp.Suite
		wantErr bool
	}{
		{"first suite unsupported", []ohttp.KeyConfig{key(1, ohttp.KEMMLKEM768X25519, chacha, aes256)}, 1, aes256, false},
		{"hybrid with none supported", []ohttp.KeyConfig{key(1, ohttp.KEMMLKEM768X25519, chacha), key(2, ohttp.KEMX25519, chacha, aes128)}, 2, aes128, false},
		{"hybrid preferred", []ohttp.KeyConfig{key(2, ohttp.KEMX25519, aes128), key(1, ohttp.KEMMLKEM768X25519, aes128)}, 1, aes128, false},
		{"none supported", []ohttp.KeyConfig{key(1, ohttp.KEMX25519, chacha)}, 0, ohttp.Suite{}, true},
	} {
		cfg, suite, err := pickConfig(ohttp.MarshalKeyConfigs(tc.cfgs))
		if (err != nil) != tc.wantErr || cfg.KeyID != tc.wantID || suite != tc.want {
			t.Errorf("%s: key %d suite %+v err %v, want key %d suite %+v", tc.name, cfg.KeyID, suite, err, tc.wantID, tc.want)
			continue
		}
		if err == nil {
			if _, _, err := ohttp.EncapsulateRequest(cfg, suite, []byte("x"), nil); err != nil {
				t.Errorf("%s: sealing with the picked suite: %v", tc.name, err)
			}
		}
	}
}

// Of a request's fields only what the enclave reads goes inside the seal:
// a local application's own (behind pith proxy) could tell the enclave
// which client it serves.
func TestSealedFields(t *testing.T) {
	in := http.Header{
		"Content-Type": {"application/json"}, "Accept": {"application/x-ndjson"}, NonceHeader: {"ab12"},
		"User-Agent": {"ollama/0.5.1 (amd64 linux) Go/1.22"}, "Cookie": {"session=1"}, "Authorization": {"Bearer x"},
		"Accept-Language": {"fr-CH"}, "X-Request-Id": {"42"}, "Connection": {"keep-alive"}, "Host": {"localhost"},
	}
	got := cleanHeader(in)
	want := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/x-ndjson"}, NonceHeader: {"ab12"}}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("sealed fields %v, want %v", got, want)
	}
}
