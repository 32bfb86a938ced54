package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"unicode"
)

// unicode14SHA256 is classesSHA256 as gen_unicode14.py computes it from CPython 3.11's
// unicodedata (Unicode 14.0.0). It is written here as well so that regenerating the tables
// from another Unicode version fails this test: the version is Oniguruma 6.9.8's, and
// changes only with the Hugging Face tokenizers the reference runs.
const unicode14SHA256 = "9acabae992ac92ca10019e7d5fd791244b49b6ae49121b87b7abfdbead01911f"

// TestUnicode14Tables checks letter14, number14 and space14, through class14, against
// CPython's classification of every code point.
func TestUnicode14Tables(t *testing.T) {
	if unicodeVersion != "14.0.0" || classesSHA256 != unicode14SHA256 {
		t.Fatalf("unicode14.go is Unicode %s with classes %s, want 14.0.0 with %s",
			unicodeVersion, classesSHA256, unicode14SHA256)
	}
	name := [...]byte{clsOther: '.', clsLetter: 'L', clsNumber: 'N', clsSpace: 'S'}
	b := make([]byte, unicode.MaxRune+1)
	for r := range rune(len(b)) {
		b[r] = name[class14(r)]
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != classesSHA256 {
		t.Errorf("SHA-256 of the classes of U+0000..U+10FFFF = %x, want %s", sum, classesSHA256)
	}
	for c := range rune(len(asciiClass)) {
		want := class14(c)
		if c == '\r' || c == '\n' {
			want = clsNL
		}
		if asciiClass[c] != want {
			t.Errorf("asciiClass[%#x] = %d, want %d", c, asciiClass[c], want)
		}
	}
}

// TestUnicode14Split: characters assigned after Unicode 14.0 are [^\s\p{L}\p{N}], as in
// Oniguruma 6.9.8, whatever Go's unicode package says; and (?i:'s) matches 'ſ there. The
// pieces are those of Oniguruma 6.9.8 (Debian 12's libonig5 6.9.8-1, through jq's scan,
// with the tokenizer.json spellings of the patterns); the ids follow from them.
func TestUnicode14Split(t *testing.T) {
	tests := []struct {
		name, tok, text string
		pieces          []string
		ids             []int32
	}{
		// U+13F9A is unassigned in Unicode 14.0 and 15.0; it is a letter in 16.0 (Egyptian
		// Hieroglyphs Extended-A), and tokenizers 0.23 gives [172 241 122 248 72250].
		{"gpt-4/U+13F9A", "Xenova/gpt-4", "\U00013F9A>d", []string{"\U00013F9A>", "d"}, []int32{172, 241, 122, 248, 29, 67}},
		{"gpt2/U+13F9A", "gpt2", "\U00013F9A>d", []string{"\U00013F9A>", "d"}, []int32{172, 241, 122, 248, 29, 67}},
		// U+31350 (CJK Extension H) is a letter since Unicode 15.0, unassigned in 14.0.
		{"gpt-4/U+31350", "Xenova/gpt-4", "\U00031350>d", []string{"\U00031350>", "d"}, []int32{172, 109, 235, 238, 29, 67}},
		{"gpt2/U+31350", "gpt2", "\U00031350>d", []string{"\U00031350>", "d"}, []int32{172, 109, 235, 238, 29, 67}},
		{"gpt-4/long-s", "Xenova/gpt-4", "x'ſx", []string{"x", "'ſ", "x"}, nil},
		{"gpt2/long-s", "gpt2", "x'ſx", []string{"x", "'", "ſx"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := mustLoad(t, tt.tok)
			if got := pieces(tok.pre, tt.text); !slices.Equal(got, tt.pieces) {
				t.Errorf("split(%q) = %q, want %q", tt.text, got, tt.pieces)
			}
			if tt.ids == nil {
				return
			}
			if got := tok.Encode(tt.text, false); !slices.Equal(got, tt.ids) {
				t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.ids)
			}
		})
	}
}
