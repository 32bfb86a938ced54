package hubserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/hub"
)

// jsClientDir is where the official JS client is installed (.ci/run runs npm ci there).
const jsClientDir = "testdata/jsclient"

// runJSClient runs testdata/jsclient/jsclient.mjs with args and decodes what it prints.
func runJSClient(t *testing.T, args, out any) {
	t.Helper()
	b, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "jsclient.mjs", string(b))
	cmd.Dir = jsClientDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("jsclient.mjs %s: %v\n%s", b, err, stderr.Bytes())
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("jsclient.mjs %s printed %q: %v", b, stdout, err)
	}
}

// requireJSClient skips the test where node or the pinned client is not installed.
func requireJSClient(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the official JS client test needs node >= 18 and `npm ci` in hub/hubserver/testdata/jsclient")
	}
	if _, err := os.Stat(filepath.Join(jsClientDir, "node_modules/@huggingface/hub/package.json")); err != nil {
		t.Skip("@huggingface/hub is not installed: run `npm ci` in hub/hubserver/testdata/jsclient (.ci/run does)")
	}
}

// serveLoopback runs s as `pretrain hubserver` does (Server.Run on a loopback port) until the
// test ends, and returns its base URL.
func serveLoopback(t *testing.T, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan net.Addr, 1), make(chan error, 1)
	go func() { done <- s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run: %v", err)
		return ""
	}
}

// writeModelDir writes a small model directory with LFS files (by extension and by size),
// regular files and a nested folder, and returns its files by path.
func writeModelDir(t *testing.T, dir string, lfsThreshold int) map[string][]byte {
	t.Helper()
	weights := make([]byte, 300_000)
	rand.Read(weights)
	files := map[string][]byte{
		"config.json":            []byte(`{"model_type": "gpt2", "n_layer": 2}`),
		"model.safetensors":      weights,
		"tokenizer.json":         []byte(`{"model": {"vocab": {"` + strings.Repeat("a", lfsThreshold) + `": 0}}}`),
		"README.md":              []byte("# tiny\n"),
		"docs/notes/a b+c.txt":   []byte("a path that needs quoting\n"),
		"docs/notes/second.json": []byte("{}"),
	}
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

type jsDownload struct {
	Infos map[string]struct {
		ID, Name, SHA, Author string
		Private               bool
	} `json:"infos"`
	Files   []treeEntry     `json:"files"`
	Commits []string        `json:"commits"`
	Exists  map[string]bool `json:"exists"`
}

// TestOfficialJSClient drives @huggingface/hub 2.17.5 against the hub: create a repo, upload a
// model directory (LFS and regular files), model info at HEAD, main and the commit id, list
// files, list commits, file exists, download each file; and checks the bytes against the originals. Our own
// client then downloads what the JS client uploaded, and the JS client what ours uploaded.
func TestOfficialJSClient(t *testing.T) {
	requireJSClient(t)
	const lfsThreshold = 4096
	s, err := New(Config{Dir: t.TempDir(), Tokens: map[string]string{tokMiner: "miner"}, LFSThreshold: lfsThreshold})
	if err != nil {
		t.Fatal(err)
	}
	s.treePage = 4 // listFiles follows the Link header through several pages
	base := serveLoopback(t, s)

	src := t.TempDir()
	files := writeModelDir(t, src, lfsThreshold)
	var up struct{ Commit string }
	runJSClient(t, map[string]any{"mode": "upload", "hubUrl": base, "token": tokMiner, "repo": "miner/js", "dir": src}, &up)
	if hub.ValidateCommit(up.Commit) != nil {
		t.Fatalf("uploadFiles returned commit %q", up.Commit)
	}
	checkJSDownload(t, base, "miner/js", up.Commit, files)

	// Our client downloads the repo the JS client uploaded: the loader's files, byte-identical.
	c, err := hub.New(hub.Config{Endpoint: base, Token: tokMiner})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "ours")
	if err := c.Download(t.Context(), "miner/js", up.Commit, dest, 0); err != nil {
		t.Fatalf("our client downloading the JS upload: %v", err)
	}
	for _, p := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		if got, err := os.ReadFile(filepath.Join(dest, p)); err != nil || !bytes.Equal(got, files[p]) {
			t.Errorf("our client's %s of the JS upload differs (%v)", p, err)
		}
	}

	// And the reverse: the JS client downloads what our client uploaded.
	src2 := t.TempDir()
	files2 := writeModelDir(t, src2, lfsThreshold)
	commit2, err := c.Upload(t.Context(), src2, "miner/go", hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkJSDownload(t, base, "miner/go", commit2, files2)
}

// checkJSDownload has the JS client read repo at HEAD, main and commit and download every
// file, and compares all it reports with files, the repo's content besides .gitattributes.
func checkJSDownload(t *testing.T, base, repo, commit string, files map[string][]byte) {
	t.Helper()
	out := t.TempDir()
	var got jsDownload
	runJSClient(t, map[string]any{"mode": "download", "hubUrl": base, "token": tokMiner, "repo": repo,
		"revisions": []string{"HEAD", "main", commit}, "missing": "missing.json", "out": out}, &got)
	for _, rev := range []string{"HEAD", "main", commit} {
		info := got.Infos[rev]
		if info.SHA != commit || info.Name != repo || info.Author != "miner" || !info.Private || len(info.ID) != 24 {
			t.Errorf("%s: modelInfo at %s = %+v, want sha %s, private, author miner", repo, rev, info, commit)
		}
	}
	// The upload's commit on top of the repo's initial one, a page each (batchSize 1).
	if len(got.Commits) != 2 || got.Commits[0] != commit {
		t.Errorf("%s: listCommits = %v, want %s and the initial commit", repo, got.Commits, commit)
	}
	var listed []string
	for _, f := range got.Files {
		listed = append(listed, f.Type+" "+f.Path)
		if f.Type != "file" || f.Path == ".gitattributes" {
			continue
		}
		want := files[f.Path]
		if f.Size != int64(len(want)) {
			t.Errorf("%s: listFiles %s size %d, want %d", repo, f.Path, f.Size, len(want))
		}
		sum := sha256.Sum256(want)
		isLFS := strings.HasSuffix(f.Path, ".safetensors") || len(want) >= 4096
		if isLFS != (f.LFS != nil) || (f.LFS != nil && f.LFS.OID != hex.EncodeToString(sum[:])) {
			t.Errorf("%s: listFiles %s lfs = %+v, want LFS %v with sha256 %x", repo, f.Path, f.LFS, isLFS, sum)
		}
		if b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Path))); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: downloadFile %s differs from the upload (%v)", repo, f.Path, err)
		}
	}
	wantListed := []string{"directory docs", "directory docs/notes", "file .gitattributes"}
	for p := range files {
		wantListed = append(wantListed, "file "+p)
	}
	slices.Sort(listed)
	slices.Sort(wantListed)
	if !slices.Equal(listed, wantListed) {
		t.Errorf("%s: listFiles = %q, want %q", repo, listed, wantListed)
	}
	for p := range files {
		if !got.Exists[p] {
			t.Errorf("%s: fileExists(%q) = false for a file of the repo", repo, p)
		}
	}
	if exists, ok := got.Exists["missing.json"]; !ok || exists {
		t.Errorf("%s: fileExists(missing.json) = %v (reported %v), want false", repo, exists, ok)
	}
}
