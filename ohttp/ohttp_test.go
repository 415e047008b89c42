package ohttp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
)

var kems = []struct {
	name string
	id   uint16
}{{"X25519", KEMX25519}, {"MLKEM768-X25519", KEMMLKEM768X25519}}

func newGateway(t testing.TB, id uint8, kem uint16) (*Gateway, *PrivateKey) {
	t.Helper()
	k, err := GenerateKey(id, kem, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGateway(k)
	if err != nil {
		t.Fatal(err)
	}
	return g, k
}

func TestRoundTrip(t *testing.T) {
	suite := Suite{KDFHKDFSHA256, AEADAES128GCM}
	for _, kem := range kems {
		g, k := newGateway(t, 3, kem.id)
		for _, size := range []int{0, 1, 4096, 100_000} {
			req, resp := make([]byte, size), make([]byte, size+7)
			rand.Read(req)
			rand.Read(resp)
			msg, cctx, err := EncapsulateRequest(k.Config(), suite, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, gctx, err := g.DecapsulateRequest(msg)
			if err != nil || !bytes.Equal(got, req) {
				t.Fatalf("%s %d: request %v", kem.name, size, err)
			}
			sealed, err := gctx.AppendEncapsulatedResponse([]byte("prefix"), resp)
			if err != nil || !bytes.HasPrefix(sealed, []byte("prefix")) {
				t.Fatalf("%s %d: response %v", kem.name, size, err)
			}
			opened, err := cctx.AppendDecapsulatedResponse([]byte("dst"), sealed[6:])
			if err != nil || !bytes.Equal(opened, append([]byte("dst"), resp...)) {
				t.Fatalf("%s %d: open response %v", kem.name, size, err)
			}
		}
	}
}

func TestGenerateKeyDeterministic(t *testing.T) {
	for _, kem := range kems {
		seed := bytes.Repeat([]byte{0x42}, 32)
		a, err := GenerateKey(1, kem.id, bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := GenerateKey(1, kem.id, bytes.NewReader(seed))
		seed[1] ^= 1 // not byte 0: X25519 clamps its low bits
		c, _ := GenerateKey(1, kem.id, bytes.NewReader(seed))
		if !bytes.Equal(a.Config().PublicKey, b.Config().PublicKey) || bytes.Equal(a.Config().PublicKey, c.Config().PublicKey) {
			t.Fatalf("%s: key is not a function of the seed", kem.name)
		}
		if _, err := GenerateKey(1, kem.id, bytes.NewReader(seed[:31])); err == nil {
			t.Fatalf("%s: short randomness accepted", kem.name)
		}
	}
	if _, err := GenerateKey(1, 0x0010, rand.Reader); err == nil {
		t.Fatal("P-256 KEM accepted")
	}
}

// A gateway holding the current and the previous key opens requests to
// both; one without the previous key refuses them as unknown.
func TestRotation(t *testing.T) {
	prev, _ := GenerateKey(1, KEMX25519, rand.Reader)
	cur, _ := GenerateKey(2, KEMMLKEM768X25519, rand.Reader)
	g, err := NewGateway(cur, prev)
	if err != nil {
		t.Fatal(err)
	}
	if cs := g.KeyConfigs(); len(cs) != 2 || cs[0].KeyID != 2 || cs[1].KeyID != 1 {
		t.Fatalf("configs %+v", cs)
	}
	only, _ := NewGateway(cur)
	for _, k := range []*PrivateKey{prev, cur} {
		msg, _, err := EncapsulateRequest(k.Config(), Suite{1, 1}, []byte("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.DecapsulateRequest(msg); err != nil {
			t.Fatalf("key %d: %v", k.config.KeyID, err)
		}
		_, _, err = only.DecapsulateRequest(msg)
		if (k == prev) != errors.Is(err, ErrUnknownKey) {
			t.Fatalf("key %d without rotation: %v", k.config.KeyID, err)
		}
	}
	if _, err := NewGateway(prev, prev); err == nil {
		t.Fatal("duplicate key ids accepted")
	}
	if _, err := NewGateway(); err == nil {
		t.Fatal("gateway without keys accepted")
	}
}

func TestGatewayErrors(t *testing.T) {
	for _, kem := range kems {
		g, k := newGateway(t, 7, kem.id)
		msg, cctx, err := EncapsulateRequest(k.Config(), Suite{1, 1}, []byte("hello"), nil)
		if err != nil {
			t.Fatal(err)
		}
		nenc := 32
		if kem.id == KEMMLKEM768X25519 {
			nenc = 1120
		}
		edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(msg)) }
		for _, tc := range []struct {
			name string
			msg  []byte
			want error
		}{
			{"empty", nil, ErrMalformed},
			{"short header", msg[:6], ErrMalformed},
			{"truncated enc", msg[:7+nenc-1], ErrMalformed},
			{"wrong key id", edit(func(b []byte) []byte { b[0] = 8; return b }), ErrUnknownKey},
			{"wrong KEM", edit(func(b []byte) []byte { b[2] ^= 0x01; return b }), ErrUnknownKey},
			{"unoffered AEAD", edit(func(b []byte) []byte { b[6] = 3; return b }), ErrUnknownKey},
			{"unoffered KDF", edit(func(b []byte) []byte { b[4] = 2; return b }), ErrUnknownKey},
			{"flipped tag byte", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrDecrypt},
			{"flipped enc byte", edit(func(b []byte) []byte { b[7+nenc-1] ^= 0x80; return b }), ErrDecrypt},
			{"no ciphertext", msg[:7+nenc], ErrDecrypt},
			{"hdr not bound", edit(func(b []byte) []byte { b[6] = 2; return b }), ErrUnknownKey},
		} {
			_, _, err := g.DecapsulateRequest(tc.msg)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s %s: got %v, want %v", kem.name, tc.name, err, tc.want)
			}
		}
		_, gctx, _ := g.DecapsulateRequest(msg)
		resp, _ := gctx.EncapsulateResponse([]byte("world"))
		for _, tc := range []struct {
			name string
			msg  []byte
			want error
		}{
			{"short", resp[:31], ErrMalformed},
			{"flipped nonce", append([]byte{resp[0] ^ 1}, resp[1:]...), ErrDecrypt},
			{"flipped tag", append(slices.Clone(resp[:len(resp)-1]), resp[len(resp)-1]^1), ErrDecrypt},
		} {
			if _, err := cctx.DecapsulateResponse(tc.msg); !errors.Is(err, tc.want) {
				t.Errorf("%s response %s: got %v, want %v", kem.name, tc.name, err, tc.want)
			}
		}
	}
}

// The AEAD in the header is authenticated: a request sealed for
// AES-128-GCM but relabelled AES-256-GCM (which this gateway would accept
// if offered) fails to decrypt.
func TestHeaderIsBound(t *testing.T) {
	k, _ := GenerateKey(1, KEMX25519, rand.Reader)
	k.config.Suites = append(k.config.Suites, Suite{KDFHKDFSHA256, AEADAES256GCM})
	g, _ := NewGateway(k)
	msg, _, _ := EncapsulateRequest(k.Config(), Suite{1, 1}, []byte("hello"), nil)
	msg[6] = 2
	if _, _, err := g.DecapsulateRequest(msg); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("got %v", err)
	}
	msg, cctx, err := EncapsulateRequest(k.Config(), Suite{1, 2}, []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, gctx, err := g.DecapsulateRequest(msg)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := gctx.EncapsulateResponse([]byte("aes-256"))
	if len(resp) != 32+7+16 {
		t.Fatalf("AES-256-GCM response nonce is not max(Nn, Nk) = 32: %d bytes", len(resp))
	}
	if got, err := cctx.DecapsulateResponse(resp); err != nil || string(got) != "aes-256" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestEncapsulateRequestRefuses(t *testing.T) {
	_, k := newGateway(t, 1, KEMX25519)
	for _, tc := range []struct {
		name  string
		cfg   KeyConfig
		suite Suite
	}{
		{"suite not offered", k.Config(), Suite{1, 2}},
		{"unknown KEM", KeyConfig{KEM: 0x10, PublicKey: k.Config().PublicKey, Suites: []Suite{{1, 1}}}, Suite{1, 1}},
		{"bad public key", KeyConfig{KEM: KEMX25519, PublicKey: []byte{1, 2}, Suites: []Suite{{1, 1}}}, Suite{1, 1}},
		{"ChaCha20", KeyConfig{KEM: KEMX25519, PublicKey: k.Config().PublicKey, Suites: []Suite{{1, 3}}}, Suite{1, 3}},
	} {
		if _, _, err := EncapsulateRequest(tc.cfg, tc.suite, nil, nil); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestKeyConfigs(t *testing.T) {
	_, a := newGateway(t, 1, KEMX25519)
	_, b := newGateway(t, 2, KEMMLKEM768X25519)
	cs := []KeyConfig{b.Config(), a.Config()}
	wire := MarshalKeyConfigs(cs)
	got, err := ParseKeyConfigs(wire)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, cs, func(x, y KeyConfig) bool { return bytes.Equal(x.Marshal(), y.Marshal()) }) {
		t.Fatalf("round trip changed the configurations")
	}
	// An entry with a KEM we do not know is skipped (P-256 here).
	p256 := KeyConfig{KeyID: 9, KEM: 0x0010, PublicKey: make([]byte, 65), Suites: []Suite{{1, 1}}}
	got, err = ParseKeyConfigs(MarshalKeyConfigs([]KeyConfig{p256, a.Config()}))
	if err != nil || len(got) != 1 || got[0].KeyID != 1 {
		t.Fatalf("unknown KEM not skipped: %+v %v", got, err)
	}
	mlkemBad := b.Config()
	mlkemBad.PublicKey = bytes.Repeat([]byte{0xff}, len(mlkemBad.PublicKey))
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrUnknownKey, "no usable"},
		{"only unknown", MarshalKeyConfigs([]KeyConfig{p256}), ErrUnknownKey, "no usable"},
		{"stray byte", append(slices.Clone(wire), 0), ErrMalformed, "stray"},
		{"length past end", wire[:len(wire)-1], ErrMalformed, "runs past the end"},
		{"no suites", MarshalKeyConfigs([]KeyConfig{{KeyID: 1, KEM: KEMX25519, PublicKey: a.Config().PublicKey}}), ErrMalformed, "multiple of 4"},
		{"short key", []byte{0, 5, 1, 0, 0x20, 1, 2}, ErrMalformed, "public key"},
		{"invalid ML-KEM key", MarshalKeyConfigs([]KeyConfig{mlkemBad}), ErrMalformed, "invalid"},
		{"trailing in entry", []byte{0, 45, 1, 0, 0x20, 32: 0, 38: 4, 42: 1, 44: 1, 46: 0}, ErrMalformed, "after its end"},
	} {
		_, err := ParseKeyConfigs(tc.in)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %v with %q", tc.name, err, tc.want, tc.msg)
		}
	}
}

func FuzzDecapsulateRequest(f *testing.F) {
	k, _ := GenerateKey(1, KEMX25519, bytes.NewReader(unhex(f, rfc9458.skR)))
	h, _ := GenerateKey(2, KEMMLKEM768X25519, bytes.NewReader(make([]byte, 32)))
	g, _ := NewGateway(k, h)
	f.Add(unhex(f, rfc9458.encRequest))
	msg, _, _ := EncapsulateRequest(h.Config(), Suite{1, 1}, []byte("seed"), nil)
	f.Add(msg)
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, ctx, err := g.DecapsulateRequest(b)
		if err == nil {
			// Only a sealed message opens; a fuzzer finding one would be
			// a forgery, unless it kept a seed's ciphertext intact.
			if ctx == nil || (!bytes.Equal(pt, unhex(t, rfc9458.request)) && string(pt) != "seed") {
				t.Fatalf("forged request opened: %x", pt)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func FuzzParseKeyConfigs(f *testing.F) {
	_, a := newGateway(f, 1, KEMX25519)
	_, b := newGateway(f, 2, KEMMLKEM768X25519)
	f.Add(MarshalKeyConfigs([]KeyConfig{a.Config(), b.Config()}))
	f.Add(append([]byte{0, 45}, unhex(f, rfc9458.config)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		cs, err := ParseKeyConfigs(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := ParseKeyConfigs(MarshalKeyConfigs(cs))
		if err != nil || !slices.EqualFunc(again, cs, func(x, y KeyConfig) bool { return bytes.Equal(x.Marshal(), y.Marshal()) }) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzDecapsulateResponse(f *testing.F) {
	g, k := newGateway(f, 1, KEMX25519)
	msg, cctx, _ := EncapsulateRequest(k.Config(), Suite{1, 1}, []byte("q"), nil)
	_, gctx, _ := g.DecapsulateRequest(msg)
	resp, _ := gctx.EncapsulateResponse([]byte("answer"))
	f.Add(resp)
	f.Add(resp[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := cctx.DecapsulateResponse(b)
		if err == nil && string(got) != "answer" {
			t.Fatalf("forged response accepted: %q", got)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
