package bhttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// pooledPrinter leaves one printer in fmt's pool and returns its buffer,
// for as long as the caller keeps one P and the collector off: the next
// fmt call takes that printer.
func pooledPrinter(t *testing.T) []byte {
	t.Helper()
	runtime.GC()
	runtime.GC() // empties the pool, victim cache included
	var buf []byte
	// Fprint hands the writer the printer's own buffer.
	keep := writerFunc(func(p []byte) (int, error) { buf = p; return len(p), nil })
	if _, err := fmt.Fprint(keep, strings.Repeat("-", 512)); err != nil {
		t.Fatal(err)
	}
	return buf[:cap(buf)]
}

// rawMessage encodes parts as varint-prefixed strings after the framing
// indicator, with no validation, so a test can send what the encoders
// refuse to make.
func rawMessage(framing uint64, parts ...string) []byte {
	b := appendVarint(nil, framing)
	for _, p := range parts {
		b = appendVarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// knownFields is a known-length field section of name, value pairs.
func knownFields(nv ...string) string {
	return string(rawMessage(0, nv...)[1:])
}

// The server parses the inner request of a sealed message inside
// runtime/secret.Do, but fmt's printers are pooled, and one made outside
// a request is never erased: bytes of a request formatted with fmt stay in
// its buffer after the request. So errors about malformed messages say
// where and which rule, by numbers, and never carry the message's bytes;
// that also keeps a server from reflecting them into its answers.
func TestErrorsDoNotCarryContent(t *testing.T) {
	const canary = "c4n4ry7f3a9e"
	// Long enough that a later fmt call, writing the printer's buffer
	// from its start, leaves some of it for the printer check to see.
	content := strings.Repeat(canary, 16)
	get := func(path, fields string) []byte {
		return append(rawMessage(framingKnownRequest, "GET", "https", "example.com", path), withLen(fields)...)
	}
	small := &Parser{MaxFieldSize: 64}
	long := strings.Repeat("v", 80)
	response := func(framing uint64, fields []byte) []byte {
		return append(appendVarint(appendVarint(nil, framing), 200), fields...)
	}
	decode := func(p *Parser, b []byte) error {
		_, err := io.ReadAll(NewResponseDecoder(bytes.NewReader(b), p))
		return err
	}
	for _, tc := range []struct {
		name string
		want error
		run  func() error
	}{
		{"method not a token", ErrInvalid, func() error {
			_, err := ParseRequest(rawMessage(framingKnownRequest, content+"(", "https", "a", "/"))
			return err
		}},
		{"space in scheme", ErrInvalid, func() error {
			_, err := ParseRequest(rawMessage(framingKnownRequest, "GET", content+" ", "a", "/"))
			return err
		}},
		{"control character in authority", ErrInvalid, func() error {
			_, err := ParseRequest(rawMessage(framingKnownRequest, "GET", "https", content+"\x01", "/"))
			return err
		}},
		{"space in path", ErrInvalid, func() error {
			_, err := ParseRequest(get("/"+content+" x", ""))
			return err
		}},
		{"field name not a token", ErrInvalid, func() error {
			_, err := ParseRequest(get("/", knownFields(content+"(", "v")))
			return err
		}},
		{"upper-case field name", ErrInvalid, func() error {
			_, err := ParseRequest(get("/", knownFields(content+"X", "v")))
			return err
		}},
		{"LF in field value", ErrInvalid, func() error {
			_, err := ParseRequest(get("/", knownFields(content, content+"\n")))
			return err
		}},
		{"space around field value", ErrInvalid, func() error {
			_, err := ParseRequest(get("/", knownFields(content, " "+content)))
			return err
		}},
		{"field line over the limit", ErrTooLarge, func() error {
			_, err := small.ParseRequest(get("/", knownFields(canary, long)))
			return err
		}},
		{"response field name not a token", ErrInvalid, func() error {
			_, err := ParseResponse(response(framingKnownResponse, withLen(knownFields(content+"(", "v"))))
			return err
		}},
		{"stream field line over the limit", ErrTooLarge, func() error {
			return decode(small, response(framingIndeterminateResponse, []byte(knownFields(canary, long))))
		}},
		{"stream upper-case field name", ErrInvalid, func() error {
			return decode(nil, response(framingIndeterminateResponse, []byte(knownFields(content+"X", "v"))))
		}},
		{"encode method not a token", ErrInvalid, func() error {
			_, err := (&Request{Method: content + " ", Path: "/"}).MarshalKnownLength()
			return err
		}},
		{"encode field value with CR", ErrInvalid, func() error {
			_, err := (&Response{Status: 200, Header: http.Header{content: {content + "\r"}}}).MarshalIndeterminate()
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			printer := pooledPrinter(t)
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if msg := err.Error(); strings.Contains(msg, canary) {
				t.Errorf("error %q carries the message's bytes", msg)
			}
			if bytes.Contains(printer, []byte(canary)) {
				t.Errorf("the message's %q was formatted in fmt's pooled printer", canary)
			}
		})
	}
}

// withLen prefixes s with its length, as a known-length section is.
func withLen(s string) []byte {
	return append(appendVarint(nil, uint64(len(s))), s...)
}
