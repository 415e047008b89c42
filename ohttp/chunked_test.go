package ohttp

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pith-project/pith/bhttp"
)

// The example of draft-ietf-ohai-chunked-ohttp (section "Example"): the
// request in chunks of 12 and 13 bytes and an empty final chunk, the
// response in chunks of 1 and 2 bytes and an empty final chunk.
var chunkedDraft = struct {
	skR, config, request, skE, encRequest, response, responseNonce, encResponse string
}{
	skR:     "1c190d72acdbe4dbc69e680503bb781a932c70a12c8f3754434c67d8640d8698",
	config:  "010020668eb21aace159803974a4c67f08b4152d29bed10735fd08f98ccdd6fe 09570800080001000100010003",
	request: "00034745540568747470730b6578616d706c652e636f6d012f",
	skE:     "b26d565f3f875ed480d1abced3d665159650c99174fd0b124ac4bda0c64ae324",
	encRequest: `01002000010001
8811eb457e100811c40a0aa71340a1b81d804bb986f736f2f566a7199761a032
1c2ad24942d4d692563012f2980c8fef437a336b9b2fc938ef77a5834f
1d2e33d8fd25577afe31bd1c79d094f76b6250ae6549b473ecd950501311
001c6c1395d0ef7c1022297966307b8a7f`,
	response:      "0140c8",
	responseNonce: "bcce7f4cb921309ba5d62edf1769ef09",
	encResponse: `bcce7f4cb921309ba5d62edf1769ef09
1179bf1cc87fa0e2c02de4546945aa3d1e48
12b348b5bd4c594c16b6170b07b475845d1f32
00ed9d8a796617a5b27265f4d73247f639`,
}

func TestChunkedDraftExample(t *testing.T) {
	v := chunkedDraft
	key, err := GenerateKey(1, KEMX25519, bytes.NewReader(unhex(t, v.skR)))
	if err != nil {
		t.Fatal(err)
	}
	key.config.Suites = append(key.config.Suites, Suite{KDFHKDFSHA256, 3})
	if got := key.Config().Marshal(); !bytes.Equal(got, unhex(t, v.config)) {
		t.Fatalf("key configuration\n%x\nwant\n%x", got, unhex(t, v.config))
	}
	request := unhex(t, v.request)

	var sent bytes.Buffer
	w, cctx, err := NewChunkedRequestWriter(key.Config(), Suite{KDFHKDFSHA256, AEADAES128GCM}, &sent, bytes.NewReader(unhex(t, v.skE)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(request[:12])
	w.Write(request[12:])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, v.encRequest); !bytes.Equal(sent.Bytes(), want) {
		t.Fatalf("chunked request\n%x\nwant\n%x", sent.Bytes(), want)
	}

	g, _ := NewGateway(key)
	g.Rand = bytes.NewReader(unhex(t, v.responseNonce))
	r, gctx, err := g.NewChunkedRequestReader(bytes.NewReader(unhex(t, v.encRequest)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, request) {
		t.Fatalf("request %x %v", got, err)
	}
	var out bytes.Buffer
	rw, err := NewChunkedResponseWriter(gctx, &out)
	if err != nil {
		t.Fatal(err)
	}
	response := unhex(t, v.response)
	rw.Write(response[:1])
	rw.Write(response[1:])
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, v.encResponse); !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("chunked response\n%x\nwant\n%x", out.Bytes(), want)
	}
	got, err = io.ReadAll(NewChunkedResponseReader(cctx, iotest.OneByteReader(bytes.NewReader(unhex(t, v.encResponse)))))
	if err != nil || !bytes.Equal(got, response) {
		t.Fatalf("response %x %v", got, err)
	}
}

// chunkedExchange returns a sealed chunked request of parts, and the
// sealed chunked response of respParts with the client context to open it.
func chunkedExchange(t testing.TB, kem uint16, parts, respParts []string) (req, resp []byte, cctx *ClientContext, g *Gateway) {
	t.Helper()
	k, err := GenerateKey(4, kem, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g, _ = NewGateway(k)
	var rb bytes.Buffer
	w, cctx, err := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, gctx, err := g.NewChunkedRequestReader(bytes.NewReader(rb.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != strings.Join(parts, "") {
		t.Fatalf("request %q %v", got, err)
	}
	var out bytes.Buffer
	rw, err := NewChunkedResponseWriter(gctx, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range respParts {
		rw.Write([]byte(p))
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	return rb.Bytes(), out.Bytes(), cctx, g
}

// splitChunks cuts a chunked body into its framed chunks (prefix
// included); the last is the final chunk.
func splitChunks(t testing.TB, b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n, err := bhttp.ReadVarint(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		l := len(bhttp.AppendVarint(nil, n))
		if n == 0 {
			return append(out, b)
		}
		out = append(out, b[:l+int(n)])
		b = b[l+int(n):]
	}
	t.Fatal("no final chunk")
	return nil
}

func TestChunkedNegative(t *testing.T) {
	for _, kem := range kems {
		parts := []string{"{\"model\":", "\"m\",", "\"prompt\":\"x\"}"}
		lines := []string{"{\"response\":\"a\"}\n", "{\"response\":\"b\"}\n", "{\"done\":true}\n"}
		req, resp, cctx, g := chunkedExchange(t, kem.id, parts, lines)
		hdrLen := 7 + 32
		if kem.id == KEMMLKEM768X25519 {
			hdrLen = 7 + 1120
		}
		reqChunks := splitChunks(t, req[hdrLen:])
		respChunks := splitChunks(t, resp[16:])
		join := func(head []byte, cs ...[]byte) []byte { return append(slices.Clone(head), bytes.Join(cs, nil)...) }

		readResp := func(b []byte) ([]byte, error) {
			return io.ReadAll(NewChunkedResponseReader(cctx, bytes.NewReader(b)))
		}
		readReq := func(b []byte) ([]byte, error) {
			r, _, err := g.NewChunkedRequestReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(r)
		}
		for _, tc := range []struct {
			name string
			read func([]byte) ([]byte, error)
			in   []byte
			want error
		}{
			{"response intact", readResp, resp, nil},
			{"response without final chunk", readResp, join(resp[:16], respChunks[:3]...), ErrTruncated},
			{"response cut inside a chunk", readResp, resp[:16+len(respChunks[0])+5], ErrTruncated},
			{"response cut inside the nonce", readResp, resp[:10], ErrTruncated},
			{"response reordered", readResp, join(resp[:16], respChunks[1], respChunks[0], respChunks[2], respChunks[3]), ErrDecrypt},
			{"response chunk dropped", readResp, join(resp[:16], respChunks[0], respChunks[2], respChunks[3]), ErrDecrypt},
			{"response final chunk cut", readResp, resp[:len(resp)-1], ErrDecrypt},
			{"response non-final as final", readResp, join(resp[:16], respChunks[0], append([]byte{0}, respChunks[1][1:]...)), ErrDecrypt},
			{"request intact", readReq, req, nil},
			{"request without final chunk", readReq, join(req[:hdrLen], reqChunks[:3]...), ErrTruncated},
			{"request reordered", readReq, join(req[:hdrLen], reqChunks[1], reqChunks[0], reqChunks[2], reqChunks[3]), ErrDecrypt},
			{"request cut in enc", readReq, req[:hdrLen-1], ErrMalformed},
			{"request flipped tag", readReq, append(slices.Clone(req[:len(req)-1]), req[len(req)-1]^1), ErrDecrypt},
		} {
			got, err := tc.read(tc.in)
			if tc.want == nil {
				if err != nil {
					t.Errorf("%s %s: %v", kem.name, tc.name, err)
				}
				continue
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("%s %s: got %q, %v; want %v", kem.name, tc.name, got, err, tc.want)
			}
		}
		// A chunked context cannot be used for a plain response, nor the
		// other way round.
		if _, err := cctx.DecapsulateResponse(resp); err == nil {
			t.Error("chunked context opened a plain response")
		}
	}
}

func TestChunkedLimitsAndStreaming(t *testing.T) {
	big := strings.Repeat("x", 3000)
	_, resp, cctx, _ := chunkedExchange(t, KEMX25519, []string{"a"}, []string{big})
	r := NewChunkedResponseReader(cctx, bytes.NewReader(resp))
	r.MaxChunk = 2999
	if _, err := io.ReadAll(r); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized chunk: %v", err)
	}
	// Each chunk is readable before the stream ends, and decrypted in the
	// caller's buffer.
	pr, pw := io.Pipe()
	k, _ := GenerateKey(1, KEMX25519, rand.Reader)
	g, _ := NewGateway(k)
	msg, _, _ := EncapsulateRequest(k.Config(), Suite{1, 1}, nil, nil)
	if _, _, err := g.DecapsulateRequest(msg); err != nil {
		t.Fatal(err)
	}
	var rb bytes.Buffer
	w, cctx2, _ := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
	w.Close()
	_, gctx, err := g.NewChunkedRequestReader(&rb)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := NewChunkedResponseWriter(gctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	cr := NewChunkedResponseReader(cctx2, pr)
	cr.Buf = make([]byte, 0, 4096)
	buf := make([]byte, 100)
	for _, line := range []string{"one\n", "two\n"} {
		go rw.Write([]byte(line))
		n, err := cr.Read(buf)
		if err != nil || string(buf[:n]) != line {
			t.Fatalf("streamed %q %v", buf[:n], err)
		}
	}
	go func() { rw.Close(); pw.Close() }()
	if n, err := cr.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("end: %d %v", n, err)
	}
}

func FuzzChunkedResponseReader(f *testing.F) {
	_, resp, cctx, _ := chunkedExchange(f, KEMX25519, []string{"q"}, []string{"ab", "c"})
	f.Add(resp)
	f.Add(resp[:len(resp)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewChunkedResponseReader(cctx, bytes.NewReader(b))
		r.MaxChunk = 1 << 12
		got, err := io.ReadAll(r)
		if err == nil {
			if string(got) != "abc" {
				t.Fatalf("forged response accepted: %q", got)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// The path a streamed Ollama response takes: NDJSON lines through a
// binary HTTP response encoder into a chunked OHTTP response, read back
// line by line as they are sent; cutting the stream is reported as
// truncation through both layers.
func TestStreamedBinaryHTTPResponse(t *testing.T) {
	k, _ := GenerateKey(1, KEMMLKEM768X25519, rand.Reader)
	g, _ := NewGateway(k)
	var rb bytes.Buffer
	w, cctx, _ := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
	w.Close()
	_, gctx, err := g.NewChunkedRequestReader(&rb)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	rw, err := NewChunkedResponseWriter(gctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"{\"response\":\"Hel\"}\n", "{\"response\":\"lo\"}\n", "{\"done\":true}\n"}
	var sent bytes.Buffer
	step := make(chan bool)
	go func() {
		enc := bhttp.NewResponseEncoder(io.MultiWriter(rw, &sent))
		enc.Buf = make([]byte, 256)
		enc.WriteHeader(200, map[string][]string{"Content-Type": {"application/x-ndjson"}})
		for _, l := range lines {
			<-step
			enc.Write([]byte(l))
		}
		enc.Close()
		rw.Close()
		pw.Close()
	}()
	dec := bhttp.NewResponseDecoder(NewChunkedResponseReader(cctx, pr), nil)
	resp, err := dec.ReadHeader()
	if err != nil || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("head %+v %v", resp, err)
	}
	buf := make([]byte, 256)
	for _, l := range lines {
		step <- true // the next line is written only after the previous one was read
		n, err := dec.Read(buf)
		if err != nil || string(buf[:n]) != l {
			t.Fatalf("line %q %v, want %q", buf[:n], err, l)
		}
	}
	if _, err := dec.Read(buf); err != io.EOF {
		t.Fatalf("end %v", err)
	}

	// The same response with the stream cut before the final OHTTP chunk:
	// every line still arrives, then the reader reports truncation.
	var full bytes.Buffer
	w2, cctx2, _ := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
	w2.Close()
	_, gctx2, _ := g.NewChunkedRequestReader(&rb)
	rw2, _ := NewChunkedResponseWriter(gctx2, &full)
	enc := bhttp.NewResponseEncoder(rw2)
	enc.Buf = make([]byte, 256)
	for _, l := range lines {
		enc.Write([]byte(l))
	}
	enc.Close()
	rw2.Close()
	chunks := splitChunks(t, full.Bytes()[16:])
	cut := append(slices.Clone(full.Bytes()[:16]), bytes.Join(chunks[:len(chunks)-1], nil)...)
	body, err := io.ReadAll(bhttp.NewResponseDecoder(NewChunkedResponseReader(cctx2, bytes.NewReader(cut)), nil))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut stream: %q %v", body, err)
	}
}

// The gateway's most exposed parser: whatever arrives as a chunked
// request is refused with a typed error, or is the sealed seed.
func FuzzChunkedRequestReader(f *testing.F) {
	req, _, _, g := chunkedExchange(f, KEMX25519, []string{"ab", "c"}, nil)
	f.Add(req)
	f.Add(req[:len(req)-3])
	f.Add(req[:7])
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := g.NewChunkedRequestReader(bytes.NewReader(b))
		if err == nil {
			r.MaxChunk = 1 << 12
			var got []byte
			if got, err = io.ReadAll(r); err == nil {
				if string(got) != "abc" {
					t.Fatalf("forged request accepted: %q", got)
				}
				return
			}
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// A binary HTTP encoder writing straight into a chunked response writer
// sends each content chunk, length prefix and data, as one sealed chunk,
// and the writer's staging buffer keeps no plaintext.
func TestWritePartsOneChunkPerWrite(t *testing.T) {
	k, _ := GenerateKey(1, KEMX25519, rand.Reader)
	g, _ := NewGateway(k)
	var rb, out bytes.Buffer
	w, cctx, _ := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &rb, nil)
	w.Close()
	_, gctx, err := g.NewChunkedRequestReader(&rb)
	if err != nil {
		t.Fatal(err)
	}
	rw, _ := NewChunkedResponseWriter(gctx, &out)
	enc := bhttp.NewResponseEncoder(rw)
	secret := []byte("canary-" + strings.Repeat("z", 40))
	lines := 5
	for range lines {
		if _, err := enc.Write(secret); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(rw.cw.out, secret[:16]) {
			t.Fatal("plaintext left in the staging buffer")
		}
	}
	enc.Close()
	rw.Close()
	// The head, one chunk per Write, the trailer, and the final chunk.
	if got := len(splitChunks(t, out.Bytes()[16:])); got != 1+lines+1+1 {
		t.Fatalf("%d chunks for %d writes", got, lines)
	}
	body, err := io.ReadAll(bhttp.NewResponseDecoder(NewChunkedResponseReader(cctx, &out), nil))
	if err != nil || !bytes.Equal(body, bytes.Repeat(secret, lines)) {
		t.Fatalf("%q %v", body, err)
	}
}

// No writer seals more than SendChunk bytes into one chunk, whatever the
// size of a Write, so a receiver that takes only the draft's 2^14 bytes
// (section 3; the ohttp crate's MAX_CHUNK_PLAINTEXT) reads every message;
// and what is split arrives whole, in order.
func TestWritersKeepChunksWithinSendChunk(t *testing.T) {
	big := make([]byte, 3*SendChunk+5)
	rand.Read(big)
	for _, tc := range []struct {
		name   string
		writes [][][]byte // each one Write, or WriteParts when of several parts
	}{
		{"one byte", [][][]byte{{big[:1]}}},
		{"exactly SendChunk", [][][]byte{{big[:SendChunk]}}},
		{"one byte more", [][][]byte{{big[:SendChunk+1]}}},
		{"several chunks' worth", [][][]byte{{big}}},
		{"parts across a boundary", [][][]byte{{big[:3], big[3 : 2*SendChunk]}, {big[2*SendChunk:]}}},
		{"empty parts", [][][]byte{{nil, big[:SendChunk+7], nil}}},
	} {
		var want []byte
		for _, w := range tc.writes {
			want = append(want, bytes.Join(w, nil)...)
		}
		k, _ := GenerateKey(1, KEMX25519, rand.Reader)
		g, _ := NewGateway(k)
		var req, resp bytes.Buffer
		w, cctx, err := NewChunkedRequestWriter(k.Config(), Suite{1, 1}, &req, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, parts := range tc.writes {
			if n, err := w.Write(bytes.Join(parts, nil)); err != nil || n != len(bytes.Join(parts, nil)) {
				t.Fatalf("%s: request Write: %d, %v", tc.name, n, err)
			}
		}
		w.Close()
		sealedReq := slices.Clone(req.Bytes())
		r, gctx, err := g.NewChunkedRequestReader(&req)
		if err != nil {
			t.Fatal(err)
		}
		r.MaxChunk = SendChunk
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: request of %d bytes read back as %d: %v", tc.name, len(want), len(got), err)
		}
		rw, _ := NewChunkedResponseWriter(gctx, &resp)
		for _, parts := range tc.writes {
			var n int
			if len(parts) == 1 {
				n, err = rw.Write(parts[0])
			} else {
				n, err = rw.WriteParts(parts...)
			}
			if err != nil || n != len(bytes.Join(parts, nil)) {
				t.Fatalf("%s: response write: %d, %v", tc.name, n, err)
			}
		}
		rw.Close()
		for what, body := range map[string][]byte{"request": sealedReq[7+32:], "response": resp.Bytes()[16:]} {
			for i, c := range splitChunks(t, body) {
				if n, _ := bhttp.ReadVarint(bytes.NewReader(c)); n > SendChunk+tagLen {
					t.Errorf("%s: %s chunk %d is %d bytes sealed, more than %d", tc.name, what, i, n, SendChunk+tagLen)
				}
			}
		}
		cr := NewChunkedResponseReader(cctx, &resp)
		cr.MaxChunk = SendChunk
		if got, err := io.ReadAll(cr); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: response of %d bytes read back as %d: %v", tc.name, len(want), len(got), err)
		}
	}
}
