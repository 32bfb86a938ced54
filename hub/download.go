package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/internal/stall"
)

// Names of the files transformers 4.44 (the version the reference pins) fetches for
// AutoModelForCausalLM.from_pretrained(use_safetensors=True) and AutoTokenizer.from_pretrained.
const (
	configFile       = "config.json"                  // CONFIG_NAME: required
	generationFile   = "generation_config.json"       // GENERATION_CONFIG_NAME: optional
	weightsFile      = "model.safetensors"            // SAFE_WEIGHTS_NAME, tried first
	weightsIndexFile = "model.safetensors.index.json" // SAFE_WEIGHTS_INDEX_NAME, if no single file
)

// LoaderInputs holds the contents of the small files whose content decides which other files
// the loader fetches.
type LoaderInputs struct {
	// Config is config.json: its model_type, tokenizer_class and auto_map choose the
	// tokenizer class when tokenizer_config.json names none.
	Config []byte
	// Index is model.safetensors.index.json; needed only if [NeedsIndex].
	Index []byte
	// TokenizerConfig is tokenizer_config.json; nil if the repo has none.
	TokenizerConfig []byte
}

// LoaderFiles returns the files of info that the reference's loader downloads, and so the files the
// model hash covers (from_pretrained in taoverse's hugging_face_model_store.py), in the order it
// requests them: config.json, generation_config.json if present, model.safetensors or else
// model.safetensors.index.json and the shards its weight_map names, then the tokenizer files
// AutoTokenizer.from_pretrained of transformers 4.44.1 requests that the repo has (see tokenizer.go
// and hub/README.md). A file listed twice among them is an error; files not downloaded may have any
// name.
func LoaderFiles(info *ModelInfo, in LoaderInputs) ([]RepoFile, error) {
	byPath := make(map[string]int, len(info.Files))
	for i, f := range info.Files {
		if _, dup := byPath[f.Path]; dup {
			byPath[f.Path] = -1
		} else {
			byPath[f.Path] = i
		}
	}
	var out []RepoFile
	add := func(name string, required bool) error {
		i, ok := byPath[name]
		switch {
		case !ok && required:
			return fmt.Errorf("%s: %w", name, ErrEntryNotFound)
		case !ok:
			return nil
		case i < 0:
			return fmt.Errorf("file %q listed twice in the model info", name)
		}
		if !slices.ContainsFunc(out, func(g RepoFile) bool { return g.Path == name }) {
			out = append(out, info.Files[i])
		}
		return nil
	}
	if err := add(configFile, true); err != nil {
		return nil, err
	}
	if err := add(generationFile, false); err != nil {
		return nil, err
	}
	switch {
	case info.File(weightsFile) != nil:
		if err := add(weightsFile, true); err != nil {
			return nil, err
		}
	case info.File(weightsIndexFile) != nil:
		if err := add(weightsIndexFile, true); err != nil {
			return nil, err
		}
		shards, err := parseIndex(in.Index)
		if err != nil {
			return nil, err
		}
		for _, s := range shards {
			if err := add(s, true); err != nil {
				return nil, fmt.Errorf("shard named by %s: %w", weightsIndexFile, err)
			}
		}
	default:
		return nil, fmt.Errorf("no %s or %s: %w", weightsFile, weightsIndexFile, ErrEntryNotFound)
	}
	// get_tokenizer_config requests tokenizer_config.json first, then the class's files.
	tokenizerConfig := in.TokenizerConfig
	if info.File(tokenizerConfigFile) == nil {
		tokenizerConfig = nil
	} else if tokenizerConfig == nil {
		tokenizerConfig = []byte{} // present but not read: unparseable, as an empty file is
	}
	for _, name := range append([]string{tokenizerConfigFile}, tokenizerRequests(tokenizerConfig, in.Config)...) {
		if err := add(name, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NeedsIndex reports whether LoaderFiles needs the safetensors index's content.
func NeedsIndex(info *ModelInfo) bool {
	return info.File(weightsFile) == nil && info.File(weightsIndexFile) != nil
}

// parseIndex returns the distinct shard names of a safetensors index, sorted, as transformers'
// get_checkpoint_shard_files does (sorted(set(weight_map.values()))).
func parseIndex(b []byte) ([]string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("parse %s: %w", weightsIndexFile, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("parse %s: empty weight_map", weightsIndexFile)
	}
	set := map[string]bool{}
	for _, s := range idx.WeightMap {
		if err := ValidatePath(s); err != nil {
			return nil, fmt.Errorf("parse %s: %w", weightsIndexFile, err)
		}
		set[s] = true
	}
	if len(set) > maxSiblings { // each shard is a file of the listing
		return nil, fmt.Errorf("parse %s: %d shards, over %d", weightsIndexFile, len(set), maxSiblings)
	}
	shards := make([]string, 0, len(set))
	for s := range set {
		shards = append(shards, s)
	}
	slices.Sort(shards)
	return shards, nil
}

// PartialSuffix names the staging directory of a download in progress, beside its destination.
const PartialSuffix = ".partial"

// Download fetches the loader files of repo at commit (see [LoaderFiles]) into the directory
// dest, which must not exist. It first fetches the model info and refuses the repo, before any
// weight byte is fetched, if the sum of all its files' sizes exceeds maxBytes (when maxBytes >
// 0), as the reference does. Files are staged in dest+PartialSuffix, resumed from there after
// an interruption, checked against the announced size and hash (sha256 for LFS files, the git
// blob id for others), and the staging directory is renamed to dest only once every file
// passed: a partial download is never found at dest.
func (c *Client) Download(ctx context.Context, repo, commit, dest string, maxBytes int64) error {
	if err := ValidateRepoID(repo); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if err := ValidateCommit(commit); err != nil {
		return fmt.Errorf("download %s: %w", repo, err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("download %s: %s already exists", repo, dest)
	}
	info, err := c.ModelInfo(ctx, repo, commit)
	if err != nil {
		return fmt.Errorf("download %s@%s: %w", repo, commit, err)
	}
	if info.SHA != commit {
		return fmt.Errorf("download %s: revision %s resolved to %s: %w", repo, commit, info.SHA, ErrRevisionNotFound)
	}
	if total := info.TotalSize(); maxBytes > 0 && total > maxBytes {
		return fmt.Errorf("download %s@%s: size %d bytes over the limit of %d: %w", repo, commit, total, maxBytes, ErrTooLarge)
	}
	if info.File(configFile) == nil {
		return fmt.Errorf("download %s@%s: %s: %w", repo, commit, configFile, ErrEntryNotFound)
	}
	if info.File(weightsFile) == nil && info.File(weightsIndexFile) == nil {
		return fmt.Errorf("download %s@%s: no %s or %s: %w", repo, commit, weightsFile, weightsIndexFile, ErrEntryNotFound)
	}
	staging := dest + PartialSuffix
	if err := mkdirNoLink(staging); err != nil {
		return fmt.Errorf("download %s: %w", repo, err)
	}
	prog := newProgress(c.progress, "download "+repo)
	// The files whose content decides what else the loader fetches come first. They are not
	// counted in the bar: the loop below counts them when it finds them already there.
	var in LoaderInputs
	small := func(name string, limit int64) ([]byte, error) {
		f := info.File(name)
		if f == nil {
			return nil, nil
		}
		if f.Size > limit {
			return nil, fmt.Errorf("download %s: %s is %d bytes, over %d", repo, name, f.Size, limit)
		}
		if err := c.fetchFile(ctx, repo, commit, staging, *f, newProgress(nil, "")); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(staging, name))
		if err != nil {
			return nil, fmt.Errorf("download %s: %w", repo, err)
		}
		return b, nil
	}
	if in.Config, err = small(configFile, maxConfigBytes); err != nil {
		return err
	}
	if NeedsIndex(info) {
		if in.Index, err = small(weightsIndexFile, maxIndexBytes); err != nil {
			return err
		}
	}
	if in.TokenizerConfig, err = small(tokenizerConfigFile, maxTokenizerConfigBytes); err != nil {
		return err
	}
	files, err := LoaderFiles(info, in)
	if err != nil {
		return fmt.Errorf("download %s@%s: %w", repo, commit, err)
	}
	for _, f := range files {
		prog.AddTotal(f.Size)
	}
	for _, f := range files {
		if err := c.fetchFile(ctx, repo, commit, staging, f, prog); err != nil {
			return err
		}
	}
	prog.Finish()
	if err := pruneExcept(staging, files); err != nil {
		return fmt.Errorf("download %s: %w", repo, err)
	}
	if err := os.Rename(staging, dest); err != nil {
		return fmt.Errorf("download %s: %w", repo, err)
	}
	// The snapshot is complete at dest now; a failed directory sync only leaves the rename
	// less durable, so it is not reported as a failed download.
	_ = atomicfile.SyncDir(filepath.Dir(dest))
	c.log.Debug("downloaded", "repo", repo, "revision", commit, "files", len(files))
	return nil
}

// mkdirNoLink creates dir (and parents) and checks that dir is a real directory, not a symlink
// someone planted.
func mkdirNoLink(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	return nil
}

// fetchFile downloads one file into staging, resuming a previous partial file and verifying
// the result.
func (c *Client) fetchFile(ctx context.Context, repo, commit, staging string, f RepoFile, prog *progress.Bar) error {
	fail := func(err error) error { return fmt.Errorf("download %s@%s %s: %w", repo, commit, f.Path, err) }
	// The only place a listed path becomes a local one.
	if err := validateRepoFile(f); err != nil {
		return fmt.Errorf("download %s@%s: %w", repo, commit, err)
	}
	final := filepath.Join(staging, filepath.FromSlash(f.Path))
	if fi, err := os.Lstat(final); err == nil {
		if fi.Mode().IsRegular() && verifyFile(final, f) == nil {
			prog.Add(f.Size)
			return nil
		}
		if err := os.RemoveAll(final); err != nil {
			return fail(err)
		}
	}
	for dir := filepath.Dir(final); dir != staging; dir = filepath.Dir(dir) {
		if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
			return fail(fmt.Errorf("%s: not a directory", dir))
		}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fail(err)
	}
	part := final + incompleteSuffix
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fail(err)
	}
	defer out.Close()
	offset, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return fail(err)
	}
	if offset > f.Size {
		if err := truncate(out); err != nil {
			return fail(err)
		}
		offset = 0
	}
	if offset < f.Size {
		if err := c.getRetrying(ctx, repo, commit, f, out, offset, prog); err != nil {
			return fail(err)
		}
	} else {
		prog.Add(f.Size)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	if err := verifyFile(part, f); err != nil {
		os.Remove(part) // the bytes are wrong: a resume must start over
		return fail(err)
	}
	if err := os.Rename(part, final); err != nil {
		return fail(err)
	}
	return nil
}

func truncate(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// errBroken marks a transfer that broke (stalled, connection lost) after the request was
// sent: resuming it is safe, as a GET with Range changes nothing on the server.
var errBroken = errors.New("transfer broken")

// retryPause is the wait before resuming a broken transfer (huggingface_hub sleeps 1 s).
const retryPause = time.Second

// getRetrying is get, resumed from the bytes already in out up to c.retries times when the
// transfer breaks. HTTP errors, integrity errors and a body that ends early are not retried,
// as huggingface_hub retries only ConnectionError and ReadTimeout.
func (c *Client) getRetrying(ctx context.Context, repo, commit string, f RepoFile, out *os.File, offset int64, prog *progress.Bar) error {
	for attempt := 0; ; attempt++ {
		start := prog.Done()
		err := c.get(ctx, repo, commit, f, out, offset, prog)
		if err == nil || !errors.Is(err, errBroken) || ctx.Err() != nil || attempt >= c.retries {
			return err
		}
		c.log.Warn("download broke, resuming", "repo", repo, "file", f.Path, "attempt", attempt+1, "err", err)
		prog.Set(start) // get counts the resumed offset again
		if offset, err = out.Seek(0, io.SeekEnd); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryPause):
		}
	}
}

// get streams the file from offset into out. The URL and headers follow huggingface_hub's
// hf_hub_url ({endpoint}/{repo}/resolve/{revision}/{quoted filename}) and http_get (Range:
// bytes=N- to resume). The Hub's metadata headers (X-Repo-Commit, X-Linked-Etag,
// X-Linked-Size, ETag; read by get_hf_file_metadata) must agree with the model info.
func (c *Client) get(ctx context.Context, repo, commit string, f RepoFile, out *os.File, offset int64, prog *progress.Bar) error {
	segs := strings.Split(f.Path, "/")
	for i, s := range segs {
		segs[i] = urlPathEscape(s)
	}
	u := c.url("/"+repo+"/resolve/"+commit+"/"+strings.Join(segs, "/"), nil)
	rctx, watch, stop := stall.Watch(ctx, c.stallTO)
	defer stop()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	first, resp, err := c.do(req)
	if err != nil {
		if ue := (*url.Error)(nil); errors.As(err, &ue) { // the request failed, not a redirect rule
			err = fmt.Errorf("%w: %w", errBroken, watch.Err(rctx, err))
		}
		return err
	}
	defer resp.Body.Close()
	watch.Kick()
	if err := checkMetadata(first, commit, f); err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 { // the server ignored the range: start over
			if err := truncate(out); err != nil {
				return err
			}
			offset = 0
		}
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(offset, 10)+"-") {
			return fmt.Errorf("content-range %q does not start at %d", resp.Header.Get("Content-Range"), offset)
		}
	default:
		return httpError("download", repo, resp)
	}
	prog.Add(offset)
	want := f.Size - offset
	n, err := io.Copy(out, io.LimitReader(&progressReader{watch.Reader(resp.Body), prog}, want+1))
	if err != nil {
		return fmt.Errorf("%w after %d of %d bytes: %w", errBroken, offset+n, f.Size, watch.Err(rctx, err))
	}
	if n > want {
		os.Remove(out.Name())
		return fmt.Errorf("server sent more than the announced %d bytes: %w", f.Size, ErrIntegrity)
	}
	if n < want {
		return fmt.Errorf("truncated: got %d of %d bytes: %w", offset+n, f.Size, io.ErrUnexpectedEOF)
	}
	return nil
}

// checkMetadata compares the Hub's file headers with the model info.
func checkMetadata(h http.Header, commit string, f RepoFile) error {
	if rc := h.Get("X-Repo-Commit"); rc != "" && rc != commit {
		return fmt.Errorf("X-Repo-Commit %q, want %s: %w", rc, commit, ErrIntegrity)
	}
	if f.LFS != nil {
		if et := normalizeETag(h.Get("X-Linked-Etag")); et != "" && et != f.LFS.SHA256 {
			return fmt.Errorf("X-Linked-Etag %q, want %s: %w", et, f.LFS.SHA256, ErrIntegrity)
		}
		if ls := h.Get("X-Linked-Size"); ls != "" && ls != strconv.FormatInt(f.Size, 10) {
			return fmt.Errorf("X-Linked-Size %q, want %d: %w", ls, f.Size, ErrIntegrity)
		}
		return nil
	}
	if et := normalizeETag(h.Get("ETag")); et != "" && et != f.BlobID {
		return fmt.Errorf("ETag %q, want %s: %w", et, f.BlobID, ErrIntegrity)
	}
	return nil
}

// normalizeETag strips a weak prefix and quotes, as file_download.py _normalize_etag.
func normalizeETag(s string) string {
	return strings.Trim(strings.TrimPrefix(s, "W/"), `"`)
}

// verifyFile checks a downloaded file's size and hash against the model info.
func verifyFile(path string, f RepoFile) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	var h hash.Hash
	want := f.BlobID
	if f.LFS != nil {
		h, want = sha256.New(), f.LFS.SHA256
	} else {
		h = sha1.New()
		fmt.Fprintf(h, "blob %d\x00", f.Size) // git's blob id: sha1("blob <size>\0" + content)
	}
	n, err := io.Copy(h, in)
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("size %d, want %d: %w", n, f.Size, ErrIntegrity)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("hash %s, want %s: %w", got, want, ErrIntegrity)
	}
	return nil
}

// pruneExcept removes from staging everything but the given files and their parent dirs.
func pruneExcept(staging string, files []RepoFile) error {
	keep := map[string]bool{}
	for _, f := range files {
		for p := f.Path; p != "."; p = filepath.ToSlash(filepath.Dir(p)) {
			keep[p] = true
		}
	}
	var stray []string
	err := filepath.WalkDir(staging, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == staging {
			return err
		}
		rel, err := filepath.Rel(staging, path)
		if err != nil {
			return err
		}
		if !keep[filepath.ToSlash(rel)] {
			stray = append(stray, path)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range stray {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// urlPathEscape escapes one path segment like Python's urllib.parse.quote(safe="/") does for
// a segment: everything but ASCII letters, digits and "_.-~" is percent-encoded.
func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
