package hub_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
)

type seenRequest struct {
	method, path, query string
	header              http.Header
	body                []byte
}

// TestRequestsFollowHubAPI records every request of an upload, publish and download and
// checks each against the public Hub API as huggingface_hub uses it (hf_api.py create_repo,
// update_repo_settings, model_info; _commit_api.py preupload and NDJSON commit; lfs.py batch,
// upload and verify; file_download.py resolve URLs).
func TestRequestsFollowHubAPI(t *testing.T) {
	var mu sync.Mutex
	var seen []seenRequest
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			seen = append(seen, seenRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
			mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
	ts, _ := hubtest.Start(t, wrap, nil)
	c, _ := hub.New(hub.Config{Endpoint: ts.URL, Token: hubtest.Token})
	src := t.TempDir()
	writeModel(t, src, weights(1000))
	commit, err := c.Upload(t.Context(), src, "miner/tiny", hub.UploadOptions{Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetVisibility(t.Context(), "miner/tiny", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(t.Context(), "miner/tiny", commit, t.TempDir()+"/s", 0); err != nil {
		t.Fatal(err)
	}

	const bearer = "Bearer " + hubtest.Token
	oid := `[0-9a-f]{64}`
	put := `PUT /lfs-upload/miner/tiny/` + oid + `\?exp=\d+&sig=[0-9a-f]+&size=\d+`
	verify := `POST /miner/tiny\.git/info/lfs/objects/verify`
	// The request shapes in order; the two LFS objects' PUT and verify may come in either
	// order, so positions 3 to 6 accept either.
	shapes := [][]string{
		{`POST /api/repos/create`},
		{`POST /api/models/miner/tiny/preupload/main`},
		{`POST /miner/tiny\.git/info/lfs/objects/batch`},
		{put, verify}, {put, verify}, {put, verify}, {put, verify},
		{`POST /api/models/miner/tiny/commit/main`},
		{`PUT /api/models/miner/tiny/settings`},
		{`GET /api/models/miner/tiny/revision/` + commit + `\?blobs=true`},
	}
	var got []string
	for _, s := range seen {
		line := s.method + " " + s.path
		if s.query != "" {
			line += "?" + s.query
		}
		got = append(got, line)
	}
	if len(got) < len(shapes) {
		t.Fatalf("requests = %q", got)
	}
	counts := map[string]int{}
	for i, pats := range shapes {
		ok := false
		for _, pat := range pats {
			if regexp.MustCompile(`^` + pat + `$`).MatchString(got[i]) {
				ok = true
				counts[pat]++
			}
		}
		if !ok {
			t.Errorf("request %d = %q, want %q", i, got[i], pats)
		}
	}
	if counts[put] != 2 || counts[verify] != 2 {
		t.Errorf("%d LFS PUTs and %d verifies, want 2 and 2", counts[put], counts[verify])
	}
	resolve := regexp.MustCompile(`^GET /miner/tiny/resolve/` + commit + `/(config\.json|generation_config\.json|model\.safetensors|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json)$`)
	lfs := regexp.MustCompile(`^GET /lfs/` + oid + `\?exp=\d+&sig=[0-9a-f]+$`)
	files := 0
	for _, line := range got[len(shapes):] {
		switch {
		case resolve.MatchString(line):
			files++
		case lfs.MatchString(line):
		default:
			t.Errorf("unexpected download request %q", line)
		}
	}
	if files != 6 {
		t.Errorf("%d files resolved, want the 6 loader files", files)
	}

	for _, s := range seen {
		auth := s.header.Get("Authorization")
		switch {
		case strings.HasPrefix(s.path, "/lfs-upload/"):
			if auth != "" {
				t.Errorf("%s %s carried the token; LFS upload URLs are pre-signed", s.method, s.path)
			}
		case auth != bearer:
			t.Errorf("%s %s: Authorization %q, want the bearer token", s.method, s.path, auth)
		}
		switch {
		case strings.HasSuffix(s.path, "/objects/batch"):
			wantHeaders(t, s, map[string]string{"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"})
			var b struct {
				Operation string
				Transfers []string
				HashAlgo  string `json:"hash_algo"`
				Ref       struct{ Name string }
				Objects   []struct {
					OID  string
					Size int64
				}
			}
			if err := json.Unmarshal(s.body, &b); err != nil || b.Operation != "upload" || b.HashAlgo != "sha256" || b.Ref.Name != "main" || len(b.Objects) != 2 {
				t.Errorf("batch body %s", s.body)
			}
		case strings.HasSuffix(s.path, "/objects/verify"):
			var b struct {
				OID  string
				Size int64
			}
			if err := json.Unmarshal(s.body, &b); err != nil || len(b.OID) != 64 || b.Size <= 0 {
				t.Errorf("verify body %s", s.body)
			}
		case strings.HasSuffix(s.path, "/commit/main"):
			wantHeaders(t, s, map[string]string{"Content-Type": "application/x-ndjson"})
			checkNDJSON(t, s.body)
		case s.path == "/api/repos/create":
			wantHeaders(t, s, map[string]string{"Content-Type": "application/json"})
			var b map[string]any
			if json.Unmarshal(s.body, &b) != nil || b["name"] != "tiny" || b["organization"] != "miner" || b["private"] != true {
				t.Errorf("create body %s", s.body)
			}
		case strings.HasSuffix(s.path, "/settings"):
			if string(bytes.TrimSpace(s.body)) != `{"private":false}` {
				t.Errorf("settings body %s", s.body)
			}
		case strings.Contains(s.path, "/resolve/"):
			wantHeaders(t, s, map[string]string{"Accept-Encoding": "identity"})
		}
	}
}

func wantHeaders(t *testing.T, s seenRequest, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := s.header.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", s.method, s.path, k, got, v)
		}
	}
}

// checkNDJSON checks the commit body: a header line, then one file or lfsFile line per file.
func checkNDJSON(t *testing.T, body []byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	keys := map[string]int{}
	for i, l := range lines {
		var v struct {
			Key   string
			Value map[string]any
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("commit line %d %q: %v", i, l, err)
		}
		if (i == 0) != (v.Key == "header") {
			t.Errorf("commit line %d has key %q", i, v.Key)
		}
		keys[v.Key]++
		switch v.Key {
		case "header":
			if v.Value["summary"] != "m" {
				t.Errorf("header %v", v.Value)
			}
		case "file":
			if v.Value["encoding"] != "base64" || v.Value["content"] == nil || v.Value["path"] == nil {
				t.Errorf("file line %v", v.Value)
			}
		case "lfsFile":
			if v.Value["algo"] != "sha256" || len(v.Value["oid"].(string)) != 64 || v.Value["size"] == nil {
				t.Errorf("lfsFile line %v", v.Value)
			}
		}
	}
	// model.safetensors and training_args.bin go to LFS; the 6 text files are inline.
	if keys["header"] != 1 || keys["lfsFile"] != 2 || keys["file"] != 6 {
		t.Errorf("commit keys %v, want 1 header, 2 lfsFile, 6 file", keys)
	}
}
