package tokenizer

//go:generate python3 gen_unicode14.py

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// A splitter cuts a string into pieces; emit gets each non-empty piece in order and returns
// false to stop early. Only a pattern that cannot be matched in time is an error (see
// [ErrPatternTimeout]); the hand-written splitters never fail.
type splitter interface {
	split(s string, emit func(piece string) bool) error
}

// ErrPatternTimeout is wrapped by the error of an encode whose split pattern took longer
// than [MatchTimeout] for one match: a backtracking pattern such as (a+)+$ takes time
// exponential in the input's length. Oniguruma, which the reference uses, fails such a
// match too (its retry limit), so no tokens are produced.
var ErrPatternTimeout = errors.New("split pattern match timed out")

// MatchTimeout bounds the time of one match of a split pattern that runs on regexp2 (the
// built-in patterns have linear hand-written splitters and need no bound). Real patterns
// match a piece in microseconds.
const MatchTimeout = time.Second

// The patterns with a hand-written splitter, as tokenizer.json and tiktoken spell them.
const (
	// gpt2Pattern is the ByteLevel pre-tokenizer's built-in pattern (use_regex: true).
	gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// cl100kPattern is Xenova/gpt-4's Split pattern.
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// cl100kTiktoken is tiktoken's spelling of the same pattern: the possessive quantifiers
	// and `\s*[\r\n]` match exactly what the forms above match.
	cl100kTiktoken = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
)

// newRegexSplitter returns the hand-written splitter for a known pattern, else a regexp2
// one. Hugging Face compiles these patterns with Oniguruma; regexp2 (a port of .NET's
// backtracking engine) has the same look-ahead, but takes its Unicode classes from Go's
// unicode package rather than Unicode 14.0 (see the package doc).
func newRegexSplitter(pattern string) (splitter, error) {
	switch pattern {
	case gpt2Pattern:
		return gpt2Splitter{}, nil
	case cl100kPattern, cl100kTiktoken:
		return cl100kSplitter{}, nil
	}
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("compile split pattern %q: %w", pattern, err)
	}
	re.MatchTimeout = MatchTimeout
	return &regexSplitter{re: re}, nil
}

// regexSplitter keeps the matches of re as pieces, as Split with behavior "Removed" and
// invert true does (the text between matches is dropped); isolated also keeps the gaps.
type regexSplitter struct {
	re       *regexp2.Regexp
	isolated bool
}

func (r *regexSplitter) split(s string, emit func(string) bool) error {
	// regexp2 works on runes; offs maps rune index to byte offset. Invalid bytes decode
	// to U+FFFD one byte each, as in the hand-written splitters.
	runes := make([]rune, 0, len(s))
	offs := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		runes = append(runes, c)
		offs = append(offs, i)
		i += n
	}
	offs = append(offs, len(s))
	last := 0
	m, err := r.re.FindRunesMatch(runes)
	for err == nil && m != nil {
		start, end := offs[m.Index], offs[m.Index+m.Length]
		if r.isolated && start > last && !emit(s[last:start]) {
			return nil
		}
		if end > start && !emit(s[start:end]) {
			return nil
		}
		last = end
		m, err = r.re.FindNextMatch(m)
	}
	if err != nil {
		// regexp2's own error quotes the whole input; name the pattern and the place.
		return fmt.Errorf("%w: pattern %q at byte %d of %d", ErrPatternTimeout, r.re.String(), last, len(s))
	}
	if r.isolated && last < len(s) {
		emit(s[last:])
	}
	return nil
}

// Character classes of the split patterns. Hugging Face tokenizers 0.19 runs the patterns
// with Oniguruma 6.9.8, whose tables are Unicode 14.0, so the classes come from the pinned
// Unicode 14.0 tables in unicode14.go (see gen_unicode14.py), not from Go's unicode package,
// whose version follows the toolchain: a character assigned after 14.0 (CJK Extension H,
// say) is [^\s\p{L}\p{N}] there, as it is in Oniguruma 6.9.8.
const (
	clsOther  = 0 // [^\s\p{L}\p{N}]
	clsLetter = 1 // \p{L}
	clsNumber = 2 // \p{N}
	clsSpace  = 3 // \s other than \r \n
	clsNL     = 4 // \r or \n
)

var asciiClass [utf8.RuneSelf]uint8

func init() {
	for c := range utf8.RuneSelf {
		asciiClass[c] = class14(rune(c))
	}
	asciiClass['\r'], asciiClass['\n'] = clsNL, clsNL
}

// class14 returns the class of r in Unicode 14.0. \s is the White_Space property: in
// Oniguruma (kkos/oniguruma src/unicode.c, onigenc_unicode_is_code_ctype) \s is
// ONIGENC_CTYPE_SPACE, answered from a Latin-1 table below U+0100 and from CR_Space above,
// which src/make_unicode_property_data.py builds as White_Space; the Latin-1 table agrees
// (U+0085 and U+00A0 are \s, U+001C..U+001F are not, unlike Python's str.isspace).
func class14(r rune) uint8 {
	switch {
	case unicode.Is(letter14, r):
		return clsLetter
	case unicode.Is(number14, r):
		return clsNumber
	case unicode.Is(space14, r):
		return clsSpace
	}
	return clsOther
}

// classAt returns the class and byte length of the rune at s[i:]; an invalid byte is one
// U+FFFD.
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	return class14(r), n
}

func isSpaceCls(c uint8) bool { return c == clsSpace || c == clsNL }

// runOf returns the end of the run of runes of class cls starting at i.
func runOf(s string, i int, cls uint8) int {
	for i < len(s) {
		c, n := classAt(s, i)
		if c != cls {
			break
		}
		i += n
	}
	return i
}

// otherRun returns the end of the run of [^\s\p{L}\p{N}] starting at i.
func otherRun(s string, i int) int { return runOf(s, i, clsOther) }

// spaceRun scans the whitespace run at i: its end, the start of its last rune, the end of
// its last \r or \n (or -1), and its length in runes.
func spaceRun(s string, i int) (end, lastStart, nlEnd, runes int) {
	end, lastStart, nlEnd = i, i, -1
	for end < len(s) {
		c, n := classAt(s, end)
		if !isSpaceCls(c) {
			break
		}
		if c == clsNL {
			nlEnd = end + n
		}
		lastStart = end
		end += n
		runes++
	}
	return end, lastStart, nlEnd, runes
}

// gpt2Splitter is gpt2Pattern written out; each branch names the alternative it decides.
type gpt2Splitter struct{}

func (gpt2Splitter) split(s string, emit func(string) bool) error {
	for i := 0; i < len(s); {
		end := gpt2Next(s, i)
		if !emit(s[i:end]) {
			return nil
		}
		i = end
	}
	return nil
}

func gpt2Next(s string, i int) int {
	if s[i] == '\'' && i+1 < len(s) { // 's|'t|'re|'ve|'m|'ll|'d
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	j := i
	if s[i] == ' ' && i+1 < len(s) { // the optional space of ` ?\p{L}+` and the next two
		j = i + 1
	}
	c, n := classAt(s, j)
	switch c {
	case clsLetter, clsNumber, clsOther:
		return runOf(s, j+n, c)
	}
	// j == i here: the rune at i is whitespace (a space only if followed by whitespace).
	end, lastStart, _, runes := spaceRun(s, i)
	if end < len(s) && runes > 1 { // \s+(?!\S) gives back the last whitespace rune
		return lastStart
	}
	return end // \s+(?!\S) at the end of the text, or \s+
}

// cl100kSplitter is cl100kPattern written out.
type cl100kSplitter struct{}

func (cl100kSplitter) split(s string, emit func(string) bool) error {
	for i := 0; i < len(s); {
		end := cl100kNext(s, i)
		if !emit(s[i:end]) {
			return nil
		}
		i = end
	}
	return nil
}

func cl100kNext(s string, i int) int {
	if s[i] == '\'' && i+1 < len(s) { // (?i:'s|'t|'re|'ve|'m|'ll|'d)
		if s[i+1] == 0xc5 && i+2 < len(s) && s[i+2] == 0xbf {
			return i + 3 // 'ſ: Oniguruma's case folding matches U+017F with s
		}
		switch s[i+1] | 0x20 {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r', 'v':
			if i+2 < len(s) && s[i+2]|0x20 == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2]|0x20 == 'l' {
				return i + 3
			}
		}
	}
	c, n := classAt(s, i)
	switch c {
	case clsLetter: // [^\r\n\p{L}\p{N}]?\p{L}+ without its optional rune
		return runOf(s, i+n, clsLetter)
	case clsNumber: // \p{N}{1,3}
		j := i + n
		for k := 0; k < 2 && j < len(s); k++ {
			c2, n2 := classAt(s, j)
			if c2 != clsNumber {
				break
			}
			j += n2
		}
		return j
	case clsOther, clsSpace:
		if i+n < len(s) {
			c2, n2 := classAt(s, i+n)
			if c2 == clsLetter { // [^\r\n\p{L}\p{N}]?\p{L}+ with its optional rune
				return runOf(s, i+n+n2, clsLetter)
			}
			if c == clsSpace && s[i] == ' ' && c2 == clsOther { // ` ?[^\s\p{L}\p{N}]+[\r\n]*` with the space
				return runOf(s, otherRun(s, i+n), clsNL)
			}
		}
		if c == clsOther { // [^\s\p{L}\p{N}]+[\r\n]*
			return runOf(s, otherRun(s, i), clsNL)
		}
	}
	end, lastStart, nlEnd, runes := spaceRun(s, i)
	switch {
	case nlEnd >= 0: // \s*[\r\n]+
		return nlEnd
	case end < len(s) && runes > 1: // \s+(?!\S)
		return lastStart
	}
	return end // \s+(?!\S) at the end, or \s+
}
