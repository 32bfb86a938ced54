package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates on the heap (runtime.MemStats.TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// splitTokenizer is the tiny tokenizer with one Split step of pattern before ByteLevel.
func splitTokenizer(t *testing.T, pattern string) *Tokenizer {
	t.Helper()
	tok, err := parse(edit(t, tinyJSON(t), func(m map[string]any) {
		m["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pattern}, "behavior": "Isolated"},
			map[string]any{"type": "ByteLevel", "use_regex": false}}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestPatternTimeout: a split pattern with nested quantifiers takes time exponential in the
// input (about 2^40 steps here); the match is cut off after MatchTimeout with an error.
func TestPatternTimeout(t *testing.T) {
	tok := splitTokenizer(t, `(a+)+$`)
	_, err := tok.EncodeContext(t.Context(), strings.Repeat("a", 40)+"!", false)
	if !errors.Is(err, ErrPatternTimeout) {
		t.Fatalf("EncodeContext with (a+)+$ = %v, want ErrPatternTimeout", err)
	}
	// A pattern that matches quickly still encodes (the tiny vocab has "he").
	ids, err := splitTokenizer(t, `\w+|\s+`).EncodeContext(t.Context(), "he he", false)
	if err != nil || len(ids) != 3 {
		t.Fatalf("EncodeContext with \\w+|\\s+ = %v, %v; want 3 ids", ids, err)
	}
}

// TestEncodeCancel: a cancelled context stops an encode, on the built-in splitters and on
// regexp2, instead of encoding the whole text.
func TestEncodeCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	text := strings.Repeat("the quick brown fox ", 1<<15) // 640 KiB
	for name, tok := range map[string]*Tokenizer{
		"gpt2":   mustLoad(t, "gpt2"),
		"gpt-4":  mustLoad(t, "Xenova/gpt-4"),
		"regexp": splitTokenizer(t, `\w+|\s+`),
	} {
		ids, err := tok.EncodeContext(ctx, text, false)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: EncodeContext(cancelled) = %d ids, %v; want context.Canceled", name, len(ids), err)
		}
		if len(ids) > ctxCheckBytes {
			t.Errorf("%s: %d ids encoded after cancellation, want at most one check's worth", name, len(ids))
		}
	}
}

// longWords are single pieces (no split inside) of about n bytes, of the kinds a hostile row
// could hold: random letters, a repeated word, one repeated letter, random punctuation,
// digits (cl100k splits those into threes, gpt2 keeps the run), spaces, and multi-byte
// letters with symbols between them.
func longWords(n int) map[string]string {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	return map[string]string{
		"letters":     random("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", n),
		"word":        strings.Repeat("antidisestablishmentarianism", n/28+1),
		"one letter":  strings.Repeat("a", n),
		"punctuation": random("!\"#$%&()*+,-./:;<=>?@[]^_`{|}~", n),
		"digits":      random("0123456789", n),
		"spaces":      strings.Repeat(" ", n) + "x",
		"utf8":        strings.Repeat("éèçà€漢字", n/20+1),
	}
}

// TestLongWordWindows: encoding a long piece window by window gives the ids of encoding it
// whole (BPE's heap over the whole piece, the reference algorithm), truncated or not. Small
// windows cut each word in many places; one word is also cut with the real window.
func TestLongWordWindows(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		tok := mustLoad(t, name)
		cases := map[string]string{"real window": longWords(2*longWordBytes + 12345)["letters"]}
		size := 40000
		if testing.Short() { // -short (the race run) keeps the small windows on shorter words
			cases, size = map[string]string{}, 10000
		}
		for kind, text := range longWords(size) {
			cases[kind] = text
		}
		for kind, text := range cases {
			var want []int32
			tok.pre.split(text, func(p string) bool {
				want = tok.model.appendHeap(want, p)
				return true
			})
			windows := []int{1000, 4096}
			if kind == "real window" {
				windows = []int{longWordBytes}
			}
			for _, window := range windows {
				for _, limit := range []int{-1, 1024} {
					e := encoder{t: tok, limit: limit, window: window}
					if err := e.text(t.Context(), text); err != nil {
						t.Fatal(err)
					}
					wantIDs := want
					if limit >= 0 {
						wantIDs = want[:min(len(want), limit)]
						e.ids = e.ids[:min(len(e.ids), limit)]
					}
					if !slices.Equal(e.ids, wantIDs) {
						i := 0
						for i < min(len(e.ids), len(wantIDs)) && e.ids[i] == wantIDs[i] {
							i++
						}
						t.Errorf("%s %s, window %d, limit %d: %d ids, whole-piece BPE %d; first difference at %d",
							name, kind, window, limit, len(e.ids), len(wantIDs), i)
					}
				}
			}
		}
	}
}

// TestLongWordMemory: truncating a 16 MB unbroken word keeps 1,024 ids and must not allocate
// for the whole word (merging it whole took 28 bytes a byte: 450 MB here, 3.8 GB for a
// 60 MB dataset row).
func TestLongWordMemory(t *testing.T) {
	tok := mustLoad(t, "gpt2")
	text := longWords(1 << 20)["letters"]
	text = strings.Repeat(text, 16<<20/len(text))
	var ids []int32
	n := allocated(func() { ids = tok.Encode(text, true) })
	if len(ids) != tok.MaxLength() {
		t.Fatalf("Encode = %d ids, want %d", len(ids), tok.MaxLength())
	}
	if n > 16<<20 {
		t.Errorf("truncated encode of a %d-byte word allocated %d bytes, want under 16 MiB", len(text), n)
	}
}

// TestManyAddedTokens: 60,000 added tokens load without allocating per token for the whole
// id table (that took 64 s), and each still encodes to its id, the longest match first.
func TestManyAddedTokens(t *testing.T) {
	const n = 60000
	data := edit(t, tinyJSON(t), func(m map[string]any) {
		added := m["added_tokens"].([]any)
		for i := range n {
			added = append(added, map[string]any{"id": 300 + i, "content": fmt.Sprintf("<t%d>", i)})
		}
		m["added_tokens"] = added
	})
	var tok *Tokenizer
	var err error
	alloc := allocated(func() { tok, err = parse(data) })
	if err != nil {
		t.Fatal(err)
	}
	if alloc > 256<<20 {
		t.Errorf("parsing %d added tokens allocated %d bytes, want under 256 MiB", n, alloc)
	}
	if got, want := tok.VocabSize(), 300+n; got != want {
		t.Errorf("VocabSize = %d, want %d", got, want)
	}
	for _, i := range []int{0, 1, 10, 59999} {
		ids := tok.Encode(fmt.Sprintf("<t%d>", i), false)
		if !slices.Equal(ids, []int32{int32(300 + i)}) {
			t.Errorf("Encode(<t%d>) = %v, want [%d]", i, ids, 300+i)
		}
	}
}

// TestMatcherLongestFirst: the trie finds, at every position, what a search of every token
// finds: the longest token the text starts with there, the first listed of equal ones.
func TestMatcherLongestFirst(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "<ab>"[rng.IntN(4)]
		}
		return string(b)
	}
	var toks []addedToken
	for i := range 200 {
		toks = append(toks, addedToken{id: int32(i), content: word(1 + rng.IntN(6))})
	}
	m := newMatcher(toks)
	text := word(5000)
	for i := range len(text) {
		want, wantLen := -1, 0
		for k, tk := range toks {
			if strings.HasPrefix(text[i:], tk.content) && len(tk.content) > wantLen {
				want, wantLen = k, len(tk.content)
			}
		}
		if got := m.matchAt(text, i); got != want {
			t.Fatalf("matchAt(%q, %d) = %d, want %d", text[i:min(i+8, len(text))], i, got, want)
		}
	}
}
