// Package tokenizer owns text-to-token-id conversion: byte-level BPE read from a Hugging
// Face tokenizer.json, and the built-in tokenizers SN9 names ("gpt2", "distilgpt2",
// "Xenova/gpt-4"). The ids are the ones Hugging Face tokenizers produce, since validators
// agree only if they read the same tokens (sn9-spec.md §6, "Tokenization, per row").
//
// The reference is transformers 4.44.1 with tokenizers 0.19, which runs pre-tokenizer
// patterns with Oniguruma 6.9.8 and its Unicode 14.0 tables. The GPT-2 pattern and the
// cl100k one (Xenova/gpt-4's) have hand-written splitters whose \p{L}, \p{N} and \s come
// from Unicode 14.0 tables pinned in unicode14.go, generated from CPython 3.11's
// unicodedata by gen_unicode14.py, so they don't change with the Go toolchain; cl100k's
// (?i:'s) also matches 'ſ, as Oniguruma's case folding does. Any other Split pattern runs
// on regexp2, whose classes come from Go's unicode package (Unicode 15.0 in Go 1.26) and
// whose (?i) doesn't match ſ with s: there, text with characters assigned after Unicode
// 14.0 can split differently from the reference.
package tokenizer

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Tokenizer encodes text to token ids and back. It is immutable once loaded and safe for
// concurrent use.
type Tokenizer struct {
	name        string
	model       *bpe
	pre         splitter
	prefixSpace bool             // ByteLevel add_prefix_space
	plain       *matcher         // added tokens with normalized false
	normal      *matcher         // added tokens with normalized true (no normalizer, so same text)
	ids         map[string]int32 // added token content -> id
	vocab       map[string]int64 // model vocab, byte-level spelling -> id
	decode      [][]byte         // id -> bytes; nil for ids not in use
	vocabSize   int
	eos, pad    int32 // -1 when absent
	maxLength   int   // 0: no truncation

	// What WriteFiles writes: a built-in's source, or the files a directory load read.
	builtin *builtin
	files   map[string][]byte
}

// Name returns the built-in name or the path the tokenizer was loaded from.
func (t *Tokenizer) Name() string { return t.name }

// EOS returns the id of the end-of-sequence token.
func (t *Tokenizer) EOS() int32 { return t.eos }

// Pad returns the id of the padding token, if the tokenizer's config names one.
func (t *Tokenizer) Pad() (int32, bool) { return t.pad, t.pad >= 0 }

// MaxLength returns model_max_length, the length Encode truncates to; 0 means none.
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// VocabSize returns one more than the largest token id, added tokens included: the number
// of embedding rows a model needs (50257 for gpt2, 100277 for Xenova/gpt-4).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenID returns the id of a token given as written in tokenizer.json (added tokens as
// they are, vocab entries in the byte-level alphabet).
func (t *Tokenizer) TokenID(tok string) (int32, bool) {
	if id, ok := t.ids[tok]; ok {
		return id, true
	}
	id, ok := t.vocab[tok]
	return int32(id), ok
}

// Encode returns the ids of text as Hugging Face's tokenizer(text,
// truncation=truncate)["input_ids"] does: added tokens such as <|endoftext|> are matched
// inside the text, and with truncate the ids are cut to MaxLength. Invalid UTF-8 bytes are
// kept (each is one U+FFFD for the split pattern) so Decode returns them.
func (t *Tokenizer) Encode(text string, truncate bool) []int32 {
	limit := -1
	if truncate && t.maxLength > 0 {
		limit = t.maxLength
	}
	ids := make([]int32, 0, len(text)/4+4)
	ids = t.appendEncode(ids, text, limit)
	if limit >= 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	return ids
}

// appendEncode appends the ids of text, stopping once there are limit of them (limit < 0:
// no limit). Pieces are independent, so the prefix is what a full encode would give.
func (t *Tokenizer) appendEncode(ids []int32, text string, limit int) []int32 {
	var buf [16]segment
	for _, seg := range t.plain.split(text, buf[:0]) {
		if seg.id >= 0 {
			ids = append(ids, seg.id)
		} else if len(t.normal.toks) > 0 {
			var buf2 [16]segment
			sub := text[seg.start:seg.end]
			for _, s2 := range t.normal.split(sub, buf2[:0]) {
				if s2.id >= 0 {
					ids = append(ids, s2.id)
				} else {
					ids = t.appendText(ids, sub[s2.start:s2.end], limit)
				}
			}
		} else {
			ids = t.appendText(ids, text[seg.start:seg.end], limit)
		}
		if limit >= 0 && len(ids) >= limit {
			break
		}
	}
	return ids
}

// appendText encodes text that holds no added token.
func (t *Tokenizer) appendText(ids []int32, s string, limit int) []int32 {
	if t.prefixSpace && s != "" && s[0] != ' ' {
		s = " " + s
	}
	if limit < 0 {
		limit = int(^uint(0) >> 1)
	}
	// The two known patterns run without the closure and interface call per piece.
	switch t.pre.(type) {
	case cl100kSplitter:
		for i := 0; i < len(s) && len(ids) < limit; {
			end := cl100kNext(s, i)
			ids = t.model.appendWord(ids, s[i:end])
			i = end
		}
		return ids
	case gpt2Splitter:
		for i := 0; i < len(s) && len(ids) < limit; {
			end := gpt2Next(s, i)
			ids = t.model.appendWord(ids, s[i:end])
			i = end
		}
		return ids
	}
	t.pre.split(s, func(p string) bool {
		ids = t.model.appendWord(ids, p)
		return len(ids) < limit
	})
	return ids
}

// EncodeBatch encodes each text as Encode does, on up to GOMAXPROCS goroutines.
func (t *Tokenizer) EncodeBatch(texts []string, truncate bool) [][]int32 {
	out := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(texts) {
					return
				}
				out[i] = t.Encode(texts[i], truncate)
			}
		})
	}
	wg.Wait()
	return out
}

// Decode returns the text of ids as Hugging Face's decode(ids) does (special tokens kept,
// no clean-up of spaces): the tokens' bytes joined, each ill-formed UTF-8 sequence replaced
// by U+FFFD. Ids the tokenizer does not know are skipped, as there.
func (t *Tokenizer) Decode(ids []int32) []byte {
	var b []byte
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.decode) {
			b = append(b, t.decode[id]...)
		}
	}
	if utf8.Valid(b) {
		return b
	}
	return appendLossy(make([]byte, 0, len(b)+8), b)
}
