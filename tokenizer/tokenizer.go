// Package tokenizer owns text-to-token-id conversion: byte-level BPE read from a Hugging Face
// tokenizer.json, and the built-in tokenizers SN9 names ("gpt2", "distilgpt2", "Xenova/gpt-4"). The
// ids are the ones Hugging Face tokenizers produce, since validators agree only if they read the
// same tokens (pretrain/dataset.py encodes each row with truncation and appends EOS).
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
	"context"
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
//
// Encode cannot fail for the built-in tokenizers, nor for any whose split patterns have a
// hand-written splitter (gpt2's and cl100k's). A tokenizer loaded from a file with another
// pattern can: encode its text with [Tokenizer.EncodeContext], which reports the error;
// Encode then returns the ids before the failing piece.
func (t *Tokenizer) Encode(text string, truncate bool) []int32 {
	ids, _ := t.EncodeContext(context.Background(), text, truncate)
	return ids
}

// EncodeContext is [Tokenizer.Encode] that stops when ctx ends (it checks ctx every
// ctxCheckBytes of text) and reports a split pattern that timed out ([ErrPatternTimeout]).
func (t *Tokenizer) EncodeContext(ctx context.Context, text string, truncate bool) ([]int32, error) {
	limit := -1
	if truncate && t.maxLength > 0 {
		limit = t.maxLength
	}
	e := encoder{t: t, limit: limit, window: longWordBytes}
	if limit >= 0 {
		// Truncation keeps at most limit ids however long the text: do not size for the text.
		e.ids = make([]int32, 0, min(len(text)/4, limit)+4)
	} else {
		e.ids = make([]int32, 0, len(text)/4+4)
	}
	err := e.text(ctx, text)
	ids := e.ids
	if limit >= 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, err
}

// ctxCheckBytes is how much text is encoded between two looks at the context: about a
// millisecond of work.
const ctxCheckBytes = 64 << 10

// encoder holds one encode's state: the ids so far, and when to look at the context again.
type encoder struct {
	t         *Tokenizer
	ids       []int32
	limit     int // stop once there are this many ids; < 0: no limit
	window    int // longWordBytes; smaller in tests, to cut words in many places
	sinceSeen int // bytes encoded since the last look at ctx
	err       error
}

// full reports whether the encode must stop: the limit is reached or an error occurred.
func (e *encoder) full() bool { return e.err != nil || (e.limit >= 0 && len(e.ids) >= e.limit) }

// text appends the ids of text, stopping once there are limit of them. Pieces are
// independent, so the prefix is what a full encode would give.
func (e *encoder) text(ctx context.Context, text string) error {
	t := e.t
	var buf [16]segment
	for _, seg := range t.plain.split(text, buf[:0]) {
		if seg.id >= 0 {
			e.ids = append(e.ids, seg.id)
		} else if len(t.normal.toks) > 0 {
			var buf2 [16]segment
			sub := text[seg.start:seg.end]
			for _, s2 := range t.normal.split(sub, buf2[:0]) {
				if s2.id >= 0 {
					e.ids = append(e.ids, s2.id)
				} else {
					e.plainText(ctx, sub[s2.start:s2.end])
				}
				if e.full() {
					break
				}
			}
		} else {
			e.plainText(ctx, text[seg.start:seg.end])
		}
		if e.full() {
			break
		}
	}
	return e.err
}

// plainText encodes text that holds no added token.
func (e *encoder) plainText(ctx context.Context, s string) {
	t := e.t
	if t.prefixSpace && s != "" && s[0] != ' ' {
		s = " " + s
	}
	// The two known patterns run without the closure and interface call per piece.
	switch t.pre.(type) {
	case cl100kSplitter:
		for i := 0; i < len(s) && !e.full(); {
			end := cl100kNext(s, i)
			e.word(ctx, s[i:end])
			i = end
		}
		return
	case gpt2Splitter:
		for i := 0; i < len(s) && !e.full(); {
			end := gpt2Next(s, i)
			e.word(ctx, s[i:end])
			i = end
		}
		return
	}
	if err := t.pre.split(s, func(p string) bool {
		e.word(ctx, p)
		return !e.full()
	}); err != nil && e.err == nil {
		e.err = err
	}
}

// word appends the ids of one pre-tokenized piece, looking at ctx now and then.
func (e *encoder) word(ctx context.Context, w string) {
	if e.sinceSeen += len(w); e.sinceSeen >= ctxCheckBytes {
		e.sinceSeen = 0
		if err := ctx.Err(); err != nil {
			e.err = err
			return
		}
	}
	if len(w) <= 2*e.window {
		e.ids = e.t.model.appendWord(e.ids, w)
		return
	}
	e.longWord(ctx, w)
}

// longWordBytes is the length from which a piece (a run of letters, say, with no space) is
// encoded window by window: memory stays bounded, and a truncated encode stops after the
// window holding its last id instead of merging a whole 60 MB word.
const longWordBytes = 64 << 10

// longWord appends the ids of a piece longer than two windows. BPE merges are local: once no
// merge crosses a byte position, the ids on either side do not depend on the other side.
// Each step encodes the next window of bytes and keeps its ids up to seven eighths of it,
// once a second encode that starts at an id boundary before that point and ends an eighth
// past the window agrees with it from there up to that point: a merge cascading back from
// where the window is cut would change those ids. Real vocabularies cascade a few ids at
// most; where the two encodes disagree the rest is encoded whole.
func (e *encoder) longWord(ctx context.Context, w string) {
	keep, probe, back := e.window-e.window/8, e.window+e.window/8, e.window/16
	m, size := e.t.model, func(id int32) int { return len(e.t.decode[id]) }
	for len(w) > 2*e.window && !e.full() {
		if err := ctx.Err(); err != nil {
			e.err = err
			return
		}
		a := m.appendWord(nil, w[:e.window])
		// a[:iq] ends at q, the last id boundary at or before keep-back.
		iq, q := 0, 0
		for iq < len(a) && q+size(a[iq]) <= keep-back {
			q += size(a[iq])
			iq++
		}
		b := m.appendWord(nil, w[q:probe])
		n, kept := iq, q
		for j := 0; n < len(a) && j < len(b) && a[n] == b[j] && kept+size(a[n]) <= keep; j++ {
			kept += size(a[n])
			n++
		}
		if n == iq {
			break
		}
		e.ids = append(e.ids, a[:n]...)
		w = w[kept:]
	}
	if !e.full() {
		e.ids = m.appendWord(e.ids, w)
	}
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
