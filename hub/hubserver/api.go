package hubserver

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pretrain/pretrain/hub"
)

const maxJSONBody = 8 << 20 // create, settings, preupload, batch, verify requests

// decodeBody reads a bounded JSON request body.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// handleInfo answers GET /api/models/{ns}/{name}[/revision/{rev}]: the model info with
// siblings; sizes, blob ids and LFS details only with ?blobs=true, as on the Hub.
func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	c, ok := s.resolve(w, repo, meta, cmpOr(r.PathValue("rev"), "main"))
	if !ok {
		return
	}
	blobs := r.URL.Query().Get("blobs") == "true" || r.URL.Query().Get("blobs") == "True"
	siblings := make([]map[string]any, 0, len(c.Files))
	for _, f := range c.Files {
		sib := map[string]any{"rfilename": f.Path}
		if blobs {
			sib["size"] = f.Size
			if f.LFS {
				ptr := lfsPointer(f.SHA256, f.Size)
				id, _ := gitBlobID(strings.NewReader(ptr), int64(len(ptr)))
				sib["blobId"] = id
				sib["lfs"] = map[string]any{"sha256": f.SHA256, "size": f.Size, "pointerSize": len(ptr)}
			} else {
				sib["blobId"] = s.blobID(f)
			}
		}
		siblings = append(siblings, sib)
	}
	writeJSONResponse(w, "application/json", map[string]any{
		"_id": repo, "id": repo, "modelId": repo, "author": r.PathValue("ns"),
		"sha": c.ID, "private": meta.Private, "lastModified": c.Time.UTC().Format(time.RFC3339),
		"siblings": siblings,
	})
}

// blobID is a regular file's git blob id, computed from its stored object.
func (s *Server) blobID(f fileEntry) string {
	in, err := os.Open(s.objectPath(f.SHA256))
	if err != nil {
		return ""
	}
	defer in.Close()
	id, _ := gitBlobID(in, f.Size)
	return id
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// defaultGitattributes is the first file of every new repo, as the Hub creates repos with an
// initial commit holding .gitattributes (abridged here).
const defaultGitattributes = "*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.pt filter=lfs diff=lfs merge=lfs -text\n*.model filter=lfs diff=lfs merge=lfs -text\n"

// handleCreate answers POST /api/repos/create {"name", "organization", "private", "type"}.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	who, ok := s.caller(r)
	if !ok || who == "" {
		apiError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	var req struct {
		Name         string `json:"name"`
		Organization string `json:"organization"`
		Private      *bool  `json:"private"`
		Type         string `json:"type"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ns := cmpOr(req.Organization, who)
	repo := ns + "/" + req.Name
	if req.Type != "" && req.Type != "model" {
		apiError(w, http.StatusBadRequest, "", "only model repos are supported")
		return
	}
	if err := hub.ValidateRepoID(repo); err != nil {
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	if ns != who {
		apiError(w, http.StatusForbidden, "", "You don't have the rights to create a model under the namespace "+ns)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.readRepo(repo); err == nil {
		apiError(w, http.StatusConflict, "", "You already created this model repo")
		return
	}
	oid, err := s.putObject(strings.NewReader(defaultGitattributes), "", int64(len(defaultGitattributes)))
	if err != nil {
		s.internal(w, "create repo", err)
		return
	}
	c := &commitMeta{Version: formatVersion, Summary: "initial commit", Time: s.now().UTC(),
		Files: []fileEntry{{Path: ".gitattributes", Size: int64(len(defaultGitattributes)), SHA256: oid}}}
	c.ID = newCommitID(c)
	if err := writeJSON(fmt.Sprintf("%s/commits/%s.json", s.repoDir(repo), c.ID), c); err != nil {
		s.internal(w, "create repo", err)
		return
	}
	private := req.Private != nil && *req.Private
	if err := writeJSON(s.repoDir(repo)+"/repo.json", &repoMeta{Version: formatVersion, Private: private, Head: c.ID}); err != nil {
		s.internal(w, "create repo", err)
		return
	}
	writeJSONResponse(w, "application/json", map[string]string{"url": baseURL(r) + "/" + repo, "name": repo})
}

func (s *Server) internal(w http.ResponseWriter, op string, err error) {
	s.log.Error("request failed", "op", op, "err", err)
	apiError(w, http.StatusInternalServerError, "", op+": internal error")
}

// handleSettings answers PUT /api/models/{ns}/{name}/settings {"private": bool}.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Private *bool `json:"private"`
	}
	repo, _, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), true)
	if !ok || !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readRepo(repo)
	if err != nil {
		s.internal(w, "settings", err)
		return
	}
	if req.Private != nil {
		meta.Private = *req.Private
	}
	if err := writeJSON(s.repoDir(repo)+"/repo.json", meta); err != nil {
		s.internal(w, "settings", err)
		return
	}
	writeJSONResponse(w, "application/json", map[string]bool{"private": meta.Private})
}

// lfsSuffixes are the extensions the Hub's default .gitattributes sends to LFS.
var lfsSuffixes = []string{".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".model", ".gguf"}

// handlePreupload answers POST /api/models/{ns}/{name}/preupload/{rev}: each file's
// uploadMode, "lfs" for weights, binary samples and big files, else "regular".
func (s *Server) handlePreupload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Files []struct {
			Path   string `json:"path"`
			Sample string `json:"sample"`
			Size   int64  `json:"size"`
		} `json:"files"`
	}
	_, _, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), true)
	if !ok || !decodeBody(w, r, &req) {
		return
	}
	out := make([]map[string]any, 0, len(req.Files))
	for _, f := range req.Files {
		if err := hub.ValidatePath(f.Path); err != nil {
			apiError(w, http.StatusBadRequest, "", err.Error())
			return
		}
		sample, err := base64.StdEncoding.DecodeString(f.Sample)
		if err != nil {
			apiError(w, http.StatusBadRequest, "", "sample of "+f.Path+": not base64")
			return
		}
		mode := "regular"
		if f.Size >= s.lfsMin || bytes.IndexByte(sample, 0) >= 0 || hasSuffix(f.Path, lfsSuffixes) {
			mode = "lfs"
		}
		out = append(out, map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": false})
	}
	writeJSONResponse(w, "application/json", map[string]any{"files": out})
}

func hasSuffix(p string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// repoFromGit splits the "{name}.git" path segment of the LFS endpoints.
func repoFromGit(r *http.Request) (ns, name string) {
	name, _ = strings.CutSuffix(r.PathValue("repogit"), ".git")
	return r.PathValue("ns"), name
}

type lfsObject struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// handleBatch answers the Git LFS batch API for uploads: objects already stored get no
// actions; others get a pre-signed upload href and a verify href.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	ns, name := repoFromGit(r)
	var req struct {
		Operation string      `json:"operation"`
		Objects   []lfsObject `json:"objects"`
	}
	repo, _, ok := s.access(w, r, ns, name, true)
	if !ok || !decodeBody(w, r, &req) {
		return
	}
	if req.Operation != "upload" {
		apiError(w, http.StatusUnprocessableEntity, "", "only the upload operation is supported")
		return
	}
	exp := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	objs := make([]map[string]any, 0, len(req.Objects))
	for _, o := range req.Objects {
		entry := map[string]any{"oid": o.OID, "size": o.Size}
		switch {
		case !isOID(o.OID):
			entry["error"] = map[string]any{"code": 422, "message": "invalid oid"}
		case o.Size < 0 || o.Size > s.maxObj:
			entry["error"] = map[string]any{"code": 422, "message": fmt.Sprintf("size must be 0 to %d", s.maxObj)}
		default:
			if size, err := s.objectSize(o.OID); err == nil && size == o.Size {
				break // already stored: no actions
			}
			size := strconv.FormatInt(o.Size, 10)
			q := url.Values{"size": {size}, "exp": {exp}, "sig": {s.sign("put", o.OID, size, exp)}}
			entry["actions"] = map[string]any{
				"upload": map[string]any{"href": baseURL(r) + "/lfs-upload/" + o.OID + "?" + q.Encode(), "header": map[string]string{}},
				"verify": map[string]any{"href": baseURL(r) + "/" + repo + ".git/info/lfs/objects/verify", "header": map[string]string{}},
			}
		}
		objs = append(objs, entry)
	}
	writeJSONResponse(w, "application/vnd.git-lfs+json", map[string]any{"transfer": "basic", "objects": objs, "hash_algo": "sha256"})
}

// handleLFSPut stores an object at its pre-signed URL, checking its size and sha256.
func (s *Server) handleLFSPut(w http.ResponseWriter, r *http.Request) {
	oid, size := r.PathValue("oid"), r.URL.Query().Get("size")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || !isOID(oid) || n < 0 || !s.checkSig(r, "put", oid, size) {
		apiError(w, http.StatusForbidden, "", "invalid or expired upload URL")
		return
	}
	if _, err := s.putObject(http.MaxBytesReader(w, r.Body, n+1), oid, n); err != nil {
		apiError(w, http.StatusBadRequest, "", "upload "+oid+": "+err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleVerify answers the LFS verify action: 200 if the object is stored with that size.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	ns, name := repoFromGit(r)
	var o lfsObject
	if _, _, ok := s.access(w, r, ns, name, true); !ok || !decodeBody(w, r, &o) {
		return
	}
	if !isOID(o.OID) {
		apiError(w, http.StatusBadRequest, "", "invalid oid")
		return
	}
	if size, err := s.objectSize(o.OID); err != nil || size != o.Size {
		apiError(w, http.StatusNotFound, "", "object "+o.OID+" not found")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleCommit answers POST /api/models/{ns}/{name}/commit/main with an NDJSON body: a header
// line, then file (inline base64), lfsFile (an uploaded object), deletedFile and deletedFolder
// lines. The new commit's tree is the parent's with the operations applied.
func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request) {
	repo, _, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), true)
	if !ok {
		return
	}
	if r.PathValue("rev") != "main" {
		apiError(w, http.StatusBadRequest, "RevisionNotFound", "only main can be committed to")
		return
	}
	sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, s.maxCmt))
	sc.Buffer(nil, int(s.maxCmt))
	type line struct {
		Key   string `json:"key"`
		Value struct {
			Summary, Description, ParentCommit string
			Path, Content, Encoding, Algo, OID string
			Size                               int64
		} `json:"value"`
	}
	var lines []line
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("line %d: %v", len(lines)+1, err))
			return
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		apiError(w, http.StatusRequestEntityTooLarge, "", "commit body: "+err.Error())
		return
	}
	if len(lines) == 0 || lines[0].Key != "header" {
		apiError(w, http.StatusBadRequest, "", "the first line must be the header")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readRepo(repo)
	if err != nil {
		s.internal(w, "commit", err)
		return
	}
	if p := lines[0].Value.ParentCommit; p != "" && p != meta.Head {
		apiError(w, http.StatusPreconditionFailed, "", "parentCommit is not the head of main")
		return
	}
	parent, err := s.readCommit(repo, meta.Head)
	if err != nil {
		s.internal(w, "commit", err)
		return
	}
	tree := map[string]fileEntry{}
	for _, f := range parent.Files {
		tree[f.Path] = f
	}
	for i, l := range lines[1:] {
		v := l.Value
		bad := func(msg string) {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("line %d (%s): %s", i+2, l.Key, msg))
		}
		if l.Key == "deletedFolder" {
			prefix := strings.TrimSuffix(v.Path, "/") + "/"
			for p := range tree {
				if strings.HasPrefix(p, prefix) {
					delete(tree, p)
				}
			}
			continue
		}
		if err := hub.ValidatePath(v.Path); err != nil {
			bad(err.Error())
			return
		}
		switch l.Key {
		case "file":
			if v.Encoding != "base64" {
				bad("encoding must be base64")
				return
			}
			content, err := base64.StdEncoding.DecodeString(v.Content)
			if err != nil {
				bad("content is not base64")
				return
			}
			oid, err := s.putObject(bytes.NewReader(content), "", int64(len(content)))
			if err != nil {
				s.internal(w, "commit", err)
				return
			}
			tree[v.Path] = fileEntry{Path: v.Path, Size: int64(len(content)), SHA256: oid}
		case "lfsFile":
			if v.Algo != "sha256" {
				bad("algo must be sha256")
				return
			}
			if !isOID(v.OID) {
				bad("invalid oid")
				return
			}
			size, err := s.objectSize(v.OID)
			if err != nil {
				bad("LFS object " + v.OID + " was not uploaded")
				return
			}
			if v.Size != 0 && v.Size != size {
				bad(fmt.Sprintf("size %d, stored object has %d", v.Size, size))
				return
			}
			tree[v.Path] = fileEntry{Path: v.Path, Size: size, SHA256: v.OID, LFS: true}
		case "deletedFile":
			if _, ok := tree[v.Path]; !ok {
				bad("no such file")
				return
			}
			delete(tree, v.Path)
		default:
			bad("unknown key")
			return
		}
	}
	c := &commitMeta{Version: formatVersion, Parent: parent.ID, Summary: lines[0].Value.Summary, Time: s.now().UTC()}
	for _, f := range tree {
		c.Files = append(c.Files, f)
	}
	sortFiles(c.Files)
	if err := checkTree(c.Files); err != nil {
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	c.ID = newCommitID(c)
	if err := writeJSON(fmt.Sprintf("%s/commits/%s.json", s.repoDir(repo), c.ID), c); err != nil {
		s.internal(w, "commit", err)
		return
	}
	meta.Head = c.ID
	if err := writeJSON(s.repoDir(repo)+"/repo.json", meta); err != nil {
		s.internal(w, "commit", err)
		return
	}
	writeJSONResponse(w, "application/json", map[string]any{
		"commitUrl": baseURL(r) + "/" + repo + "/commit/" + c.ID, "commitOid": c.ID, "success": true,
	})
}

// handleResolve answers GET/HEAD /{ns}/{name}/resolve/{rev}/{path}: a regular file's bytes
// (ETag = git blob id, Range supported), or for an LFS file a 302 to a pre-signed URL with
// X-Linked-Etag (the sha256) and X-Linked-Size. X-Repo-Commit is always set.
func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	c, ok := s.resolve(w, repo, meta, r.PathValue("rev"))
	if !ok {
		return
	}
	var f *fileEntry
	for i := range c.Files {
		if c.Files[i].Path == r.PathValue("path") {
			f = &c.Files[i]
		}
	}
	if f == nil {
		w.Header().Set("X-Repo-Commit", c.ID)
		apiError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", c.ID)
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

// handleLFSGet serves an LFS object at its pre-signed URL (the Hub's CDN).
func (s *Server) handleLFSGet(w http.ResponseWriter, r *http.Request) {
	oid := r.PathValue("oid")
	if !isOID(oid) || !s.checkSig(r, "get", oid) {
		apiError(w, http.StatusForbidden, "", "invalid or expired download URL")
		return
	}
	s.serveObject(w, r, oid)
}

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

// isOID reports whether s is a lowercase hex sha256, the only form an object name may take.
func isOID(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
