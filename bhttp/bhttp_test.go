package bhttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParseErrors(t *testing.T) {
	good := unhex(t, rfcKnownRequest)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrInvalid, "framing indicator"},
		{"unknown framing", []byte{4}, ErrInvalid, "unknown framing indicator 4"},
		{"response as request", unhex(t, rfcKnownResponse), ErrInvalid, "is a response"},
		{"cut in control data", good[:8], ErrInvalid, "runs past the end"},
		{"cut in header section", good[:40], ErrInvalid, "runs past the end"},
		{"non-zero padding", append(append([]byte{}, good...), 0, 1), ErrInvalid, "non-zero padding"},
		{"upper-case name", []byte{0, 3, 'G', 'E', 'T', 0, 0, 1, '/', 4, 1, 'A', 1, 'b'}, ErrInvalid, "not lower case"},
		{"pseudo field", []byte{0, 3, 'G', 'E', 'T', 0, 0, 1, '/', 7, 5, ':', 'p', 'a', 't', 'h', 0}, ErrInvalid, "not an HTTP token"},
		{"CR in value", []byte{0, 3, 'G', 'E', 'T', 0, 0, 1, '/', 4, 1, 'a', 1, '\r'}, ErrInvalid, "NUL, CR or LF"},
		{"empty method", []byte{0, 0, 0, 0, 1, '/'}, ErrInvalid, "empty method"},
		{"space in path", []byte{0, 3, 'G', 'E', 'T', 0, 0, 2, '/', ' '}, ErrInvalid, "control character"},
		{"indeterminate header unterminated", []byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 1, 'a', 0}, ErrInvalid, "no terminator"},
		{"indeterminate chunk cut", []byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 5, 'a'}, ErrInvalid, "runs past the end"},
		{"indeterminate chunks unterminated", []byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 1, 'a'}, ErrInvalid, "content chunk length"},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ErrInvalid, "runs past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRequest(tc.in)
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	for _, tc := range []struct {
		name string
		in   []byte
		msg  string
	}{
		{"request as response", good, "is a request"},
		{"status 99", []byte{1, 0x40, 99}, "outside 100..599"},
		{"status 600", []byte{1, 0x42, 0x58}, "outside 100..599"},
		{"informational only", []byte{1, 0x40, 100, 0}, "status code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseResponse(tc.in)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want one containing %q", err, tc.msg)
			}
			_, err = io.ReadAll(NewResponseDecoder(bytes.NewReader(tc.in), nil))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("stream: got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	h := http.Header{}
	for i := range 10 {
		h.Set(fmt.Sprintf("x-%d", i), strings.Repeat("v", 100))
	}
	wire, err := (&Response{Status: 200, Header: h, Body: []byte("body")}).MarshalIndeterminate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    Parser
		ok   bool
	}{
		{"defaults", Parser{}, true},
		{"exact", Parser{MaxFields: 10, MaxFieldSize: 103, MaxTotal: len(wire)}, true},
		{"fields", Parser{MaxFields: 9}, false},
		{"field size", Parser{MaxFieldSize: 102}, false},
		{"total", Parser{MaxTotal: len(wire) - 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.p.ParseResponse(wire)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("ParseResponse: %v", err)
			}
			if tc.name == "total" {
				return // the stream decoder does not count content
			}
			_, err = io.ReadAll(NewResponseDecoder(bytes.NewReader(wire), &tc.p))
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("stream: %v", err)
			}
		})
	}
}

func TestAlloc(t *testing.T) {
	body := bytes.Repeat([]byte("secret "), 100)
	r := &Request{Method: "POST", Scheme: "https", Path: "/v1/summarize", Body: body}
	arena := make([]byte, 4096)
	var calls []int
	p := Parser{Alloc: func(n int) []byte { calls = append(calls, n); return arena[:n] }}
	for _, m := range []func(*Request) ([]byte, error){(*Request).MarshalKnownLength, (*Request).MarshalIndeterminate} {
		wire, err := m(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ParseRequest(wire)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body, body) || &got.Body[0] != &arena[0] {
			t.Fatalf("body not decoded into the supplied memory")
		}
	}
	if !reflect.DeepEqual(calls, []int{len(body), len(body)}) {
		t.Fatalf("Alloc calls %v", calls)
	}
	short := Parser{Alloc: func(n int) []byte { return make([]byte, n-1) }}
	wire, _ := r.MarshalKnownLength()
	if _, err := short.ParseRequest(wire); err == nil {
		t.Fatal("a short Alloc result was accepted")
	}
}

// Chunks written to the encoder come out of the decoder before the stream
// ends: what NDJSON streaming needs.
func TestStreamIncremental(t *testing.T) {
	pr, pw := io.Pipe()
	e := NewResponseEncoder(pw)
	d := NewResponseDecoder(pr, nil)
	lines := []string{`{"response":"a"}` + "\n", `{"response":"b"}` + "\n", `{"done":true}` + "\n"}
	go func() {
		e.WriteHeader(200, http.Header{"Content-Type": {"application/x-ndjson"}})
		for _, l := range lines {
			e.Write([]byte(l))
		}
		e.Trailer = http.Header{"X-Tokens": {"3"}}
		e.Close()
		pw.Close()
	}()
	resp, err := d.ReadHeader()
	if err != nil || resp.Status != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("head %+v %v", resp, err)
	}
	buf := make([]byte, 1024)
	for _, l := range lines {
		n, err := d.Read(buf)
		if err != nil || string(buf[:n]) != l {
			t.Fatalf("read %q %v, want %q", buf[:n], err, l)
		}
	}
	if n, err := d.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the content: %d %v", n, err)
	}
	if got := d.Response().Trailer.Get("X-Tokens"); got != "3" {
		t.Fatalf("trailer %q", got)
	}
}

func TestStreamTruncated(t *testing.T) {
	var out bytes.Buffer
	e := NewResponseEncoder(&out)
	e.Write([]byte("hello"))
	e.Write([]byte("world"))
	e.Close()
	full := out.Bytes()
	if _, err := io.ReadAll(NewResponseDecoder(bytes.NewReader(full), nil)); err != nil {
		t.Fatal(err)
	}
	// Every cut inside the content or before its terminator is an error;
	// cuts before the first chunk or after the terminator are truncation
	// RFC 9292 allows.
	for cut := 1; cut < len(full); cut++ {
		_, err := io.ReadAll(NewResponseDecoder(iotest.OneByteReader(bytes.NewReader(full[:cut])), nil))
		_, perr := ParseResponse(full[:cut])
		allowed := cut == 3 || cut == 4 || cut >= len(full)-1
		if allowed != (err == nil) || allowed != (perr == nil) {
			t.Errorf("cut at %d of %d: stream %v, parse %v", cut, len(full), err, perr)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, r := range []*Response{
		{Status: 204},
		{Status: 599, Header: http.Header{"A": {""}}, Trailer: http.Header{"B": {"x y"}}},
		{Status: 200, Body: bytes.Repeat([]byte{0}, 70000)},
	} {
		for _, m := range []func(*Response) ([]byte, error){(*Response).MarshalKnownLength, (*Response).MarshalIndeterminate} {
			wire, err := m(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseResponse(wire)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := m(got)
			if !bytes.Equal(again, wire) || !bytes.Equal(got.Body, r.Body) {
				t.Fatalf("round trip changed %x to %x", wire, again)
			}
		}
	}
}

func TestMarshalRefuses(t *testing.T) {
	for _, r := range []*Request{
		{Method: "G T", Path: "/"},
		{Method: "GET", Path: "/", Header: http.Header{"Bad Name": {"x"}}},
		{Method: "GET", Path: "/", Header: http.Header{"A": {"x\n"}}},
		{Method: "GET", Path: "/", Header: http.Header{"A": {" x"}}},
	} {
		if _, err := r.MarshalKnownLength(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: got %v", r, err)
		}
	}
	if _, err := (&Response{Status: 100}).MarshalKnownLength(); !errors.Is(err, ErrInvalid) {
		t.Errorf("status 100 as final: %v", err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(unhex(f, rfcKnownRequest))
	f.Add(unhex(f, rfcIndeterminateRequest))
	f.Add([]byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 1, 'a', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Parser{MaxFields: 64, MaxFieldSize: 4096}
		r, err := p.ParseRequest(b)
		if err != nil {
			return
		}
		if len(r.Body) > len(b) {
			t.Fatalf("body of %d bytes from %d of input", len(r.Body), len(b))
		}
		for _, m := range []func(*Request) ([]byte, error){(*Request).MarshalKnownLength, (*Request).MarshalIndeterminate} {
			wire, err := m(r)
			if err != nil {
				t.Fatalf("parsed request does not marshal: %v", err)
			}
			again, err := p.ParseRequest(wire)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if !reflect.DeepEqual(normReq(again), normReq(r)) {
				t.Fatalf("round trip changed\n%+v\nto\n%+v", r, again)
			}
		}
	})
}

func normReq(r *Request) *Request {
	c := *r
	if len(c.Body) == 0 {
		c.Body = nil
	}
	return &c
}

func FuzzParseResponse(f *testing.F) {
	f.Add(unhex(f, rfcInterimResponse))
	f.Add(unhex(f, rfcKnownResponse))
	f.Add([]byte{1, 0x40, 200, 0x83, 0xff, 0xff, 0xf0}) // a section claiming nearly 64 MiB
	f.Add(withInformational(framingKnownResponse, MaxInformational))
	f.Add(withInformational(framingIndeterminateResponse, MaxInformational+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := Parser{MaxFields: 64, MaxFieldSize: 4096}
		r, err := p.ParseResponse(b)
		body, serr := io.ReadAll(NewResponseDecoder(bytes.NewReader(b), &p))
		if (err == nil) != (serr == nil) {
			t.Fatalf("ParseResponse %v but the stream decoder %v", err, serr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(body, r.Body) {
			t.Fatalf("stream body %x, parsed %x", body, r.Body)
		}
		for _, m := range []func(*Response) ([]byte, error){(*Response).MarshalKnownLength, (*Response).MarshalIndeterminate} {
			wire, err := m(r)
			if err != nil {
				t.Fatalf("parsed response does not marshal: %v", err)
			}
			again, err := p.ParseResponse(wire)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if len(again.Body) == 0 {
				again.Body = r.Body
			}
			if !reflect.DeepEqual(again, r) {
				t.Fatalf("round trip changed\n%+v\nto\n%+v", r, again)
			}
		}
	})
}

// Hostile shapes cost at most a small multiple of their own size: many
// one-byte chunks, the most field lines allowed, and lengths that promise
// far more than the message holds.
func TestAllocationBounded(t *testing.T) {
	chunks := []byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0}
	for range 100_000 {
		chunks = append(chunks, 1, 'x')
	}
	chunks = append(chunks, 0, 0)
	fields := []byte{2, 3, 'G', 'E', 'T', 0, 0, 1, '/'}
	for i := range DefaultMaxFields {
		fields = append(fields, 1, 'a'+byte(i%26), 0)
	}
	fields = append(fields, 0, 0, 0)
	lies := []byte{0, 3, 'G', 'E', 'T', 0, 0, 1, '/', 0, 0xbf, 0xff, 0xff, 0xff, 'x'}
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"chunks", chunks}, {"fields", fields}, {"lying length", lies}} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ParseRequest(tc.in)
		runtime.ReadMemStats(&after)
		if tc.name != "lying length" && err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(8*len(tc.in)+64<<10); got > limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte message (limit %d)", tc.name, got, len(tc.in), limit)
		}
	}
}

// withInformational is a response, in the framing given, preceded by n
// informational responses with empty field sections: three bytes each.
func withInformational(framing byte, n int) []byte {
	b := []byte{framing}
	for range n {
		b = append(b, 0x40, 100, 0)
	}
	return append(b, 0x40, 200)
}

// Informational responses are limited in number, by ParseResponse and the
// stream decoder alike, in both framings; at the limit both decode them all.
func TestInformationalLimit(t *testing.T) {
	for _, framing := range []byte{framingKnownResponse, framingIndeterminateResponse} {
		for _, tc := range []struct {
			n    int
			want error
		}{{0, nil}, {MaxInformational, nil}, {MaxInformational + 1, ErrTooLarge}} {
			in := withInformational(framing, tc.n)
			r, err := ParseResponse(in)
			if !errors.Is(err, tc.want) || (err == nil && (len(r.Informational) != tc.n || r.Status != 200)) {
				t.Errorf("framing %d, %d informational: ParseResponse %v; want %v", framing, tc.n, err, tc.want)
			}
			d := NewResponseDecoder(bytes.NewReader(in), nil)
			_, err = io.ReadAll(d)
			if !errors.Is(err, tc.want) || (err == nil && (len(d.Response().Informational) != tc.n || d.Response().Status != 200)) {
				t.Errorf("framing %d, %d informational: stream %v; want %v", framing, tc.n, err, tc.want)
			}
		}
	}
}

// A megabyte of empty informational responses is refused without costing
// a multiple of its size.
func TestInformationalAllocationBounded(t *testing.T) {
	in := withInformational(framingKnownResponse, 1<<20/3)
	for _, tc := range []struct {
		name  string
		parse func() error
	}{
		{"ParseResponse", func() error { _, err := ParseResponse(in); return err }},
		{"stream", func() error { _, err := io.ReadAll(NewResponseDecoder(bytes.NewReader(in), nil)); return err }},
	} {
		var err error
		got := allocated(func() { err = tc.parse() })
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: got %v, want ErrTooLarge", tc.name, err)
		}
		if limit := uint64(64 << 10); got > limit {
			t.Errorf("%s: %d bytes allocated for a %d-byte message (limit %d)", tc.name, got, len(in), limit)
		}
	}
}

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The stream decoder keeps the package's promise too: a length prefix that
// claims more than the stream holds costs about what the stream holds. A
// known-length section longer than its field lines could be is refused
// outright; one within that bound is read as its bytes arrive.
func TestDecoderAllocationBounded(t *testing.T) {
	head := []byte{1, 0x40, 200} // known-length response, status 200
	claim := func(n uint64) []byte { return appendVarint(slices.Clip(head), n) }
	most := new(Parser).maxSection(0)
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"section near MaxTotal", claim(DefaultMaxTotal - 16), ErrTooLarge},
		{"section one past the bound", claim(most + 1), ErrTooLarge},
		{"section at the bound, then nothing", claim(most), ErrInvalid},
		{"section at the bound, one field line", append(claim(most), 1, 'a', 0), ErrInvalid},
		{"field value near MaxFieldSize, then nothing", []byte{3, 0x40, 200, 1, 'a', 0x80, 0, 0xff, 0xf0}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			got := allocated(func() {
				_, err = io.ReadAll(NewResponseDecoder(bytes.NewReader(tc.in), nil))
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if limit := uint64(8*len(tc.in) + 64<<10); got > limit {
				t.Errorf("%d bytes allocated for a %d-byte stream (limit %d)", got, len(tc.in), limit)
			}
			if _, perr := ParseResponse(tc.in); !errors.Is(perr, tc.want) {
				t.Errorf("ParseResponse: got %v, want %v", perr, tc.want)
			}
		})
	}
}

// The section bound is not tighter than the limits: a section as long as
// its field lines can be (the most lines, each the largest, behind 8-byte
// length prefixes) decodes both ways.
func TestSectionBoundTight(t *testing.T) {
	p := Parser{MaxFields: 2, MaxFieldSize: 10}
	varint8 := func(b []byte, v byte) []byte { return append(b, 0xc0, 0, 0, 0, 0, 0, 0, v) }
	var sec []byte
	for _, name := range []string{"a", "b"} {
		sec = append(varint8(sec, 1), name...)
		sec = append(varint8(sec, 9), "123456789"...)
	}
	wire := append(appendVarint([]byte{1, 0x40, 200}, uint64(len(sec))), sec...)
	if r, err := p.ParseResponse(wire); err != nil || r.Header.Get("B") != "123456789" {
		t.Fatalf("ParseResponse: %+v %v", r, err)
	}
	if _, err := io.ReadAll(NewResponseDecoder(bytes.NewReader(wire), &p)); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if uint64(len(sec)) != p.maxSection(0) {
		t.Fatalf("section of %d bytes is not at the bound %d", len(sec), p.maxSection(0))
	}
}

// A header section longer than the first piece readN allocates, arriving a
// byte at a time, decodes as it does from memory.
func TestDecoderLargeSection(t *testing.T) {
	h := http.Header{}
	for i := range 5 {
		h.Set(fmt.Sprintf("x-%d", i), strings.Repeat(string(rune('a'+i)), 10000))
	}
	wire, err := (&Response{Status: 200, Header: h, Body: []byte("body")}).MarshalKnownLength()
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseResponse(wire)
	if err != nil {
		t.Fatal(err)
	}
	d := NewResponseDecoder(iotest.OneByteReader(bytes.NewReader(wire)), nil)
	body, err := io.ReadAll(d)
	if err != nil || string(body) != "body" || !reflect.DeepEqual(d.Response().Header, want.Header) {
		t.Fatalf("body %q, err %v; header equal: %v", body, err, reflect.DeepEqual(d.Response().Header, want.Header))
	}
}

type partsRecorder struct {
	bytes.Buffer
	calls int
}

func (p *partsRecorder) WriteParts(parts ...[]byte) (int, error) {
	p.calls++
	n := 0
	for _, b := range parts {
		m, _ := p.Write(b)
		n += m
	}
	return n, nil
}

// A PartsWriter gets each content chunk in one call; the bytes are the
// same as through plain Writes.
func TestEncoderPartsWriter(t *testing.T) {
	var plain bytes.Buffer
	pr := &partsRecorder{}
	for _, w := range []io.Writer{&plain, pr} {
		e := NewResponseEncoder(w)
		e.Write([]byte("one"))
		e.Write(bytes.Repeat([]byte("x"), 300))
		e.Close()
	}
	if pr.calls != 2 || !bytes.Equal(pr.Bytes(), plain.Bytes()) {
		t.Fatalf("%d WriteParts calls; bytes equal: %v", pr.calls, bytes.Equal(pr.Bytes(), plain.Bytes()))
	}
}

// The encoders refuse to produce more informational responses than the
// decoders accept, before writing anything; at the limit what they write
// decodes to the same responses.
func TestEncodeInformationalLimit(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want error
	}{{0, nil}, {1, nil}, {MaxInformational, nil}, {MaxInformational + 1, ErrTooLarge}, {1000, ErrTooLarge}} {
		r := &Response{Status: 200, Header: http.Header{"A": {"b"}}, Body: []byte("body")}
		for i := range tc.n {
			r.Informational = append(r.Informational, InfoResponse{Status: 100 + i%100, Header: http.Header{"I": {fmt.Sprint(i)}}})
		}
		for _, m := range []struct {
			name    string
			marshal func(*Response) ([]byte, error)
		}{{"known length", (*Response).MarshalKnownLength}, {"indeterminate", (*Response).MarshalIndeterminate}} {
			wire, err := m.marshal(r)
			if !errors.Is(err, tc.want) || (err != nil) == (wire != nil) {
				t.Errorf("%s, %d informational: Marshal %d bytes, %v; want %v", m.name, tc.n, len(wire), err, tc.want)
				continue
			}
			if err != nil {
				continue
			}
			got, err := ParseResponse(wire)
			if err != nil || !reflect.DeepEqual(got.Informational, r.Informational) || got.Status != 200 || string(got.Body) != "body" {
				t.Errorf("%s, %d informational: round trip gave %+v, %v", m.name, tc.n, got, err)
			}
		}

		// The stream encoder sends them one by one: all up to the limit,
		// none past it, and the final response still follows.
		var buf bytes.Buffer
		e := NewResponseEncoder(&buf)
		var err error
		for _, info := range r.Informational {
			before := buf.Len()
			if err = e.WriteInformational(info.Status, info.Header); err != nil {
				if buf.Len() != before {
					t.Errorf("stream, %d informational: refused one but wrote %d bytes", tc.n, buf.Len()-before)
				}
				break
			}
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("stream, %d informational: WriteInformational %v; want %v", tc.n, err, tc.want)
		}
		if err := e.WriteHeader(200, r.Header); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Write(r.Body); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := ParseResponse(buf.Bytes())
		if wantN := min(tc.n, MaxInformational); err != nil || !reflect.DeepEqual(got.Informational, r.Informational[:wantN]) || got.Status != 200 || string(got.Body) != "body" {
			t.Errorf("stream, %d informational: decoded %+v, %v; want the first %d", tc.n, got, err, wantN)
		}
	}
}

// A head or trailer the stream encoder refuses leaves it as it was: the
// framing indicator is still sent with the first head that goes out, and
// Close does not report success until the end of the stream is written.
func TestEncoderRefusalKeepsState(t *testing.T) {
	bad := http.Header{"Bad Name": {"x"}}
	for _, tc := range []struct {
		name  string
		steps func(e *ResponseEncoder) error // returns the refusal
	}{
		{"refused informational", func(e *ResponseEncoder) error { return e.WriteInformational(103, bad) }},
		{"refused final head", func(e *ResponseEncoder) error { return e.WriteHeader(200, bad) }},
		{"informational, then refused final head", func(e *ResponseEncoder) error {
			if err := e.WriteInformational(100, nil); err != nil {
				t.Fatal(err)
			}
			return e.WriteHeader(200, bad)
		}},
		{"refused trailer", func(e *ResponseEncoder) error {
			e.Trailer = bad
			err := e.Close()
			if again := e.Close(); !errors.Is(again, ErrInvalid) {
				t.Errorf("refused trailer: second Close %v; want ErrInvalid again", again)
			}
			e.Trailer = http.Header{"T": {"v"}}
			return err
		}},
	} {
		var buf bytes.Buffer
		e := NewResponseEncoder(&buf)
		if err := tc.steps(e); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", tc.name, err)
		}
		if _, err := e.Write([]byte("body")); err != nil {
			t.Fatalf("%s: Write: %v", tc.name, err)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("%s: Close: %v", tc.name, err)
		}
		d := NewResponseDecoder(bytes.NewReader(buf.Bytes()), nil)
		body, err := io.ReadAll(d)
		if err != nil || string(body) != "body" || d.Response().Status != 200 {
			t.Errorf("%s: wrote %x, which decodes to %q, %v", tc.name, buf.Bytes(), body, err)
		}
		if tc.name == "refused trailer" && d.Response().Trailer.Get("T") != "v" {
			t.Errorf("%s: trailer %v, want T: v", tc.name, d.Response().Trailer)
		}
	}
}
