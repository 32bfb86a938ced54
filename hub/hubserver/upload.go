package hubserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pretrain/pretrain/hub"
)

const maxJSONBody = 8 << 20 // create, settings, preupload, batch, verify, paths-info requests

// decodeBody reads a bounded JSON request body.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody)).Decode(v); err != nil {
		status := http.StatusBadRequest
		if isTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		apiError(w, status, "", "invalid JSON body: "+err.Error())
		return false
	}
	return true
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

// handleCreate answers POST /api/repos/create {"name", "organization", "private" or
// "visibility", "type"}: huggingface_hub sends "private", huggingface.js "visibility".
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	who, ok := s.caller(r)
	if !ok || who == "" {
		apiError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	var req struct {
		Name         string            `json:"name"`
		Organization string            `json:"organization"`
		Private      *bool             `json:"private"`
		Visibility   string            `json:"visibility"`
		Type         string            `json:"type"`
		Files        []json.RawMessage `json:"files"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ns := cmpOr(req.Organization, who)
	repo := ns + "/" + req.Name
	private := req.Private != nil && *req.Private
	switch {
	case req.Type != "" && req.Type != "model":
		apiError(w, http.StatusBadRequest, "", "only model repos are supported")
		return
	case req.Visibility != "" && req.Visibility != "public" && req.Visibility != "private":
		apiError(w, http.StatusBadRequest, "", `visibility must be "public" or "private"`)
		return
	case len(req.Files) > 0:
		apiError(w, http.StatusBadRequest, "", "files at creation are not supported: commit them")
		return
	}
	private = private || req.Visibility == "private"
	if err := hub.ValidateRepoID(repo); err != nil {
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	if ns != who {
		apiError(w, http.StatusForbidden, "", "You don't have the rights to create a model under the namespace "+ns)
		return
	}
	defer s.lock(repo)()
	if _, err := s.readRepo(repo); err == nil {
		apiError(w, http.StatusConflict, "", "You already created this model repo")
		return
	}
	content := []byte(defaultGitattributes)
	oid, staged, err := s.stageBytes(content)
	if err == nil && staged != nil {
		err = s.storeStaged([]stagedObject{*staged})
	}
	if err != nil {
		s.internal(w, "create repo", err)
		return
	}
	now := s.now().UTC()
	c := &commitMeta{Version: formatVersion, Summary: "initial commit", Time: now,
		Files: []fileEntry{{Path: ".gitattributes", Size: int64(len(content)), SHA256: oid, BlobID: gitBlobIDOf(content)}}}
	c.ID = newCommitID(c)
	if err := writeJSON(fmt.Sprintf("%s/commits/%s.json", s.repoDir(repo), c.ID), c); err != nil {
		s.internal(w, "create repo", err)
		return
	}
	if err := writeJSON(s.repoDir(repo)+"/repo.json", &repoMeta{Version: formatVersion, Private: private, Head: c.ID, Created: now}); err != nil {
		s.internal(w, "create repo", err)
		return
	}
	writeJSONResponse(w, "application/json", map[string]string{"url": baseURL(r) + "/" + repo, "name": repo, "id": objectID(repo)})
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
	defer s.lock(repo)()
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

// handleBatch answers the Git LFS batch API for uploads: objects this repo already has get no
// actions; others get a pre-signed upload href bound to the repo, and a verify href. Whether
// the object is stored for another repo is not said: an object joins a repo only when its
// bytes are uploaded through that repo, which proves the uploader has them.
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
		case s.repoHasObject(repo, o.OID, o.Size):
			// already uploaded to this repo: no actions
		default:
			size := strconv.FormatInt(o.Size, 10)
			q := url.Values{"size": {size}, "exp": {exp}, "sig": {s.sign("put", repo, o.OID, size, exp)}}
			entry["actions"] = map[string]any{
				"upload": map[string]any{"href": baseURL(r) + "/lfs-upload/" + repo + "/" + o.OID + "?" + q.Encode(), "header": map[string]string{}},
				"verify": map[string]any{"href": baseURL(r) + "/" + repo + ".git/info/lfs/objects/verify", "header": map[string]string{}},
			}
		}
		objs = append(objs, entry)
	}
	writeJSONResponse(w, "application/vnd.git-lfs+json", map[string]any{"transfer": "basic", "objects": objs, "hash_algo": "sha256"})
}

// handleLFSPut stores an object at its pre-signed URL, checking its size and sha256, and
// records that the URL's repo has it.
func (s *Server) handleLFSPut(w http.ResponseWriter, r *http.Request) {
	repo, oid, size := r.PathValue("ns")+"/"+r.PathValue("name"), r.PathValue("oid"), r.URL.Query().Get("size")
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || !isOID(oid) || n < 0 || hub.ValidateRepoID(repo) != nil || !s.checkSig(r, "put", repo, oid, size) {
		apiError(w, http.StatusForbidden, "", "invalid or expired upload URL")
		return
	}
	if _, err := s.putObject(http.MaxBytesReader(w, r.Body, n+1), oid, n); err != nil {
		apiError(w, http.StatusBadRequest, "", "upload "+oid+": "+err.Error())
		return
	}
	if err := s.addRepoObject(repo, oid); err != nil {
		s.internal(w, "upload", err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleVerify answers the LFS verify action: 200 if the object was uploaded to this repo
// with that size.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	ns, name := repoFromGit(r)
	var o lfsObject
	repo, _, ok := s.access(w, r, ns, name, true)
	if !ok || !decodeBody(w, r, &o) {
		return
	}
	if !isOID(o.OID) {
		apiError(w, http.StatusBadRequest, "", "invalid oid")
		return
	}
	if !s.repoHasObject(repo, o.OID, o.Size) {
		apiError(w, http.StatusNotFound, "", "object "+o.OID+" not found")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// isOID reports whether s is a lowercase hex sha256, the only form an object name may take.
func isOID(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
