package bhttp

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// The examples of RFC 9292 section 5, as printed there.
const (
	rfcKnownRequest = `00034745 54056874 74707300 0a2f6865
6c6c6f2e 74787440 6c0a7573 65722d61 67656e74 34637572 6c2f372e 31362e33
206c6962 6375726c 2f372e31 362e3320 4f70656e 53534c2f 302e392e 376c207a
6c69622f 312e322e 3304686f 73740f77 77772e65 78616d70 6c652e63 6f6d0f61
63636570 742d6c61 6e677561 67650665 6e2c206d 690000`
	rfcIndeterminateRequest = `02034745 54056874 74707300 0a2f6865
6c6c6f2e 7478740a 75736572 2d616765 6e743463 75726c2f 372e3136 2e33206c
69626375 726c2f37 2e31362e 33204f70 656e5353 4c2f302e 392e376c 207a6c69
622f312e 322e3304 686f7374 0f777777 2e657861 6d706c65 2e636f6d 0f616363
6570742d 6c616e67 75616765 06656e2c 206d6900 00000000 00000000 00000000`
	rfcInterimResponse = `03406607 72756e6e 696e670a 22736c65
65702031 35220040 67046c69 6e6b233c 2f737479 6c652e63 73733e3b 2072656c
3d707265 6c6f6164 3b206173 3d737479 6c65046c 696e6b24 3c2f7363 72697074
2e6a733e 3b207265 6c3d7072 656c6f61 643b2061 733d7363 72697074 0040c804
64617465 1d4d6f6e 2c203237 204a756c 20323030 39203132 3a32383a 35332047
4d540673 65727665 72064170 61636865 0d6c6173 742d6d6f 64696669 65641d57
65642c20 3232204a 756c2032 30303920 31393a31 353a3536 20474d54 04657461
67142233 34616133 38372d64 2d313536 38656230 30220d61 63636570 742d7261
6e676573 05627974 65730e63 6f6e7465 6e742d6c 656e6774 68023531 04766172
790f4163 63657074 2d456e63 6f64696e 670c636f 6e74656e 742d7479 70650a74
6578742f 706c6169 6e003348 656c6c6f 20576f72 6c642120 4d792063 6f6e7465
6e742069 6e636c75 64657320 61207472 61696c69 6e672043 524c462e 0d0a0000`
	rfcKnownResponse = `0140c800 1d546869 7320636f 6e74656e
7420636f 6e746169 6e732043 524c462e 0d0a0d07 74726169 6c657204 74657874`
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rfcRequest() *Request {
	return &Request{
		Method: "GET", Scheme: "https", Path: "/hello.txt",
		Header: http.Header{
			"User-Agent":      {"curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3"},
			"Host":            {"www.example.com"},
			"Accept-Language": {"en, mi"},
		},
		FieldOrder: []string{"user-agent", "host", "accept-language"},
	}
}

func rfcResponse() *Response {
	return &Response{
		Status: 200,
		Informational: []InfoResponse{
			{Status: 102, Header: http.Header{"Running": {`"sleep 15"`}}},
			{Status: 103, Header: http.Header{"Link": {"</style.css>; rel=preload; as=style", "</script.js>; rel=preload; as=script"}}},
		},
		Header: http.Header{
			"Date":           {"Mon, 27 Jul 2009 12:28:53 GMT"},
			"Server":         {"Apache"},
			"Last-Modified":  {"Wed, 22 Jul 2009 19:15:56 GMT"},
			"Etag":           {`"34aa387-d-1568eb00"`},
			"Accept-Ranges":  {"bytes"},
			"Content-Length": {"51"},
			"Vary":           {"Accept-Encoding"},
			"Content-Type":   {"text/plain"},
		},
		Body:       []byte("Hello World! My content includes a trailing CRLF.\r\n"),
		FieldOrder: []string{"running", "link", "date", "server", "last-modified", "etag", "accept-ranges", "content-length", "vary", "content-type"},
	}
}

func rfcChunkedResponse() *Response {
	return &Response{Status: 200, Body: []byte("This content contains CRLF.\r\n"),
		Trailer: http.Header{"Trailer": {"text"}}, FieldOrder: []string{"trailer"}}
}

func TestRFC9292Requests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wire    string
		padding int
		marshal func(*Request) ([]byte, error)
	}{
		{"known-length", rfcKnownRequest, 0, (*Request).MarshalKnownLength},
		{"indeterminate", rfcIndeterminateRequest, 10, (*Request).MarshalIndeterminate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(t, tc.wire)
			got, err := ParseRequest(wire)
			if err != nil {
				t.Fatal(err)
			}
			if want := rfcRequest(); !reflect.DeepEqual(got, want) {
				t.Fatalf("parsed\n%#v\nwant\n%#v", got, want)
			}
			enc, err := tc.marshal(rfcRequest())
			if err != nil {
				t.Fatal(err)
			}
			if want := wire[:len(wire)-tc.padding]; !bytes.Equal(enc, want) {
				t.Fatalf("encoded\n%x\nwant\n%x", enc, want)
			}
			// RFC 9292: the last two bytes (empty content and trailer) of
			// the known-length form can be cut off without changing it.
			if tc.padding == 0 {
				cut, err := ParseRequest(wire[:len(wire)-2])
				if err != nil || !reflect.DeepEqual(cut, got) {
					t.Fatalf("truncated form: %v %#v", err, cut)
				}
			}
		})
	}
}

func TestRFC9292Responses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wire    string
		want    *Response
		marshal func(*Response) ([]byte, error)
	}{
		{"interim-indeterminate", rfcInterimResponse, rfcResponse(), (*Response).MarshalIndeterminate},
		{"chunked-known-length", rfcKnownResponse, rfcChunkedResponse(), (*Response).MarshalKnownLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire := unhex(t, tc.wire)
			got, err := ParseResponse(wire)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parsed\n%#v\nwant\n%#v", got, tc.want)
			}
			enc, err := tc.marshal(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, wire) {
				t.Fatalf("encoded\n%x\nwant\n%x", enc, wire)
			}
			// The streaming decoder, fed one byte per Read, agrees.
			d := NewResponseDecoder(iotest.OneByteReader(bytes.NewReader(wire)), nil)
			body, err := io.ReadAll(d)
			if err != nil {
				t.Fatal(err)
			}
			streamed := d.Response()
			streamed.Body = body
			if !reflect.DeepEqual(streamed, tc.want) {
				t.Fatalf("streamed\n%#v\nwant\n%#v", streamed, tc.want)
			}
		})
	}
}

// The streaming encoder reproduces the RFC's interim response exactly.
func TestRFC9292ResponseEncoder(t *testing.T) {
	want := rfcResponse()
	for _, buf := range []int{0, 1024} {
		var out bytes.Buffer
		e := NewResponseEncoder(&out)
		e.Buf = make([]byte, buf)
		e.FieldOrder = want.FieldOrder
		for _, info := range want.Informational {
			if err := e.WriteInformational(info.Status, info.Header); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.WriteHeader(want.Status, want.Header); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Write(want.Body); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if wire := unhex(t, rfcInterimResponse); !bytes.Equal(out.Bytes(), wire) {
			t.Fatalf("Buf %d: encoded\n%x\nwant\n%x", buf, out.Bytes(), wire)
		}
	}
}
