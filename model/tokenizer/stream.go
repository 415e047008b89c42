package tokenizer

import "unicode/utf8"

// StreamDecoder turns generated tokens into text as they come, holding back
// the bytes of a UTF-8 character split across tokens, so no half character
// is ever emitted. Its buffer is the caller's (an arena in the server): the
// first 4 bytes keep the held-back bytes, the rest receives output.
type StreamDecoder struct {
	t   *Tokenizer
	buf []byte
	n   int // held-back bytes in buf[:4]
}

// NewStreamDecoder decodes into buf, which should hold 4 bytes more than
// the longest token piece; 1 KiB is ample for real vocabularies.
func (t *Tokenizer) NewStreamDecoder(buf []byte) *StreamDecoder {
	if len(buf) < 8 {
		buf = make([]byte, 1024)
	}
	return &StreamDecoder{t: t, buf: buf}
}

// Add decodes one token and returns the text now complete: a view into the
// decoder's buffer, valid until the next call.
func (d *StreamDecoder) Add(id int32) []byte {
	out := append(d.buf[4:4], d.buf[:d.n]...)
	out = d.t.AppendPiece(out, id, false)
	ready := completeUTF8(out)
	d.n = copy(d.buf[:4], out[ready:])
	return out[:ready]
}

// Flush returns what is held back (an incomplete character at the end of
// generation), as it is.
func (d *StreamDecoder) Flush() []byte {
	out := append(d.buf[4:4], d.buf[:d.n]...)
	clear(d.buf[:4])
	d.n = 0
	return out
}

// completeUTF8 is the length of the longest prefix of b that does not end
// inside a UTF-8 sequence that later bytes could still complete.
func completeUTF8(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xc0 == 0x80 {
			continue // a continuation byte: look further back
		}
		if c >= 0xc0 && !utf8.FullRune(b[len(b)-k:]) {
			return len(b) - k // an unfinished sequence starts here
		}
		return len(b)
	}
	return len(b)
}
