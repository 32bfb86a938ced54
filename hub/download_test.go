package hub_test

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
)

// published uploads a model to a fresh hub (behind wrap), makes it public and returns the
// hub's URL and the commit.
func published(t *testing.T, wrap func(http.Handler) http.Handler, private bool) (string, string, int64) {
	t.Helper()
	ts, _ := hubtest.Start(t, wrap, map[string]string{"hf_other_namespace_token": "other"})
	c, err := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	writeModel(t, src, weights(200_000))
	commit, err := c.Upload(t.Context(), src, "miner/tiny", hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !private {
		if err := c.SetVisibility(t.Context(), "miner/tiny", false); err != nil {
			t.Fatal(err)
		}
	}
	info, err := c.ModelInfo(t.Context(), "miner/tiny", commit)
	if err != nil {
		t.Fatal(err)
	}
	return ts.URL, commit, info.TotalSize()
}

// tamper wraps a hub, changing the responses for which pred is true with edit (status and
// body; headers are kept but Content-Length is dropped), while on is set.
func tamper(on *atomic.Bool, pred func(*http.Request) bool, edit func([]byte) []byte) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !on.Load() || !pred(r) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(edit(rec.Body.Bytes()))
		})
	}
}

func isLFSGet(r *http.Request) bool    { return strings.HasPrefix(r.URL.Path, "/lfs/") }
func isConfigGet(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/config.json") }
func isResolve(r *http.Request) bool   { return strings.Contains(r.URL.Path, "/resolve/") }
func flipFirst(b []byte) []byte        { b = bytes.Clone(b); b[0] ^= 1; return b }
func half(b []byte) []byte             { return b[:len(b)/2] }
func extra(b []byte) []byte            { return append(bytes.Clone(b), 'x') }
func client(t *testing.T, endpoint, token string) *hub.Client {
	c, err := hub.New(hub.Config{Endpoint: endpoint, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDownloadRejections(t *testing.T) {
	randomCommit := strings.Repeat("ab", 20)
	tests := []struct {
		name    string
		private bool
		token   string
		repo    string
		commit  string // "" = the uploaded commit
		slack   int64  // maxBytes = total + slack
		pred    func(*http.Request) bool
		edit    func([]byte) []byte
		wantErr error
		wantMsg string
	}{
		{name: "over max bytes", slack: -1, wantErr: hub.ErrTooLarge, wantMsg: "over the limit"},
		{name: "unknown repo", repo: "miner/nope", wantErr: hub.ErrRepoNotFound},
		{name: "unknown commit", commit: randomCommit, wantErr: hub.ErrRevisionNotFound},
		{name: "private without token", private: true, wantErr: hub.ErrRepoNotFound},
		{name: "private with another namespace's token", private: true, token: "hf_other_namespace_token", wantErr: hub.ErrRepoNotFound},
		{name: "bad token", token: "hf_wrong_token_123", wantErr: hub.ErrUnauthorized},
		{name: "truncated lfs file", pred: isLFSGet, edit: half, wantErr: io.ErrUnexpectedEOF, wantMsg: "truncated"},
		{name: "longer lfs file", pred: isLFSGet, edit: extra, wantErr: hub.ErrIntegrity, wantMsg: "more than"},
		{name: "sha256 mismatch", pred: isLFSGet, edit: flipFirst, wantErr: hub.ErrIntegrity, wantMsg: "hash"},
		{name: "blob id mismatch", pred: isConfigGet, edit: flipFirst, wantErr: hub.ErrIntegrity, wantMsg: "hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var on atomic.Bool
			var resolves atomic.Int64
			pred := tt.pred
			if pred == nil {
				pred = func(*http.Request) bool { return false }
			}
			wrap := func(h http.Handler) http.Handler {
				inner := tamper(&on, pred, tt.edit)(h)
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if on.Load() && (isResolve(r) || isLFSGet(r)) {
						resolves.Add(1)
					}
					inner.ServeHTTP(w, r)
				})
			}
			endpoint, commit, total := published(t, wrap, tt.private)
			on.Store(true)
			repo := cmpOr(tt.repo, "miner/tiny")
			commit = cmpOr(tt.commit, commit)
			dest := filepath.Join(t.TempDir(), "snap")
			err := client(t, endpoint, tt.token).Download(t.Context(), repo, commit, dest, total+tt.slack)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), repo) {
				t.Fatalf("Download = %v, want %v containing %q and the repo", err, tt.wantErr, tt.wantMsg)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Error("destination exists after a failed download")
			}
			if tt.wantErr == hub.ErrTooLarge && resolves.Load() != 0 {
				t.Errorf("%d file requests before rejecting an oversized repo, want 0", resolves.Load())
			}
			// A tampered file must not survive as a completed file in the staging directory.
			if tt.wantErr == hub.ErrIntegrity {
				filepath.WalkDir(dest+hub.PartialSuffix, func(p string, d os.DirEntry, err error) error {
					if err == nil && d.Name() == "model.safetensors" && tt.pred(&http.Request{URL: &url.URL{Path: "/lfs/"}}) {
						t.Errorf("tampered %s kept", p)
					}
					return nil
				})
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestResume interrupts a download with a truncated LFS body, then downloads again: the second
// attempt asks only for the missing bytes (Range) and the result verifies.
func TestResume(t *testing.T) {
	var on atomic.Bool
	var ranges []string
	wrap := func(h http.Handler) http.Handler {
		inner := tamper(&on, isLFSGet, half)(h)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isLFSGet(r) {
				ranges = append(ranges, r.Header.Get("Range"))
			}
			inner.ServeHTTP(w, r)
		})
	}
	endpoint, commit, _ := published(t, wrap, false)
	dest := filepath.Join(t.TempDir(), "snap")
	c := client(t, endpoint, "")
	on.Store(true)
	if err := c.Download(t.Context(), "miner/tiny", commit, dest, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("first Download = %v, want truncated", err)
	}
	on.Store(false)
	if err := c.Download(t.Context(), "miner/tiny", commit, dest, 0); err != nil {
		t.Fatalf("resumed Download = %v", err)
	}
	if len(ranges) != 2 || ranges[0] != "" || ranges[1] != "bytes=100000-" {
		t.Errorf("Range headers = %q, want [\"\" \"bytes=100000-\"]", ranges)
	}
	got, err := os.ReadFile(filepath.Join(dest, "model.safetensors"))
	if err != nil || !bytes.Equal(got, weights(200_000)) {
		t.Errorf("resumed weights differ (err %v)", err)
	}
}

// TestTokenStaysOnEndpoint: the LFS redirect goes to another host (a CDN); the token goes to
// the hub's API and resolve requests but not to the CDN, as huggingface_hub drops the
// authorization header when the download location's host differs.
func TestTokenStaysOnEndpoint(t *testing.T) {
	var cdnAuth, hubAuth []string
	var hubHandler http.Handler
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization"))
		hubHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(cdn.Close)
	wrap := func(h http.Handler) http.Handler {
		hubHandler = h
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isResolve(r) {
				hubAuth = append(hubAuth, r.Header.Get("Authorization"))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				if loc := rec.Header().Get("Location"); loc != "" {
					u, _ := url.Parse(loc)
					w.Header().Set("Location", cdn.URL+u.RequestURI())
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	endpoint, commit, _ := published(t, wrap, true) // private: the token is needed
	if err := client(t, endpoint, hubtest.Token).Download(t.Context(), "miner/tiny", commit, filepath.Join(t.TempDir(), "s"), 0); err != nil {
		t.Fatal(err)
	}
	if len(cdnAuth) != 1 || cdnAuth[0] != "" {
		t.Errorf("CDN saw Authorization %q, want one request without it", cdnAuth)
	}
	for _, a := range hubAuth {
		if a != "Bearer "+hubtest.Token {
			t.Errorf("hub resolve saw Authorization %q, want the token", a)
		}
	}
}

// fakeHub serves a fixed model info and files, for responses the real hub server never sends.
func fakeHub(t *testing.T, info string, files map[string]string) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/{ns}/{name}/revision/{rev}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, info)
	})
	mux.HandleFunc("GET /m/x/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.PathValue("path")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, b)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL
}

func gitBlob(s string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(s), s)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// TestDownloadUntrustedNames: the names and metadata of the files to be downloaded (from the
// model info, the safetensors index and tokenizer_config.json) are validated before any path
// is built; nothing is written outside the destination. Odd files that are not downloaded do
// not matter (TestOddSiblings).
func TestDownloadUntrustedNames(t *testing.T) {
	commit := strings.Repeat("c", 40)
	cfg := `{"model_type": "gpt2"}`
	sib := func(name, content string) string {
		return fmt.Sprintf(`{"rfilename": %q, "size": %d, "blobId": %q}`, name, len(content), gitBlob(content))
	}
	info := func(sibs ...string) string {
		return fmt.Sprintf(`{"id": "m/x", "sha": %q, "siblings": [%s]}`, commit, strings.Join(sibs, ","))
	}
	index := func(shard string) string { return fmt.Sprintf(`{"weight_map": {"w": %q}}`, shard) }
	// tokenizer_config.json selecting a versioned tokenizer file named name.
	tokCfg := func(name string) string {
		return fmt.Sprintf(`{"tokenizer_class": "PreTrainedTokenizerFast", "fast_tokenizer_files": [%q]}`, name)
	}
	withTok := func(name string) (string, map[string]string) {
		return info(sib("config.json", cfg), sib("model.safetensors", "w"), sib("tokenizer_config.json", tokCfg(name)), sib(name, "{}")),
			map[string]string{"config.json": cfg, "model.safetensors": "w", "tokenizer_config.json": tokCfg(name)}
	}
	type row struct {
		name    string
		info    string
		files   map[string]string
		wantMsg string
	}
	tests := []row{
		{"duplicate", info(sib("config.json", cfg), sib("config.json", cfg), sib("model.safetensors", "w")),
			map[string]string{"config.json": cfg, "model.safetensors": "w"}, `twice`},
		{"bad blob id", info(`{"rfilename": "config.json", "size": 2, "blobId": "main"}`, sib("model.safetensors", "w")), nil, `blob id`},
		{"bad lfs sha256", info(sib("config.json", cfg), `{"rfilename": "model.safetensors", "size": 1, "lfs": {"sha256": "x", "size": 1}}`),
			map[string]string{"config.json": cfg}, `lfs sha256`},
		{"index traversal", info(sib("config.json", cfg), sib("model.safetensors.index.json", index("../shard"))),
			map[string]string{"config.json": cfg, "model.safetensors.index.json": index("../shard")}, `"../shard"`},
		{"index names a missing shard", info(sib("config.json", cfg), sib("model.safetensors.index.json", index("s.safetensors"))),
			map[string]string{"config.json": cfg, "model.safetensors.index.json": index("s.safetensors")}, `not found`},
		{"no config", info(sib("model.safetensors", "w")), nil, `config.json`},
		{"no weights", info(sib("config.json", cfg)), nil, `no model.safetensors`},
		{"bad sha", `{"sha": "main", "siblings": []}`, nil, `sha`},
		{"negative size", fmt.Sprintf(`{"sha": %q, "siblings": [{"rfilename": "config.json", "size": -1}]}`, commit), nil, `size`},
	}
	for _, tc := range []struct{ name, file, msg string }{
		{"tokenizer file dotdot", "../tokenizer.4.0.0.json", `"../tokenizer.4.0.0.json"`},
		{"tokenizer file absolute", "/etc/tokenizer.4.0.0.json", `"/etc/tokenizer.4.0.0.json"`},
		{"tokenizer file backslash", `..\tokenizer.4.0.0.json`, `not allowed`},
		{"tokenizer file in .git", ".git/tokenizer.4.0.0.json", `reserved`},
		{"tokenizer file .incomplete", "tokenizer.4.0.0.json.incomplete", `reserved`},
	} {
		i, f := withTok(tc.file)
		tests = append(tests, row{tc.name, i, f, tc.msg})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := fakeHub(t, tt.info, tt.files)
			root := t.TempDir()
			dest := filepath.Join(root, "a", "snap")
			err := client(t, endpoint, "").Download(t.Context(), "m/x", commit, dest, 0)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "m/x") {
				t.Fatalf("Download = %v, want an error naming the repo and containing %q", err, tt.wantMsg)
			}
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && !strings.HasPrefix(p, dest+hub.PartialSuffix+string(filepath.Separator)) {
					t.Errorf("file written outside the staging dir: %s", p)
				}
				return nil
			})
		})
	}
}
