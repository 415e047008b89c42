package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

func TestPadJSON(t *testing.T) {
	line := `{"response":" the","done":false}` + "\n"
	long := `{"response":"` + strings.Repeat("x", 300) + `"}` + "\n"
	for _, tc := range []struct {
		name, in string
		kind     jsonKind
		end      bool
		wantLen  int // 0: unchanged
	}{
		{"line", line, jsonLines, false, 256},
		{"long line", long, jsonLines, false, 512},
		{"line at the end", line, jsonLines, true, 256},
		{"part of a line", line[:10], jsonLines, false, 0},
		{"value, not at the end", `{"summary":"a`, jsonValue, false, 0},
		{"value at the end", `{"summary":"a b c"}`, jsonValue, true, 256},
		{"value and newline at the end", `{"summary":"a b c"}` + "\n", jsonValue, true, 256},
		{"not JSON", "hello\n", notJSON, true, 0},
		{"already a bucket", `{"response":"` + strings.Repeat("x", 240) + `"}` + "\n", jsonLines, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			b.WriteString(tc.in)
			padJSON(&b, tc.kind, tc.end)
			got := b.String()
			if tc.wantLen == 0 {
				if got != tc.in {
					t.Fatalf("padded to %q, want it unchanged", got)
				}
				return
			}
			if len(got) != tc.wantLen {
				t.Fatalf("padded to %d bytes, want %d", len(got), tc.wantLen)
			}
			if strings.TrimRight(got, " \n") != strings.TrimRight(tc.in, "\n") {
				t.Fatalf("padded to %q: more than spaces added", got)
			}
			if strings.HasSuffix(tc.in, "\n") && !strings.HasSuffix(got, " \n") {
				t.Fatalf("padded piece %q does not end in its newline", got)
			}
			var v any
			if err := json.Unmarshal(bytes.TrimSuffix(b.Bytes(), []byte("\n")), &v); err != nil {
				t.Fatalf("padded piece is not JSON: %v", err)
			}
		})
	}
}

// chunkLens splits a chunked OHTTP response (draft-ietf-ohai-chunked-ohttp
// section 6.2) into the lengths of its non-final chunks, as an observer on
// the wire sees them.
func chunkLens(t *testing.T, body []byte, nonceLen int) []int {
	t.Helper()
	var lens []int
	r := bytes.NewReader(body[nonceLen:])
	for r.Len() > 0 {
		n, err := bhttp.ReadVarint(r)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 { // the final chunk: the rest of the answer
			return lens
		}
		if uint64(r.Len()) < n {
			t.Fatalf("chunk of %d bytes cut at %d", n, r.Len())
		}
		lens = append(lens, int(n))
		r.Seek(int64(n), io.SeekCurrent)
	}
	t.Fatal("no final chunk")
	return nil
}

// postSealed sends a sealed request of media type ctype to the gateway
// and returns its sealed answer.
func postSealed(t *testing.T, h http.Handler, ctype string, msg []byte) []byte {
	t.Helper()
	req := httptest.NewRequest("POST", "/v1/ohttp", bytes.NewReader(msg))
	req.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", ctype, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// TestSealedAnswersPadded checks on the wire what padding is for: the
// chunks of a streamed generation all have the length of their bucket, not
// of their token, and whole answers of different lengths within a bucket
// are sealed to the same length.
func TestSealedAnswersPadded(t *testing.T) {
	s := newTestServer(t, Limits{})
	h := s.Handler(false)
	const nonceLen, tagLen = 16, 16 // AES-128-GCM

	msg, cc := sealChunked(t, s, innerBHTTP(t, "/api/generate",
		`{"model":"tiny","prompt":"hello","options":{"num_predict":40,"temperature":1,"seed":3}}`))
	wire := postSealed(t, h, ohttp.MediaTypeChunkedReq, msg)
	lens := chunkLens(t, wire, nonceLen)
	// The head, one chunk per line (the last says done, with its figures),
	// the end of the content with its empty trailer.
	if len(lens) < 30 {
		t.Fatalf("%d chunks, want one per token", len(lens))
	}
	lines := lens[1 : len(lens)-1]
	for i, n := range lines {
		content := n - tagLen - 2 // a BHTTP chunk: 2-byte length, then the line
		if content != bhttp.PadLen(content) {
			t.Errorf("line %d sealed in a chunk of %d bytes, which holds %d, not a bucket", i, n, content)
		}
		if i < len(lines)-1 && n != lines[0] {
			t.Errorf("token lines sealed in chunks of different lengths: %v", lines)
			break
		}
	}
	// What the client opens is the answer, every line JSON.
	dec := bhttp.NewResponseDecoder(ohttp.NewChunkedResponseReader(cc, bytes.NewReader(wire)), nil)
	if _, err := dec.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(dec)
	if err != nil {
		t.Fatal(err)
	}
	var last struct{ Done bool }
	for _, l := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	if !last.Done {
		t.Fatal("the last line does not say done")
	}

	// Whole answers: the version and a refusal differ in length but share
	// a bucket, so they are sealed to the same length.
	cfgs := keyConfigs(t, s.keys.config())
	var sizes []int
	for _, inner := range [][]byte{
		innerBHTTP(t, "/api/version", ""),
		innerBHTTP(t, "/api/generate", `{"model":"another"}`),
	} {
		msg, _, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], inner, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(postSealed(t, h, ohttp.MediaTypeRequest, msg)))
	}
	if sizes[0] != sizes[1] || sizes[0] != nonceLen+bhttp.MinPad+tagLen {
		t.Errorf("whole answers sealed to %v bytes, want both %d", sizes, nonceLen+bhttp.MinPad+tagLen)
	}
}

// TestPaddedBodyAtTheLimit: a body within MaxBody, padded as the client
// pads it, reaches the API, sealed whole or chunked; one over MaxBody is
// refused there, inside the seal, with the API's 413. The gateway once
// held the padded message itself to MaxBody, which refused bodies near
// the limit at the outer layer.
func TestPaddedBodyAtTheLimit(t *testing.T) {
	s := newTestServer(t, Limits{})
	h := s.Handler(false)
	cfgs := keyConfigs(t, s.keys.config())
	limit := int(s.cfg.Limits.MaxBody)
	for _, tc := range []struct {
		name    string
		body    int
		status  int
		message string
	}{
		{"just within", limit - 200, http.StatusBadRequest, "model is required"},
		{"at the limit", limit, http.StatusBadRequest, "model is required"},
		{"over it", limit + 10, http.StatusRequestEntityTooLarge, "larger than"},
	} {
		// Spaces then {}: valid JSON that the API refuses for its missing
		// model, once it has read the whole body.
		body := strings.Repeat(" ", tc.body-2) + "{}"
		inner := bhttp.Pad(innerBHTTP(t, "/api/generate", body))
		for _, chunked := range []bool{false, true} {
			var got *bhttp.Response
			if chunked {
				msg, cc := sealChunked(t, s, inner)
				dec := bhttp.NewResponseDecoder(ohttp.NewChunkedResponseReader(cc, bytes.NewReader(postSealed(t, h, ohttp.MediaTypeChunkedReq, msg))), nil)
				head, err := dec.ReadHeader()
				if err != nil {
					t.Fatalf("%s, chunked: %v", tc.name, err)
				}
				b, err := io.ReadAll(dec)
				if err != nil {
					t.Fatalf("%s, chunked: %v", tc.name, err)
				}
				got = &bhttp.Response{Status: head.Status, Body: b}
			} else {
				msg, cc, err := ohttp.EncapsulateRequest(cfgs[1], cfgs[1].Suites[0], inner, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := cc.DecapsulateResponse(postSealed(t, h, ohttp.MediaTypeRequest, msg))
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if got, err = bhttp.ParseResponse(plain); err != nil {
					t.Fatal(err)
				}
			}
			if got.Status != tc.status || !strings.Contains(string(got.Body), tc.message) {
				t.Errorf("%s (chunked %v): %d %s, want %d naming %q", tc.name, chunked, got.Status, got.Body, tc.status, tc.message)
			}
		}
	}
}
