package hub_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
	"github.com/pretrain/pretrain/modelstore"
)

// writeModel writes a small model directory: config, generation config, weights, tokenizer,
// plus files the loader does not fetch (README.md, training_args.bin).
func writeModel(t *testing.T, dir string, weights []byte) {
	t.Helper()
	files := map[string][]byte{
		"config.json":             []byte(`{"model_type": "gpt2", "n_layer": 2}`),
		"generation_config.json":  []byte(`{"_from_model_config": true}`),
		"model.safetensors":       weights,
		"tokenizer.json":          []byte(`{"version": "1.0"}`),
		"tokenizer_config.json":   []byte(`{}`),
		"special_tokens_map.json": []byte(`{}`),
		"README.md":               []byte("# not fetched by the loader\n"),
		"training_args.bin":       {0, 1, 2, 3},
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// loaderSubset copies the files the loader fetches, to hash what validators will hash.
func loaderSubset(t *testing.T, src string, names ...string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// requestLog records the requests a hub receives.
type requestLog struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Clone(r.Context()))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *requestLog) count(pred func(*http.Request) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if pred(r) {
			n++
		}
	}
	return n
}

func weights(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	var log requestLog
	ts, _ := hubtest.Start(t, log.wrap, nil)
	writer, err := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeModel(t, src, weights(300_000))
	commit, err := writer.Upload(t.Context(), src, "miner/tiny", hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.ValidateCommit(commit); err != nil {
		t.Fatal(err)
	}

	// Private: an anonymous reader cannot see it; after publishing it can.
	reader, _ := hub.New(hub.Config{Endpoint: ts.URL})
	if _, err := reader.ModelInfo(t.Context(), "miner/tiny", commit); !errors.Is(err, hub.ErrRepoNotFound) {
		t.Fatalf("anonymous ModelInfo of a private repo: %v, want ErrRepoNotFound", err)
	}
	if err := writer.SetVisibility(t.Context(), "miner/tiny", false); err != nil {
		t.Fatal(err)
	}
	info, err := reader.ModelInfo(t.Context(), "miner/tiny", commit)
	if err != nil {
		t.Fatal(err)
	}
	if info.SHA != commit || info.Private {
		t.Errorf("ModelInfo = sha %s private %v, want %s public", info.SHA, info.Private, commit)
	}
	st := info.File("model.safetensors")
	if st == nil || st.LFS == nil || st.Size != 300_000 {
		t.Fatalf("model.safetensors in info = %+v, want an LFS file of 300000 bytes", st)
	}

	store, err := modelstore.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := modelstore.Ref{Namespace: "miner", Name: "tiny", Commit: commit}
	dir, got, err := store.Fetch(t.Context(), reader, "5Hotkey", ref, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want, err := modelstore.HashDir(loaderSubset(t, src, "config.json", "generation_config.json",
		"model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("hash of downloaded snapshot = %s, want %s (source loader files)", got, want)
	}
	for _, absent := range []string{"README.md", "training_args.bin", ".gitattributes"} {
		if _, err := os.Stat(filepath.Join(dir, absent)); err == nil {
			t.Errorf("%s was downloaded; the loader does not fetch it", absent)
		}
	}
	if _, err := os.Stat(dir + hub.PartialSuffix); err == nil {
		t.Error("staging directory left behind")
	}
	// Fetching again uses the store, not the hub.
	before := log.count(func(r *http.Request) bool { return true })
	if _, h2, err := store.Fetch(t.Context(), reader, "5Hotkey", ref, 1<<20); err != nil || h2 != got {
		t.Errorf("second Fetch = %s, %v", h2, err)
	}
	if after := log.count(func(r *http.Request) bool { return true }); after != before {
		t.Errorf("second Fetch made %d requests, want 0", after-before)
	}
	// The secure hash is the reference's get_hash_of_two_strings(hash, hotkey).
	if sh := modelstore.SecureHash(got, "5Hotkey"); sh != modelstore.HashTwoStrings(want, "5Hotkey") {
		t.Errorf("secure hash %s", sh)
	}
}

// BenchmarkDownload measures a 32 MiB LFS download from the local hub over loopback,
// including sha256 verification and the atomic rename.
func BenchmarkDownload(b *testing.B) {
	ts, _ := hubtest.Start(b, nil, nil)
	c, _ := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	src := b.TempDir()
	w := weights(32 << 20)
	for name, data := range map[string][]byte{"config.json": []byte("{}"), "model.safetensors": w} {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	commit, err := c.Upload(b.Context(), src, "miner/bench", hub.UploadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(w)))
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if err := c.Download(b.Context(), "miner/bench", commit, filepath.Join(dir, strconv.Itoa(i)), 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestShardedDownload: without model.safetensors the loader fetches the index and exactly the
// shards its weight_map names (not other .safetensors files in the repo), and the GPT-2
// tokenizer's files (not a stray tokenizer.model).
func TestShardedDownload(t *testing.T) {
	ts, _ := hubtest.Start(t, nil, nil)
	c, _ := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	src := t.TempDir()
	files := map[string]string{
		"config.json":                      `{"model_type": "gpt2"}`,
		"model.safetensors.index.json":     `{"metadata": {"total_size": 8}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "sub dir/model 2+2%.safetensors", "c": "model-00001-of-00002.safetensors"}}`,
		"model-00001-of-00002.safetensors": "shard1",
		"sub dir/model 2+2%.safetensors":   "shard2",
		"stale-shard.safetensors":          "not in the index",
		"merges.txt":                       "#version: 0.2\n",
		"vocab.json":                       "{}",
		"tokenizer.model":                  "not fetched for GPT-2",
	}
	for name, body := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755)
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	commit, err := c.Upload(t.Context(), src, "miner/sharded", hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "snap")
	if err := c.Download(t.Context(), "miner/sharded", commit, dest, 0); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{"config.json", "merges.txt", "model-00001-of-00002.safetensors", "model.safetensors.index.json", "sub dir", "vocab.json"}
	if !slices.Equal(got, want) {
		t.Errorf("downloaded %q, want %q", got, want)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "sub dir", "model 2+2%.safetensors")); err != nil || string(b) != "shard2" {
		t.Errorf("nested shard with escaped characters: %q, %v", b, err)
	}
}
