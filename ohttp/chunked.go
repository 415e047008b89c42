package ohttp

import (
	"bufio"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pith-project/pith/bhttp"
)

// DefaultMaxChunk bounds the plaintext of one chunk a reader accepts, so a
// hostile length prefix cannot make it allocate without limit.
const DefaultMaxChunk = 1 << 20

const tagLen = 16 // AES-GCM's, and so every supported AEAD's

// SendChunk is the most plaintext a writer seals into one chunk. The draft
// (section 3, "Chunked Requests and Responses") obliges a receiver to take
// only 2^14 bytes of data in a chunk and asks senders to stay within that,
// and its authors' implementation (the ohttp crate) refuses a longer chunk
// as ChunkTooLarge: a longer Write is sent as several chunks.
const SendChunk = 1 << 14

var finalAAD = []byte("final")

// flush pushes a chunk out of w when w buffers (http.ResponseWriter,
// bufio.Writer), so each chunk reaches the peer when it is written.
func flush(w io.Writer) error {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

// chunkWriter is the framing shared by both chunked writers: each chunk
// is its length and its ciphertext in one Write (with whatever header is
// pending before the first), the final chunk a zero length and a chunk
// sealed with the AAD "final".
type chunkWriter struct {
	w       io.Writer
	pending []byte
	out     []byte // ciphertext staging, reused
	seal    func(dst, p, aad []byte) ([]byte, error)
	what    string
	closed  bool
	err     error
}

// chunk seals the concatenation of parts as one chunk. A single part is
// sealed where it lies; several are first joined in the staging buffer and
// sealed in place there, so no plaintext is left behind in it.
func (c *chunkWriter) chunk(parts [][]byte, final bool) error {
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return fmt.Errorf("ohttp: write to a closed %s", c.what)
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	out := append(c.out[:0], c.pending...)
	c.pending = nil
	var aad []byte
	if final {
		out, aad = bhttp.AppendVarint(out, 0), finalAAD
	} else {
		out = bhttp.AppendVarint(out, uint64(total+tagLen))
	}
	var err error
	if len(parts) == 1 {
		out, err = c.seal(out, parts[0], aad)
	} else {
		start := len(out)
		out = slices.Grow(out, total+tagLen)
		for _, p := range parts {
			out = append(out, p...)
		}
		joined := out[start:]
		out, err = c.seal(out[:start], joined, aad)
		if total > 0 && (err != nil || &out[start] != &joined[0]) {
			clear(joined) // not overwritten by the ciphertext
		}
	}
	if err != nil {
		c.err = fmt.Errorf("ohttp: seal %s chunk: %w", c.what, err)
		return c.err
	}
	c.out = out
	if _, err := c.w.Write(out); err != nil {
		c.err = fmt.Errorf("ohttp: write %s chunk: %w", c.what, err)
		return c.err
	}
	if err := flush(c.w); err != nil {
		c.err = fmt.Errorf("ohttp: flush %s chunk: %w", c.what, err)
	}
	return c.err
}

// write seals the concatenation of parts as chunks of at most SendChunk
// bytes; a chunk may take bytes from several parts, which chunk joins.
func (c *chunkWriter) write(parts ...[]byte) (int, error) {
	written, size := 0, 0
	var piece [][]byte
	for _, p := range parts {
		for len(p) > 0 {
			n := min(len(p), SendChunk-size)
			piece, size, p = append(piece, p[:n]), size+n, p[n:]
			if size == SendChunk {
				if err := c.chunk(piece, false); err != nil {
					return written, err
				}
				written += size
				piece, size = piece[:0], 0
			}
		}
	}
	if size > 0 {
		if err := c.chunk(piece, false); err != nil {
			return written, err
		}
		written += size
	}
	if written == 0 {
		return 0, c.err // a non-final chunk may not be empty
	}
	return written, nil
}

func (c *chunkWriter) close() error {
	if c.closed {
		return c.err
	}
	err := c.chunk([][]byte{nil}, true)
	c.closed = true
	return err
}

// ChunkedRequestWriter seals a chunked request (draft-ietf-ohai-chunked-ohttp
// section 6.1): each Write becomes one sealed chunk (several if it holds
// more than SendChunk bytes), Close the final one.
type ChunkedRequestWriter struct{ cw chunkWriter }

// NewChunkedRequestWriter starts a chunked request to cfg; rand is as for
// EncapsulateRequest. The context opens the chunked response.
func NewChunkedRequestWriter(cfg KeyConfig, suite Suite, w io.Writer, rand io.Reader) (*ChunkedRequestWriter, *ClientContext, error) {
	hdr, ctx, err := sender(cfg, suite, labelChunkedRequest, rand)
	if err != nil {
		return nil, nil, err
	}
	ctx.chunked = true
	seal := func(dst, p, aad []byte) ([]byte, error) {
		ct, err := ctx.s.Seal(aad, p)
		return append(dst, ct...), err
	}
	return &ChunkedRequestWriter{chunkWriter{w: w, pending: hdr, seal: seal, what: "chunked request"}}, ctx, nil
}

// Write seals p as one chunk, or as chunks of SendChunk bytes if it is
// longer. An empty p sends nothing.
func (c *ChunkedRequestWriter) Write(p []byte) (int, error) { return c.cw.write(p) }

// Close sends the final, empty chunk that proves the request complete. It
// does not close the underlying writer.
func (c *ChunkedRequestWriter) Close() error { return c.cw.close() }

// chunkReader is the framing shared by both chunked readers: a length
// prefix, a sealed chunk, and a final chunk running to the end of the
// stream.
type chunkReader struct {
	r        *bufio.Reader
	maxChunk int
	buf      []byte // sealed chunk as read; opened in place where possible
	pending  []byte // plaintext not yet returned
	done     bool
	err      error
	what     string
}

// next reads one sealed chunk into c.buf and reports whether it is the
// final one.
func (c *chunkReader) next() (ct []byte, final bool, err error) {
	limit := c.maxChunk
	if limit <= 0 {
		limit = DefaultMaxChunk
	}
	n, err := bhttp.ReadVarint(c.r)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, false, fmt.Errorf("ohttp: %s: stream ended without its final chunk: %w", c.what, ErrTruncated)
	}
	if err != nil {
		return nil, false, fmt.Errorf("ohttp: %s: read chunk length: %w", c.what, err)
	}
	if n == 0 {
		// The final chunk extends to the end of the stream. It goes to
		// c.buf like the others, so it too is opened in place.
		b := c.buf[:0]
		for {
			if len(b) == cap(b) {
				b = slices.Grow(b, 512)
			}
			n, err := c.r.Read(b[len(b):cap(b)])
			b = b[:len(b)+n]
			if len(b) > limit+tagLen {
				return nil, false, fmt.Errorf("ohttp: %s: final chunk exceeds %d bytes: %w", c.what, limit, ErrMalformed)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, false, fmt.Errorf("ohttp: %s: read final chunk: %w", c.what, err)
			}
		}
		c.buf = b
		return b, true, nil
	}
	if n > uint64(limit+tagLen) {
		return nil, false, fmt.Errorf("ohttp: %s: chunk of %d bytes exceeds %d: %w", c.what, n, limit+tagLen, ErrMalformed)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, false, fmt.Errorf("ohttp: %s: stream ended inside a chunk: %w", c.what, ErrTruncated)
		}
		return nil, false, fmt.Errorf("ohttp: %s: read chunk: %w", c.what, err)
	}
	return c.buf, false, nil
}

// read serves p from opened chunks; open opens one sealed chunk.
func (c *chunkReader) read(p []byte, open func(ct []byte, final bool) ([]byte, error)) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
		ct, final, err := c.next()
		if err != nil {
			c.err = err
			return 0, err
		}
		pt, err := open(ct, final)
		if err != nil {
			c.err = fmt.Errorf("ohttp: %s chunk: %w", c.what, ErrDecrypt)
			return 0, c.err
		}
		if len(pt) == 0 && !final {
			// The draft makes an empty non-final chunk a decryption error.
			c.err = fmt.Errorf("ohttp: %s: empty non-final chunk: %w", c.what, ErrDecrypt)
			return 0, c.err
		}
		c.pending, c.done = pt, final
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// ChunkedRequestReader opens a chunked request at a gateway.
type ChunkedRequestReader struct {
	chunkReader
	ctx *ResponseContext
	// MaxChunk bounds a chunk's plaintext (DefaultMaxChunk if 0).
	MaxChunk int
}

// NewChunkedRequestReader reads the header of a chunked request from r and
// sets up its decryption; the context seals the chunked response. Each
// chunk's plaintext comes from crypto/hpke as a fresh heap slice (see
// DecapsulateRequest); Read copies it into the caller's buffer.
func (g *Gateway) NewChunkedRequestReader(r io.Reader) (*ChunkedRequestReader, *ResponseContext, error) {
	br := bufio.NewReader(r)
	hdr := make([]byte, hdrLen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, nil, fmt.Errorf("ohttp: chunked request header: %v: %w", err, ErrMalformed)
	}
	_, _, kinfo, err := g.header(hdr)
	if err != nil {
		return nil, nil, err
	}
	msg := append(hdr, make([]byte, kinfo.nenc)...)
	if _, err := io.ReadFull(br, msg[hdrLen:]); err != nil {
		return nil, nil, fmt.Errorf("ohttp: chunked request ends inside its %d-byte encapsulated key: %w", kinfo.nenc, ErrMalformed)
	}
	ctx, _, err := g.recipient(msg, labelChunkedRequest, true)
	if err != nil {
		return nil, nil, err
	}
	return &ChunkedRequestReader{chunkReader: chunkReader{r: br, what: "chunked request"}, ctx: ctx}, ctx, nil
}

// Read returns request plaintext; io.EOF only after the authenticated final
// chunk, ErrTruncated if the stream ends before it.
func (c *ChunkedRequestReader) Read(p []byte) (int, error) {
	c.maxChunk = c.MaxChunk
	return c.read(p, func(ct []byte, final bool) ([]byte, error) {
		var aad []byte
		if final {
			aad = finalAAD
		}
		return c.ctx.r.Open(aad, ct)
	})
}

// chunkSealer holds the AEAD state of a chunked response.
type chunkSealer struct {
	aead    cipher.AEAD
	nonce   []byte
	counter uint64
}

func (s *chunkSealer) nextNonce() ([]byte, error) {
	if s.counter == 1<<64-1 {
		return nil, errors.New("ohttp: chunk counter exhausted")
	}
	n := counterNonce(s.nonce, s.counter)
	s.counter++
	return n, nil
}

// ChunkedResponseWriter seals a chunked response at a gateway
// (draft-ietf-ohai-chunked-ohttp section 6.2): each Write becomes one
// chunk (several beyond SendChunk bytes), sealed from the caller's buffer without copying the plaintext;
// Close writes the final chunk, without which the client reports
// truncation. Chunks are flushed as they are written.
type ChunkedResponseWriter struct{ cw chunkWriter }

// NewChunkedResponseWriter starts the response to a chunked request.
func NewChunkedResponseWriter(ctx *ResponseContext, w io.Writer) (*ChunkedResponseWriter, error) {
	if !ctx.chunked {
		return nil, errors.New("ohttp: a non-chunked request's response cannot be chunked")
	}
	nonce := make([]byte, responseNonceLen(ctx.aead))
	if _, err := io.ReadFull(ctx.rand, nonce); err != nil {
		return nil, fmt.Errorf("ohttp: response nonce: %w", err)
	}
	aead, base, err := responseKeys(ctx.r, labelChunkedResponse, ctx.aead, ctx.enc, nonce)
	if err != nil {
		return nil, fmt.Errorf("ohttp: response keys: %w", err)
	}
	s := &chunkSealer{aead: aead, nonce: base}
	seal := func(dst, p, aad []byte) ([]byte, error) {
		n, err := s.nextNonce()
		if err != nil {
			return nil, err
		}
		return aead.Seal(dst, n, p, aad), nil
	}
	return &ChunkedResponseWriter{chunkWriter{w: w, pending: nonce, seal: seal, what: "chunked response"}}, nil
}

// Write seals p as one chunk, or as chunks of SendChunk bytes if it is
// longer. An empty p sends nothing.
func (c *ChunkedResponseWriter) Write(p []byte) (int, error) { return c.cw.write(p) }

// WriteParts seals the concatenation of parts as one chunk (several beyond
// SendChunk bytes), joining them in the writer's own buffer and encrypting
// them in place there. It is how
// bhttp.ResponseEncoder sends a content chunk's length prefix and data in
// one sealed chunk without leaving a copy of the data behind.
func (c *ChunkedResponseWriter) WriteParts(parts ...[]byte) (int, error) {
	return c.cw.write(parts...)
}

// Close sends the final, empty chunk. It does not close the underlying
// writer.
func (c *ChunkedResponseWriter) Close() error { return c.cw.close() }

// ChunkedResponseReader opens a chunked response at the client. Chunks are
// decrypted in place in the reader's buffer (Buf, if the caller supplies
// one large enough) and copied into the caller's p.
type ChunkedResponseReader struct {
	chunkReader
	ctx *ClientContext
	s   *chunkSealer
	// MaxChunk bounds a chunk's plaintext (DefaultMaxChunk if 0).
	MaxChunk int
	// Buf, if set before the first Read, is where chunks are read and
	// decrypted; a larger chunk replaces it with heap memory.
	Buf []byte
}

// NewChunkedResponseReader reads the response to a chunked request.
func NewChunkedResponseReader(ctx *ClientContext, r io.Reader) *ChunkedResponseReader {
	return &ChunkedResponseReader{chunkReader: chunkReader{r: bufio.NewReader(r), what: "chunked response"}, ctx: ctx}
}

// Read returns response plaintext; io.EOF only after the authenticated
// final chunk, an error wrapping ErrTruncated if the stream ends before it.
func (c *ChunkedResponseReader) Read(p []byte) (int, error) {
	if c.s == nil && c.err == nil {
		c.maxChunk = c.MaxChunk
		if c.Buf != nil {
			c.buf = c.Buf[:0]
		}
		if err := c.start(); err != nil {
			c.err = err
		}
	}
	return c.read(p, func(ct []byte, final bool) ([]byte, error) {
		nonce, err := c.s.nextNonce()
		if err != nil {
			return nil, err
		}
		var aad []byte
		if final {
			aad = finalAAD
		}
		return c.s.aead.Open(ct[:0], nonce, ct, aad)
	})
}

func (c *ChunkedResponseReader) start() error {
	if !c.ctx.chunked {
		return errors.New("ohttp: a non-chunked request's response is not chunked (DecapsulateResponse)")
	}
	nonce := make([]byte, responseNonceLen(c.ctx.aead))
	if _, err := io.ReadFull(c.r, nonce); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("ohttp: chunked response ends inside its nonce: %w", ErrTruncated)
		}
		return fmt.Errorf("ohttp: read response nonce: %w", err)
	}
	aead, base, err := responseKeys(c.ctx.s, labelChunkedResponse, c.ctx.aead, c.ctx.enc, nonce)
	if err != nil {
		return fmt.Errorf("ohttp: response keys: %w", err)
	}
	c.s = &chunkSealer{aead: aead, nonce: base}
	return nil
}
