package tokenizer

import "unicode/utf8"

// byteToRune is GPT-2's bytes_to_unicode table, which the ByteLevel pre-tokenizer and
// decoder use: printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100
// onwards in byte order. tokenizer.json vocabularies are written in these runes.
var byteToRune [256]rune

// runeToByte inverts byteToRune; runes outside the table are absent.
var runeToByte = make(map[rune]byte, 256)

func init() {
	n := rune(0)
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = 256 + n
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelDecode maps a token string back to bytes as the ByteLevel decoder does: every
// rune through the table, or, when some rune is not in the table, the token's own UTF-8
// bytes unchanged. ok reports whether the table applied.
func byteLevelDecode(tok string) (b []byte, ok bool) {
	b = make([]byte, 0, len(tok))
	for _, r := range tok {
		c, found := runeToByte[r]
		if !found {
			return []byte(tok), false
		}
		b = append(b, c)
	}
	return b, true
}

// byteLevelEncode is the inverse of byteLevelDecode's table path.
func byteLevelEncode(b []byte) string {
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = byteToRune[c]
	}
	return string(rs)
}

// appendLossy appends b to dst as valid UTF-8, replacing each maximal ill-formed subsequence
// with U+FFFD, as Rust's String::from_utf8_lossy does in Hugging Face's decoder (Go's own
// conversions replace byte by byte instead, which differs on truncated sequences).
func appendLossy(dst, b []byte) []byte {
	for len(b) > 0 {
		c := b[0]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			b = b[1:]
			continue
		}
		if _, size := utf8.DecodeRune(b); size > 1 {
			dst = append(dst, b[:size]...)
			b = b[size:]
			continue
		}
		n := invalidPrefix(b)
		dst = append(dst, "\uFFFD"...)
		b = b[n:]
	}
	return dst
}

// invalidPrefix returns the length (at least 1) of the maximal subpart of an ill-formed
// sequence at the start of b: the longest prefix that could begin a valid encoding.
func invalidPrefix(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	var width int
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		width = 2
	case c == 0xE0:
		width, lo = 3, 0xA0
	case c == 0xED:
		width, hi = 3, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		width = 3
	case c == 0xF0:
		width, lo = 4, 0x90
	case c == 0xF4:
		width, hi = 4, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		width = 4
	default:
		return 1
	}
	n := 1
	for ; n < width && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
