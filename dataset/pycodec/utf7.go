package pycodec

import (
	"errors"
	"strings"
)

// ErrLoneSurrogate marks text that CPython decodes to a str holding an unpaired surrogate
// (possible in UTF-7), which a Go string cannot hold. The reference's tokenizer rejects such a
// str too (it cannot be encoded as UTF-8), so the loader fails either way.
var ErrLoneSurrogate = errors.New("decoded text holds a lone surrogate")

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

func fromBase64(c byte) uint32 {
	switch {
	case 'A' <= c && c <= 'Z':
		return uint32(c - 'A')
	case 'a' <= c && c <= 'z':
		return uint32(c-'a') + 26
	case '0' <= c && c <= '9':
		return uint32(c-'0') + 52
	case c == '+':
		return 62
	}
	return 63
}

// decodeUTF7 is CPython's PyUnicode_DecodeUTF7Stateful with errors="strict", final=True.
func decodeUTF7(codec string, data []byte) (string, error) {
	var b strings.Builder
	fail := func(i int, reason string) (string, error) {
		return "", &DecodeError{Codec: codec, Pos: i, Reason: reason}
	}
	lone := func(i int) (string, error) {
		return "", &DecodeError{Codec: codec, Pos: i, Reason: ErrLoneSurrogate.Error(), err: ErrLoneSurrogate}
	}
	inShift := false
	var bits uint
	var buf, surrogate uint32
	shiftStart := 0
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case inShift && isBase64(c):
			buf = buf<<6 | fromBase64(c)
			bits += 6
			i++
			if bits < 16 {
				continue
			}
			out := buf >> (bits - 16)
			bits -= 16
			buf &= 1<<bits - 1
			if surrogate != 0 {
				if out >= 0xDC00 && out <= 0xDFFF {
					b.WriteRune(rune(0x10000 + (surrogate-0xD800)<<10 + (out - 0xDC00)))
					surrogate = 0
					continue
				}
				return lone(shiftStart)
			}
			switch {
			case out >= 0xD800 && out <= 0xDBFF:
				surrogate = out
			case out >= 0xDC00 && out <= 0xDFFF:
				return lone(shiftStart)
			default:
				b.WriteRune(rune(out))
			}
		case inShift: // leaving a base64 section
			inShift = false
			if bits > 6 {
				return fail(i, "partial character in shift sequence")
			}
			if buf != 0 {
				return fail(i, "non-zero padding bits in shift sequence")
			}
			if surrogate != 0 && c <= 127 {
				return lone(shiftStart)
			}
			surrogate = 0
			if c == '-' {
				i++
			}
		case c == '+':
			shiftStart = i
			i++
			switch {
			case i < len(data) && data[i] == '-':
				i++
				b.WriteByte('+')
			case i < len(data) && !isBase64(data[i]):
				return fail(i-1, "ill-formed sequence")
			default:
				inShift, surrogate, bits, buf = true, 0, 0, 0
			}
		case c <= 127:
			b.WriteByte(c)
			i++
		default:
			return fail(i, "unexpected special character")
		}
	}
	if inShift && (surrogate != 0 || bits >= 6 || bits > 0 && buf != 0) {
		return fail(len(data), "unterminated shift sequence")
	}
	return b.String(), nil
}
