package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pretrain/pretrain/internal/bounded"
)

// DefaultEndpoint is the public Hugging Face Hub, as huggingface_hub's constants.ENDPOINT.
const DefaultEndpoint = "https://huggingface.co"

// Bounds on what a server may send. Model info of a real repo is a few KB; safetensors indexes
// of 14B models are about 30 KB.
const (
	maxInfoBytes  = 16 << 20
	maxIndexBytes = 32 << 20
	maxErrorBytes = 4 << 10
	maxFiles      = 10000 // files in one upload
	maxRedirects  = 5
)

// Bounds on a model info listing. The reference sums the sizes of every file of the revision
// and then downloads only what the loader needs, so a listing is refused only where holding it
// would exhaust memory: about 200 bytes a file, a million files (ten times the Hub's
// recommended maximum per repo) in at most 256 MiB.
const (
	maxModelInfoBytes = 256 << 20
	maxSiblings       = 1 << 20
)

// Sentinel errors a caller branches on; [Error] matches them with errors.Is.
var (
	ErrRepoNotFound     = errors.New("repository not found")
	ErrRevisionNotFound = errors.New("revision not found")
	ErrEntryNotFound    = errors.New("file not found")
	ErrUnauthorized     = errors.New("unauthorized")
	ErrTooLarge         = errors.New("repository over the size limit")
	ErrIntegrity        = errors.New("downloaded file does not match the model info")
)

// Error is an error answered by the hub: the operation, the repo, the HTTP status and the
// Hub's X-Error-Code / X-Error-Message headers (huggingface_hub utils/_http.py
// hf_raise_for_status reads the same two headers).
type Error struct {
	Op, Repo string
	Status   int
	Code     string // X-Error-Code, e.g. RepoNotFound
	Message  string // X-Error-Message or the start of the body
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: http %d", e.Op, e.Repo, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is maps the Hub's error codes to the sentinels, as hf_raise_for_status maps them to
// RepositoryNotFoundError, RevisionNotFoundError and EntryNotFoundError.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRepoNotFound:
		return e.Code == "RepoNotFound" || e.Code == "" && e.Status == http.StatusNotFound && e.Op == "model info"
	case ErrRevisionNotFound:
		return e.Code == "RevisionNotFound"
	case ErrEntryNotFound:
		return e.Code == "EntryNotFound"
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	}
	return false
}

// Config configures a [Client]. The zero value talks anonymously to [DefaultEndpoint].
type Config struct {
	// Endpoint is the hub's base URL (HF_ENDPOINT in huggingface_hub). Default DefaultEndpoint.
	Endpoint string
	// Token is a Hub access token. It is sent only to Endpoint's origin, never to the hosts
	// LFS downloads redirect to, nor to LFS upload URLs (which are pre-signed).
	Token string
	// HTTPClient makes the requests; its CheckRedirect is not used (redirects are followed
	// here). Default: no overall timeout (ctx bounds each call), 1 min to response headers.
	HTTPClient *http.Client
	// Logger receives debug events. Default: discard.
	Logger *slog.Logger
	// Progress, when set, shows downloads and uploads: a bar with rate and ETA if it is a
	// terminal, a plain line every few seconds otherwise.
	Progress io.Writer
	// InfoTimeout bounds a model info request (the reference passes timeout=10). Default 10 s.
	InfoTimeout time.Duration
	// StallTimeout bounds the time a download waits for response headers or for the next
	// bytes of a file (huggingface_hub's download timeout). Default 10 s.
	StallTimeout time.Duration
	// DownloadRetries is how many times a file whose transfer broke (stalled, connection
	// lost) is resumed from where it stopped, a second apart, as huggingface_hub's http_get
	// does. Default 5; negative: none.
	DownloadRetries int
}

// Client talks to one hub endpoint. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	token    string
	http     *http.Client
	log      *slog.Logger
	progress io.Writer
	infoTO   time.Duration
	stallTO  time.Duration
	retries  int
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cmp.Or(cfg.Endpoint, DefaultEndpoint), "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("hub endpoint %q: want an http(s) URL", cfg.Endpoint)
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return nil, errors.New("hub token: contains a line break")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// No overall timeout (a download may take hours; ctx cancels it), but a server that
		// accepts a request and never answers is cut off.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = time.Minute
		hc = &http.Client{Transport: t}
	}
	// A copy whose redirects are returned to us, so the token's destination is decided here.
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retries := cmp.Or(cfg.DownloadRetries, 5)
	if retries < 0 {
		retries = 0
	}
	return &Client{base: base, token: cfg.Token, http: &c, log: log.With("component", "hub"),
		progress: cfg.Progress, infoTO: cmp.Or(cfg.InfoTimeout, 10*time.Second),
		stallTO: cmp.Or(cfg.StallTimeout, 10*time.Second), retries: retries}, nil
}

// Endpoint returns the hub's base URL.
func (c *Client) Endpoint() string { return c.base.String() }

// url appends an already escaped path (and a query) to the endpoint.
func (c *Client) url(escapedPath string, query url.Values) string {
	u := c.base.String() + escapedPath
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// sameOrigin reports whether u is on the endpoint's scheme and host, the only place the token
// goes. huggingface_hub file_download.py drops the authorization header when the download
// location's netloc differs from the endpoint's.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.Scheme == c.base.Scheme && strings.EqualFold(u.Host, c.base.Host)
}

// do sends req, adding the token if req goes to the endpoint, and follows up to maxRedirects
// redirects itself (re-deciding the token at each hop). The first response's headers are
// returned too: the Hub puts X-Repo-Commit and X-Linked-* on the redirect, not on the CDN's
// answer.
func (c *Client) do(req *http.Request) (first http.Header, resp *http.Response, err error) {
	for hop := 0; ; hop++ {
		req.Header.Del("Authorization")
		if c.token != "" && c.sameOrigin(req.URL) {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		req.Header.Set("User-Agent", "pretrain (huggingface_hub compatible)")
		resp, err = c.http.Do(req)
		if err != nil {
			return nil, nil, err
		}
		if first == nil {
			first = resp.Header
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return first, resp, nil
		}
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		if hop >= maxRedirects {
			return nil, nil, errors.New("too many redirects")
		}
		next, err := req.URL.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
			return nil, nil, fmt.Errorf("redirect to %q: not an http(s) URL", loc)
		}
		// Only GET and HEAD are redirected (downloads); the Hub never redirects API writes.
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			return nil, nil, fmt.Errorf("%s redirected to %s", req.Method, next.Redacted())
		}
		nreq, err := http.NewRequestWithContext(req.Context(), req.Method, next.String(), nil)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range req.Header {
			nreq.Header[k] = v
		}
		req = nreq
	}
}

// httpError turns a non-2xx response into an *Error, reading a bounded part of the body.
func httpError(op, repo string, resp *http.Response) error {
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		msg = strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
		var j struct{ Error string }
		if json.Unmarshal(b, &j) == nil && j.Error != "" {
			msg = j.Error
		}
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	return &Error{Op: op, Repo: repo, Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Message: msg}
}

// RepoFile is one file of a repo at a revision, as the model info lists it.
type RepoFile struct {
	Path   string // rfilename
	Size   int64  // size of the file's content (the LFS object for LFS files)
	BlobID string // git blob id (sha1 hex); for LFS files, of the pointer file
	LFS    *LFSInfo
}

// LFSInfo describes a file stored with Git LFS.
type LFSInfo struct {
	SHA256      string // hex sha256 of the content: the LFS oid
	Size        int64
	PointerSize int64
}

// ModelInfo is a model repo at a revision.
type ModelInfo struct {
	ID      string
	SHA     string // the commit the revision resolved to
	Private bool
	Files   []RepoFile
}

// TotalSize is the sum of the sizes of all files at the revision: what the reference compares with
// the competition's max bytes before downloading (taoverse's hugging_face_model_store.py). Python's
// sum has no overflow; the sum saturates at math.MaxInt64, which is over any limit too.
func (m *ModelInfo) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		if f.Size > math.MaxInt64-n {
			return math.MaxInt64
		}
		n += f.Size
	}
	return n
}

// File returns the first file listed at path, or nil.
func (m *ModelInfo) File(path string) *RepoFile {
	for i := range m.Files {
		if m.Files[i].Path == path {
			return &m.Files[i]
		}
	}
	return nil
}

// wire forms of the model info (hf_api.py ModelInfo / RepoSibling / BlobLfsInfo).
type infoJSON struct {
	ID       string `json:"id"`
	SHA      string `json:"sha"`
	Private  bool   `json:"private"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *struct {
			SHA256      string `json:"sha256"`
			Size        int64  `json:"size"`
			PointerSize int64  `json:"pointerSize"`
		} `json:"lfs"`
	} `json:"siblings"`
}

// ModelInfo fetches a model repo's info at revision with file metadata: GET
// /api/models/{repo}/revision/{revision}?blobs=true, as HfApi.model_info(files_metadata=True).
// The resolved commit and every size are validated; a file's path and hashes are validated
// only when it is downloaded ([Client.Download]), as the reference only looks at the files
// its loader fetches.
func (c *Client) ModelInfo(ctx context.Context, repo, revision string) (*ModelInfo, error) {
	if err := ValidateRepoID(repo); err != nil {
		return nil, fmt.Errorf("model info: %w", err)
	}
	if revision == "" {
		revision = "main"
	}
	ctx, cancel := context.WithTimeout(ctx, c.infoTO)
	defer cancel()
	u := c.url("/api/models/"+repo+"/revision/"+url.PathEscape(revision), url.Values{"blobs": {"true"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("model info %s: %w", repo, err)
	}
	_, resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("model info %s: %w", repo, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, httpError("model info", repo, resp)
	}
	b, err := bounded.ReadAll(resp.Body, maxModelInfoBytes)
	if err != nil {
		return nil, fmt.Errorf("model info %s: %w", repo, err)
	}
	return parseModelInfo(repo, b)
}

func parseModelInfo(repo string, b []byte) (*ModelInfo, error) {
	var j infoJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("model info %s: %w", repo, err)
	}
	if err := ValidateCommit(j.SHA); err != nil {
		return nil, fmt.Errorf("model info %s: sha: %w", repo, err)
	}
	if len(j.Siblings) > maxSiblings {
		return nil, fmt.Errorf("model info %s: %d files, over %d", repo, len(j.Siblings), maxSiblings)
	}
	m := &ModelInfo{ID: j.ID, SHA: j.SHA, Private: j.Private, Files: make([]RepoFile, 0, len(j.Siblings))}
	for _, s := range j.Siblings {
		// The Hub always sends sizes with blobs=true; without one the reference's sum raises.
		if s.Size == nil || *s.Size < 0 {
			return nil, fmt.Errorf("model info %s: file %q: missing or negative size", repo, s.RFilename)
		}
		f := RepoFile{Path: s.RFilename, Size: *s.Size, BlobID: s.BlobID}
		if s.LFS != nil {
			f.LFS = &LFSInfo{SHA256: s.LFS.SHA256, Size: s.LFS.Size, PointerSize: s.LFS.PointerSize}
		}
		m.Files = append(m.Files, f)
	}
	return m, nil
}

// validateRepoFile checks a file about to be downloaded: a path safe to join under the
// staging directory ([ValidatePath]) and the hash it will be verified against (an LFS sha256
// and matching size, else a git blob id).
func validateRepoFile(f RepoFile) error {
	if err := ValidatePath(f.Path); err != nil {
		return err
	}
	if f.LFS != nil {
		if len(f.LFS.SHA256) != 64 || strings.Trim(f.LFS.SHA256, "0123456789abcdef") != "" {
			return fmt.Errorf("file %q: bad lfs sha256 %q", f.Path, f.LFS.SHA256)
		}
		if f.LFS.Size != f.Size {
			return fmt.Errorf("file %q: lfs size %d != size %d", f.Path, f.LFS.Size, f.Size)
		}
		return nil
	}
	if len(f.BlobID) != 40 || strings.Trim(f.BlobID, "0123456789abcdef") != "" {
		return fmt.Errorf("file %q: bad blob id %q", f.Path, f.BlobID)
	}
	return nil
}
