package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

func pieces(sp splitter, s string) []string {
	var out []string
	sp.split(s, func(p string) bool { out = append(out, p); return true })
	return out
}

// regexp2Splitters are the general regex path for the two patterns that have a
// hand-written splitter: the independent implementation each is checked against. The
// reference spellings differ from the patterns in two ways. regexp2's (?i) lowercases, so
// the case variants are written out, with U+017F ſ, which Oniguruma's case folding (and
// Rust's) matches with s; no other character folds to a letter of the contractions. And
// regexp2 classifies with Go's unicode package, so compare them with refSplit.
func regexp2Splitters(t testing.TB) map[string][2]splitter {
	t.Helper()
	out := map[string][2]splitter{}
	cl100k := `'[sSſ]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]` +
		strings.TrimPrefix(cl100kPattern, `(?i:'s|'t|'re|'ve|'m|'ll|'d)`)
	// regexp2 has no possessive quantifiers: tiktoken's spelling is compiled with the
	// atomic groups they abbreviate.
	atomic := `'(?:[sSſdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|(?>[^\r\n\p{L}\p{N}]?)\p{L}+|\p{N}{1,3}| ?(?>[^\s\p{L}\p{N}]+)[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	for name, p := range map[string][2]string{
		"gpt2":            {gpt2Pattern, gpt2Pattern},
		"cl100k":          {cl100kPattern, cl100k},
		"cl100k-tiktoken": {cl100kTiktoken, atomic},
	} {
		re, err := regexp2.Compile(p[1], regexp2.None)
		if err != nil {
			t.Fatal(err)
		}
		hand, err := newRegexSplitter(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := hand.(*regexSplitter); ok {
			t.Fatalf("pattern %s has no hand-written splitter", name)
		}
		out[name] = [2]splitter{hand, &regexSplitter{re: re}}
	}
	return out
}

// goClass is the class Go's unicode package gives r, as regexp2 sees it.
func goClass(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// standIns[cls][n] is a character of UTF-8 length n whose class is cls both in Unicode 14.0
// and in Go's unicode package (no \s needs four bytes, and ASCII classes agree).
var standIns = [4][5]rune{
	clsOther:  {2: '×', 3: '☀', 4: '😀'},
	clsLetter: {2: 'é', 3: '一', 4: '\U00020000'},
	clsNumber: {2: '٠', 3: '०', 4: '𝟎'},
	clsSpace:  {2: '\u0085', 3: '\u3000'},
}

// refSplit splits s with the reference sp, after replacing each character whose class in
// Go's unicode package is not its Unicode 14.0 class with a stand-in of the same class and
// length; it returns the pieces of s at the stand-in text's cuts.
func refSplit(sp splitter, s string) []string {
	var b []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, s[i])
		} else if c := class14(r); c != goClass(r) {
			b = utf8.AppendRune(b, standIns[c][n])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	var out []string
	at := 0
	for _, p := range pieces(sp, string(b)) {
		out = append(out, s[at:at+len(p)])
		at += len(p)
	}
	return out
}

func TestStandIns(t *testing.T) {
	for c, byLen := range standIns {
		for n, r := range byLen {
			if r == 0 {
				continue
			}
			if class14(r) != uint8(c) || goClass(r) != uint8(c) || utf8.RuneLen(r) != n {
				t.Errorf("stand-in %U: class %d (Go %d), length %d; want class %d, length %d",
					r, class14(r), goClass(r), utf8.RuneLen(r), c, n)
			}
		}
	}
	for r := range rune(unicode.MaxRune + 1) {
		if c := class14(r); c != goClass(r) && (r < 0xd800 || r > 0xdfff) && standIns[c][utf8.RuneLen(r)] == 0 {
			t.Fatalf("%U is class %d in Unicode 14.0, %d in Go: standIns has none of its length", r, c, goClass(r))
		}
	}
}

// TestSplitterMatchesRegexp2 runs each hand-written splitter and regexp2 over the fixtures.
func TestSplitterMatchesRegexp2(t *testing.T) {
	sps := regexp2Splitters(t)
	for name, sp := range sps {
		t.Run(name, func(t *testing.T) {
			bad := 0
			for _, fx := range fixtures(t) {
				got, want := pieces(sp[0], fx.Text), refSplit(sp[1], fx.Text)
				if !slices.Equal(got, want) {
					k := 0
					for k < len(got) && k < len(want) && got[k] == want[k] {
						k++
					}
					t.Errorf("%s: split(%s) differs at piece %d: got %q, want %q", name, fx.Name, k,
						got[k:min(k+3, len(got))], want[k:min(k+3, len(want))])
					if bad++; bad > 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

// TestRegexp2Path loads Xenova/gpt-4's tokenizer.json with its pattern wrapped in a group,
// which sends it down the general regexp2 path, and checks the ids against tiktoken's.
func TestRegexp2Path(t *testing.T) {
	data := edit(t, builtinJSON(t, "Xenova/gpt-4"), func(m map[string]any) {
		split := m["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[0].(map[string]any)
		split["pattern"] = map[string]any{"Regex": "(?:" + cl100kPattern + ")"}
	})
	tok, err := parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.pre.(*regexSplitter); !ok {
		t.Fatalf("pre-tokenizer is %T, want the regexp2 splitter", tok.pre)
	}
	for _, fx := range fixtures(t) {
		if strings.HasPrefix(fx.Name, "prose/") && fx.Name > "prose/5" {
			continue // prose is covered by the splitter comparison; keep this test short
		}
		if got := tok.Encode(fx.Text, false); !slices.Equal(got, fx.CL100k) {
			t.Errorf("Encode(%s) through regexp2 differs from tiktoken", fx.Name)
		}
	}
}
