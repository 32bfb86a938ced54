package hubserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	tokMiner = "hf_miner_token_1"
	tokOther = "hf_other_token_1"
)

func newServer(t *testing.T, dir string) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(Config{Dir: dir, Tokens: map[string]string{tokMiner: "miner", tokOther: "other"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func call(t *testing.T, method, u, token, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func fileLine(path, content string) string {
	return fmt.Sprintf(`{"key":"file","value":{"path":%q,"encoding":"base64","content":%q}}`, path, base64.StdEncoding.EncodeToString([]byte(content)))
}

const header = `{"key":"header","value":{"summary":"s","description":""}}`

func TestAccessAndErrors(t *testing.T) {
	_, ts := newServer(t, t.TempDir())
	u := ts.URL
	mustStatus := func(name string, resp *http.Response, body string, status int, code string) {
		t.Helper()
		if resp.StatusCode != status || resp.Header.Get("X-Error-Code") != code {
			t.Errorf("%s: %d %q (%s), want %d %q", name, resp.StatusCode, resp.Header.Get("X-Error-Code"), body, status, code)
		}
	}
	r, b := call(t, "POST", u+"/api/repos/create", "", "application/json", `{"name":"m","organization":"miner"}`)
	mustStatus("create anonymously", r, b, 401, "")
	r, b = call(t, "POST", u+"/api/repos/create", tokOther, "application/json", `{"name":"m","organization":"miner"}`)
	mustStatus("create in another namespace", r, b, 403, "")
	r, b = call(t, "POST", u+"/api/repos/create", tokMiner, "application/json", `{"name":"../x","organization":"miner"}`)
	mustStatus("create with a bad name", r, b, 400, "")
	r, b = call(t, "POST", u+"/api/repos/create", tokMiner, "application/json", `{"name":"m","organization":"miner","private":true}`)
	mustStatus("create", r, b, 200, "")
	r, b = call(t, "POST", u+"/api/repos/create", tokMiner, "application/json", `{"name":"m","organization":"miner"}`)
	mustStatus("create twice", r, b, 409, "")

	r, b = call(t, "GET", u+"/api/models/miner/m", "", "", "")
	mustStatus("private info anonymously", r, b, 401, "RepoNotFound")
	r, b = call(t, "GET", u+"/api/models/miner/m", tokOther, "", "")
	mustStatus("private info with another token", r, b, 404, "RepoNotFound")
	r, b = call(t, "GET", u+"/api/models/miner/m", "hf_not_a_token", "", "")
	mustStatus("bad token", r, b, 401, "")
	r, b = call(t, "GET", u+"/api/models/miner/m", tokMiner, "", "")
	mustStatus("private info with the owner's token", r, b, 200, "")
	r, b = call(t, "GET", u+"/api/models/miner/m/revision/"+strings.Repeat("0", 40), tokMiner, "", "")
	mustStatus("unknown revision", r, b, 404, "RevisionNotFound")
	r, b = call(t, "GET", u+"/miner/m/resolve/main/nope.json", tokMiner, "", "")
	mustStatus("unknown file", r, b, 404, "EntryNotFound")
	r, b = call(t, "POST", u+"/api/models/miner/m/commit/main", tokOther, "application/x-ndjson", ndjson(header))
	mustStatus("commit to another namespace", r, b, 404, "RepoNotFound")

	commit := func(name string, status int, lines ...string) {
		t.Helper()
		r, b := call(t, "POST", u+"/api/models/miner/m/commit/main", tokMiner, "application/x-ndjson", ndjson(lines...))
		mustStatus(name, r, b, status, "")
	}
	commit("traversal path", 400, header, fileLine("../x", "x"))
	commit("absolute path", 400, header, fileLine("/x", "x"))
	commit("no header", 400, fileLine("a", "x"))
	commit("missing lfs object", 400, header, `{"key":"lfsFile","value":{"path":"w.safetensors","algo":"sha256","oid":"`+strings.Repeat("a", 64)+`"}}`)
	commit("bad oid", 400, header, `{"key":"lfsFile","value":{"path":"w.safetensors","algo":"sha256","oid":"../../etc/passwd"}}`)
	commit("file and dir at once", 400, header, fileLine("a", "x"), fileLine("a/b", "y"))
	commit("unknown key", 400, header, `{"key":"symlink","value":{"path":"a"}}`)
	commit("not json", 400, header, `{`)
	commit("ok", 200, header, fileLine("config.json", "{}"))
	r, b = call(t, "GET", u+"/miner/m/resolve/main/config.json", tokMiner, "", "")
	if r.StatusCode != 200 || b != "{}" || len(r.Header.Get("X-Repo-Commit")) != 40 {
		t.Errorf("resolve config.json = %d %q commit %q", r.StatusCode, b, r.Header.Get("X-Repo-Commit"))
	}
}

// TestLFSUploadURLs: the pre-signed upload URL accepts exactly the announced object and
// nothing else.
func TestLFSUploadURLs(t *testing.T) {
	s, ts := newServer(t, t.TempDir())
	call(t, "POST", ts.URL+"/api/repos/create", tokMiner, "application/json", `{"name":"m","organization":"miner"}`)
	content := "weights"
	sum := sha256.Sum256([]byte(content))
	oid := hex.EncodeToString(sum[:])
	r, b := call(t, "POST", ts.URL+"/miner/m.git/info/lfs/objects/batch", tokMiner, "application/vnd.git-lfs+json",
		fmt.Sprintf(`{"operation":"upload","objects":[{"oid":%q,"size":%d}]}`, oid, len(content)))
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/vnd.git-lfs+json" {
		t.Fatalf("batch = %d %s", r.StatusCode, b)
	}
	i := strings.Index(b, ts.URL+"/lfs-upload/")
	href := b[i : i+strings.IndexByte(b[i:], '"')]
	href = strings.ReplaceAll(href, `\u0026`, "&")
	tests := []struct {
		name, url, body string
		status          int
	}{
		{"wrong content", href, "weightz", 400},
		{"too long", href, content + "x", 400},
		{"too short", href, content[:3], 400},
		{"bad signature", strings.Replace(href, "sig=", "sig=0", 1), content, 403},
		{"other size", strings.Replace(href, "size=7", "size=8", 1), content, 403},
		{"ok", href, content, 200},
	}
	for _, tt := range tests {
		if r, b := call(t, "PUT", tt.url, "", "", tt.body); r.StatusCode != tt.status {
			t.Errorf("%s: PUT = %d %s, want %d", tt.name, r.StatusCode, b, tt.status)
		}
	}
	s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if r, _ := call(t, "PUT", href, "", "", content); r.StatusCode != 403 {
		t.Errorf("expired URL: PUT = %d, want 403", r.StatusCode)
	}
	s.now = time.Now
	// Now stored: the batch answers without actions, and verify succeeds.
	_, b = call(t, "POST", ts.URL+"/miner/m.git/info/lfs/objects/batch", tokMiner, "application/vnd.git-lfs+json",
		fmt.Sprintf(`{"operation":"upload","objects":[{"oid":%q,"size":%d}]}`, oid, len(content)))
	if strings.Contains(b, "actions") {
		t.Errorf("batch for a stored object = %s, want no actions", b)
	}
	if r, _ := call(t, "POST", ts.URL+"/miner/m.git/info/lfs/objects/verify", tokMiner, "application/vnd.git-lfs+json",
		fmt.Sprintf(`{"oid":%q,"size":%d}`, oid, len(content))); r.StatusCode != 200 {
		t.Errorf("verify = %d", r.StatusCode)
	}
	// Commit it and download through the redirect.
	r, b = call(t, "POST", ts.URL+"/api/models/miner/m/commit/main", tokMiner, "application/x-ndjson",
		ndjson(header, fmt.Sprintf(`{"key":"lfsFile","value":{"path":"model.safetensors","algo":"sha256","oid":%q,"size":7}}`, oid)))
	if r.StatusCode != 200 {
		t.Fatalf("commit = %d %s", r.StatusCode, b)
	}
	r, _ = call(t, "GET", ts.URL+"/miner/m/resolve/main/model.safetensors", "", "", "")
	if r.StatusCode != 302 || r.Header.Get("X-Linked-Etag") != `"`+oid+`"` || r.Header.Get("X-Linked-Size") != "7" {
		t.Fatalf("resolve LFS = %d %v", r.StatusCode, r.Header)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	if r, b := call(t, "GET", loc.String(), "", "", ""); r.StatusCode != 200 || b != content {
		t.Errorf("CDN GET = %d %q", r.StatusCode, b)
	}
	q := loc.Query()
	q.Set("sig", strings.Repeat("0", 64))
	loc.RawQuery = q.Encode()
	if r, _ := call(t, "GET", loc.String(), "", "", ""); r.StatusCode != 403 {
		t.Errorf("forged CDN URL = %d, want 403", r.StatusCode)
	}
}

// TestPersistence: a new server on the same directory serves what the old one stored.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	_, ts := newServer(t, dir)
	call(t, "POST", ts.URL+"/api/repos/create", tokMiner, "application/json", `{"name":"m","organization":"miner"}`)
	r, _ := call(t, "POST", ts.URL+"/api/models/miner/m/commit/main", tokMiner, "application/x-ndjson", ndjson(header, fileLine("a.txt", "hello")))
	if r.StatusCode != 200 {
		t.Fatal(r.StatusCode)
	}
	ts.Close()
	_, ts2 := newServer(t, dir)
	if r, b := call(t, "GET", ts2.URL+"/miner/m/resolve/main/a.txt", "", "", ""); r.StatusCode != 200 || b != "hello" {
		t.Errorf("after restart: %d %q", r.StatusCode, b)
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	got, err := LoadTokens(write("ok.json", `{"miner": "hf_token_miner_1", "other": "hf_token_other"}`, 0o600))
	if err != nil || got["hf_token_miner_1"] != "miner" || got["hf_token_other"] != "other" || len(got) != 2 {
		t.Errorf("LoadTokens = %v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		body string
		mode os.FileMode
		want string
	}{
		"world readable": {`{}`, 0o644, "readable by others"},
		"not json":       {`{`, 0o600, "unexpected end"},
		"shared token":   {`{"a": "hf_same_token", "b": "hf_same_token"}`, 0o600, "shared"},
	} {
		if _, err := LoadTokens(write(name, tc.body, tc.mode)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadTokens = %v, want %q", name, err, tc.want)
		}
	}
}

// TestRun serves on a loopback port until the context ends, then shuts down cleanly.
func TestRun(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc
	if r, _ := call(t, "GET", "http://"+addr.String()+"/api/models/a/b", "", "", ""); r.Header.Get("X-Error-Code") != "RepoNotFound" {
		t.Errorf("GET unknown repo: %d %q", r.StatusCode, r.Header.Get("X-Error-Code"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}
