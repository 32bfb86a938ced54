package hubserver

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// fileAt finds a file of a revision for the resolve and raw endpoints. On failure it has
// written the Hub's answer (RepoNotFound, RevisionNotFound, or EntryNotFound with the
// X-Repo-Commit that huggingface_hub caches the file's absence under).
func (s *Server) fileAt(w http.ResponseWriter, r *http.Request) (*commitMeta, *fileEntry, bool) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return nil, nil, false
	}
	c, ok := s.resolve(w, repo, meta, r.PathValue("rev"))
	if !ok {
		return nil, nil, false
	}
	w.Header().Set("X-Repo-Commit", c.ID)
	for i := range c.Files {
		if c.Files[i].Path == r.PathValue("path") {
			return c, &c.Files[i], true
		}
	}
	apiError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
	return nil, nil, false
}

// handleResolve answers GET and HEAD /{ns}/{name}/resolve/{rev}/{path}, as huggingface_hub's
// get_hf_file_metadata and http_get read it: a regular file's bytes (ETag = its git blob id,
// Content-Length, Range), or for an LFS file a 302 to a pre-signed URL with X-Linked-Etag (the
// sha256) and X-Linked-Size. X-Repo-Commit is always set.
func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.fileAt(w, r)
	if !ok {
		return
	}
	if f.LFS {
		exp := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
		q := url.Values{"exp": {exp}, "sig": {s.sign("get", f.SHA256, exp)}}
		w.Header().Set("X-Linked-Etag", `"`+f.SHA256+`"`)
		w.Header().Set("X-Linked-Size", strconv.FormatInt(f.Size, 10))
		w.Header().Set("ETag", `"`+f.SHA256+`"`)
		w.Header().Set("Location", baseURL(r)+"/lfs/"+f.SHA256+"?"+q.Encode())
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+s.blobID(*f)+`"`)
	s.serveObject(w, r, f.SHA256)
}

// handleRaw answers GET and HEAD /{ns}/{name}/raw/{rev}/{path}: the file as stored in git, so
// an LFS file's pointer rather than its content (huggingface.js's fileExists asks here).
func (s *Server) handleRaw(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.fileAt(w, r)
	if !ok {
		return
	}
	w.Header().Set("ETag", `"`+s.blobID(*f)+`"`)
	if f.LFS {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(lfsPointer(f.SHA256, f.Size)))
		return
	}
	s.serveObject(w, r, f.SHA256)
}

// handleLFSGet serves an LFS object at its pre-signed URL (the Hub's CDN), with its sha256 as
// ETag, which huggingface.js reads from the response it was redirected to.
func (s *Server) handleLFSGet(w http.ResponseWriter, r *http.Request) {
	oid := r.PathValue("oid")
	if !isOID(oid) || !s.checkSig(r, "get", oid) {
		apiError(w, http.StatusForbidden, "", "invalid or expired download URL")
		return
	}
	w.Header().Set("ETag", `"`+oid+`"`)
	s.serveObject(w, r, oid)
}

// serveObject writes a stored object with Content-Length and Range support (http.ServeContent
// also answers If-Range and If-None-Match against the ETag already set).
func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, oid string) {
	in, err := os.Open(s.objectPath(oid))
	if err != nil {
		s.internal(w, "serve", err)
		return
	}
	defer in.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, in)
}
