package ohttp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
)

// hpkeJS plays an independent OHTTP client or gateway with @hpke/core and
// @hpke/dhkem-x25519 or @hpke/hybridkem-x-wing (input.kem), deriving the
// response keys with WebCrypto's HKDF and AES-GCM. Chunked messages follow
// draft-ietf-ohai-chunked-ohttp.
const hpkeJS = `
import fs from 'node:fs';
import { CipherSuite, HkdfSha256, Aes128Gcm } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { XWing } from '@hpke/hybridkem-x-wing';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const xwing = input.kem === 0x647a;
const nenc = xwing ? 1120 : 32;
const suite = new CipherSuite({ kem: xwing ? new XWing() : new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
const te = new TextEncoder();
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b) => Buffer.from(new Uint8Array(b)).toString('hex');
const cat = (...a) => { const o = new Uint8Array(a.reduce((n, x) => n + x.length, 0)); let i = 0; for (const x of a) { o.set(x, i); i += x.length; } return o; };
const varint = (n) => n < 64 ? Uint8Array.of(n) : n < 16384 ? Uint8Array.of(0x40 | (n >> 8), n & 255) : (() => { throw new Error('chunk too long'); })();
const label = input.chunked ? 'message/bhttp chunked ' : 'message/bhttp ';
const hdr = cat(Uint8Array.of(input.keyId, suite.kem.id >> 8, suite.kem.id & 255, 0x00, 0x01, 0x00, 0x01));
const info = cat(te.encode(label + 'request'), Uint8Array.of(0), hdr);

// Response keys (RFC 9458 section 4.4) from an HPKE context.
async function responseKeys(ctx, enc, nonce) {
  const secret = new Uint8Array(await ctx.export(te.encode(label + 'response'), 16));
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const salt = cat(enc, nonce);
  const bits = async (what, n) => new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: te.encode(what) }, ikm, 8 * n));
  const key = await crypto.subtle.importKey('raw', await bits('key', 16), 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { key, iv: await bits('nonce', 12) };
}
const chunkIV = (iv, i) => { const n = iv.slice(); n[11] ^= i & 255; n[10] ^= (i >> 8) & 255; return n; };

// Splits a chunked body (after its header) into [sealed chunk, final?].
function splitChunks(b) {
  const out = [];
  let i = 0;
  for (;;) {
    const first = b[i], len = 1 << (first >> 6);
    let n = first & 0x3f;
    for (let k = 1; k < len; k++) n = n * 256 + b[i + k];
    i += len;
    if (n === 0) { out.push([b.slice(i), true]); return out; }
    out.push([b.slice(i, i + n), false]); i += n;
  }
}

let out = {};
if (input.op === 'client') {
  const pkR = await suite.kem.deserializePublicKey(unhex(input.pk));
  const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info, ekm: unhex(input.ikmE) });
  const enc = new Uint8Array(sender.enc);
  const req = unhex(input.request);
  if (input.chunked) {
    const parts = [hdr, enc];
    for (let i = 0; i < req.length; i += 7) {
      const ct = new Uint8Array(await sender.seal(req.slice(i, i + 7)));
      parts.push(varint(ct.length), ct);
    }
    parts.push(Uint8Array.of(0), new Uint8Array(await sender.seal(new Uint8Array(0), te.encode('final'))));
    out.msg = hex(cat(...parts));
  } else {
    out.msg = hex(cat(hdr, enc, new Uint8Array(await sender.seal(req))));
  }
  if (input.response) {
    const resp = unhex(input.response);
    const { key, iv } = await responseKeys(sender, enc, resp.slice(0, 16));
    if (input.chunked) {
      const pts = [];
      let i = 0, final = false;
      for (const [ct, fin] of splitChunks(resp.slice(16))) {
        pts.push(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: chunkIV(iv, i++), additionalData: fin ? te.encode('final') : new Uint8Array(0) }, key, ct)));
        final = fin;
      }
      if (!final) throw new Error('no final chunk');
      out.response = hex(cat(...pts));
    } else {
      out.response = hex(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, resp.slice(16)));
    }
  }
} else {
  const msg = unhex(input.msg);
  const skR = await suite.kem.deserializePrivateKey(unhex(input.sk));
  const enc = msg.slice(7, 7 + nenc);
  const recipient = await suite.createRecipientContext({ recipientKey: skR, enc, info: cat(te.encode(label + 'request'), Uint8Array.of(0), msg.slice(0, 7)) });
  const nonce = unhex(input.nonce);
  const { key, iv } = await responseKeys(recipient, enc, nonce);
  const resp = unhex(input.response);
  if (input.chunked) {
    const pts = [];
    for (const [ct, fin] of splitChunks(msg.slice(7 + nenc))) pts.push(new Uint8Array(await recipient.open(ct, fin ? te.encode('final') : undefined)));
    out.request = hex(cat(...pts));
    const parts = [nonce];
    let i = 0;
    for (let j = 0; j < resp.length; j += 5) {
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: chunkIV(iv, i++) }, key, resp.slice(j, j + 5)));
      parts.push(varint(ct.length), ct);
    }
    parts.push(Uint8Array.of(0), new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: chunkIV(iv, i++), additionalData: te.encode('final') }, key, new Uint8Array(0))));
    out.msg = hex(cat(...parts));
  } else {
    out.request = hex(await recipient.open(msg.slice(7 + nenc)));
    out.msg = hex(cat(nonce, new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, resp))));
  }
}
process.stdout.write(JSON.stringify(out));
`

type jsIO struct {
	Op       string `json:"op"`
	KEM      uint16 `json:"kem"`
	Chunked  bool   `json:"chunked"`
	KeyID    uint8  `json:"keyId"`
	PK       string `json:"pk,omitempty"`
	SK       string `json:"sk,omitempty"`
	IkmE     string `json:"ikmE,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
	Msg      string `json:"msg,omitempty"`
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A node client seals to our gateway and opens our response, with either
// KEM: the hybrid one as @hpke/hybridkem-x-wing implements X-Wing.
func TestNPMClientToGoGateway(t *testing.T) {
	oracle.Require(t, oracle.NPM)
	for _, kem := range kems {
		t.Run(kem.name, func(t *testing.T) { npmClientToGoGateway(t, kem.id) })
	}
}

func npmClientToGoGateway(t *testing.T, kem uint16) {
	key, err := GenerateKey(5, kem, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := NewGateway(key)
	request := []byte("\x00\x04POST\x05https\x0cpith.example\x0d/api/generate" + "canary-" + hex.EncodeToString(randBytes(t, 16)))
	response := randBytes(t, 50)
	for _, chunked := range []bool{false, true} {
		// The sender's randomness, so that node makes the same context
		// again to open the answer: X25519's scalar, or X-Wing's 64 bytes
		// of encapsulation randomness.
		ikmE := randBytes(t, 32)
		if kem == KEMMLKEM768X25519 {
			ikmE = randBytes(t, 64)
		}
		in := jsIO{Op: "client", KEM: kem, Chunked: chunked, KeyID: 5, PK: hex.EncodeToString(key.Config().PublicKey),
			IkmE: hex.EncodeToString(ikmE), Request: hex.EncodeToString(request)}
		var sealed jsIO
		oracle.Node(t, hpkeJS, in, &sealed)
		msg := mustHex(t, sealed.Msg)
		var encResp []byte
		if chunked {
			r, ctx, err := g.NewChunkedRequestReader(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, request) {
				t.Fatalf("chunked request from node: %q %v", got, err)
			}
			var buf bytes.Buffer
			w, err := NewChunkedResponseWriter(ctx, &buf)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(response[:20])
			w.Write(response[20:])
			w.Close()
			encResp = buf.Bytes()
		} else {
			got, ctx, err := g.DecapsulateRequest(msg)
			if err != nil || !bytes.Equal(got, request) {
				t.Fatalf("request from node: %q %v", got, err)
			}
			if encResp, err = ctx.EncapsulateResponse(response); err != nil {
				t.Fatal(err)
			}
		}
		in.Response = hex.EncodeToString(encResp)
		var opened jsIO
		oracle.Node(t, hpkeJS, in, &opened)
		if opened.Msg != sealed.Msg || opened.Response != hex.EncodeToString(response) {
			t.Fatalf("chunked=%v: node opened %s, want %x", chunked, opened.Response, response)
		}
	}
}

// Our client seals to a node gateway and opens its response, with either
// KEM; the node gateway's private key is made from the same 32 bytes (the
// X25519 scalar, or the X-Wing seed).
func TestGoClientToNPMGateway(t *testing.T) {
	oracle.Require(t, oracle.NPM)
	for _, kem := range kems {
		t.Run(kem.name, func(t *testing.T) { goClientToNPMGateway(t, kem.id) })
	}
}

func goClientToNPMGateway(t *testing.T, kem uint16) {
	sk := randBytes(t, 32)
	key, err := GenerateKey(9, kem, bytes.NewReader(sk))
	if err != nil {
		t.Fatal(err)
	}
	request := []byte("\x00\x03GET\x05https\x00\x09/api/tags" + hex.EncodeToString(randBytes(t, 20)))
	response := randBytes(t, 33)
	suite := Suite{KDFHKDFSHA256, AEADAES128GCM}
	for _, chunked := range []bool{false, true} {
		var msg []byte
		var ctx *ClientContext
		if chunked {
			var buf bytes.Buffer
			w, c, err := NewChunkedRequestWriter(key.Config(), suite, &buf, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(request[:10])
			w.Write(request[10:])
			w.Close()
			msg, ctx = buf.Bytes(), c
		} else {
			if msg, ctx, err = EncapsulateRequest(key.Config(), suite, request, nil); err != nil {
				t.Fatal(err)
			}
		}
		in := jsIO{Op: "gateway", KEM: kem, Chunked: chunked, KeyID: 9, SK: hex.EncodeToString(sk), Msg: hex.EncodeToString(msg),
			Nonce: hex.EncodeToString(randBytes(t, 16)), Response: hex.EncodeToString(response)}
		var out jsIO
		oracle.Node(t, hpkeJS, in, &out)
		if out.Request != hex.EncodeToString(request) {
			t.Fatalf("chunked=%v: node gateway opened %s", chunked, out.Request)
		}
		var got []byte
		if chunked {
			got, err = io.ReadAll(NewChunkedResponseReader(ctx, bytes.NewReader(mustHex(t, out.Msg))))
		} else {
			got, err = ctx.DecapsulateResponse(mustHex(t, out.Msg))
		}
		if err != nil || !bytes.Equal(got, response) {
			t.Fatalf("chunked=%v: response from node %x %v", chunked, got, err)
		}
	}
}
