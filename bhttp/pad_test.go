package bhttp

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

func TestPadLen(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 256}, {1, 256}, {256, 256}, {257, 512}, {1000, 1024},
		{1 << 14, 1 << 14}, {1<<14 + 1, 1 << 15},
		{64 << 10, 64 << 10}, {64<<10 + 1, 128 << 10}, {200 << 10, 256 << 10},
		{1 << 20, 1 << 20}, {1<<20 - 1, 1 << 20}, {1<<20 + 1, 1<<20 + 64<<10},
	} {
		if got := PadLen(tc.n); got != tc.want {
			t.Errorf("PadLen(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestPadHidesLength checks what padding is for: messages whose bodies
// differ in length within a bucket seal to the same length, and decode to
// what was sent.
func TestPadHidesLength(t *testing.T) {
	var sizes []int
	for _, body := range []string{"", "a", "a short summary", string(bytes.Repeat([]byte("x"), 150))} {
		for _, m := range []interface{ MarshalKnownLength() ([]byte, error) }{
			&Request{Method: "POST", Scheme: "https", Authority: "pith", Path: "/v1/summarize", Body: []byte(body)},
			&Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)},
		} {
			b, err := m.MarshalKnownLength()
			if err != nil {
				t.Fatal(err)
			}
			padded := Pad(b)
			sizes = append(sizes, len(padded))
			switch m := m.(type) {
			case *Request:
				got, err := ParseRequest(padded)
				if err != nil {
					t.Errorf("padded request: %v", err)
				} else if string(got.Body) != string(m.Body) {
					t.Errorf("padded request: body %q, want %q", got.Body, m.Body)
				}
			case *Response:
				got, err := ParseResponse(padded)
				if err != nil {
					t.Errorf("padded response: %v", err)
				} else if string(got.Body) != string(m.Body) || !reflect.DeepEqual(got.Header, m.Header) {
					t.Errorf("padded response: %+v, want %+v", got, m)
				}
			}
		}
	}
	for _, n := range sizes {
		if n != MinPad {
			t.Errorf("padded sizes %v, want all %d", sizes, MinPad)
			break
		}
	}
}
