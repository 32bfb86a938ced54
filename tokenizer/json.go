package tokenizer

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Bounds on tokenizer.json, which comes from model repos (untrusted).
const (
	maxFileBytes   = 64 << 20
	maxConfigBytes = 4 << 20
	maxVocab       = 1 << 21
	maxTokenBytes  = 4096
	maxAdded       = 1 << 16
	maxPattern     = 16 << 10
)

// ErrUnsupported is wrapped by errors for tokenizer.json files outside the byte-level BPE
// family this package implements.
var ErrUnsupported = errors.New("unsupported tokenizer")

type fileJSON struct {
	AddedTokens []struct {
		ID         *int64 `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type                    string           `json:"type"`
		Dropout                 *float64         `json:"dropout"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
		ByteFallback            bool             `json:"byte_fallback"`
		IgnoreMerges            bool             `json:"ignore_merges"`
		Vocab                   map[string]int64 `json:"vocab"`
		Merges                  mergesJSON       `json:"merges"`
	} `json:"model"`
}

type typed struct {
	Type string `json:"type"`
}

type preJSON struct {
	Type           string            `json:"type"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Pattern        struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
}

func isNull(m json.RawMessage) bool {
	return len(bytes.TrimSpace(m)) == 0 || string(bytes.TrimSpace(m)) == "null"
}

// parse builds a Tokenizer (without its config values) from tokenizer.json bytes.
func parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode tokenizer.json: %w", err)
	}
	if !isNull(f.Normalizer) {
		var t typed
		_ = json.Unmarshal(f.Normalizer, &t)
		return nil, fmt.Errorf("normalizer %q: %w", t.Type, ErrUnsupported)
	}
	if err := checkModel(&f); err != nil {
		return nil, err
	}
	if !isNull(f.PostProcessor) {
		var t typed
		if err := json.Unmarshal(f.PostProcessor, &t); err != nil || t.Type != "ByteLevel" {
			// ByteLevel only touches offsets; others (TemplateProcessing) add ids.
			return nil, fmt.Errorf("post_processor %q: %w", t.Type, ErrUnsupported)
		}
	}
	var dec typed
	if err := json.Unmarshal(f.Decoder, &dec); err != nil || dec.Type != "ByteLevel" {
		return nil, fmt.Errorf("decoder %q: %w", dec.Type, ErrUnsupported)
	}
	t := &Tokenizer{}
	var err error
	if t.pre, t.prefixSpace, err = parsePre(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := buildModel(t, &f); err != nil {
		return nil, err
	}
	return t, nil
}

func checkModel(f *fileJSON) error {
	m := &f.Model
	switch {
	case m.Type != "BPE" && !(m.Type == "" && m.Vocab != nil && m.Merges != nil):
		return fmt.Errorf("model type %q: %w", m.Type, ErrUnsupported)
	case m.Dropout != nil && *m.Dropout != 0:
		return fmt.Errorf("bpe dropout %v: %w", *m.Dropout, ErrUnsupported)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return fmt.Errorf("bpe continuing_subword_prefix %q: %w", *m.ContinuingSubwordPrefix, ErrUnsupported)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return fmt.Errorf("bpe end_of_word_suffix %q: %w", *m.EndOfWordSuffix, ErrUnsupported)
	case m.ByteFallback:
		return fmt.Errorf("bpe byte_fallback: %w", ErrUnsupported)
	case len(m.Vocab) == 0 || len(m.Vocab) > maxVocab:
		return fmt.Errorf("vocab size %d: want 1 to %d", len(m.Vocab), maxVocab)
	case len(m.Merges) > len(m.Vocab):
		return fmt.Errorf("merges %d: more than the vocab's %d", len(m.Merges), len(m.Vocab))
	case len(f.AddedTokens) > maxAdded:
		return fmt.Errorf("added_tokens %d: more than %d", len(f.AddedTokens), maxAdded)
	}
	return nil
}

// parsePre turns pre_tokenizer into a splitter: ByteLevel alone (its own regex), or a
// Sequence of Split steps ending in ByteLevel.
func parsePre(raw json.RawMessage) (splitter, bool, error) {
	var p preJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, false, fmt.Errorf("decode pre_tokenizer: %w", err)
	}
	steps := []preJSON{p}
	if p.Type == "Sequence" {
		if len(p.Pretokenizers) == 0 || len(p.Pretokenizers) > 8 {
			return nil, false, fmt.Errorf("pre_tokenizer sequence of %d: want 1 to 8", len(p.Pretokenizers))
		}
		steps = steps[:0]
		for _, r := range p.Pretokenizers {
			var s preJSON
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, false, fmt.Errorf("decode pre_tokenizer: %w", err)
			}
			steps = append(steps, s)
		}
	}
	last := steps[len(steps)-1]
	if last.Type != "ByteLevel" {
		return nil, false, fmt.Errorf("pre_tokenizer %q last, not ByteLevel: %w", last.Type, ErrUnsupported)
	}
	var chain []splitter
	for _, s := range steps[:len(steps)-1] {
		sp, err := parseSplit(s)
		if err != nil {
			return nil, false, err
		}
		chain = append(chain, sp)
	}
	if last.UseRegex == nil || *last.UseRegex {
		chain = append(chain, gpt2Splitter{})
	}
	prefix := last.AddPrefixSpace
	if prefix && len(chain) > 0 && len(steps) > 1 {
		// ByteLevel would prepend a space to every piece of the earlier steps.
		return nil, false, fmt.Errorf("pre_tokenizer ByteLevel add_prefix_space after Split: %w", ErrUnsupported)
	}
	switch len(chain) {
	case 0:
		return wholeSplitter{}, prefix, nil
	case 1:
		return chain[0], prefix, nil
	}
	return chainSplitter(chain), prefix, nil
}

func parseSplit(s preJSON) (splitter, error) {
	if s.Type != "Split" {
		return nil, fmt.Errorf("pre_tokenizer %q: %w", s.Type, ErrUnsupported)
	}
	var pattern string
	switch {
	case s.Pattern.Regex != nil:
		pattern = *s.Pattern.Regex
	case s.Pattern.String != nil && *s.Pattern.String != "":
		pattern = regexpQuote(*s.Pattern.String)
	default:
		return nil, errors.New("pre_tokenizer split: no pattern")
	}
	if len(pattern) > maxPattern {
		return nil, fmt.Errorf("pre_tokenizer split pattern of %d bytes: more than %d", len(pattern), maxPattern)
	}
	isolated := false
	switch {
	case s.Behavior == "Removed" && s.Invert:
	case s.Behavior == "Isolated" && !s.Invert:
		isolated = true
	default:
		return nil, fmt.Errorf("pre_tokenizer split behavior %q invert %v: %w", s.Behavior, s.Invert, ErrUnsupported)
	}
	sp, err := newRegexSplitter(pattern)
	if err != nil {
		return nil, err
	}
	if isolated {
		// The hand-written splitters' patterns match every rune, so there are no gaps.
		if r, ok := sp.(*regexSplitter); ok {
			r.isolated = true
		}
	}
	return sp, nil
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$#`, r) || r == ' ' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wholeSplitter keeps the text as one piece (ByteLevel with use_regex false).
type wholeSplitter struct{}

func (wholeSplitter) split(s string, emit func(string) bool) error {
	if s != "" {
		emit(s)
	}
	return nil
}

// chainSplitter applies each splitter to the pieces of the one before.
type chainSplitter []splitter

func (c chainSplitter) split(s string, emit func(string) bool) error {
	if len(c) == 1 {
		return c[0].split(s, emit)
	}
	stopped := false
	var inner error
	outer := c[0].split(s, func(p string) bool {
		inner = c[1:].split(p, func(q string) bool {
			stopped = !emit(q)
			return !stopped
		})
		return inner == nil && !stopped
	})
	return cmp.Or(outer, inner)
}

// buildModel fills t's BPE model, added tokens and decoding table.
func buildModel(t *Tokenizer, f *fileJSON) error {
	maxID := int64(-1)
	byID := map[int64]string{}
	idLimit := idBound(f)
	for tok, id := range f.Model.Vocab {
		if id < 0 || id >= idLimit {
			return fmt.Errorf("vocab token %q id %d: out of range [0, %d)", tok, id, idLimit)
		}
		if len(tok) == 0 || len(tok) > maxTokenBytes {
			return fmt.Errorf("vocab token of %d bytes: want 1 to %d", len(tok), maxTokenBytes)
		}
		if prev, dup := byID[id]; dup {
			return fmt.Errorf("vocab id %d: used by %q and %q", id, prev, tok)
		}
		byID[id] = tok
		maxID = max(maxID, id)
	}
	m := &bpe{merges: make(map[uint64]merge, len(f.Model.Merges)), ignoreMerges: f.Model.IgnoreMerges, uniqueMerges: true}
	for b := range 256 {
		id, ok := f.Model.Vocab[string(byteToRune[b])]
		if !ok {
			return fmt.Errorf("vocab: no token for byte 0x%02x (%q): not a byte-level BPE: %w", b, byteToRune[b], ErrUnsupported)
		}
		m.byteID[b] = int32(id)
	}
	made := make(map[int32]bool, len(f.Model.Merges))
	for rank, pair := range f.Model.Merges {
		a, b := pair[0], pair[1]
		ia, oka := f.Model.Vocab[a]
		ib, okb := f.Model.Vocab[b]
		in, okn := f.Model.Vocab[a+b]
		if !oka || !okb || !okn {
			return fmt.Errorf("merge %d (%q %q): token not in vocab", rank, a, b)
		}
		key := pairKey(int32(ia), int32(ib))
		if _, dup := m.merges[key]; dup {
			// tokenizers collects merges into a HashMap: the last rank of a pair wins.
			m.merges[key] = merge{rank: int32(rank), id: int32(in)}
			continue
		}
		if made[int32(in)] {
			m.uniqueMerges = false
		}
		made[int32(in)] = true
		m.merges[key] = merge{rank: int32(rank), id: int32(in)}
	}

	t.decode = make([][]byte, maxID+1)
	raw := make(map[string][]byte, len(byID))
	for id, tok := range byID {
		b, ok := byteLevelDecode(tok)
		t.decode[id] = b
		if ok {
			raw[tok] = b
		}
	}
	t.model = m
	t.vocab = f.Model.Vocab
	m.whole = make(map[string]int32, len(raw))
	for tok, b := range raw {
		id := int32(f.Model.Vocab[tok])
		if len(b) < 2 {
			continue
		}
		if m.ignoreMerges {
			m.whole[string(b)] = id
			continue
		}
		// Keep only tokens that BPE rebuilds whole from their own bytes.
		var buf [8]int32
		var out []int32
		if m.uniqueMerges && len(b) < scanLimit {
			out = m.appendScan(buf[:0], string(b))
		} else {
			out = m.appendHeap(buf[:0], string(b))
		}
		if len(out) == 1 && out[0] == id {
			m.whole[string(b)] = id
		}
	}
	return buildAdded(t, f, maxID)
}

// idBound bounds token ids by the number of tokens, so that a small file cannot make the
// id-indexed decoding table large. Real files are dense (Xenova/gpt-4 has 13 unused ids).
func idBound(f *fileJSON) int64 {
	return 2*int64(len(f.Model.Vocab)+len(f.AddedTokens)) + 1024
}

// mergesJSON reads merges in either spelling: "a b" strings (older files) or [a, b] pairs.
type mergesJSON [][2]string

func (m *mergesJSON) UnmarshalJSON(data []byte) error {
	var strs []string
	if err := json.Unmarshal(data, &strs); err == nil {
		*m = make(mergesJSON, len(strs))
		for i, s := range strs {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return fmt.Errorf("merge %d %q: want two tokens separated by one space", i, s)
			}
			(*m)[i] = [2]string{a, b}
		}
		return nil
	}
	var pairs [][]string
	if err := json.Unmarshal(data, &pairs); err != nil {
		return errors.New(`merges: want a list of "a b" strings or of [a, b] pairs`)
	}
	*m = make(mergesJSON, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 || p[0] == "" || p[1] == "" {
			return fmt.Errorf("merge %d: want a pair of tokens", i)
		}
		(*m)[i] = [2]string{p[0], p[1]}
	}
	return nil
}

func buildAdded(t *Tokenizer, f *fileJSON, maxID int64) error {
	var plain, normal []addedToken
	t.ids = make(map[string]int32, len(f.AddedTokens))
	// Size the decoding table once: growing it per new largest id copies it once per added
	// token (64 s for 60,000 of them).
	for i, a := range f.AddedTokens {
		if a.ID == nil || *a.ID < 0 || *a.ID >= idBound(f) {
			return fmt.Errorf("added token %d: id missing or out of range", i)
		}
		maxID = max(maxID, *a.ID)
	}
	if int64(len(t.decode)) <= maxID {
		grown := make([][]byte, maxID+1)
		copy(grown, t.decode)
		t.decode = grown
	}
	for i, a := range f.AddedTokens {
		if a.Content == "" || len(a.Content) > maxTokenBytes {
			return fmt.Errorf("added token %d: content of %d bytes: want 1 to %d", i, len(a.Content), maxTokenBytes)
		}
		if vid, ok := f.Model.Vocab[a.Content]; ok && vid != *a.ID {
			return fmt.Errorf("added token %q: id %d but vocab says %d", a.Content, *a.ID, vid)
		}
		t.decode[*a.ID], _ = byteLevelDecode(a.Content)
		t.ids[a.Content] = int32(*a.ID)
		at := addedToken{id: int32(*a.ID), content: a.Content, singleWord: a.SingleWord, lstrip: a.LStrip, rstrip: a.RStrip, normal: a.Normalized}
		if a.Normalized {
			normal = append(normal, at)
		} else {
			plain = append(plain, at)
		}
	}
	t.plain, t.normal = newMatcher(plain), newMatcher(normal)
	if maxID >= math.MaxInt32 {
		return fmt.Errorf("vocab: max id %d too large", maxID)
	}
	t.vocabSize = int(maxID + 1)
	return nil
}
