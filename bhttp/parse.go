package bhttp

import (
	"fmt"
	"math"
	"net/http"
)

// Default limits, used where a Parser field is zero. They are far above
// what an Ollama API call needs and far below what would hurt the server.
const (
	DefaultMaxFields    = 256
	DefaultMaxFieldSize = 64 << 10
	DefaultMaxTotal     = 64 << 20
)

// MaxInformational bounds the informational (1xx) responses before the
// final one. Servers send one or two (100 Continue, 103 Early Hints), but
// each costs as little as three bytes on the wire and a Response entry in
// memory, and with no field lines it counts against no other limit: a
// megabyte of them would cost fifty times its size.
const MaxInformational = 16

var errTooManyInformational = fmt.Errorf("bhttp: more than %d informational responses: %w", MaxInformational, ErrTooLarge)

// Parser decodes binary HTTP messages under limits. The zero value uses the
// defaults; ParseRequest and ParseResponse use a zero Parser.
type Parser struct {
	// MaxFields bounds the number of field lines in a message, over all of
	// its header, trailer and informational sections.
	MaxFields int
	// MaxFieldSize bounds one field line: name and value together.
	MaxFieldSize int
	// MaxTotal bounds a whole message given as bytes, padding included;
	// for a ResponseDecoder it bounds every part except the content.
	MaxTotal int
	// Alloc, if set, provides the memory the content is decoded into: it is
	// called once per message with the content's length (never 0) and must
	// return a slice at least that long. A server passes its wiped arena
	// here. Without it the content goes to a fresh heap slice.
	Alloc func(n int) []byte
}

func (p *Parser) maxFields() int    { return orDefault(p.MaxFields, DefaultMaxFields) }
func (p *Parser) maxFieldSize() int { return orDefault(p.MaxFieldSize, DefaultMaxFieldSize) }
func (p *Parser) maxTotal() int     { return orDefault(p.MaxTotal, DefaultMaxTotal) }

// maxSection is the longest a known-length field section can be once
// linesUsed field lines of the message have been read: the lines still
// allowed, each at most MaxFieldSize bytes of name and value behind two
// length prefixes of up to 8 bytes (non-minimal varints are valid). A
// longer claim cannot be valid, so it is refused before anything is read
// or allocated for it.
func (p *Parser) maxSection(linesUsed int) uint64 {
	lines := uint64(max(p.maxFields()-linesUsed, 0))
	line := uint64(p.maxFieldSize()) + 16
	if lines > math.MaxUint64/line {
		return math.MaxUint64
	}
	return lines * line
}

func (p *Parser) checkSection(n uint64, linesUsed int, what string) error {
	if limit := p.maxSection(linesUsed); n > limit {
		return fmt.Errorf("bhttp: %s section of %d bytes is longer than the field lines still allowed can be (%d bytes): %w", what, n, limit, ErrTooLarge)
	}
	return nil
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func (p *Parser) alloc(n int) ([]byte, error) {
	if p.Alloc == nil {
		return make([]byte, n), nil
	}
	b := p.Alloc(n)
	if len(b) < n {
		return nil, fmt.Errorf("bhttp: Alloc returned %d bytes for %d of content", len(b), n)
	}
	return b[:n:n], nil
}

// ParseRequest decodes a request in either framing with the default limits.
func ParseRequest(b []byte) (*Request, error) { return new(Parser).ParseRequest(b) }

// ParseResponse decodes a response in either framing with the default limits.
func ParseResponse(b []byte) (*Response, error) { return new(Parser).ParseResponse(b) }

// cursor walks a message held in memory.
type cursor struct {
	b   []byte
	off int
	p   *Parser
	*sink
}

// sink validates field lines, counts them against the limits and records
// the order of first appearance, for a whole message.
type sink struct {
	p     *Parser
	n     int
	order []string
	seen  map[string]bool
}

func (s *sink) add(h http.Header, name, value []byte, what string) (http.Header, error) {
	if s.n++; s.n > s.p.maxFields() {
		return nil, fmt.Errorf("bhttp: more than %d field lines: %w", s.p.maxFields(), ErrTooLarge)
	}
	if len(name)+len(value) > s.p.maxFieldSize() {
		return nil, fieldTooLarge(what, uint64(len(name)+len(value)), s.p.maxFieldSize())
	}
	ns := string(name)
	if err := checkName(what, ns); err != nil {
		return nil, err
	}
	vs := string(value)
	if err := checkValue(what, vs); err != nil {
		return nil, err
	}
	if h == nil {
		h = make(http.Header)
	}
	k := http.CanonicalHeaderKey(ns)
	h[k] = append(h[k], vs)
	if s.seen == nil {
		s.seen = make(map[string]bool)
	}
	if !s.seen[ns] {
		s.seen[ns] = true
		s.order = append(s.order, ns)
	}
	return h, nil
}

func (c *cursor) done() bool { return c.off == len(c.b) }

func (c *cursor) varint(what string) (uint64, error) {
	v, n, err := readVarint(c.b[c.off:])
	if err != nil {
		return 0, errorf("%s at offset %d: %v", what, c.off, err)
	}
	c.off += n
	return v, nil
}

func (c *cursor) take(n uint64, what string) ([]byte, error) {
	if n > uint64(len(c.b)-c.off) {
		return nil, errorf("%s of %d bytes at offset %d runs past the end (%d bytes left)", what, n, c.off, len(c.b)-c.off)
	}
	s := c.b[c.off : c.off+int(n)]
	c.off += int(n)
	return s, nil
}

func (c *cursor) lengthPrefixed(what string) ([]byte, error) {
	n, err := c.varint(what + " length")
	if err != nil {
		return nil, err
	}
	return c.take(n, what)
}

func (p *Parser) newCursor(b []byte) (*cursor, uint64, error) {
	if len(b) > p.maxTotal() {
		return nil, 0, fmt.Errorf("bhttp: message of %d bytes exceeds the limit of %d: %w", len(b), p.maxTotal(), ErrTooLarge)
	}
	c := &cursor{b: b, p: p, sink: &sink{p: p}}
	f, err := c.varint("framing indicator")
	return c, f, err
}

// ParseRequest decodes a request in either framing.
func (p *Parser) ParseRequest(b []byte) (*Request, error) {
	c, framing, err := p.newCursor(b)
	if err != nil {
		return nil, err
	}
	switch framing {
	case framingKnownRequest, framingIndeterminateRequest:
	case framingKnownResponse, framingIndeterminateResponse:
		return nil, errorf("framing indicator %d is a response, not a request", framing)
	default:
		return nil, errorf("unknown framing indicator %d", framing)
	}
	indet := framing == framingIndeterminateRequest
	var ctl [4]string
	for i, what := range []string{"method", "scheme", "authority", "path"} {
		s, err := c.lengthPrefixed(what)
		if err != nil {
			return nil, err
		}
		ctl[i] = string(s)
	}
	if err := checkToken("method", ctl[0]); err != nil {
		return nil, err
	}
	for i, what := range []string{"scheme", "authority", "path"} {
		if err := checkControl(what, ctl[i+1]); err != nil {
			return nil, err
		}
	}
	r := &Request{Method: ctl[0], Scheme: ctl[1], Authority: ctl[2], Path: ctl[3]}
	if r.Header, r.Body, r.Trailer, err = c.rest(indet); err != nil {
		return nil, err
	}
	r.FieldOrder = c.order
	return r, nil
}

// ParseResponse decodes a response in either framing.
func (p *Parser) ParseResponse(b []byte) (*Response, error) {
	c, framing, err := p.newCursor(b)
	if err != nil {
		return nil, err
	}
	switch framing {
	case framingKnownResponse, framingIndeterminateResponse:
	case framingKnownRequest, framingIndeterminateRequest:
		return nil, errorf("framing indicator %d is a request, not a response", framing)
	default:
		return nil, errorf("unknown framing indicator %d", framing)
	}
	indet := framing == framingIndeterminateResponse
	r := new(Response)
	for {
		st, err := c.varint("status code")
		if err != nil {
			return nil, err
		}
		if st >= 200 && st <= 599 {
			r.Status = int(st)
			break
		}
		if st < 100 || st > 199 {
			return nil, errorf("status code %d outside 100..599", st)
		}
		if len(r.Informational) == MaxInformational {
			return nil, errTooManyInformational
		}
		h, err := c.fields(indet, "informational header")
		if err != nil {
			return nil, err
		}
		r.Informational = append(r.Informational, InfoResponse{Status: int(st), Header: h})
	}
	if r.Header, r.Body, r.Trailer, err = c.rest(indet); err != nil {
		return nil, err
	}
	r.FieldOrder = c.order
	return r, nil
}

// rest decodes the header section, content, trailer section and padding.
// Each part may be cut off entirely (RFC 9292 section 3.1: truncation),
// which means it is empty.
func (c *cursor) rest(indet bool) (header http.Header, body []byte, trailer http.Header, err error) {
	if header, err = c.fields(indet, "header"); err != nil {
		return
	}
	if body, err = c.content(indet); err != nil {
		return
	}
	if trailer, err = c.fields(indet, "trailer"); err != nil {
		return
	}
	for i := c.off; i < len(c.b); i++ {
		if c.b[i] != 0 {
			err = errorf("non-zero padding byte at offset %d", i)
			return
		}
	}
	return
}

func (c *cursor) content(indet bool) ([]byte, error) {
	if c.done() {
		return nil, nil
	}
	if !indet {
		s, err := c.lengthPrefixed("content")
		if err != nil || len(s) == 0 {
			return nil, err
		}
		body, err := c.p.alloc(len(s))
		if err != nil {
			return nil, err
		}
		copy(body, s)
		return body, nil
	}
	// Two passes, so the content is allocated once at its final size and
	// nothing is kept per chunk (a chunk can be two bytes long).
	start, total := c.off, 0
	for {
		n, err := c.varint("content chunk length")
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		if _, err := c.take(n, "content chunk"); err != nil {
			return nil, err
		}
		total += int(n)
	}
	if total == 0 {
		return nil, nil
	}
	body, err := c.p.alloc(total)
	if err != nil {
		return nil, err
	}
	end := c.off
	c.off = start
	for w := 0; c.off < end; {
		n, _ := c.varint("content chunk length")
		s, _ := c.take(n, "content chunk")
		w += copy(body[w:], s)
	}
	return body, nil
}

// fields decodes one field section. Fields go into an http.Header under
// canonical names; the order of first appearance goes to c.order.
func (c *cursor) fields(indet bool, what string) (http.Header, error) {
	if c.done() {
		return nil, nil
	}
	sec := c
	if !indet {
		n, err := c.varint(what + " section length")
		if err != nil {
			return nil, err
		}
		if err := c.p.checkSection(n, c.n, what); err != nil {
			return nil, err
		}
		s, err := c.take(n, what+" section")
		if err != nil {
			return nil, err
		}
		sec = &cursor{b: s, p: c.p, sink: c.sink}
	}
	return sec.lines(indet, what)
}

// lines decodes field lines up to the end of c (known-length) or up to
// the terminating zero (indeterminate).
func (sec *cursor) lines(indet bool, what string) (http.Header, error) {
	var h http.Header
	for !sec.done() {
		n, err := sec.varint(what + " field name length")
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if indet {
				return h, nil
			}
			return nil, errorf("empty field name in %s section", what)
		}
		name, err := sec.take(n, what+" field name")
		if err != nil {
			return nil, err
		}
		value, err := sec.lengthPrefixed(what + " field value")
		if err != nil {
			return nil, err
		}
		if h, err = sec.add(h, name, value, what); err != nil {
			return nil, err
		}
	}
	if indet {
		// The section ran to the end of the message without its terminator.
		return nil, errorf("%s section has no terminator", what)
	}
	return h, nil
}
