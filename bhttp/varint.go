package bhttp

import (
	"errors"
	"io"
)

// maxVarint is the largest value a QUIC variable-length integer holds.
const maxVarint = 1<<62 - 1

var errShort = errors.New("message ends inside a field")

// appendVarint appends v in the shortest QUIC variable-length form
// (RFC 9000 section 16). Callers never pass values above maxVarint: every
// length here comes from a Go slice.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// AppendVarint appends v as a QUIC variable-length integer, the integer
// encoding shared by binary HTTP and chunked Oblivious HTTP. v must not
// exceed 2^62-1.
func AppendVarint(b []byte, v uint64) []byte {
	if v > maxVarint {
		panic("bhttp: varint out of range")
	}
	return appendVarint(b, v)
}

// readVarint decodes a variable-length integer from the front of b and
// returns it with the number of bytes used. Non-minimal encodings are valid
// in QUIC, so they are accepted.
func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, errShort
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, nil
}

// ReadVarint reads one QUIC variable-length integer from r. It returns
// io.EOF only when r ends before the first byte, and io.ErrUnexpectedEOF
// when it ends inside the integer.
func ReadVarint(r io.ByteReader) (uint64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := 1 << (c >> 6)
	v := uint64(c & 0x3f)
	for i := 1; i < n; i++ {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v = v<<8 | uint64(c)
	}
	return v, nil
}
