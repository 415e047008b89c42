package tokenizer

import "unicode/utf8"

// GPT-2's byte-level alphabet maps each byte to a printable character:
// printable Latin-1 bytes stand for themselves, the rest are shifted to
// U+0100 and up.
var byteToRune [256]rune
var runeToByte = map[rune]byte{}

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

func appendByteLevel(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = utf8.AppendRune(dst, byteToRune[s[i]])
	}
	return dst
}

// appendBytesFromLevel reverses the mapping; characters outside the
// alphabet (in added tokens) are kept as UTF-8.
func appendBytesFromLevel(dst []byte, piece string) []byte {
	for _, r := range piece {
		if b, ok := runeToByte[r]; ok {
			dst = append(dst, b)
		} else {
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}
