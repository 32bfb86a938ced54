package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"
)

// fixture is one document of testdata/fixtures.jsonl.gz with npm tiktoken's ids.
type fixture struct {
	Name   string  `json:"name"`
	Text   string  `json:"text"`
	GPT2   []int32 `json:"gpt2"`
	CL100k []int32 `json:"cl100k"`
}

var loadFixtures = sync.OnceValues(func() ([]fixture, error) {
	f, err := os.Open("testdata/fixtures.jsonl.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []fixture
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var fx fixture
		if err := json.Unmarshal(sc.Bytes(), &fx); err != nil {
			return nil, err
		}
		out = append(out, fx)
	}
	return out, sc.Err()
})

func fixtures(t testing.TB) []fixture {
	t.Helper()
	fx, err := loadFixtures()
	if err != nil {
		t.Fatalf("load fixtures: %v", err)
	}
	return fx
}

func mustLoad(t testing.TB, name string) *Tokenizer {
	t.Helper()
	tok, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return tok
}

// want returns the fixture's ids for the encoding tok implements.
func want(fx *fixture, name string) []int32 {
	if name == "Xenova/gpt-4" {
		return fx.CL100k
	}
	return fx.GPT2
}

// checkFixtures compares tok's ids on every fixture with npm tiktoken's.
func checkFixtures(t *testing.T, tok *Tokenizer, encoding string) {
	t.Helper()
	bad := 0
	for i := range fixtures(t) {
		fx := &fixtures(t)[i]
		w := want(fx, encoding)
		got := tok.Encode(fx.Text, false)
		if !slices.Equal(got, w) {
			bad++
			k := 0
			for k < len(got) && k < len(w) && got[k] == w[k] {
				k++
			}
			t.Errorf("%s: Encode(%s) differs at id %d: got %v, want %v", encoding, fx.Name, k,
				got[k:min(k+8, len(got))], w[k:min(k+8, len(w))])
			if bad > 10 {
				t.Fatal("too many differences")
			}
		}
	}
}

func TestFixturesBuiltin(t *testing.T) {
	for _, name := range []string{"gpt2", "Xenova/gpt-4"} {
		t.Run(name, func(t *testing.T) { checkFixtures(t, mustLoad(t, name), name) })
	}
}
