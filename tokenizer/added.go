package tokenizer

import (
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
	toks []addedToken
	// A byte trie of the tokens' contents: edges maps node<<8|byte to the child node (the
	// root is node 0), and tokenAt a node to the index in toks of the token spelled by the
	// path to it, the first listed if two are equal. Finding the longest token at a
	// position costs one lookup per byte of it, however many tokens share a prefix.
	edges   map[uint64]int32
	tokenAt map[int32]int
	// first holds the root's children by byte (0: none), so that text without a token's
	// first byte costs no map lookup.
	first [256]int32
}

func newMatcher(toks []addedToken) *matcher {
	m := &matcher{toks: toks, edges: map[uint64]int32{}, tokenAt: map[int32]int{}}
	nodes := int32(1)
	for i, t := range toks {
		node := int32(0)
		for _, c := range []byte(t.content) {
			key := uint64(node)<<8 | uint64(c)
			next, ok := m.edges[key]
			if !ok {
				next = nodes
				nodes++
				m.edges[key] = next
			}
			node = next
		}
		if _, dup := m.tokenAt[node]; !dup {
			m.tokenAt[node] = i
		}
	}
	for c := range 256 {
		m.first[c] = m.edges[uint64(c)]
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

// matchAt returns the index of the longest token that s[i:] starts with, or -1.
func (m *matcher) matchAt(s string, i int) int {
	node := m.first[s[i]]
	if node == 0 {
		return -1
	}
	found := -1
	if k, ok := m.tokenAt[node]; ok {
		found = k
	}
	for j := i + 1; j < len(s); j++ {
		next, ok := m.edges[uint64(node)<<8|uint64(s[j])]
		if !ok {
			break
		}
		node = next
		if k, ok := m.tokenAt[node]; ok {
			found = k
		}
	}
	return found
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
