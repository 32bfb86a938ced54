// Package pycodec decodes bytes exactly as CPython 3.11's bytes.decode(encoding) does with
// errors="strict" (on Linux, little-endian): the same encoding names are accepted, the same text
// comes out, and whatever CPython rejects (an unknown name, a codec that is not a text encoding,
// bytes invalid in the codec) is an error here too. Stack v2 contents are decoded with their row's
// src_encoding this way (the Stack v2 loader of pretrain/dataset.py), so every validator reads the
// same text.
//
// Name lookup follows codecs.lookup: the name is normalized as CPython's C code does (ASCII
// letters lowercased and digits and '.' kept, every other run of bytes turned into one '_'
// between words), then looked up in encodings.aliases, then taken as an encodings module name.
// The tables (tables_gen.go, cjk.txt.gz) are generated from CPython by
// dataset/testdata/gen_pycodec.py.
//
// Codecs: ascii, latin_1, the UTF-7/8/16/32 family and undefined are written out here; the
// 71 charmap codecs (cp*, iso8859_*, koi8_*, mac_*, ...) use CPython's own 256-entry tables;
// the stateless CJK codecs (big5, big5hkscs, cp932, cp949, cp950, euc_jp, euc_jis_2004,
// euc_jisx0213, euc_kr, gb2312, gbk, gb18030, johab, shift_jis, shift_jis_2004,
// shift_jisx0213) use every byte sequence CPython decodes. Codecs CPython has but this
// package does not reproduce (the stateful iso2022_* and hz, idna, punycode, unicode_escape,
// raw_unicode_escape) fail with [ErrUnsupported] rather than guess. UTF-7 text that CPython
// decodes to a lone surrogate fails with [ErrLoneSurrogate].
package pycodec

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:generate sh -c "cd ../testdata && python3 gen_pycodec.py"

// ErrUnknownEncoding is CPython's LookupError: no codec has this name, or the codec is not a
// text encoding (base64, rot13, ...).
var ErrUnknownEncoding = errors.New("unknown encoding")

// ErrUnsupported marks a codec CPython has that this package does not reproduce exactly.
var ErrUnsupported = errors.New("codec not supported")

// DecodeError is CPython's UnicodeDecodeError (or UnicodeError for the undefined codec): the
// bytes are not valid in the codec.
type DecodeError struct {
	Codec  string // CPython's codec module name, e.g. "shift_jis"
	Pos    int    // offset of the first undecodable byte
	Reason string
	err    error // ErrLoneSurrogate where CPython succeeds with a lone surrogate
}

func (e *DecodeError) Unwrap() error { return e.err }

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%q codec can't decode bytes at position %d: %s", e.Codec, e.Pos, e.Reason)
}

type kind uint8

const (
	kindNotCodec kind = iota // an encodings module without getregentry
	kindNotText
	kindUnsupported
	kindUndefined
	kindASCII
	kindLatin1
	kindUTF8
	kindUTF8Sig
	kindUTF7
	kindUTF16
	kindUTF16LE
	kindUTF16BE
	kindUTF32
	kindUTF32LE
	kindUTF32BE
	kindCharmap
	kindCJK
)

// normalize is CPython's _Py_normalize_encoding: ASCII letters lowercased, ASCII digits and
// '.' kept, every other run of bytes one '_' (none at either end).
func normalize(name string) string {
	var b strings.Builder
	punct := false
	for i := range len(name) {
		c := name[i]
		isAlnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !isAlnum && c != '.' {
			punct = true
			continue
		}
		if punct && b.Len() > 0 {
			b.WriteByte('_')
		}
		punct = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fastPaths are PyUnicode_Decode's shortcuts, taken before the codec registry.
var fastPaths = map[string]string{
	"utf8": "utf_8", "utf_8": "utf_8", "utf16": "utf_16", "utf_16": "utf_16", "utf32": "utf_32", "utf_32": "utf_32",
	"ascii": "ascii", "us_ascii": "ascii",
	"latin1": "latin_1", "latin_1": "latin_1", "iso_8859_1": "latin_1", "iso8859_1": "latin_1",
}

// Lookup returns the CPython codec module that bytes.decode(name) would use, or an error
// wrapping ErrUnknownEncoding where CPython raises LookupError (or ValueError for a NUL).
func Lookup(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("encoding %q: %w: embedded null character", name, ErrUnknownEncoding)
	}
	norm := normalize(name)
	if m, ok := fastPaths[norm]; ok {
		return m, nil
	}
	// encodings.search_function: the alias (also with '.' read as '_'), then the name itself;
	// the first importable module wins.
	var candidates []string
	if a := cmp.Or(aliases[norm], aliases[strings.ReplaceAll(norm, ".", "_")]); a != "" {
		candidates = append(candidates, a)
	}
	candidates = append(candidates, norm)
	for _, m := range candidates {
		if m == "" || strings.Contains(m, ".") {
			continue
		}
		k, ok := modules[m]
		if !ok {
			continue // no such module (ImportError): try the next
		}
		switch k {
		case kindNotCodec:
			return "", fmt.Errorf("encoding %q: %w", name, ErrUnknownEncoding)
		case kindNotText:
			return "", fmt.Errorf("encoding %q: %w: %s is not a text encoding", name, ErrUnknownEncoding, m)
		}
		return m, nil
	}
	return "", fmt.Errorf("encoding %q: %w", name, ErrUnknownEncoding)
}

// Decode returns data decoded as CPython's data.decode(encoding) (errors="strict"). Errors wrap
// ErrUnknownEncoding, ErrUnsupported or are a *DecodeError.
func Decode(data []byte, encoding string) (string, error) {
	if strings.IndexByte(encoding, 0) >= 0 {
		return "", fmt.Errorf("encoding %q: %w: embedded null character", encoding, ErrUnknownEncoding)
	}
	if len(data) == 0 {
		return "", nil // PyUnicode_Decode returns "" before looking the codec up
	}
	m, err := Lookup(encoding)
	if err != nil {
		return "", err
	}
	switch modules[m] {
	case kindUndefined:
		return "", &DecodeError{Codec: m, Reason: "undefined encoding"}
	case kindASCII:
		for i, c := range data {
			if c >= 0x80 {
				return "", &DecodeError{Codec: m, Pos: i, Reason: "ordinal not in range(128)"}
			}
		}
		return string(data), nil
	case kindLatin1:
		var b strings.Builder
		b.Grow(len(data) * 2)
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return b.String(), nil
	case kindUTF8:
		return decodeUTF8(m, data)
	case kindUTF8Sig:
		return decodeUTF8(m, bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF}))
	case kindUTF16, kindUTF16LE, kindUTF16BE:
		return decodeUTF16(m, modules[m], data)
	case kindUTF32, kindUTF32LE, kindUTF32BE:
		return decodeUTF32(m, modules[m], data)
	case kindCharmap:
		return decodeCharmap(m, data)
	case kindCJK:
		return decodeCJK(m, data)
	case kindUTF7:
		return decodeUTF7(m, data)
	}
	return "", fmt.Errorf("encoding %q (codec %s): %w", encoding, m, ErrUnsupported)
}

func decodeUTF8(codec string, data []byte) (string, error) {
	if !utf8.Valid(data) { // Go's UTF-8 validity is Python's: no surrogates, overlongs or > U+10FFFF
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", &DecodeError{Codec: codec, Pos: i, Reason: "invalid utf-8"}
			}
			i += n
		}
	}
	return string(data), nil
}

func decodeUTF16(codec string, k kind, data []byte) (string, error) {
	le := k != kindUTF16BE
	if k == kindUTF16 && len(data) >= 2 {
		switch {
		case data[0] == 0xFF && data[1] == 0xFE:
			data = data[2:]
		case data[0] == 0xFE && data[1] == 0xFF:
			data, le = data[2:], false
		}
	}
	unit := func(i int) rune {
		if le {
			return rune(data[i]) | rune(data[i+1])<<8
		}
		return rune(data[i])<<8 | rune(data[i+1])
	}
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); {
		if i+1 >= len(data) {
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "truncated data"}
		}
		u := unit(i)
		switch {
		case u < 0xD800 || u > 0xDFFF:
			b.WriteRune(u)
			i += 2
		case u >= 0xDC00:
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "illegal encoding"}
		case i+3 >= len(data):
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "unexpected end of data"}
		default:
			u2 := unit(i + 2)
			if u2 < 0xDC00 || u2 > 0xDFFF {
				return "", &DecodeError{Codec: codec, Pos: i, Reason: "illegal UTF-16 surrogate"}
			}
			b.WriteRune(0x10000 + (u-0xD800)<<10 + (u2 - 0xDC00))
			i += 4
		}
	}
	return b.String(), nil
}

func decodeUTF32(codec string, k kind, data []byte) (string, error) {
	le := k != kindUTF32BE
	if k == kindUTF32 && len(data) >= 4 {
		switch {
		case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0, 0}):
			data = data[4:]
		case bytes.HasPrefix(data, []byte{0, 0, 0xFE, 0xFF}):
			data, le = data[4:], false
		}
	}
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); i += 4 {
		if i+3 >= len(data) {
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "truncated data"}
		}
		var u uint32
		if le {
			u = uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		} else {
			u = uint32(data[i+3]) | uint32(data[i+2])<<8 | uint32(data[i+1])<<16 | uint32(data[i])<<24
		}
		switch {
		case u > 0x10FFFF:
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "code point not in range(0x110000)"}
		case u >= 0xD800 && u <= 0xDFFF:
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "code point in surrogate code point range(0xd800, 0xe000)"}
		}
		b.WriteRune(rune(u))
	}
	return b.String(), nil
}

var charmapTables sync.Map // codec -> *[256]rune

func decodeCharmap(codec string, data []byte) (string, error) {
	t, ok := charmapTables.Load(codec)
	if !ok {
		var tab [256]rune
		i := 0
		for _, r := range charmaps[codec] {
			tab[i] = r
			i++
		}
		if i != 256 {
			panic("pycodec: charmap table " + codec + " is not 256 runes") // generator bug
		}
		t, _ = charmapTables.LoadOrStore(codec, &tab)
	}
	tab := t.(*[256]rune)
	var b strings.Builder
	b.Grow(len(data) * 2)
	for i, c := range data {
		r := tab[c]
		if r == 0xFFFE {
			return "", &DecodeError{Codec: codec, Pos: i, Reason: "character maps to <undefined>"}
		}
		b.WriteRune(r)
	}
	return b.String(), nil
}

//go:embed cjk.txt.gz
var cjkData []byte

// cjkTable is one stateless CJK codec: every byte sequence (1 to 3 bytes) that decodes, keyed
// by len<<24 | bytes, and the proper prefixes of those sequences.
type cjkTable struct {
	leaves   map[uint32]string
	prefixes map[uint32]bool
	// gb18030's four-byte BMP forms: runs of consecutive linear index and code point.
	runs []gbRun
	// euc_kr's make-up sequences: cho/jung/jong values by byte, -1 where undefined.
	cho, jung, jong [256]int16
}

type gbRun struct{ lseq, cp, n uint32 }

var cjkTables sync.Map // codec -> func() (*cjkTable, error)

func loadCJK(codec string) (*cjkTable, error) {
	f, _ := cjkTables.LoadOrStore(codec, sync.OnceValues(func() (*cjkTable, error) { return parseCJK(codec) }))
	return f.(func() (*cjkTable, error))()
}

func parseCJK(codec string) (*cjkTable, error) {
	zr, err := gzip.NewReader(bytes.NewReader(cjkData))
	if err != nil {
		return nil, fmt.Errorf("pycodec: cjk tables: %w", err)
	}
	t := &cjkTable{leaves: map[uint32]string{}, prefixes: map[uint32]bool{}}
	for i := range 256 {
		t.cho[i], t.jung[i], t.jong[i] = -1, -1, -1
	}
	sc := bufio.NewScanner(zr)
	in := false
	var key uint32
	var cp int64
	bad := func(line string) error { return fmt.Errorf("pycodec: cjk tables: bad line %q", line) }
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "codec "); ok {
			if in {
				break
			}
			in = name == codec
			key, cp = 0, 0
			continue
		}
		if !in {
			continue
		}
		if f := strings.Fields(line); len(f) > 1 {
			var v [3]uint64
			for i := 1; i < len(f) && i <= 3; i++ {
				if v[i-1], err = strconv.ParseUint(f[i], 16, 32); err != nil {
					return nil, bad(line)
				}
			}
			switch f[0] {
			case "run":
				t.runs = append(t.runs, gbRun{uint32(v[0]), uint32(v[1]), uint32(v[2])})
			case "cho", "jung", "jong":
				tab := map[string]*[256]int16{"cho": &t.cho, "jung": &t.jung, "jong": &t.jong}[f[0]]
				if v[0] > 255 {
					return nil, bad(line)
				}
				tab[v[0]] = int16(v[1])
			default:
				return nil, bad(line)
			}
			continue
		}
		delta := uint64(1)
		rest := line
		if d, r, ok := strings.Cut(line, ":"); ok {
			if delta, err = strconv.ParseUint(d, 16, 32); err != nil {
				return nil, bad(line)
			}
			rest = r
		}
		parts := strings.Split(rest, ",")
		dcp, err := strconv.ParseInt(parts[0], 10, 32)
		if err != nil {
			return nil, bad(line)
		}
		key += uint32(delta)
		cp += dcp
		var s strings.Builder
		s.WriteRune(rune(cp))
		for _, p := range parts[1:] {
			x, err := strconv.ParseUint(p, 16, 32)
			if err != nil {
				return nil, bad(line)
			}
			s.WriteRune(rune(x))
		}
		t.leaves[key] = s.String()
		n, v := key>>24, key&0xFFFFFF
		for d := n - 1; d >= 1; d-- {
			v >>= 8
			t.prefixes[d<<24|v] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pycodec: cjk tables: %w", err)
	}
	if len(t.leaves) == 0 {
		return nil, fmt.Errorf("pycodec: cjk tables: no codec %s", codec)
	}
	return t, nil
}

func decodeCJK(codec string, data []byte) (string, error) {
	t, err := loadCJK(codec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(data) * 2)
	fail := func(i int, reason string) (string, error) {
		return "", &DecodeError{Codec: codec, Pos: i, Reason: reason}
	}
	for i := 0; i < len(data); {
		c := data[i]
		if codec == "gb18030" && c >= 0x80 && i+1 < len(data) && data[i+1] >= 0x30 && data[i+1] <= 0x39 {
			r, ok := t.gb18030Four(data[i:])
			if !ok {
				return fail(i, "illegal multibyte sequence")
			}
			b.WriteRune(r)
			i += 4
			continue
		}
		if codec == "euc_kr" && c == 0xA4 && i+1 < len(data) && data[i+1] == 0xD4 {
			r, ok := t.eucKRMakeUp(data[i:])
			if !ok {
				return fail(i, "illegal multibyte sequence")
			}
			b.WriteRune(r)
			i += 8
			continue
		}
		var v uint32
		for d := uint32(1); ; d++ {
			if i+int(d) > len(data) {
				return fail(i, "incomplete multibyte sequence")
			}
			v = v<<8 | uint32(data[i+int(d)-1])
			key := d<<24 | v
			if s, ok := t.leaves[key]; ok {
				b.WriteString(s)
				i += int(d)
				break
			}
			if d == 3 || !t.prefixes[key] {
				return fail(i, "illegal multibyte sequence")
			}
		}
	}
	return b.String(), nil
}

// gb18030Four decodes a four-byte GB18030 sequence as CPython's _codecs_cn does.
func (t *cjkTable) gb18030Four(p []byte) (rune, bool) {
	if len(p) < 4 || p[0] < 0x81 || p[0] > 0xFE || p[2] < 0x81 || p[2] > 0xFE || p[3] < 0x30 || p[3] > 0x39 {
		return 0, false
	}
	lseq := ((uint32(p[0])-0x81)*10+uint32(p[1])-0x30)*1260 + (uint32(p[2])-0x81)*10 + uint32(p[3]) - 0x30
	switch {
	case lseq < 39420:
		i, found := slices.BinarySearchFunc(t.runs, lseq, func(r gbRun, x uint32) int {
			switch {
			case x < r.lseq:
				return 1
			case x >= r.lseq+r.n:
				return -1
			}
			return 0
		})
		if !found {
			return 0, false
		}
		return rune(t.runs[i].cp + lseq - t.runs[i].lseq), true
	case p[0] >= 0x90 && 0x10000+lseq-189000 <= 0x10FFFF:
		return rune(0x10000 + lseq - 189000), true
	}
	return 0, false
}

// eucKRMakeUp decodes a KS X 1001:1998 Annex 3 make-up sequence A4 D4 A4 c3 A4 c5 A4 c7.
func (t *cjkTable) eucKRMakeUp(p []byte) (rune, bool) {
	if len(p) < 8 || p[2] != 0xA4 || p[4] != 0xA4 || p[6] != 0xA4 {
		return 0, false
	}
	cho, jung, jong := t.cho[p[3]], t.jung[p[5]], t.jong[p[7]]
	if cho < 0 || jung < 0 || jong < 0 {
		return 0, false
	}
	return 0xAC00 + rune(cho)*588 + rune(jung)*28 + rune(jong), true
}
