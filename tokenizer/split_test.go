package tokenizer

import (
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
)

func pieces(sp splitter, s string) []string {
	var out []string
	sp.split(s, func(p string) bool { out = append(out, p); return true })
	return out
}

// regexp2Splitters are the general regex path for the two patterns that have a
// hand-written splitter: the independent implementation each is checked against.
func regexp2Splitters(t testing.TB) map[string][2]splitter {
	t.Helper()
	out := map[string][2]splitter{}
	// regexp2 has no possessive quantifiers: tiktoken's spelling is compiled with the
	// atomic groups they abbreviate.
	atomic := `'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)\p{L}+|\p{N}{1,3}| ?(?>[^\s\p{L}\p{N}]+)[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	for name, p := range map[string][2]string{
		"gpt2":            {gpt2Pattern, gpt2Pattern},
		"cl100k":          {cl100kPattern, cl100kPattern},
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

// TestSplitterMatchesRegexp2 runs each hand-written splitter and regexp2 over the fixtures.
func TestSplitterMatchesRegexp2(t *testing.T) {
	sps := regexp2Splitters(t)
	for name, sp := range sps {
		t.Run(name, func(t *testing.T) {
			bad := 0
			for _, fx := range fixtures(t) {
				got, want := pieces(sp[0], fx.Text), pieces(sp[1], fx.Text)
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
