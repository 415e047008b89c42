// Package bhttp encodes and decodes Binary HTTP messages (RFC 9292,
// media type message/bhttp), the inner format that Oblivious HTTP seals.
//
// Both framings are supported in both directions: known-length (framing
// indicators 0 and 1), where every section carries its length, and
// indeterminate-length (2 and 3), where sections end with a zero and the
// content is a sequence of chunks, so a response can be produced and read
// incrementally (ResponseEncoder, ResponseDecoder).
//
// Field names are sent in lower case, as HTTP/2 requires, and stored in
// http.Header under their canonical form. Parsing enforces Limits, so a
// hostile message cannot make the parser allocate more than a bounded
// multiple of its own size. Content can be decoded into caller-supplied
// memory (Parser.Alloc), so a server can keep plaintext bodies outside the
// Go heap; control data and fields are Go strings and so live on the heap.
package bhttp

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Framing indicators (RFC 9292 section 3.3).
const (
	framingKnownRequest          = 0
	framingKnownResponse         = 1
	framingIndeterminateRequest  = 2
	framingIndeterminateResponse = 3
)

// MediaType is the media type of a binary HTTP message.
const MediaType = "message/bhttp"

// ErrInvalid is wrapped by every error about a malformed message, so callers
// can tell bad input from other failures with errors.Is.
var ErrInvalid = errors.New("invalid binary HTTP message")

// ErrTooLarge is wrapped when a message exceeds the parser's Limits.
var ErrTooLarge = errors.New("binary HTTP message exceeds a limit")

// Request is a binary HTTP request.
type Request struct {
	Method, Scheme, Authority, Path string
	Header                          http.Header
	Body                            []byte
	Trailer                         http.Header
	// FieldOrder, when set, lists lower-case field names in the order their
	// lines are encoded; names not listed follow in sorted order. Parsing
	// fills it with the order of first appearance, so parse then marshal
	// reproduces the field order of the input.
	FieldOrder []string
}

// InfoResponse is an informational (1xx) response preceding the final one.
type InfoResponse struct {
	Status int
	Header http.Header
}

// Response is a binary HTTP response.
type Response struct {
	Status        int
	Informational []InfoResponse
	Header        http.Header
	Body          []byte
	Trailer       http.Header
	FieldOrder    []string // as Request.FieldOrder
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("bhttp: "+format+": %w", append(args, ErrInvalid)...)
}

// MarshalKnownLength encodes r with known-length framing (indicator 0).
func (r *Request) MarshalKnownLength() ([]byte, error) {
	return r.marshal(false)
}

// MarshalIndeterminate encodes r with indeterminate-length framing
// (indicator 2), the body as a single chunk.
func (r *Request) MarshalIndeterminate() ([]byte, error) {
	return r.marshal(true)
}

func (r *Request) marshal(indet bool) ([]byte, error) {
	if err := checkToken("method", r.Method); err != nil {
		return nil, err
	}
	for _, c := range [...]struct{ what, s string }{{"scheme", r.Scheme}, {"authority", r.Authority}, {"path", r.Path}} {
		if err := checkControl(c.what, c.s); err != nil {
			return nil, err
		}
	}
	b := make([]byte, 0, 64+len(r.Body))
	if indet {
		b = appendVarint(b, framingIndeterminateRequest)
	} else {
		b = appendVarint(b, framingKnownRequest)
	}
	for _, s := range []string{r.Method, r.Scheme, r.Authority, r.Path} {
		b = appendVarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return appendRest(b, indet, r.Header, r.Body, r.Trailer, r.FieldOrder)
}

// MarshalKnownLength encodes r with known-length framing (indicator 1).
func (r *Response) MarshalKnownLength() ([]byte, error) {
	return r.marshal(false)
}

// MarshalIndeterminate encodes r with indeterminate-length framing
// (indicator 3), the body as a single chunk.
func (r *Response) MarshalIndeterminate() ([]byte, error) {
	return r.marshal(true)
}

func (r *Response) marshal(indet bool) ([]byte, error) {
	// Checked before encoding anything: our own decoders refuse the message
	// otherwise, and a peer that did not would be exposed to the cost
	// MaxInformational is there to bound.
	if n := len(r.Informational); n > MaxInformational {
		return nil, fmt.Errorf("bhttp: encode %d informational responses, more than the %d a decoder accepts: %w", n, MaxInformational, ErrTooLarge)
	}
	b := make([]byte, 0, 64+len(r.Body))
	if indet {
		b = appendVarint(b, framingIndeterminateResponse)
	} else {
		b = appendVarint(b, framingKnownResponse)
	}
	var err error
	for _, info := range r.Informational {
		if info.Status < 100 || info.Status > 199 {
			return nil, fmt.Errorf("bhttp: informational status %d outside 100..199: %w", info.Status, ErrInvalid)
		}
		b = appendVarint(b, uint64(info.Status))
		if b, err = appendFields(b, info.Header, indet, r.FieldOrder); err != nil {
			return nil, err
		}
	}
	if r.Status < 200 || r.Status > 599 {
		return nil, fmt.Errorf("bhttp: final status %d outside 200..599: %w", r.Status, ErrInvalid)
	}
	b = appendVarint(b, uint64(r.Status))
	return appendRest(b, indet, r.Header, r.Body, r.Trailer, r.FieldOrder)
}

// appendRest appends the header section, content and trailer section.
func appendRest(b []byte, indet bool, header http.Header, body []byte, trailer http.Header, order []string) ([]byte, error) {
	b, err := appendFields(b, header, indet, order)
	if err != nil {
		return nil, err
	}
	if indet {
		if len(body) > 0 {
			b = appendVarint(b, uint64(len(body)))
			b = append(b, body...)
		}
		b = appendVarint(b, 0)
	} else {
		b = appendVarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	return appendFields(b, trailer, indet, order)
}

// fieldNames returns h's names, lower-cased, in encoding order.
func fieldNames(h http.Header, order []string) []string {
	names := make([]string, 0, len(h))
	seen := make(map[string]bool, len(h))
	for _, n := range order {
		n = strings.ToLower(n)
		if _, ok := h[http.CanonicalHeaderKey(n)]; ok && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	rest := len(names)
	for k := range h {
		n := strings.ToLower(k)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names[rest:])
	return names
}

// headerValues returns the values of the lower-case name n, wherever h
// stores them (canonical key, or a non-canonical key set directly).
func headerValues(h http.Header, n string) []string {
	if v, ok := h[http.CanonicalHeaderKey(n)]; ok {
		return v
	}
	for k, v := range h {
		if strings.ToLower(k) == n {
			return v
		}
	}
	return nil
}

func appendFields(b []byte, h http.Header, indet bool, order []string) ([]byte, error) {
	var sec []byte
	for _, n := range fieldNames(h, order) {
		if err := checkName("", n); err != nil {
			return nil, err
		}
		for _, v := range headerValues(h, n) {
			if err := checkValue("", v); err != nil {
				return nil, err
			}
			sec = appendVarint(sec, uint64(len(n)))
			sec = append(sec, n...)
			sec = appendVarint(sec, uint64(len(v)))
			sec = append(sec, v...)
		}
	}
	if indet {
		b = append(b, sec...)
		return appendVarint(b, 0), nil
	}
	b = appendVarint(b, uint64(len(sec)))
	return append(b, sec...), nil
}

// isTchar reports whether c may appear in an HTTP token (RFC 9110 5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// The check errors below name what broke which rule by kind, length and
// index, never by the bytes themselves: the server parses decrypted
// requests inside runtime/secret.Do, and fmt's pooled printers, made
// outside any request, are never erased, so bytes formatted there would
// outlive the request (and a server should not reflect them anyway).

func checkToken(what, s string) error {
	if s == "" {
		return fmt.Errorf("bhttp: empty %s: %w", what, ErrInvalid)
	}
	if i := notToken(s); i >= 0 {
		return fmt.Errorf("bhttp: %s of %d bytes is not an HTTP token (byte %d): %w", what, len(s), i, ErrInvalid)
	}
	return nil
}

// notToken returns the index of the first byte of s that may not appear
// in a token, or -1.
func notToken(s string) int {
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return i
		}
	}
	return -1
}

// checkControl applies HTTP/2's rule for pseudo-header values to the
// scheme, authority and path: no control characters or spaces.
func checkControl(what, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return fmt.Errorf("bhttp: %s of %d bytes holds a control character or space (byte %d): %w", what, len(s), i, ErrInvalid)
		}
	}
	return nil
}

// fieldPart names a part of a field line in an error: section is
// "header", "trailer" and so on, or "" where it is not known. Built only
// once a check has failed, so valid lines cost no allocation for it.
func fieldPart(section, part string) string {
	if section == "" {
		return "field " + part
	}
	return section + " field " + part
}

// checkName applies RFC 9113 section 8.2.1: a token, in lower case. Pseudo
// fields are refused: the ones RFC 9292 names are invalid, and pith knows
// no extension that defines others.
func checkName(section, n string) error {
	if n == "" || notToken(n) >= 0 {
		return checkToken(fieldPart(section, "name"), n)
	}
	for i := 0; i < len(n); i++ {
		if 'A' <= n[i] && n[i] <= 'Z' {
			return fmt.Errorf("bhttp: %s of %d bytes is not lower case (byte %d): %w", fieldPart(section, "name"), len(n), i, ErrInvalid)
		}
	}
	return nil
}

// checkValue applies RFC 9113 section 8.2.1 to a field value: no NUL, CR
// or LF, and no leading or trailing space or tab.
func checkValue(section, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\r' || c == '\n' {
			return fmt.Errorf("bhttp: %s of %d bytes holds NUL, CR or LF (byte %d): %w", fieldPart(section, "value"), len(v), i, ErrInvalid)
		}
	}
	if v != "" && (isWS(v[0]) || isWS(v[len(v)-1])) {
		return fmt.Errorf("bhttp: %s of %d bytes has surrounding whitespace: %w", fieldPart(section, "value"), len(v), ErrInvalid)
	}
	return nil
}

// fieldTooLarge reports a field line of n bytes over the limit, without
// its name (see checkToken).
func fieldTooLarge(section string, n uint64, limit int) error {
	return fmt.Errorf("bhttp: %s of %d bytes exceeds the limit of %d: %w", fieldPart(section, "line"), n, limit, ErrTooLarge)
}

func isWS(c byte) bool { return c == ' ' || c == '\t' }
