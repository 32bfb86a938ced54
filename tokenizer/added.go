package tokenizer

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	id                                 int32
	content                            string
	singleWord, lstrip, rstrip, normal bool
}

// matcher finds added tokens in text the way tokenizers' AddedVocabulary does: an
// Aho-Corasick search in leftmost-longest mode, non-overlapping, then the single_word,
// lstrip and rstrip rules applied to each match.
type matcher struct {
	byFirst [256][]int // indexes into toks, longest first, by first byte
	toks    []addedToken
}

func newMatcher(toks []addedToken) *matcher {
	m := &matcher{toks: toks}
	for i, t := range toks {
		m.byFirst[t.content[0]] = append(m.byFirst[t.content[0]], i)
	}
	for _, l := range m.byFirst {
		// Longest first, so the first hit at a position is the leftmost-longest match; stable,
		// so of two equal contents the first listed wins.
		slices.SortStableFunc(l, func(a, b int) int { return len(toks[b].content) - len(toks[a].content) })
	}
	return m
}

// segment is a piece of text between added tokens (id < 0) or an added token.
type segment struct {
	start, end int
	id         int32
}

// split cuts s into segments covering it, as AddedVocabulary::find_matches does.
func (m *matcher) split(s string, dst []segment) []segment {
	if m == nil || len(m.toks) == 0 {
		return append(dst, segment{0, len(s), -1})
	}
	last := 0
	for i := 0; i < len(s); {
		k := m.matchAt(s, i)
		if k < 0 {
			i++
			continue
		}
		t := &m.toks[k]
		start, stop := i, i+len(t.content)
		i = stop // the search resumes after the raw match, whatever the rules below do
		if t.singleWord {
			startOK := start == 0 || !endsWithWord(s[:start])
			stopOK := stop == len(s) || !startsWithWord(s[stop:])
			if !startOK || !stopOK {
				continue
			}
		}
		if t.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), last)
		}
		if t.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		if last < start {
			dst = append(dst, segment{last, start, -1})
		}
		dst = append(dst, segment{start, stop, t.id})
		last = stop
	}
	if last < len(s) {
		dst = append(dst, segment{last, len(s), -1})
	}
	return dst
}

func (m *matcher) matchAt(s string, i int) int {
	for _, k := range m.byFirst[s[i]] {
		if strings.HasPrefix(s[i:], m.toks[k].content) {
			return k
		}
	}
	return -1
}

// isWordRune is \w of Rust's regex crate: Alphabetic, marks, decimal digits, connector
// punctuation and Join_Control. The single_word, lstrip and rstrip rules run on that crate
// (\w, and \s for White_Space), not on Oniguruma, so they don't use the Unicode 14.0 tables
// of the splitters: Go's unicode package (15.0 in Go 1.26) stands in for regex-syntax's.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		unicode.Is(unicode.Join_Control, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}
