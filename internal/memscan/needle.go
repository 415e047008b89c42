package memscan

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// Needle is one byte pattern to look for, with a name for reports (never
// the pattern itself: reports must not carry content).
type Needle struct {
	Name  string
	Bytes []byte
}

// UTF16LE encodes UTF-8 text as UTF-16 little-endian, the form text takes
// in JavaScript engines, Windows APIs and some JSON decoders. Invalid UTF-8
// bytes become U+FFFD, as a decoder would make them.
func UTF16LE(s []byte) []byte {
	out := make([]byte, 0, 2*len(s))
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		if r >= 0x10000 {
			r -= 0x10000
			out = binary.LittleEndian.AppendUint16(out, uint16(0xD800+(r>>10)))
			out = binary.LittleEndian.AppendUint16(out, uint16(0xDC00+(r&0x3FF)))
			continue
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(r))
	}
	return out
}

// Int32LE encodes token ids as the int32 little-endian sequence a model's
// token buffer holds.
func Int32LE(ids []int32) []byte {
	out := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		out = binary.LittleEndian.AppendUint32(out, uint32(id))
	}
	return out
}

// Encodings returns the raw and UTF-16LE needles for one secret, named
// name+"/raw" and name+"/utf16le".
func Encodings(name string, secret []byte) []Needle {
	return []Needle{
		{Name: name + "/raw", Bytes: append([]byte(nil), secret...)},
		{Name: name + "/utf16le", Bytes: UTF16LE(secret)},
	}
}

// Int64LE encodes token ids as a Go []int holds them on a 64-bit machine:
// the form of Ollama's "context" once a server has decoded a request into
// its api.GenerateRequest.
func Int64LE(ids []int32) []byte {
	out := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		out = binary.LittleEndian.AppendUint64(out, uint64(int64(id)))
	}
	return out
}

// DecimalIDs writes token ids as they sit inside a JSON array, decimal and
// comma-separated without spaces ("1234,5678"): the form of Ollama's
// "context", which the server writes and a client sends back.
func DecimalIDs(ids []int32) []byte {
	var out []byte
	for i, id := range ids {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, int64(id), 10)
	}
	return out
}
