// Package hubserver is a local model hub: the subset of the Hugging Face Hub HTTP API that the
// [hub] client and the official Hugging Face clients (huggingface_hub, @huggingface/hub) use
// for model repos, backed by a directory. Repos have commits with 40-hex ids, files (small
// ones inline, large or binary ones through Git LFS with pre-signed upload and download URLs),
// and private/public visibility checked against bearer tokens. It is the embedded hub of
// localnet and the peer of the client's tests.
//
// Where it differs from huggingface.co: one branch (main), no tags, no pull requests, no Xet,
// no multipart LFS, no gated repos, no README/YAML validation; commit ids are derived from the
// commit's content rather than being git objects; tokens are configured per namespace.
// hub/README.md lists every endpoint served and what is not.
package hubserver

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/internal/httpserve"
)

// Config configures a [Server].
type Config struct {
	// Dir holds the repos and objects. Required.
	Dir string
	// Tokens maps each accepted bearer token to the namespace it owns: it may create repos
	// there, write to them and read them when private. Anyone may read public repos.
	Tokens map[string]string
	// LFSThreshold: files at least this big go to LFS, as do binary files and weights
	// (*.safetensors, *.bin, ...). Default 10 MiB, the Hub's limit for regular files.
	LFSThreshold int64
	// MaxObjectBytes bounds one uploaded file. Default 64 GiB.
	MaxObjectBytes int64
	// MaxCommitBytes bounds a commit request body (inline files are in it). Default 64 MiB.
	MaxCommitBytes int64
	// URLTTL is how long pre-signed LFS URLs stay valid. Default 1 h.
	URLTTL time.Duration
	// Logger receives request errors. Default: discard.
	Logger *slog.Logger
}

// Validate reports a config that cannot work.
func (c *Config) Validate() error {
	if c.Dir == "" {
		return errors.New("hubserver config: Dir is required")
	}
	for tok, ns := range c.Tokens {
		if len(tok) < 8 {
			return errors.New("hubserver config: tokens must be at least 8 characters")
		}
		if err := hub.ValidateRepoID(ns + "/x"); err != nil {
			return fmt.Errorf("hubserver config: token namespace: %w", err)
		}
	}
	return nil
}

// Server serves the hub API. Create with [New]; serve [Server.Handler] or call [Server.Run].
type Server struct {
	dir    string
	tokens map[string]string
	lfsMin int64
	maxObj int64
	maxCmt int64
	ttl    time.Duration
	log    *slog.Logger
	secret []byte   // signs LFS URLs
	locks  sync.Map // repo id → *sync.Mutex, serializing writes to one repo
	now    func() time.Time
	// syncFiles makes the files of staged objects durable (syncFiles of sync_*.go); tests
	// replace it to hold a commit mid-way.
	syncFiles func(paths []string) error
	treePage  int // entries per page of a tree listing
	handler   http.Handler
}

// New opens (creating if needed) the hub directory.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := initDirs(cfg.Dir); err != nil {
		return nil, fmt.Errorf("open hub %s: %w", cfg.Dir, err)
	}
	s := &Server{
		dir: cfg.Dir, tokens: cfg.Tokens,
		lfsMin: cmp.Or(cfg.LFSThreshold, 10<<20), maxObj: cmp.Or(cfg.MaxObjectBytes, 64<<30),
		maxCmt: cmp.Or(cfg.MaxCommitBytes, 64<<20), ttl: cmp.Or(cfg.URLTTL, time.Hour),
		log:    cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)).With("component", "hubserver"),
		secret: make([]byte, 32), now: time.Now, syncFiles: syncFiles, treePage: 1000,
	}
	rand.Read(s.secret)
	// Two muxes: "api" is a reserved namespace on the Hub, and one mux would find the
	// /{ns}/{name}/resolve/... patterns ambiguous with the /api/models/... ones.
	// A GET pattern also answers HEAD.
	api := http.NewServeMux()
	api.HandleFunc("GET /api/models/{ns}/{name}", s.handleInfo)
	api.HandleFunc("GET /api/models/{ns}/{name}/revision/{rev}", s.handleInfo)
	api.HandleFunc("GET /api/models/{ns}/{name}/tree/{rev}", s.handleTree)
	api.HandleFunc("GET /api/models/{ns}/{name}/tree/{rev}/{path...}", s.handleTree)
	api.HandleFunc("POST /api/models/{ns}/{name}/paths-info/{rev}", s.handlePathsInfo)
	api.HandleFunc("GET /api/models/{ns}/{name}/refs", s.handleRefs)
	api.HandleFunc("GET /api/models/{ns}/{name}/commits/{rev}", s.handleCommits)
	api.HandleFunc("GET /api/whoami-v2", s.handleWhoami)
	api.HandleFunc("POST /api/repos/create", s.handleCreate)
	api.HandleFunc("PUT /api/models/{ns}/{name}/settings", s.handleSettings)
	api.HandleFunc("POST /api/models/{ns}/{name}/preupload/{rev}", s.handlePreupload)
	api.HandleFunc("POST /api/models/{ns}/{name}/commit/{rev}", s.handleCommit)
	repos := http.NewServeMux()
	repos.HandleFunc("POST /{ns}/{repogit}/info/lfs/objects/batch", s.handleBatch)
	repos.HandleFunc("POST /{ns}/{repogit}/info/lfs/objects/verify", s.handleVerify)
	repos.HandleFunc("GET /{ns}/{name}/resolve/{rev}/{path...}", s.handleResolve)
	repos.HandleFunc("GET /{ns}/{name}/raw/{rev}/{path...}", s.handleRaw)
	repos.HandleFunc("PUT /lfs-upload/{ns}/{name}/{oid}", s.handleLFSPut)
	repos.HandleFunc("GET /lfs/{oid}", s.handleLFSGet)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		repos.ServeHTTP(w, r)
	})
	return s, nil
}

// Handler returns the HTTP handler of the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on addr until ctx ends, then shuts down gracefully. ready, if not nil, receives
// the bound address once listening.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	return httpserve.Run(ctx, "hubserver", addr, s.handler, s.log, ready)
}

// apiError writes an error the way the Hub does: status, X-Error-Code, X-Error-Message and a
// JSON {"error": ...} body (read by huggingface_hub's hf_raise_for_status).
func apiError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func writeJSONResponse(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	json.NewEncoder(w).Encode(v)
}

// caller returns the namespace of the request's bearer token: "" for an anonymous request,
// ok=false for a token that is not accepted.
func (s *Server) caller(r *http.Request) (ns string, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", true
	}
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		return "", false
	}
	for t, ns := range s.tokens {
		if hmac.Equal([]byte(t), []byte(tok)) {
			return ns, true
		}
	}
	return "", false
}

// access loads a repo and checks the caller may read it (or write it, when write is set). On
// failure it has written the Hub's answer: 401 for a bad token, and RepoNotFound (401 when
// anonymous, 404 otherwise) for a missing repo or a private one the caller cannot see, so
// private repos are not revealed.
func (s *Server) access(w http.ResponseWriter, r *http.Request, ns, name string, write bool) (string, *repoMeta, bool) {
	who, ok := s.caller(r)
	if !ok {
		apiError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return "", nil, false
	}
	repo := ns + "/" + name
	notFound := func() {
		status := http.StatusNotFound
		if who == "" {
			status = http.StatusUnauthorized
		}
		apiError(w, status, "RepoNotFound", "Repository Not Found for url: "+r.URL.Path+".")
	}
	if hub.ValidateRepoID(repo) != nil {
		notFound()
		return "", nil, false
	}
	meta, err := s.readRepo(repo)
	if err != nil || (meta.Private && who != ns) {
		notFound()
		return "", nil, false
	}
	if write && who != ns {
		apiError(w, http.StatusForbidden, "", "You don't have the rights to write to "+repo)
		return "", nil, false
	}
	return repo, meta, true
}

// lock takes the write lock of one repo and returns its unlock. Writers to different repos
// never wait for each other, so one user's large commit cannot stall another's.
func (s *Server) lock(repo string) func() {
	m, _ := s.locks.LoadOrStore(repo, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// resolve maps a revision to its commit: the branch ("main", "refs/heads/main", or "HEAD",
// the default branch) or a commit id of the repo.
func (s *Server) resolve(w http.ResponseWriter, repo string, meta *repoMeta, rev string) (*commitMeta, bool) {
	id := rev
	switch rev {
	case "main", "refs/heads/main", "HEAD":
		id = meta.Head
	}
	if hub.ValidateCommit(id) == nil {
		if c, err := s.readCommit(repo, id); err == nil {
			return c, true
		}
	}
	apiError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
	return nil, false
}

// sign returns an HMAC over parts, binding a pre-signed URL to its object and expiry.
func (s *Server) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSig verifies a pre-signed URL's expiry and signature.
func (s *Server) checkSig(r *http.Request, parts ...string) bool {
	exp, err := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	if err != nil || s.now().Unix() > exp {
		return false
	}
	want := s.sign(append(parts, strconv.FormatInt(exp, 10))...)
	return hmac.Equal([]byte(want), []byte(r.URL.Query().Get("sig")))
}

// baseURL is the scheme and host the request came in on, for the hrefs the server hands out.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
