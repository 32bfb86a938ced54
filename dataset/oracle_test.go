package dataset

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset/dataserver"
)

// fixtureTokenizer returns GPT-2 ids recorded by npm tiktoken (testdata/gpt2_ids.json.gz) for
// the rows of testdata/demo150.jsonl.gz, truncated at 1024 like the HF gpt2 tokenizer.
type fixtureTokenizer struct {
	ids     map[string][]int32
	maxLen  int
	mu      sync.Mutex
	unknown []string
}

func (f *fixtureTokenizer) Encode(text string, truncate bool) []int32 {
	ids, ok := f.ids[text]
	if !ok {
		f.mu.Lock()
		f.unknown = append(f.unknown, text)
		f.mu.Unlock()
		return nil
	}
	if truncate && len(ids) > f.maxLen {
		ids = ids[:f.maxLen]
	}
	return slices.Clone(ids)
}

func (f *fixtureTokenizer) EOS() int32 { return 50256 }

// demoRows reads the fixture rows as raw JSON lines.
func demoRows(t testing.TB) [][]byte {
	t.Helper()
	fh, err := os.Open("testdata/demo150.jsonl.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			rows = append(rows, slices.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func newFixtureTokenizer(t testing.TB, rows [][]byte) *fixtureTokenizer {
	t.Helper()
	fh, err := os.Open("testdata/gpt2_ids.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var ids [][]int32
	if err := json.NewDecoder(zr).Decode(&ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(rows) {
		t.Fatalf("%d id lists for %d rows", len(ids), len(rows))
	}
	tok := &fixtureTokenizer{ids: map[string][]int32{}, maxLen: 1024}
	for i, r := range rows {
		var row struct{ Content string }
		if err := json.Unmarshal(r, &row); err != nil {
			t.Fatal(err)
		}
		tok.ids[row.Content] = ids[i]
	}
	return tok
}

// writeDemoLayout lays the fixture rows out for the dataserver as the oracle assumes.
func writeDemoLayout(t testing.TB, rows [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel string, rs [][]byte, gz bool) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range rs {
			b.Write(r)
			b.WriteByte('\n')
		}
		data := []byte(b.String())
		if gz {
			var zb strings.Builder
			zw := gzip.NewWriter(&zb)
			_, _ = zw.Write(data)
			_ = zw.Close()
			data = []byte(zb.String())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// FineWeb rows carry "text" (the FineWeb loader reads nothing else).
	fineweb := make([][]byte, len(rows))
	for i, r := range rows {
		var row struct{ Content, URL, Dump string }
		if err := json.Unmarshal(r, &row); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(map[string]string{"text": row.Content, "id": row.URL, "dump": row.Dump})
		if err != nil {
			t.Fatal(err)
		}
		fineweb[i] = b
	}
	write("tiiuae/falcon-refinedweb/default/train.jsonl.gz", rows, true)
	write("HuggingFaceFW/fineweb/CC-MAIN-A/train.jsonl", fineweb, false)
	write("HuggingFaceFW/fineweb/CC-MAIN-B/train.jsonl.gz", fineweb[20:], true)
	write("pretrain/demo-corpus/demo/train.jsonl.gz", rows, true)
	return dir
}

// faultServer fronts a handler and fails chosen /rows calls (0-based, retries included).
type faultServer struct {
	next    http.Handler
	calls   atomic.Int64
	fail    map[int64]bool
	badJSON map[int64]bool
}

func (f *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/rows" {
		n := f.calls.Add(1) - 1
		switch {
		case f.fail[n]:
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		case f.badJSON[n]:
			_, _ = w.Write([]byte(`{"rows": [{"row": {"text": "tru`))
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

type oracleCase struct {
	Name         string   `json:"name"`
	Kind         string   `json:"kind"`
	Seed         string   `json:"seed"`
	MaxPages     int64    `json:"max_pages"`
	NumPages     int      `json:"num_pages"`
	SeqLen       int      `json:"seq_len"`
	BatchSize    int      `json:"batch_size"`
	Packed       bool     `json:"packed"`
	FailCalls    []int64  `json:"fail_calls"`
	BadJSONCalls []int64  `json:"bad_json_calls"`
	Error        string   `json:"error"`
	Calls        int64    `json:"calls"`
	Pages        []string `json:"pages"`
	NumTokens    int      `json:"num_tokens"`
	NumBatches   int      `json:"num_batches"`
	Selected     []string `json:"selected"`
}

func batchDigest(b Batch) string {
	var s strings.Builder
	for i, row := range b {
		if i > 0 {
			s.WriteByte(';')
		}
		for j, id := range row {
			if j > 0 {
				s.WriteByte(',')
			}
			s.WriteString(strconv.Itoa(int(id)))
		}
	}
	sum := sha256.Sum256([]byte(s.String()))
	return hex.EncodeToString(sum[:])
}

func oracleSeed(s string) *big.Int {
	if strings.HasPrefix(s, "0x") {
		return SeedFromBlockHash(s)
	}
	v, _ := new(big.Int).SetString(s, 10)
	return v
}

func set(xs []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// TestOracle replays testdata/oracle.json (testdata/oracle.py, an independent Python port of
// the reference over CPython's random) through the real dataserver, client and loaders.
func TestOracle(t *testing.T) {
	data, err := os.ReadFile("testdata/oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var of struct{ Cases []oracleCase }
	if err := json.Unmarshal(data, &of); err != nil {
		t.Fatal(err)
	}
	rows := demoRows(t)
	tok := newFixtureTokenizer(t, rows)
	srv, err := dataserver.Open(writeDemoLayout(t, rows), dataserver.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	for _, c := range of.Cases {
		t.Run(c.Name, func(t *testing.T) {
			fs := &faultServer{next: srv.Handler(), fail: set(c.FailCalls), badJSON: set(c.BadJSONCalls)}
			hs := httptest.NewServer(fs)
			defer hs.Close()
			client, err := NewClient(ClientConfig{Endpoint: hs.URL})
			if err != nil {
				t.Fatal(err)
			}
			spec := mustSpec(t, "falcon")
			spec.MaxPages = c.MaxPages
			if c.Kind == "fineweb" {
				spec = mustSpec(t, "fineweb")
			}
			var sleeps []time.Duration
			l := &Loader{
				Spec: spec, Source: client, Tokenizer: tok,
				SeqLen: c.SeqLen, BatchSize: c.BatchSize, NumPages: c.NumPages, Unpacked: !c.Packed,
				Sleep:   func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
				Workers: 3,
			}
			seed := oracleSeed(c.Seed)
			res, err := l.Load(t.Context(), seed)
			if got := fs.calls.Load(); got != c.Calls {
				t.Errorf("rows calls = %d, want %d", got, c.Calls)
			}
			if c.Error != "" {
				if err == nil {
					t.Fatalf("Load succeeded, want an error (%s in the oracle)", c.Error)
				}
				t.Logf("error (expected): %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tok.unknown) > 0 {
				t.Fatalf("tokenizer saw %d texts not in the fixture", len(tok.unknown))
			}
			if !slices.Equal(res.PageNames, c.Pages) {
				t.Errorf("pages = %v, want %v", res.PageNames, c.Pages)
			}
			if len(res.Tokens) != c.NumTokens {
				t.Errorf("tokens = %d, want %d", len(res.Tokens), c.NumTokens)
			}
			wantSleeps := len(c.FailCalls) + len(c.BadJSONCalls)
			if len(sleeps) != wantSleeps {
				t.Errorf("slept %d times, want %d", len(sleeps), wantSleeps)
			}
			batches, err := Pack(res.Tokens, tok.EOS(), c.BatchSize, c.SeqLen, !c.Packed)
			if err != nil {
				t.Fatal(err)
			}
			if len(batches) != c.NumBatches {
				t.Errorf("batches = %d, want %d", len(batches), c.NumBatches)
			}
			sel := Select(batches, seed, competition.MaxBatchesPerDataset)
			got := make([]string, len(sel))
			for i, b := range sel {
				got[i] = batchDigest(b)
			}
			if !slices.Equal(got, c.Selected) {
				t.Errorf("selected batches differ from the oracle:\n got %v\nwant %v", got, c.Selected)
			}
			// EvalBatches composes the same steps.
			if c.FailCalls == nil && c.BadJSONCalls == nil {
				eb, _, err := l.EvalBatches(t.Context(), seed)
				if err != nil {
					t.Fatal(err)
				}
				for i := range eb {
					if batchDigest(eb[i]) != c.Selected[i] {
						t.Fatalf("EvalBatches batch %d differs", i)
					}
				}
			}
		})
	}
}

// Page fetches through the cache give the oracle's result on the first and the second run,
// and the second run makes no requests.
func TestOracleThroughCache(t *testing.T) {
	rows := demoRows(t)
	tok := newFixtureTokenizer(t, rows)
	srv, err := dataserver.Open(writeDemoLayout(t, rows), dataserver.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fs := &faultServer{next: srv.Handler()}
	hs := httptest.NewServer(fs)
	defer hs.Close()
	client, err := NewClient(ClientConfig{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := NewCache(client, t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := mustSpec(t, "fineweb")
	var digests [2][]string
	for run := range 2 {
		l := &Loader{Spec: spec, Source: cache, Tokenizer: tok, SeqLen: 1024, BatchSize: 1, NumPages: 3}
		b, _, err := l.EvalBatches(t.Context(), SeedFromBlockHash("0x5b1c3e4f6a7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"))
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range b {
			digests[run] = append(digests[run], batchDigest(x))
		}
		if run == 0 && fs.calls.Load() != 3 {
			t.Fatalf("first run made %d rows calls, want 3", fs.calls.Load())
		}
	}
	if fs.calls.Load() != 3 {
		t.Errorf("second run made %d more rows calls, want 0", fs.calls.Load()-3)
	}
	want := oracleCaseNamed(t, "fineweb-3").Selected
	for run := range 2 {
		if !slices.Equal(digests[run], want) {
			t.Errorf("run %d differs from the oracle's fineweb-3", run)
		}
	}
}

func oracleCaseNamed(t *testing.T, name string) oracleCase {
	t.Helper()
	data, err := os.ReadFile("testdata/oracle.json")
	if err != nil {
		t.Fatal(err)
	}
	var of struct{ Cases []oracleCase }
	if err := json.Unmarshal(data, &of); err != nil {
		t.Fatal(err)
	}
	for _, c := range of.Cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no oracle case %q", name)
	return oracleCase{}
}
