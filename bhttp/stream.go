package bhttp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// ResponseEncoder writes an indeterminate-length response to a stream: the
// head, then each Write as one content chunk, then the trailer on Close.
// It is what a server streaming NDJSON through chunked Oblivious HTTP
// writes into, so each Write reaches the client as soon as the writer
// below passes it on.
type ResponseEncoder struct {
	w io.Writer
	// FieldOrder orders field lines as Response.FieldOrder does.
	FieldOrder []string
	// Trailer is sent by Close.
	Trailer http.Header
	// Buf, if set, is where a chunk's length prefix and data are joined so
	// that each Write reaches w as a single Write (one sealed chunk below, up
	// to ohttp.SendChunk bytes);
	// a server may point it at arena memory. Without it, or when a chunk
	// does not fit, a w that is a PartsWriter gets both in one WriteParts,
	// and any other w gets them as two Writes, rather than through a heap
	// copy of the data.
	Buf []byte

	started, headerDone, closed bool
	informational               int // sent so far
	err                         error
}

// PartsWriter is a writer that takes several buffers as one write, as
// ohttp.ChunkedResponseWriter does (one sealed chunk of up to
// ohttp.SendChunk bytes, more beyond, encrypted in place in its own
// buffer).
type PartsWriter interface {
	WriteParts(parts ...[]byte) (int, error)
}

// NewResponseEncoder returns an encoder writing to w.
func NewResponseEncoder(w io.Writer) *ResponseEncoder { return &ResponseEncoder{w: w} }

func (e *ResponseEncoder) write(b []byte) error {
	if e.err != nil {
		return e.err
	}
	if _, err := e.w.Write(b); err != nil {
		e.err = fmt.Errorf("bhttp: write response: %w", err)
	}
	return e.err
}

// head encodes a status and field section, after the framing indicator if
// nothing has been sent yet. It changes no state: a head it refuses must
// not cost the stream its framing indicator.
func (e *ResponseEncoder) head(status int, h http.Header) ([]byte, error) {
	var b []byte
	if !e.started {
		b = appendVarint(b, framingIndeterminateResponse)
	}
	return appendFields(appendVarint(b, uint64(status)), h, true, e.FieldOrder)
}

// WriteInformational sends a 1xx response ahead of the final one. At most
// MaxInformational are sent, the number our decoders accept; one more is
// refused, with nothing written, and the encoder can still send the final
// response.
func (e *ResponseEncoder) WriteInformational(status int, h http.Header) error {
	if e.headerDone {
		return errors.New("bhttp: informational response after the final header")
	}
	if e.informational == MaxInformational {
		return fmt.Errorf("bhttp: encode informational response %d, more than the %d a decoder accepts: %w", e.informational+1, MaxInformational, ErrTooLarge)
	}
	if status < 100 || status > 199 {
		return fmt.Errorf("bhttp: informational status %d outside 100..199: %w", status, ErrInvalid)
	}
	b, err := e.head(status, h)
	if err != nil {
		return err
	}
	e.started = true
	if err := e.write(b); err != nil {
		return err
	}
	e.informational++
	return nil
}

// WriteHeader sends the final status and header section. Write calls it
// with 200 and no fields if it has not been called.
func (e *ResponseEncoder) WriteHeader(status int, h http.Header) error {
	if e.headerDone {
		return errors.New("bhttp: WriteHeader called twice")
	}
	if status < 200 || status > 599 {
		return fmt.Errorf("bhttp: final status %d outside 200..599: %w", status, ErrInvalid)
	}
	b, err := e.head(status, h)
	if err != nil {
		return err
	}
	e.started, e.headerDone = true, true
	return e.write(b)
}

// Write sends p as one content chunk. An empty p sends nothing: a zero
// length would end the content.
func (e *ResponseEncoder) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errors.New("bhttp: write after Close")
	}
	if !e.headerDone {
		if err := e.WriteHeader(http.StatusOK, nil); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, e.err
	}
	var pre [8]byte
	prefix := appendVarint(pre[:0], uint64(len(p)))
	if len(prefix)+len(p) <= len(e.Buf) {
		n := copy(e.Buf, prefix)
		n += copy(e.Buf[n:], p)
		if err := e.write(e.Buf[:n]); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if pw, ok := e.w.(PartsWriter); ok {
		if e.err != nil {
			return 0, e.err
		}
		if _, err := pw.WriteParts(prefix, p); err != nil {
			e.err = fmt.Errorf("bhttp: write response: %w", err)
			return 0, e.err
		}
		return len(p), nil
	}
	if err := e.write(prefix); err != nil {
		return 0, err
	}
	if err := e.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the content and sends the trailer section. It does not close
// the underlying writer.
func (e *ResponseEncoder) Close() error {
	if e.closed {
		return e.err
	}
	if !e.headerDone {
		if err := e.WriteHeader(http.StatusOK, nil); err != nil {
			return err
		}
	}
	b, err := appendFields(appendVarint(nil, 0), e.Trailer, true, e.FieldOrder)
	if err != nil {
		// Not closed: a second Close must not report success for a
		// stream whose end was never written.
		return err
	}
	e.closed = true
	return e.write(b)
}

// ResponseDecoder reads a response (either framing) from a stream and hands
// out its content as it arrives: Read returns whatever part of a chunk is
// available rather than waiting to fill its buffer. The trailer is in
// Response().Trailer once Read has returned io.EOF.
type ResponseDecoder struct {
	r       *bufio.Reader
	p       *Parser
	resp    *Response
	indet   bool
	left    uint64 // content bytes left in the current chunk (or in all of it)
	started bool   // a content chunk length has been read
	state   int
	sink    sink
	used    int // bytes outside the content, against MaxTotal
	err     error
}

const (
	stHead = iota
	stBody
	stDone
)

// NewResponseDecoder returns a decoder reading from r with p's limits (nil
// for the defaults). Parser.Alloc is not used: the caller supplies the
// buffers to Read.
func NewResponseDecoder(r io.Reader, p *Parser) *ResponseDecoder {
	if p == nil {
		p = new(Parser)
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &ResponseDecoder{r: br, p: p, sink: sink{p: p}}
}

// countingByteReader charges the bytes it reads to the decoder's budget.
type countingByteReader struct{ d *ResponseDecoder }

func (c countingByteReader) ReadByte() (byte, error) {
	b, err := c.d.r.ReadByte()
	if err == nil {
		c.d.used++
	}
	return b, err
}

func (d *ResponseDecoder) fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// varint reads an integer; eofOK says the message may end here.
func (d *ResponseDecoder) varint(what string, eofOK bool) (uint64, bool, error) {
	v, err := ReadVarint(countingByteReader{d})
	if err == io.EOF && eofOK {
		return 0, true, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return 0, false, errorf("stream ends inside %s (truncated)", what)
	}
	if err != nil {
		return 0, false, fmt.Errorf("bhttp: read %s: %w", what, err)
	}
	if d.used > d.p.maxTotal() {
		return 0, false, fmt.Errorf("bhttp: response head and trailer exceed %d bytes: %w", d.p.maxTotal(), ErrTooLarge)
	}
	return v, false, nil
}

func (d *ResponseDecoder) readN(n uint64, what string) ([]byte, error) {
	if n > uint64(d.p.maxTotal()-d.used) {
		return nil, fmt.Errorf("bhttp: %s of %d bytes exceeds the limit: %w", what, n, ErrTooLarge)
	}
	// Start with at most readPiece and double as bytes arrive, so memory
	// follows what was received rather than what was claimed.
	b := make([]byte, min(n, readPiece))
	for off := 0; ; {
		m, err := io.ReadFull(d.r, b[off:])
		off += m
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errorf("stream ends inside %s (truncated)", what)
		}
		if err != nil {
			return nil, fmt.Errorf("bhttp: read %s: %w", what, err)
		}
		if uint64(off) == n {
			break
		}
		more := int(min(n-uint64(off), uint64(off)))
		b = slices.Grow(b, more)[:off+more]
	}
	d.used += int(n)
	return b, nil
}

// readPiece is the most readN allocates ahead of the bytes it has received:
// a length prefix is only a claim, and a stream that ends early must not
// cost what it claimed.
const readPiece = 16 << 10

// section reads one field section; ended reports that the stream ended
// where the section would start (truncation).
func (d *ResponseDecoder) section(what string) (h http.Header, ended bool, err error) {
	if !d.indet {
		n, eof, err := d.varint(what+" section length", true)
		if err != nil || eof {
			return nil, eof, err
		}
		if err := d.p.checkSection(n, d.sink.n, what); err != nil {
			return nil, false, err
		}
		b, err := d.readN(n, what+" section")
		if err != nil {
			return nil, false, err
		}
		c := &cursor{b: b, p: d.p, sink: &d.sink}
		h, err = c.lines(false, what)
		return h, false, err
	}
	// Indeterminate: read field lines one at a time until the terminator.
	first := true
	for {
		n, eof, err := d.varint(what+" field name length", first)
		if err != nil || eof {
			return h, eof, err
		}
		first = false
		if n == 0 {
			return h, false, nil
		}
		if n > uint64(d.p.maxFieldSize()) {
			return nil, false, fmt.Errorf("bhttp: %s field name of %d bytes exceeds the limit: %w", what, n, ErrTooLarge)
		}
		name, err := d.readN(n, what+" field name")
		if err != nil {
			return nil, false, err
		}
		vn, _, err := d.varint(what+" field value length", false)
		if err != nil {
			return nil, false, err
		}
		if vn+n > uint64(d.p.maxFieldSize()) {
			return nil, false, fieldTooLarge(what, vn+n, d.p.maxFieldSize())
		}
		value, err := d.readN(vn, what+" field value")
		if err != nil {
			return nil, false, err
		}
		if h, err = d.sink.add(h, name, value, what); err != nil {
			return nil, false, err
		}
	}
}

// ReadHeader reads the head of the response: informational responses, the
// final status and the header section. Read calls it if needed.
func (d *ResponseDecoder) ReadHeader() (*Response, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.state != stHead {
		return d.resp, nil
	}
	d.resp = new(Response)
	framing, _, err := d.varint("framing indicator", false)
	if err != nil {
		return nil, d.fail(err)
	}
	switch framing {
	case framingKnownResponse, framingIndeterminateResponse:
	default:
		return nil, d.fail(errorf("framing indicator %d is not a response", framing))
	}
	d.indet = framing == framingIndeterminateResponse
	for {
		st, _, err := d.varint("status code", false)
		if err != nil {
			return nil, d.fail(err)
		}
		if st >= 200 && st <= 599 {
			d.resp.Status = int(st)
			break
		}
		if st < 100 || st > 199 {
			return nil, d.fail(errorf("status code %d outside 100..599", st))
		}
		if len(d.resp.Informational) == MaxInformational {
			return nil, d.fail(errTooManyInformational)
		}
		h, eof, err := d.section("informational header")
		if err != nil {
			return nil, d.fail(err)
		}
		if eof {
			return nil, d.fail(errorf("stream ends after informational status %d without a final status (truncated)", st))
		}
		d.resp.Informational = append(d.resp.Informational, InfoResponse{Status: int(st), Header: h})
	}
	h, eof, err := d.section("header")
	if err != nil {
		return nil, d.fail(err)
	}
	d.resp.Header = h
	d.resp.FieldOrder = d.sink.order
	d.state = stBody
	if eof {
		d.state = stDone
	}
	return d.resp, nil
}

// Response returns what has been decoded so far (nil before the head).
func (d *ResponseDecoder) Response() *Response { return d.resp }

// Read reads content. It returns io.EOF after the content and the trailer
// section have been read and any padding checked.
func (d *ResponseDecoder) Read(p []byte) (int, error) {
	if d.state == stHead {
		if _, err := d.ReadHeader(); err != nil {
			return 0, err
		}
	}
	if d.err != nil {
		return 0, d.err
	}
	for d.state == stBody && d.left == 0 {
		if err := d.nextChunk(); err != nil {
			return 0, d.fail(err)
		}
	}
	if d.state == stDone {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if uint64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, err := d.r.Read(p)
	d.left -= uint64(n)
	if err == io.EOF {
		if d.left > 0 {
			return n, d.fail(errorf("stream ends inside the content (truncated)"))
		}
		err = nil
	}
	if err != nil {
		return n, d.fail(fmt.Errorf("bhttp: read content: %w", err))
	}
	return n, nil
}

// nextChunk moves to the next content chunk, or through the trailer to the
// end when the content is over.
func (d *ResponseDecoder) nextChunk() error {
	if !d.indet {
		if !d.started {
			d.started = true
			n, eof, err := d.varint("content length", true)
			if err != nil {
				return err
			}
			if eof {
				d.state = stDone
				return nil
			}
			if n > 0 {
				d.left = n
				return nil
			}
		}
		return d.finish()
	}
	n, eof, err := d.varint("content chunk length", !d.started)
	if err != nil {
		return err
	}
	if eof {
		d.state = stDone
		return nil
	}
	d.started = true
	if n == 0 {
		return d.finish()
	}
	d.left = n
	return nil
}

// finish reads the trailer section and checks that only zero padding
// follows, reading to the end so that a sealed stream below gets to verify
// its final chunk.
func (d *ResponseDecoder) finish() error {
	h, _, err := d.section("trailer")
	if err != nil {
		return err
	}
	d.resp.Trailer = h
	for {
		c, err := d.r.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("bhttp: read padding: %w", err)
		}
		if c != 0 {
			return errorf("non-zero padding byte after the trailer")
		}
		if d.used++; d.used > d.p.maxTotal() {
			return fmt.Errorf("bhttp: padding exceeds the limit: %w", ErrTooLarge)
		}
	}
	d.resp.FieldOrder = d.sink.order
	d.state = stDone
	return nil
}
