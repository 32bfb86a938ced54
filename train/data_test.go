package train

import (
	"compress/gzip"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/dataset/dataserver"
)

// byteTok is a stand-in tokenizer: one id per byte, EOS 256.
type byteTok struct{}

func (byteTok) Encode(text string, _ bool) []int32 {
	ids := make([]int32, len(text))
	for i := range len(text) {
		ids[i] = int32(text[i])
	}
	return ids
}

func (byteTok) EOS() int32 { return 256 }

func writeFile(t *testing.T, name, content string, gz bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if gz {
		zw := gzip.NewWriter(f)
		zw.Write([]byte(content))
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadCorpus(t *testing.T) {
	// Documents 0 and 2 are held out (EvalEvery 2); the rest is packed with EOS after each.
	rows := `{"content":"aaaa"}` + "\n" + `{"text":"bbbb"}` + "\n\n" + `{"content":"cccc","url":"x"}` + "\n" + `{"content":"dddd"}` + "\n"
	for _, gz := range []bool{false, true} {
		name := "c.jsonl"
		if gz {
			name += ".gz"
		}
		c, err := ReadCorpus(t.Context(), writeFile(t, name, rows, gz), byteTok{}, CorpusConfig{SeqLen: 5, EvalEvery: 2})
		if err != nil {
			t.Fatal(err)
		}
		b, d, eos := int32('b'), int32('d'), int32(256)
		wantTrain := [][]int32{{b, b, b, b, eos}, {d, d, d, d, eos}}
		if !slices.EqualFunc(c.Train, wantTrain, slices.Equal) {
			t.Errorf("gz=%v: train windows %v, want %v", gz, c.Train, wantTrain)
		}
		if len(c.Eval) != 2 || c.Eval[0][0] != 'a' || c.Eval[1][0] != 'c' {
			t.Errorf("gz=%v: held-out windows %v", gz, c.Eval)
		}
	}
}

func TestReadCorpusErrors(t *testing.T) {
	for _, tc := range []struct {
		name, rows, want string
		seqLen           int
	}{
		{"not json", "{\n", "line 1", 4},
		{"no text", `{"url":"x"}` + "\n", "no \"content\" field", 4},
		{"too short", `{"content":"ab"}` + "\n" + `{"content":"ab"}` + "\n", "no window", 50},
		{"bad seq len", `{"content":"ab"}`, "sequence length", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCorpus(t.Context(), writeFile(t, "c.jsonl", tc.rows, false), byteTok{}, CorpusConfig{SeqLen: tc.seqLen, EvalEvery: 2})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestOrder: each epoch visits every window once, epochs differ, and the order is a
// function of (seed, position) alone, whatever was asked before.
func TestOrder(t *testing.T) {
	const n = 10
	a := NewOrder(n, 3)
	var epochs [3][]int
	for k := range int64(3 * n) {
		epochs[k/n] = append(epochs[k/n], a.Window(k))
	}
	for e, ep := range epochs {
		s := slices.Sorted(slices.Values(ep))
		for i, v := range s {
			if v != i {
				t.Fatalf("epoch %d is not a permutation: %v", e, ep)
			}
		}
	}
	if slices.Equal(epochs[0], epochs[1]) {
		t.Errorf("epochs 0 and 1 have the same order %v", epochs[0])
	}
	b := NewOrder(n, 3)
	for _, k := range []int64{25, 3, 17, 0, 29} {
		if got, want := b.Window(k), epochs[k/n][k%n]; got != want {
			t.Errorf("Window(%d) = %d out of order, want %d", k, got, want)
		}
	}
	if c := NewOrder(n, 4); slices.Equal(func() []int {
		var o []int
		for k := range int64(n) {
			o = append(o, c.Window(k))
		}
		return o
	}(), epochs[0]) {
		t.Errorf("seeds 3 and 4 give the same order")
	}
}

// TestLoadServerCorpus draws pages from the local datasets server with the "local" spec's
// loader: the same seed gives the same windows, and the held-out documents are not trained on.
func TestLoadServerCorpus(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, "{\"content\":\"document %d %s\"}\n", i, strings.Repeat("xyz ", 5+i%9))
	}
	p := filepath.Join(dir, "pretrain", "demo-corpus", "demo", "train.jsonl")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := dataserver.Open(dir, dataserver.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	load := func(seed uint64) *Corpus {
		c, err := LoadServerCorpus(t.Context(), ServerConfig{Endpoint: hs.URL, Dataset: "local", Pages: 2, Seed: seed},
			byteTok{}, CorpusConfig{SeqLen: 16, EvalEvery: 4})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, again, other := load(1), load(1), load(2)
	if len(a.Train) == 0 || len(a.Eval) == 0 {
		t.Fatalf("%d training and %d held-out windows", len(a.Train), len(a.Eval))
	}
	if !slices.EqualFunc(a.Train, again.Train, slices.Equal) || !slices.EqualFunc(a.Eval, again.Eval, slices.Equal) {
		t.Error("the same seed gave different windows")
	}
	if slices.EqualFunc(a.Train, other.Train, slices.Equal) {
		t.Error("seeds 1 and 2 gave the same windows")
	}
	if _, err := LoadServerCorpus(t.Context(), ServerConfig{Endpoint: hs.URL, Dataset: "nope"}, byteTok{}, CorpusConfig{SeqLen: 16}); err == nil {
		t.Error("an unknown dataset was accepted")
	}
}
