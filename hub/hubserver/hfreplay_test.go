package hubserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/hub"
)

// The request sequence of huggingface_hub 1.29.0.dev0 (huggingface/huggingface_hub at
// ee0a4510f), read from its source:
//
// snapshot_download (_snapshot_download.py): repo_info at the revision (GET
// /api/models/{repo}/revision/{quote(rev, safe="")}), its "sha" is the commit; list_repo_tree
// (GET /api/models/{repo}/tree/{commit}?recursive=true&expand=false, following the Link
// header's rel="next"); then hf_hub_download(revision=commit) of every file.
//
// hf_hub_download (file_download.py): get_hf_file_metadata sends HEAD {endpoint}/{repo}/
// resolve/{rev}/{quote(filename)} with Accept-Encoding: identity, following only relative
// redirects, and reads X-Repo-Commit (required), X-Linked-Etag or else ETag (required,
// normalized: W/ and quotes stripped), Location (the URL to download, else the request URL),
// X-Linked-Size or else, when not a redirect, Content-Length (required). A 404 with
// X-Error-Code EntryNotFound caches the file's absence under its X-Repo-Commit. http_get then
// GETs the location (keeping the token when the host is the same), with Range: bytes=N- to
// resume, restarting if the answer is a 200, and fails unless the size is the expected one.
// hf_raise_for_status reads X-Error-Code and X-Error-Message.

// hfClient is httpx as huggingface_hub configures it for these calls: no redirects followed.
var hfClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func hfRequest(t *testing.T, method, u, token string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("user-agent", "unknown/None; hf_hub/1.29.0.dev0; python/3.12")
	if token != "" {
		req.Header.Set("authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := hfClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// pyQuote is Python's urllib.parse.quote with its default safe="/" (quote(s, safe="") when
// slash is false).
func pyQuote(s string, slash bool) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~", c) >= 0 || c == '/' && slash {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func normalizeETag(s string) string { return strings.Trim(strings.TrimPrefix(s, "W/"), `"`) }

// wantETag is the ETag huggingface_hub keys its cache by: the sha256 of an LFS file, the git
// blob id of a regular one (from `git hash-object` where git is installed).
func wantETag(t *testing.T, dir, path string, content []byte, lfs bool) string {
	t.Helper()
	if lfs {
		sum := sha256.Sum256(content)
		return hex.EncodeToString(sum[:])
	}
	if _, err := exec.LookPath("git"); err == nil {
		out, err := exec.Command("git", "hash-object", "--no-filters", filepath.Join(dir, filepath.FromSlash(path))).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	return gitBlobIDOf(content)
}

// TestHuggingFaceHubDownloadSequence replays snapshot_download and hf_hub_download against a
// private repo and checks every header they read.
func TestHuggingFaceHubDownloadSequence(t *testing.T) {
	const lfsThreshold = 4096
	s, err := New(Config{Dir: t.TempDir(), Tokens: map[string]string{tokMiner: "miner"}, LFSThreshold: lfsThreshold})
	if err != nil {
		t.Fatal(err)
	}
	s.treePage = 3 // several pages
	base := serveLoopback(t, s)
	src := t.TempDir()
	files := writeModelDir(t, src, lfsThreshold)
	c, err := hub.New(hub.Config{Endpoint: base, Token: tokMiner})
	if err != nil {
		t.Fatal(err)
	}
	commit, err := c.Upload(t.Context(), src, "miner/m", hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const repo = "miner/m"

	// snapshot_download: repo_info at the branch.
	resp, b := hfRequest(t, "GET", base+"/api/models/"+repo+"/revision/"+pyQuote("main", false), tokMiner, nil)
	var info struct {
		SHA      string `json:"sha"`
		ID       string `json:"id"`
		Private  bool   `json:"private"`
		Siblings []struct {
			RFilename string `json:"rfilename"`
		} `json:"siblings"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &info) != nil || info.SHA != commit || info.ID != repo || !info.Private {
		t.Fatalf("repo_info = %d %s, want sha %s", resp.StatusCode, b, commit)
	}
	if len(info.Siblings) != len(files)+1 {
		t.Errorf("repo_info lists %d siblings, want %d", len(info.Siblings), len(files)+1)
	}

	// list_repo_tree(recursive=True, revision=commit), page after page.
	tree := map[string]treeEntry{}
	next, pages := base+"/api/models/"+repo+"/tree/"+pyQuote(commit, false)+"?recursive=true&expand=false", 0
	linkNext := regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)
	for next != "" {
		resp, b := hfRequest(t, "GET", next, tokMiner, nil)
		var entries []treeEntry
		if resp.StatusCode != 200 || json.Unmarshal(b, &entries) != nil {
			t.Fatalf("tree page %s = %d %s", next, resp.StatusCode, b)
		}
		if len(entries) > s.treePage {
			t.Errorf("tree page of %d entries, want at most %d", len(entries), s.treePage)
		}
		for _, e := range entries {
			if _, dup := tree[e.Path]; dup {
				t.Errorf("tree lists %s twice", e.Path)
			}
			tree[e.Path] = e
		}
		next = ""
		if m := linkNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = m[1]
		}
		pages++
	}
	if pages < 3 {
		t.Errorf("tree came in %d pages, want several with a page size of %d", pages, s.treePage)
	}
	files[".gitattributes"] = []byte(defaultGitattributes)
	for path, content := range files {
		e, ok := tree[path]
		if !ok || e.Type != "file" || e.Size != int64(len(content)) {
			t.Errorf("tree entry %s = %+v, want a file of %d bytes", path, e, len(content))
			continue
		}
		lfs := e.LFS != nil
		etag := gitBlobIDOf(content) // .gitattributes, which the server wrote
		if path != ".gitattributes" {
			etag = wantETag(t, src, path, content, lfs)
		}
		if lfs && (e.LFS.OID != etag || e.LFS.Size != e.Size) || !lfs && e.OID != etag {
			t.Errorf("tree entry %s = %+v, want etag %s", path, e, etag)
		}
		t.Run(path, func(t *testing.T) { replayHFHubDownload(t, base, repo, commit, path, content, lfs, etag) })
	}
	for _, dir := range []string{"docs", "docs/notes"} {
		if e := tree[dir]; e.Type != "directory" || len(e.OID) != 40 {
			t.Errorf("tree entry %s = %+v, want a directory with a tree id", dir, e)
		}
	}

	// hf_hub_download at the branch: X-Repo-Commit says which commit the branch is at.
	resp, _ = hfRequest(t, "HEAD", base+"/"+repo+"/resolve/main/config.json", tokMiner, map[string]string{"Accept-Encoding": "identity"})
	if resp.StatusCode != 200 || resp.Header.Get("X-Repo-Commit") != commit {
		t.Errorf("HEAD at main = %d, X-Repo-Commit %q, want 200 and %s", resp.StatusCode, resp.Header.Get("X-Repo-Commit"), commit)
	}
	// The errors hf_raise_for_status turns into exceptions, and the .no_exist cache entry.
	for _, tc := range []struct {
		name, url, token string
		status           int
		code, commit     string
	}{
		{"missing file", base + "/" + repo + "/resolve/" + commit + "/missing.json", tokMiner, 404, "EntryNotFound", commit},
		{"missing revision", base + "/" + repo + "/resolve/" + strings.Repeat("0", 40) + "/config.json", tokMiner, 404, "RevisionNotFound", ""},
		{"private repo without a token", base + "/" + repo + "/resolve/main/config.json", "", 401, "RepoNotFound", ""},
	} {
		resp, _ := hfRequest(t, "HEAD", tc.url, tc.token, map[string]string{"Accept-Encoding": "identity"})
		if resp.StatusCode != tc.status || resp.Header.Get("X-Error-Code") != tc.code ||
			resp.Header.Get("X-Error-Message") == "" || resp.Header.Get("X-Repo-Commit") != tc.commit {
			t.Errorf("%s: HEAD = %d, X-Error-Code %q, X-Repo-Commit %q, want %d %q %q", tc.name, resp.StatusCode,
				resp.Header.Get("X-Error-Code"), resp.Header.Get("X-Repo-Commit"), tc.status, tc.code, tc.commit)
		}
	}
}

// replayHFHubDownload is hf_hub_download(repo, path, revision=commit): the HEAD, its checks,
// the GET of the location, and a resumed GET.
func replayHFHubDownload(t *testing.T, base, repo, commit, path string, content []byte, lfs bool, etag string) {
	u := base + "/" + repo + "/resolve/" + pyQuote(commit, false) + "/" + pyQuote(path, true)
	head, body := hfRequest(t, "HEAD", u, tokMiner, map[string]string{"Accept-Encoding": "identity"})
	h := head.Header
	if len(body) != 0 {
		t.Errorf("HEAD has a body of %d bytes", len(body))
	}
	redirect := head.StatusCode >= 300 && head.StatusCode <= 399
	if lfs != redirect || !redirect && head.StatusCode != 200 {
		t.Fatalf("HEAD = %d, want a redirect for LFS files only (LFS: %v)", head.StatusCode, lfs)
	}
	if got := h.Get("X-Repo-Commit"); got != commit {
		t.Errorf("X-Repo-Commit = %q, want %s", got, commit)
	}
	if got := normalizeETag(cmpOr(h.Get("X-Linked-Etag"), h.Get("ETag"))); got != etag {
		t.Errorf("etag (X-Linked-Etag %q, ETag %q) = %s, want %s", h.Get("X-Linked-Etag"), h.Get("ETag"), got, etag)
	}
	sizeHeader := h.Get("X-Linked-Size")
	if sizeHeader == "" && !redirect {
		sizeHeader = h.Get("Content-Length")
	}
	if size, err := strconv.Atoi(sizeHeader); err != nil || size != len(content) {
		t.Errorf("size (X-Linked-Size %q, Content-Length %q) = %q, want %d", h.Get("X-Linked-Size"), h.Get("Content-Length"), sizeHeader, len(content))
	}
	location := cmpOr(h.Get("Location"), u)
	if redirect {
		loc, err := url.Parse(location)
		if err != nil || !loc.IsAbs() {
			t.Fatalf("Location = %q, want an absolute URL (huggingface_hub follows only relative ones on HEAD)", location)
		}
	}
	// http_get: the same host, so the token is kept.
	resp, got := hfRequest(t, "GET", location, tokMiner, nil)
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("GET %s = %d, %d bytes, want 200 and the %d bytes uploaded", location, resp.StatusCode, len(got), len(content))
	}
	// Resume after the first third.
	n := len(content) / 3
	resp, got = hfRequest(t, "GET", location, tokMiner, map[string]string{"Range": fmt.Sprintf("bytes=%d-", n)})
	wantRange := fmt.Sprintf("bytes %d-%d/%d", n, len(content)-1, len(content))
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != wantRange || !bytes.Equal(got, content[n:]) {
		t.Errorf("resumed GET = %d %q, %d bytes, want 206 %q and the rest", resp.StatusCode, resp.Header.Get("Content-Range"), len(got), wantRange)
	}
}

// TestHuggingFaceHubHistory replays list_repo_refs (GET …/refs) and list_repo_commits (GET
// …/commits/{rev}, paginated) and reads the fields they read.
func TestHuggingFaceHubHistory(t *testing.T) {
	s, ts := newServer(t, t.TempDir())
	s.treePage = 2
	call(t, "POST", ts.URL+"/api/repos/create", tokMiner, "application/json", `{"name":"m","organization":"miner","private":true}`)
	var want []string // commit ids, newest first
	for i := range 3 {
		h := fmt.Sprintf(`{"key":"header","value":{"summary":"commit %d","description":"about %d"}}`, i, i)
		code, b := commitTo(t, ts.URL, tokMiner, "miner/m", h, fileLine("f.txt", fmt.Sprint(i)))
		var c struct{ CommitOid string }
		if code != 200 || json.Unmarshal([]byte(b), &c) != nil {
			t.Fatalf("commit %d = %d %s", i, code, b)
		}
		want = append([]string{c.CommitOid}, want...)
	}

	resp, b := hfRequest(t, "GET", ts.URL+"/api/models/miner/m/refs", tokMiner, nil)
	var refs struct {
		Branches []struct{ Name, Ref, TargetCommit string }
		Converts []any
		Tags     []any
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &refs) != nil || len(refs.Branches) != 1 || refs.Converts == nil || refs.Tags == nil ||
		refs.Branches[0] != (struct{ Name, Ref, TargetCommit string }{"main", "refs/heads/main", want[0]}) {
		t.Errorf("refs = %d %s, want main at %s", resp.StatusCode, b, want[0])
	}

	var got []string
	next := ts.URL + "/api/models/miner/m/commits/main"
	for next != "" {
		resp, b := hfRequest(t, "GET", next, tokMiner, nil)
		var page []struct {
			ID, Title, Message, Date string
			Authors                  []struct{ User string }
		}
		if resp.StatusCode != 200 || json.Unmarshal(b, &page) != nil {
			t.Fatalf("commits page %s = %d %s", next, resp.StatusCode, b)
		}
		for _, c := range page {
			got = append(got, c.ID)
			if _, err := time.Parse("2006-01-02T15:04:05.000Z", c.Date); err != nil || len(c.Authors) != 1 || c.Authors[0].User != "miner" {
				t.Errorf("commit %+v: date or authors not as list_repo_commits reads them", c)
			}
			if i := len(got) - 1; i < 3 && (c.Title != fmt.Sprintf("commit %d", 2-i) || c.Message != fmt.Sprintf("about %d", 2-i)) {
				t.Errorf("commit %d: title %q message %q", i, c.Title, c.Message)
			}
		}
		next = ""
		if m := regexp.MustCompile(`<([^>]+)>;\s*rel="next"`).FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = m[1]
		}
	}
	// Three commits and the initial one, newest first.
	if len(got) != 4 || !slices.Equal(got[:3], want) {
		t.Errorf("commits = %v, want %v and the initial commit", got, want)
	}
	if resp, _ := hfRequest(t, "GET", ts.URL+"/api/models/miner/m/commits/main", "", nil); resp.StatusCode != 401 {
		t.Errorf("commits of a private repo anonymously = %d, want 401", resp.StatusCode)
	}
}
