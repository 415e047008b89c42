package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/pith-project/pith/internal/oracle"
)

// nodeClientJS is an OHTTP client nobody here wrote the parts of: it reads
// the gateway's key configurations (RFC 9540), takes the X25519 one, encodes
// a summarise request with bhttp-js, seals it with @hpke/core as RFC 9458
// says, posts it, and opens and decodes the answer.
const nodeClientJS = `
import fs from 'node:fs';
import { CipherSuite, HkdfSha256, Aes128Gcm } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { BHttpEncoder, BHttpDecoder } from 'bhttp-js';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const te = new TextEncoder();
const cat = (...a) => { const o = new Uint8Array(a.reduce((n, x) => n + x.length, 0)); let i = 0; for (const x of a) { o.set(x, i); i += x.length; } return o; };

const keys = new Uint8Array(await (await fetch(input.url + '/.well-known/ohttp-gateway')).arrayBuffer());
let cfg = null;
for (let i = 0; i < keys.length; ) {
  const n = (keys[i] << 8) | keys[i + 1];
  const c = keys.slice(i + 2, i + 2 + n);
  i += 2 + n;
  const kem = (c[1] << 8) | c[2];
  if (kem === 0x0020) cfg = { id: c[0], pk: c.slice(3, 35) };
}
if (!cfg) throw new Error('no X25519 key configuration');
const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
const hdr = Uint8Array.of(cfg.id, 0x00, 0x20, 0x00, 0x01, 0x00, 0x01);
const info = cat(te.encode('message/bhttp request'), Uint8Array.of(0), hdr);
const sender = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(cfg.pk), info });
const enc = new Uint8Array(sender.enc);
const inner = await new BHttpEncoder().encodeRequest(new Request('https://pith/v1/summarize', {
  method: 'POST', headers: { 'content-type': 'application/json', 'pith-nonce': input.nonce },
  body: JSON.stringify({ messages: input.messages, max_words: 12 }) }));
const msg = cat(hdr, enc, new Uint8Array(await sender.seal(inner)));
const resp = await fetch(input.url + '/v1/ohttp', { method: 'POST', headers: { 'content-type': 'message/ohttp-req' }, body: msg });
if (resp.status !== 200) throw new Error('gateway said ' + resp.status);
const sealed = new Uint8Array(await resp.arrayBuffer());
// RFC 9458 section 4.4: the response key and nonce from the HPKE context.
const secret = new Uint8Array(await sender.export(te.encode('message/bhttp response'), 16));
const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
const salt = cat(enc, sealed.slice(0, 16));
const bits = async (what, n) => new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: te.encode(what) }, ikm, 8 * n));
const key = await crypto.subtle.importKey('raw', await bits('key', 16), 'AES-GCM', false, ['decrypt']);
const plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: await bits('nonce', 12) }, key, sealed.slice(16)));
const r = new BHttpDecoder().decodeResponse(plain);
process.stdout.write(JSON.stringify({ status: r.status, type: r.headers.get('content-type'), body: await r.text() }));
`

// An independent client (node: @hpke/core, bhttp-js, WebCrypto) seals a
// summarise request to the running server and opens the answer.
func TestNodeClient(t *testing.T) {
	oracle.Require(t, oracle.NPM)
	s := startServe(t, pithBinary(t))
	var out struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}
	in := map[string]any{"url": s.url, "nonce": "n-123", "messages": []map[string]string{{"from": "Ann", "text": "see you at 6"}, {"from": "Bo", "text": "ok"}}}
	oracle.Node(t, nodeClientJS, in, &out)
	if out.Status != 200 || !strings.HasPrefix(out.Type, "application/json") {
		t.Fatalf("node client got %d %q: %s", out.Status, out.Type, out.Body)
	}
	var sum struct {
		Summary string `json:"summary"`
		Nonce   string `json:"nonce"`
	}
	if err := json.Unmarshal([]byte(out.Body), &sum); err != nil || sum.Nonce != "n-123" || sum.Summary == "" {
		t.Fatalf("node client's answer: %s (%v)", out.Body, err)
	}
}

// ollamaJS drives the official ollama npm client against an Ollama endpoint.
const ollamaJS = `
import fs from 'node:fs';
import { Ollama } from 'ollama';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const o = new Ollama({ host: input.host });
const out = {};
out.list = (await o.list()).models.map((m) => m.name);
const g = await o.generate({ model: 'tiny', prompt: 'hi', stream: false, options: { num_predict: 6 } });
out.generate = { done: g.done, eval_count: g.eval_count };
let parts = 0, last = null;
for await (const p of await o.generate({ model: 'tiny', prompt: 'hi', stream: true, options: { num_predict: 6 } })) { parts++; last = p; }
out.stream = { parts, done: last.done };
const c = await o.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hello' }], stream: false, options: { num_predict: 6 } });
out.chat = { role: c.message.role, done: c.done };
process.stdout.write(JSON.stringify(out));
`

// The real Ollama clients, Go's and npm's, unchanged, talk to the enclave
// through `pith proxy`, which verifies it and seals every call.
func TestOllamaClientsThroughProxy(t *testing.T) {
	bin := pithBinary(t)
	s := startServe(t, bin)
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(bin, nil, "http://"+addr+"/api/version", "proxy", "--url", s.url, "--manifest", s.manifest, "--allow-dev", "--listen", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if !strings.Contains(p.Log(), "proves nothing") && !strings.Contains(strings.ToLower(p.Log()), "nothing") {
		t.Errorf("proxy did not say that the development stand-in proves nothing:\n%s", p.Log())
	}

	u, _ := url.Parse("http://" + addr)
	c := api.NewClient(u, http.DefaultClient)
	ctx := context.Background()
	list, err := c.List(ctx)
	if err != nil || len(list.Models) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	for _, stream := range []bool{false, true} {
		parts, done := 0, false
		err := c.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "hi", Stream: &stream, Options: map[string]any{"num_predict": 8}},
			func(r api.GenerateResponse) error { parts++; done = r.Done; return nil })
		if err != nil || !done || (stream && parts < 2) {
			t.Fatalf("generate stream=%v: %d parts, done %v, %v", stream, parts, done, err)
		}
	}
	err = c.Chat(ctx, &api.ChatRequest{Model: "tiny", Messages: []api.Message{{Role: "user", Content: "hello"}}, Options: map[string]any{"num_predict": 8}},
		func(r api.ChatResponse) error { return nil })
	if err != nil {
		t.Fatalf("chat: %v", err)
	}

	oracle.Require(t, oracle.NPM)
	var out struct {
		List     []string `json:"list"`
		Generate struct {
			Done      bool `json:"done"`
			EvalCount int  `json:"eval_count"`
		} `json:"generate"`
		Stream struct {
			Parts int  `json:"parts"`
			Done  bool `json:"done"`
		} `json:"stream"`
		Chat struct {
			Role string `json:"role"`
			Done bool   `json:"done"`
		} `json:"chat"`
	}
	oracle.Node(t, ollamaJS, map[string]string{"host": "http://" + addr}, &out)
	if len(out.List) != 1 || !out.Generate.Done || out.Generate.EvalCount == 0 || out.Stream.Parts < 2 || !out.Stream.Done || out.Chat.Role != "assistant" || !out.Chat.Done {
		t.Fatalf("npm ollama client through the proxy: %+v", out)
	}
}
