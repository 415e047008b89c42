package bhttp

import (
	"encoding/hex"
	"net/http"
	"reflect"
	"testing"

	"github.com/pith-project/pith/internal/oracle"
)

// bhttp-js keeps only the last of repeated field lines (it calls
// Headers.set), so the messages here repeat no field name.

// bhttpJS encodes and decodes messages with the npm package bhttp-js, which
// works on fetch Request and Response objects.
const bhttpJS = `
import fs from 'node:fs';
import { BHttpEncoder, BHttpDecoder } from 'bhttp-js';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const enc = new BHttpEncoder(), dec = new BHttpDecoder();
const hex = (u8) => Buffer.from(u8).toString('hex');
const out = [];
for (const m of input) {
  if (m.op === 'encode-request') {
    const init = { method: m.method, headers: m.headers };
    if (m.body) init.body = Buffer.from(m.body, 'hex');
    out.push({ wire: hex(await enc.encodeRequest(new Request(m.url, init))) });
  } else if (m.op === 'encode-response') {
    const body = m.body ? Buffer.from(m.body, 'hex') : null;
    out.push({ wire: hex(await enc.encodeResponse(new Response(body, { status: m.status, headers: m.headers }))) });
  } else if (m.op === 'decode-request') {
    const r = dec.decodeRequest(Buffer.from(m.wire, 'hex'));
    out.push({ method: r.method, url: r.url, headers: [...r.headers], body: hex(new Uint8Array(await r.arrayBuffer())) });
  } else {
    const r = dec.decodeResponse(Buffer.from(m.wire, 'hex'));
    out.push({ status: r.status, headers: [...r.headers], body: hex(new Uint8Array(await r.arrayBuffer())) });
  }
}
process.stdout.write(JSON.stringify(out));
`

type jsMsg struct {
	Op      string      `json:"op"`
	Method  string      `json:"method,omitempty"`
	URL     string      `json:"url,omitempty"`
	Status  int         `json:"status,omitempty"`
	Headers [][2]string `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
	Wire    string      `json:"wire,omitempty"`
}

func pairs(h http.Header) [][2]string {
	var p [][2]string
	for _, n := range fieldNames(h, nil) {
		for _, v := range headerValues(h, n) {
			p = append(p, [2]string{n, v})
		}
	}
	return p
}

// fetchView builds a header the way fetch's Headers reports it: one
// comma-joined value per name, names sorted.
func fetchView(h http.Header) [][2]string {
	p := [][2]string{}
	for _, n := range fieldNames(h, nil) {
		vs := headerValues(h, n)
		v := vs[0]
		for _, w := range vs[1:] {
			v += ", " + w
		}
		p = append(p, [2]string{n, v})
	}
	return p
}

// padded is marshal with Pad's zeros after the message, as pith seals it.
func padded[M any](marshal func(M) ([]byte, error)) func(M) ([]byte, error) {
	return func(m M) ([]byte, error) {
		b, err := marshal(m)
		return Pad(b), err
	}
}

func TestNPMInterop(t *testing.T) {
	const framings = 3 // known length, indeterminate length, known length padded
	oracle.Require(t, oracle.NPM)
	body := []byte(`{"model":"qwen","prompt":"héllo\u0000 world","stream":true}` + "\n")
	reqs := []*Request{
		{Method: "POST", Scheme: "https", Authority: "pith.example", Path: "/api/generate",
			Header: http.Header{"Content-Type": {"application/json"}, "X-Pith": {"a, b"}}, Body: body},
		{Method: "GET", Scheme: "https", Authority: "localhost:8080", Path: "/api/tags"},
	}
	resps := []*Response{
		{Status: 200, Header: http.Header{"Content-Type": {"application/x-ndjson"}}, Body: body},
		{Status: 404, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"error":"model not found"}`)},
	}

	// Go encodes (both framings), bhttp-js decodes.
	var in []jsMsg
	for _, r := range reqs {
		for _, m := range []func(*Request) ([]byte, error){(*Request).MarshalKnownLength, (*Request).MarshalIndeterminate, padded((*Request).MarshalKnownLength)} {
			b, err := m(r)
			if err != nil {
				t.Fatal(err)
			}
			in = append(in, jsMsg{Op: "decode-request", Wire: hex.EncodeToString(b)})
		}
	}
	for _, r := range resps {
		for _, m := range []func(*Response) ([]byte, error){(*Response).MarshalKnownLength, (*Response).MarshalIndeterminate, padded((*Response).MarshalKnownLength)} {
			b, err := m(r)
			if err != nil {
				t.Fatal(err)
			}
			in = append(in, jsMsg{Op: "decode-response", Wire: hex.EncodeToString(b)})
		}
	}
	var out []jsMsg
	oracle.Node(t, bhttpJS, in, &out)
	for i := range out {
		if out[i].Headers == nil {
			out[i].Headers = [][2]string{}
		}
	}
	if len(out) != len(in) {
		t.Fatalf("node answered %d messages, want %d", len(out), len(in))
	}
	for i, got := range out {
		if i < framings*len(reqs) {
			r := reqs[i/framings]
			want := jsMsg{Method: r.Method, URL: r.Scheme + "://" + r.Authority + r.Path, Headers: fetchView(r.Header), Body: hex.EncodeToString(r.Body)}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("bhttp-js decoded request %d as\n%+v\nwant\n%+v", i, got, want)
			}
			continue
		}
		r := resps[(i-framings*len(reqs))/framings]
		want := jsMsg{Status: r.Status, Headers: fetchView(r.Header), Body: hex.EncodeToString(r.Body)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("bhttp-js decoded response %d as\n%+v\nwant\n%+v", i, got, want)
		}
	}

	// bhttp-js encodes, Go decodes.
	in = in[:0]
	for _, r := range reqs {
		in = append(in, jsMsg{Op: "encode-request", Method: r.Method, URL: r.Scheme + "://" + r.Authority + r.Path,
			Headers: pairs(r.Header), Body: hex.EncodeToString(r.Body)})
	}
	for _, r := range resps {
		in = append(in, jsMsg{Op: "encode-response", Status: r.Status, Headers: pairs(r.Header), Body: hex.EncodeToString(r.Body)})
	}
	out = nil
	oracle.Node(t, bhttpJS, in, &out)
	for i, m := range out {
		wire, err := hex.DecodeString(m.Wire)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(reqs) {
			got, err := ParseRequest(wire)
			if err != nil {
				t.Fatalf("request %d from bhttp-js %x: %v", i, wire, err)
			}
			want := reqs[i]
			if got.Method != want.Method || got.Scheme != want.Scheme || got.Authority != want.Authority ||
				got.Path != want.Path || string(got.Body) != string(want.Body) ||
				!reflect.DeepEqual(fetchView(got.Header), fetchView(want.Header)) {
				t.Errorf("request %d from bhttp-js parsed as\n%+v\nwant\n%+v", i, got, want)
			}
			continue
		}
		got, err := ParseResponse(wire)
		if err != nil {
			t.Fatalf("response %d from bhttp-js %x: %v", i, wire, err)
		}
		want := resps[i-len(reqs)]
		if got.Status != want.Status || string(got.Body) != string(want.Body) ||
			!reflect.DeepEqual(fetchView(got.Header), fetchView(want.Header)) {
			t.Errorf("response %d from bhttp-js parsed as\n%+v\nwant\n%+v", i, got, want)
		}
	}
}
