package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/internal/progress"
)

// maxInlineBytes bounds a file sent inside the commit body (base64). The Hub sends anything
// sizable to LFS; this only guards against a preupload answer that says otherwise.
const maxInlineBytes = 16 << 20

// UploadOptions configures [Client.Upload].
type UploadOptions struct {
	// Message is the commit summary. Default "Upload model".
	Message string
}

// localFile is a file of the directory being uploaded.
type localFile struct {
	path   string // in the repo, '/'-separated
	local  string
	size   int64
	sha256 string
	sample []byte // the first 512 bytes, for the preupload check
	mode   string // "regular" or "lfs", from preupload
}

// Upload commits every regular file under dir to repo's main branch as one commit and returns
// the commit id. It creates the repo as private if it does not exist (the reference uploads
// private, commits the metadata on chain, then publishes: see [Client.SetVisibility]). The
// steps are huggingface_hub's create_commit: preupload (which files go to LFS), the Git LFS
// batch API and a PUT per new LFS object, then the NDJSON commit. A token is required.
func (c *Client) Upload(ctx context.Context, dir, repo string, opts UploadOptions) (string, error) {
	if err := ValidateRepoID(repo); err != nil {
		return "", fmt.Errorf("upload: %w", err)
	}
	fail := func(err error) (string, error) { return "", fmt.Errorf("upload %s to %s: %w", dir, repo, err) }
	if c.token == "" {
		return fail(fmt.Errorf("a token is required (HF_ACCESS_TOKEN or HF_TOKEN): %w", ErrUnauthorized))
	}
	files, err := scanDir(dir)
	if err != nil {
		return fail(err)
	}
	if err := c.CreateRepo(ctx, repo, true); err != nil {
		return fail(err)
	}
	if err := c.preupload(ctx, repo, files); err != nil {
		return fail(err)
	}
	prog := newProgress(c.progress, "upload "+repo)
	if err := c.uploadLFS(ctx, repo, files, prog); err != nil {
		return fail(err)
	}
	prog.Finish()
	commit, err := c.commit(ctx, repo, files, cmpOr(opts.Message, "Upload model"))
	if err != nil {
		return fail(err)
	}
	c.log.Debug("uploaded", "repo", repo, "revision", commit, "files", len(files))
	return commit, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// scanDir lists the regular files under dir with their sizes, sha256 and samples. Symlinks and
// other non-regular files are refused: what is uploaded must be what is hashed.
func scanDir(dir string) ([]*localFile, error) {
	var files []*localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && p != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if err := ValidatePath(rel); err != nil {
			return err
		}
		f := &localFile{path: rel, local: p}
		in, err := bounded.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		h := sha256.New()
		var head bytes.Buffer
		n, err := io.Copy(io.MultiWriter(h, &limitedBuffer{&head, 512}), in)
		if err != nil {
			return err
		}
		f.size, f.sha256, f.sample = n, hex.EncodeToString(h.Sum(nil)), head.Bytes()
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no files to upload")
	}
	if len(files) > maxFiles {
		return nil, fmt.Errorf("%d files, over %d", len(files), maxFiles)
	}
	return files, nil
}

// limitedBuffer keeps the first n bytes written to it.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// postJSON sends a JSON (or other) body to an API path on the endpoint and decodes a bounded
// JSON answer into out (if not nil).
func (c *Client) postJSON(ctx context.Context, op, repo, method, u, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	if strings.HasPrefix(contentType, "application/vnd.git-lfs") {
		req.Header.Set("Accept", contentType)
	}
	_, resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return httpError(op, repo, resp)
	}
	if out == nil {
		return nil
	}
	b, err := bounded.ReadAll(resp.Body, maxInfoBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// CreateRepo creates a model repo: POST /api/repos/create {"name", "organization",
// "private"} (hf_api.py create_repo). An existing repo (409) is not an error, as exist_ok=True
// in transformers' push_to_hub.
func (c *Client) CreateRepo(ctx context.Context, repo string, private bool) error {
	if err := ValidateRepoID(repo); err != nil {
		return fmt.Errorf("create repo: %w", err)
	}
	ns, name, _ := strings.Cut(repo, "/")
	body, _ := json.Marshal(map[string]any{"name": name, "organization": ns, "private": private})
	err := c.postJSON(ctx, "create repo", repo, http.MethodPost, c.url("/api/repos/create", nil), "application/json", body, nil)
	var he *Error
	if errors.As(err, &he) && he.Status == http.StatusConflict {
		return nil
	}
	return err
}

// SetVisibility makes a repo private or public: PUT /api/models/{repo}/settings {"private"}
// (hf_api.py update_repo_settings / update_repo_visibility).
func (c *Client) SetVisibility(ctx context.Context, repo string, private bool) error {
	if err := ValidateRepoID(repo); err != nil {
		return fmt.Errorf("set visibility: %w", err)
	}
	body, _ := json.Marshal(map[string]bool{"private": private})
	return c.postJSON(ctx, "set visibility", repo, http.MethodPut, c.url("/api/models/"+repo+"/settings", nil), "application/json", body, nil)
}

// preupload asks which files go to LFS: POST /api/models/{repo}/preupload/main with
// {"files": [{"path", "sample" (base64 of the first 512 bytes), "size"}]} (_commit_api.py
// _fetch_upload_modes; chunks of 256 files there, one request here as our repos are small).
func (c *Client) preupload(ctx context.Context, repo string, files []*localFile) error {
	type pf struct {
		Path   string `json:"path"`
		Sample string `json:"sample"`
		Size   int64  `json:"size"`
	}
	var req struct {
		Files []pf `json:"files"`
	}
	for _, f := range files {
		req.Files = append(req.Files, pf{f.path, base64.StdEncoding.EncodeToString(f.sample), f.size})
	}
	body, _ := json.Marshal(req)
	var resp struct {
		Files []struct {
			Path         string `json:"path"`
			UploadMode   string `json:"uploadMode"`
			ShouldIgnore bool   `json:"shouldIgnore"`
		} `json:"files"`
	}
	if err := c.postJSON(ctx, "preupload", repo, http.MethodPost, c.url("/api/models/"+repo+"/preupload/main", nil), "application/json", body, &resp); err != nil {
		return err
	}
	modes := map[string]string{}
	for _, f := range resp.Files {
		if f.UploadMode != "lfs" && f.UploadMode != "regular" {
			return fmt.Errorf("preupload: file %q: upload mode %q", f.Path, f.UploadMode)
		}
		if f.ShouldIgnore {
			// The hash covers every file; a file the Hub would drop must not be silently lost.
			return fmt.Errorf("preupload: the hub would ignore %q", f.Path)
		}
		modes[f.Path] = f.UploadMode
	}
	for _, f := range files {
		if f.mode = modes[f.path]; f.mode == "" {
			return fmt.Errorf("preupload: no upload mode for %q", f.path)
		}
		if f.mode == "regular" && f.size > maxInlineBytes {
			return fmt.Errorf("preupload: %q (%d bytes) sent inline, over %d", f.path, f.size, maxInlineBytes)
		}
	}
	return nil
}

// lfsAction is an action of the Git LFS batch API
// (https://github.com/git-lfs/git-lfs/blob/main/docs/api/batch.md).
type lfsAction struct {
	Href   string            `json:"href"`
	Header map[string]string `json:"header"`
}

// uploadLFS uploads the LFS files the hub lacks: POST {endpoint}/{repo}.git/info/lfs/objects/batch
// with Accept and Content-Type application/vnd.git-lfs+json and {"operation": "upload",
// "transfers": ["basic"], "objects": [{oid, size}], "hash_algo": "sha256", "ref": {"name":
// "main"}} (lfs.py post_lfs_batch_info). An object without actions is already stored. The
// upload is a PUT of the bytes to the pre-signed href, without the token (lfs.py
// _upload_single_part); the verify action gets {"oid", "size"} (with the token only on the
// endpoint's origin). Multipart uploads (a chunk_size header) are not supported.
func (c *Client) uploadLFS(ctx context.Context, repo string, files []*localFile, prog *progress.Bar) error {
	type obj struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	byOID := map[string]*localFile{}
	var objs []obj
	for _, f := range files {
		if f.mode != "lfs" {
			continue
		}
		prog.AddTotal(f.size)
		if byOID[f.sha256] == nil {
			objs = append(objs, obj{f.sha256, f.size})
		}
		byOID[f.sha256] = f
	}
	if len(objs) == 0 {
		return nil
	}
	body, _ := json.Marshal(map[string]any{
		"operation": "upload", "transfers": []string{"basic"}, "objects": objs,
		"hash_algo": "sha256", "ref": map[string]string{"name": "main"},
	})
	var resp struct {
		Objects []struct {
			OID     string `json:"oid"`
			Size    int64  `json:"size"`
			Actions *struct {
				Upload *lfsAction `json:"upload"`
				Verify *lfsAction `json:"verify"`
			} `json:"actions"`
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"objects"`
	}
	const lfsType = "application/vnd.git-lfs+json"
	if err := c.postJSON(ctx, "lfs batch", repo, http.MethodPost, c.url("/"+repo+".git/info/lfs/objects/batch", nil), lfsType, body, &resp); err != nil {
		return err
	}
	done := map[string]bool{}
	for _, o := range resp.Objects {
		f := byOID[o.OID]
		if f == nil || done[o.OID] {
			return fmt.Errorf("lfs batch: unexpected object %q", o.OID)
		}
		done[o.OID] = true
		if o.Error != nil {
			return fmt.Errorf("lfs batch: object %s (%s): %d %s", o.OID, f.path, o.Error.Code, o.Error.Message)
		}
		if o.Actions == nil || o.Actions.Upload == nil {
			prog.Add(f.size) // already stored
			continue
		}
		if err := c.putLFS(ctx, f, o.Actions.Upload, prog); err != nil {
			return fmt.Errorf("lfs upload %s: %w", f.path, err)
		}
		if v := o.Actions.Verify; v != nil {
			vb, _ := json.Marshal(obj{f.sha256, f.size})
			u, err := url.Parse(v.Href)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				return fmt.Errorf("lfs verify %s: bad href", f.path)
			}
			if err := c.postJSON(ctx, "lfs verify", repo, http.MethodPost, u.String(), lfsType, vb, nil); err != nil {
				return err
			}
		}
	}
	if len(done) != len(objs) {
		return fmt.Errorf("lfs batch: answered %d of %d objects", len(done), len(objs))
	}
	return nil
}

// putLFS uploads one object to a pre-signed URL. No token goes with it.
func (c *Client) putLFS(ctx context.Context, f *localFile, a *lfsAction, prog *progress.Bar) error {
	if _, ok := a.Header["chunk_size"]; ok {
		return errors.New("multipart LFS upload is not supported")
	}
	u, err := url.Parse(a.Href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("bad upload href")
	}
	in, err := os.Open(f.local)
	if err != nil {
		return err
	}
	defer in.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), &progressReader{in, prog})
	if err != nil {
		return err
	}
	req.ContentLength = f.size
	for k, v := range a.Header { // the server's own headers for its href (LFS batch spec)
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return httpError("lfs upload", f.path, resp)
	}
	return nil
}

// commit posts the NDJSON commit: POST /api/models/{repo}/commit/main, Content-Type
// application/x-ndjson, a {"key": "header", "value": {"summary", "description"}} line, then
// one "file" line (base64 content) or "lfsFile" line ({path, algo: sha256, oid, size}) per
// file (_commit_api.py _prepare_commit_payload). The answer's commitOid is the new commit.
func (c *Client) commit(ctx context.Context, repo string, files []*localFile, message string) (string, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	line := func(key string, value any) error { return enc.Encode(map[string]any{"key": key, "value": value}) }
	if err := line("header", map[string]string{"summary": message, "description": ""}); err != nil {
		return "", err
	}
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b *localFile) int { return strings.Compare(a.path, b.path) })
	for _, f := range sorted {
		var err error
		if f.mode == "lfs" {
			err = line("lfsFile", map[string]any{"path": f.path, "algo": "sha256", "oid": f.sha256, "size": f.size})
		} else {
			var content []byte
			if content, err = os.ReadFile(f.local); err == nil {
				if int64(len(content)) != f.size {
					return "", fmt.Errorf("%s changed during upload", f.local)
				}
				err = line("file", map[string]string{"path": f.path, "encoding": "base64", "content": base64.StdEncoding.EncodeToString(content)})
			}
		}
		if err != nil {
			return "", err
		}
	}
	var resp struct {
		CommitURL string `json:"commitUrl"`
		CommitOID string `json:"commitOid"`
	}
	if err := c.postJSON(ctx, "commit", repo, http.MethodPost, c.url("/api/models/"+repo+"/commit/main", nil), "application/x-ndjson", body.Bytes(), &resp); err != nil {
		return "", err
	}
	if err := ValidateCommit(resp.CommitOID); err != nil {
		return "", fmt.Errorf("commit: answer: %w", err)
	}
	return resp.CommitOID, nil
}
