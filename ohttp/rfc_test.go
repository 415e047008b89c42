package ohttp

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pith-project/pith/bhttp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 9458 Appendix A, as printed there.
var rfc9458 = struct {
	skR, config, request, skE, encRequest, response, responseNonce, encResponse string
}{
	skR:     "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a",
	config:  "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e 79815500080001000100010003",
	request: "00034745540568747470730b6578616d706c652e636f6d012f",
	skE:     "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73",
	encRequest: `010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad1
9dec96c208b4726374e469135906992e1268c594d2a10c695d858c40a026e796
5e7d86b83dd440b2c0185204b4d63525`,
	response:      "0140c8",
	responseNonce: "c789e7151fcba46158ca84b04464910d",
	encResponse: `c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f
857fbd`,
}

func TestRFC9458AppendixA(t *testing.T) {
	v := rfc9458
	key, err := GenerateKey(1, KEMX25519, bytes.NewReader(unhex(t, v.skR)))
	if err != nil {
		t.Fatal(err)
	}
	// The RFC's gateway also offers ChaCha20-Poly1305 (AEAD 3).
	key.config.Suites = append(key.config.Suites, Suite{KDFHKDFSHA256, 3})
	cfg := key.Config()
	if got := cfg.Marshal(); !bytes.Equal(got, unhex(t, v.config)) {
		t.Fatalf("key configuration\n%x\nwant\n%x", got, unhex(t, v.config))
	}
	parsed, err := ParseKeyConfig(unhex(t, v.config))
	if err != nil || !bytes.Equal(parsed.Marshal(), unhex(t, v.config)) {
		t.Fatalf("ParseKeyConfig: %v %+v", err, parsed)
	}

	// Client, with the RFC's ephemeral key.
	suite := Suite{KDFHKDFSHA256, AEADAES128GCM}
	msg, cctx, err := EncapsulateRequest(parsed, suite, unhex(t, v.request), bytes.NewReader(unhex(t, v.skE)))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, v.encRequest); !bytes.Equal(msg, want) {
		t.Fatalf("encapsulated request\n%x\nwant\n%x", msg, want)
	}

	// Gateway, with the RFC's response nonce.
	g, err := NewGateway(key)
	if err != nil {
		t.Fatal(err)
	}
	g.Rand = bytes.NewReader(unhex(t, v.responseNonce))
	pt, gctx, err := g.DecapsulateRequest(unhex(t, v.encRequest))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt, unhex(t, v.request)) {
		t.Fatalf("request plaintext %x", pt)
	}
	req, err := bhttp.ParseRequest(pt)
	if err != nil || req.Method != "GET" || req.Authority != "example.com" || req.Path != "/" {
		t.Fatalf("inner request %+v %v", req, err)
	}
	resp, err := gctx.EncapsulateResponse(unhex(t, v.response))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, v.encResponse); !bytes.Equal(resp, want) {
		t.Fatalf("encapsulated response\n%x\nwant\n%x", resp, want)
	}

	// Client opens the RFC's response.
	got, err := cctx.DecapsulateResponse(unhex(t, v.encResponse))
	if err != nil || !bytes.Equal(got, unhex(t, v.response)) {
		t.Fatalf("response %x %v", got, err)
	}
}

// crypto/hpke's own vectors for the hybrid KEM (draft-ietf-hpke-pq) in
// GOROOT: a key made by GenerateKey from the vector's secret has the
// vector's public key and opens the vector's ciphertext.
func TestMLKEM768X25519Vectors(t *testing.T) {
	data := goVectors(t, "hpke-pq.json")
	var vectors []struct {
		Mode        uint16 `json:"mode"`
		KEM         uint16 `json:"kem_id"`
		KDF         uint16 `json:"kdf_id"`
		AEAD        uint16 `json:"aead_id"`
		Info        string `json:"info"`
		SkRm        string `json:"skRm"`
		PkRm        string `json:"pkRm"`
		Enc         string `json:"enc"`
		Encryptions []struct {
			Aad string `json:"aad"`
			Ct  string `json:"ct"`
			Pt  string `json:"pt"`
		} `json:"encryptions"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, v := range vectors {
		if v.KEM != KEMMLKEM768X25519 || v.Mode != 0 {
			continue
		}
		seen++
		key, err := GenerateKey(7, KEMMLKEM768X25519, bytes.NewReader(unhex(t, v.SkRm)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(key.Config().PublicKey, unhex(t, v.PkRm)) {
			t.Fatalf("public key from the vector's secret differs")
		}
		kdf, _ := hpke.NewKDF(v.KDF)
		aead, _ := hpke.NewAEAD(v.AEAD)
		r, err := hpke.NewRecipient(unhex(t, v.Enc), key.key, kdf, aead, unhex(t, v.Info))
		if err != nil {
			t.Fatal(err)
		}
		e := v.Encryptions[0]
		pt, err := r.Open(unhex(t, e.Aad), unhex(t, e.Ct))
		if err != nil || !bytes.Equal(pt, unhex(t, e.Pt)) {
			t.Fatalf("vector ciphertext: %x %v", pt, err)
		}
	}
	if seen == 0 {
		t.Fatal("no MLKEM768-X25519 vector in hpke-pq.json")
	}
}

// RFC 9180's vectors for DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and
// AES-GCM, as Go keeps them in GOROOT (1000 seals and 1000 exports each,
// accumulated through SHAKE128 the way crypto/hpke's own test does),
// checked against this package's sender.
func TestX25519SenderRFC9180(t *testing.T) {
	data := goVectors(t, "rfc9180.json")
	var vectors []struct {
		Mode           uint16 `json:"mode"`
		KEM            uint16 `json:"kem_id"`
		KDF            uint16 `json:"kdf_id"`
		AEAD           uint16 `json:"aead_id"`
		Info           string `json:"info"`
		IkmE           string `json:"ikmE"`
		PkRm           string `json:"pkRm"`
		Enc            string `json:"enc"`
		AccEncryptions string `json:"encryptions_accumulated"`
		AccExports     string `json:"exports_accumulated"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	draw := func(r io.Reader) []byte {
		l := make([]byte, 1)
		r.Read(l)
		b := make([]byte, l[0])
		r.Read(b)
		return b
	}
	seen := 0
	for _, v := range vectors {
		if v.Mode != 0 || v.KEM != KEMX25519 || v.KDF != KDFHKDFSHA256 || (v.AEAD != AEADAES128GCM && v.AEAD != AEADAES256GCM) {
			continue
		}
		seen++
		skE, err := hpke.DHKEM(ecdh.X25519()).DeriveKeyPair(unhex(t, v.IkmE))
		if err != nil {
			t.Fatal(err)
		}
		skBytes, _ := skE.Bytes()
		enc, s, err := newX25519Sender(unhex(t, v.PkRm), v.AEAD, unhex(t, v.Info), bytes.NewReader(skBytes))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, unhex(t, v.Enc)) {
			t.Fatalf("aead %d: enc %x, want %s", v.AEAD, enc, v.Enc)
		}
		source, sink := sha3.NewSHAKE128(), sha3.NewSHAKE128()
		for range 1000 {
			aad, pt := draw(source), draw(source)
			ct, err := s.Seal(aad, pt)
			if err != nil {
				t.Fatal(err)
			}
			sink.Write(ct)
		}
		acc := make([]byte, 16)
		sink.Read(acc)
		if !bytes.Equal(acc, unhex(t, v.AccEncryptions)) {
			t.Fatalf("aead %d: accumulated encryptions %x, want %s", v.AEAD, acc, v.AccEncryptions)
		}
		source, sink = sha3.NewSHAKE128(), sha3.NewSHAKE128()
		for l := range 1000 {
			out, err := s.Export(string(draw(source)), l)
			if err != nil {
				t.Fatal(err)
			}
			sink.Write(out)
		}
		sink.Read(acc)
		if !bytes.Equal(acc, unhex(t, v.AccExports)) {
			t.Fatalf("aead %d: accumulated exports %x, want %s", v.AEAD, acc, v.AccExports)
		}
	}
	if seen < 2 {
		t.Fatalf("only %d X25519/AES-GCM vectors found", seen)
	}
}

// goVectors reads one of crypto/hpke's vector files from GOROOT.
func goVectors(t *testing.T, name string) []byte {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("go env GOROOT: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(goroot)), "src", "crypto", "hpke", "testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("Go's HPKE vectors not installed: %v", err)
	}
	return data
}
