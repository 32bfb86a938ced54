package hubserver

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// modelExpandKeys are the model info fields a client may ask for with ?expand= (huggingface_hub
// hf_api.py ExpandModelProperty_T, and huggingface.js MODEL_EXPANDABLE_KEYS); the Hub refuses
// any other name with a 400.
var modelExpandKeys = []string{
	"author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
	"downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "gitalyUid", "inference",
	"inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token",
	"model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings",
	"spaces", "tags", "transformersInfo", "trendingScore", "usedStorage", "widgetData",
}

// hubTime is the Hub's time format, which huggingface_hub's parse_datetime expects.
const hubTime = "2006-01-02T15:04:05.000Z07:00"

// handleInfo answers GET /api/models/{ns}/{name}[/revision/{rev}]: the model info with
// siblings; sizes, blob ids and LFS details only with ?blobs=true, as on the Hub. With
// ?expand=… only those fields (and the ids) are returned; fields a local hub has no value for
// (a model card, pipeline tag, config, safetensors metadata…) are left out.
func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	c, ok := s.resolve(w, repo, meta, cmpOr(r.PathValue("rev"), "main"))
	if !ok {
		return
	}
	q := r.URL.Query()
	expand := q["expand"]
	for _, k := range expand {
		if !slices.Contains(modelExpandKeys, k) {
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf(`"expand" must be one of %s`, strings.Join(modelExpandKeys, ", ")))
			return
		}
	}
	blobs := isTrue(q.Get("blobs"))
	siblings := make([]map[string]any, 0, len(c.Files))
	for _, f := range c.Files {
		sib := map[string]any{"rfilename": f.Path}
		if blobs {
			sib["size"] = f.Size
			sib["blobId"] = s.blobID(f)
			if f.LFS {
				sib["lfs"] = map[string]any{"sha256": f.SHA256, "size": f.Size, "pointerSize": len(lfsPointer(f.SHA256, f.Size))}
			}
		}
		siblings = append(siblings, sib)
	}
	created := meta.Created
	if created.IsZero() { // a repo of a hub from before createdAt was recorded
		created = c.Time
	}
	fields := map[string]any{
		"author": r.PathValue("ns"), "sha": c.ID, "private": meta.Private, "disabled": false,
		"gated": false, "downloads": 0, "downloadsAllTime": 0, "likes": 0, "trendingScore": 0,
		"tags": []string{}, "spaces": []string{}, "siblings": siblings,
		"lastModified": c.Time.UTC().Format(hubTime), "createdAt": created.UTC().Format(hubTime),
	}
	out := map[string]any{"_id": objectID(repo), "id": repo}
	if len(expand) == 0 {
		maps.Copy(out, fields)
		out["modelId"] = repo
	}
	for _, k := range expand {
		if v, ok := fields[k]; ok {
			out[k] = v
		}
	}
	writeJSONResponse(w, "application/json", out)
}

// objectID is the repo's "_id": a 24-hex id like the Hub's database ids, stable per repo name.
func objectID(repo string) string {
	sum := sha1.Sum([]byte("repo " + repo))
	return hex.EncodeToString(sum[:12])
}

// handleWhoami answers GET /api/whoami-v2 with the namespace of the caller's token.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	who, ok := s.caller(r)
	if !ok || who == "" {
		apiError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
		return
	}
	writeJSONResponse(w, "application/json", map[string]any{
		"type": "user", "id": objectID(who), "name": who, "fullname": who, "orgs": []any{},
		"auth": map[string]any{"type": "access_token", "accessToken": map[string]any{"role": "write"}},
	})
}

// treeEntry is one entry of a tree listing or a paths-info answer, as the Hub writes it.
type treeEntry struct {
	Type string   `json:"type"` // "file" or "directory"
	OID  string   `json:"oid"`  // git blob id of a file (of its pointer, for LFS), tree id of a directory
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *treeLFS `json:"lfs,omitempty"`
}

type treeLFS struct {
	OID         string `json:"oid"` // sha256
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

// repoTree indexes a commit's files by path, with every directory they imply.
type repoTree struct {
	s     *Server
	files map[string]fileEntry
	dirs  map[string][]string // directory ("" = root) → sorted child names
	ids   map[string]string   // directory → git tree id, computed on demand
}

func (s *Server) newRepoTree(c *commitMeta) *repoTree {
	t := &repoTree{s: s, files: map[string]fileEntry{}, dirs: map[string][]string{"": nil}, ids: map[string]string{}}
	for _, f := range c.Files {
		t.files[f.Path] = f
		for p := f.Path; p != ""; {
			dir, name := splitDir(p)
			_, seen := t.dirs[dir]
			t.dirs[dir] = append(t.dirs[dir], name)
			if seen {
				break // the parents of dir are already recorded
			}
			p = dir
		}
	}
	for d, names := range t.dirs {
		slices.Sort(names)
		t.dirs[d] = slices.Compact(names)
	}
	return t
}

// splitDir splits "a/b/c" into "a/b" and "c", and "c" into "" and "c".
func splitDir(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// entry describes one path, ok=false if the commit has no such file or directory.
func (t *repoTree) entry(p string) (treeEntry, bool) {
	if f, ok := t.files[p]; ok {
		e := treeEntry{Type: "file", OID: t.s.blobID(f), Size: f.Size, Path: p}
		if f.LFS {
			e.LFS = &treeLFS{OID: f.SHA256, Size: f.Size, PointerSize: len(lfsPointer(f.SHA256, f.Size))}
		}
		return e, true
	}
	if _, ok := t.dirs[p]; ok && p != "" {
		return treeEntry{Type: "directory", OID: t.treeID(p), Path: p}, true
	}
	return treeEntry{}, false
}

// treeID is git's object id of a directory: sha1 of "tree <size>\0" and, per entry in git's
// order (a directory sorts as if its name ended in '/'), "<mode> <name>\0<20-byte id>".
func (t *repoTree) treeID(dir string) string {
	if id, ok := t.ids[dir]; ok {
		return id
	}
	type gitEntry struct {
		key, mode, name, id string
	}
	var entries []gitEntry
	for _, name := range t.dirs[dir] {
		p := joinPath(dir, name)
		if f, ok := t.files[p]; ok {
			entries = append(entries, gitEntry{name, "100644", name, t.s.blobID(f)})
		} else {
			entries = append(entries, gitEntry{name + "/", "40000", name, t.treeID(p)})
		}
	}
	slices.SortFunc(entries, func(a, b gitEntry) int { return strings.Compare(a.key, b.key) })
	var body []byte
	for _, e := range entries {
		raw, _ := hex.DecodeString(e.id)
		body = append(body, e.mode+" "+e.name+"\x00"...)
		body = append(body, raw...)
	}
	h := sha1.New()
	fmt.Fprintf(h, "tree %d\x00", len(body))
	h.Write(body)
	id := hex.EncodeToString(h.Sum(nil))
	t.ids[dir] = id
	return id
}

// list returns the paths under dir, sorted: its children, or with recursive all descendants
// (directories included, as the Hub lists them).
func (t *repoTree) list(dir string, recursive bool) []string {
	var out []string
	var walk func(d string)
	walk = func(d string) {
		for _, name := range t.dirs[d] {
			p := joinPath(d, name)
			out = append(out, p)
			if _, isDir := t.dirs[p]; isDir && recursive {
				walk(p)
			}
		}
	}
	walk(dir)
	slices.Sort(out)
	return out
}

// handleTree answers GET /api/models/{ns}/{name}/tree/{rev}[/{path}]?recursive=…: the entries
// of a directory, a page at a time; a Link header (rel="next") carries the cursor of the next
// page, as huggingface_hub's paginate and huggingface.js's listFiles follow it. expand=true
// (last commit and security scan per entry) is accepted but adds nothing.
func (s *Server) handleTree(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	c, ok := s.resolve(w, repo, meta, r.PathValue("rev"))
	if !ok {
		return
	}
	dir := strings.Trim(r.PathValue("path"), "/")
	t := s.newRepoTree(c)
	if _, isDir := t.dirs[dir]; !isDir {
		w.Header().Set("X-Repo-Commit", c.ID)
		apiError(w, http.StatusNotFound, "EntryNotFound", fmt.Sprintf("%s does not exist on %q", cmpOr(dir, "/"), r.PathValue("rev")))
		return
	}
	q := r.URL.Query()
	paths := t.list(dir, isTrue(q.Get("recursive")))
	if cur := q.Get("cursor"); cur != "" {
		after, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			apiError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		i, _ := slices.BinarySearch(paths, string(after))
		for i < len(paths) && paths[i] <= string(after) {
			i++
		}
		paths = paths[i:]
	}
	if len(paths) > s.treePage {
		paths = paths[:s.treePage]
		q.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(paths[len(paths)-1])))
		next := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, baseURL(r), next.EscapedPath()+"?"+next.RawQuery))
	}
	out := make([]treeEntry, 0, len(paths))
	for _, p := range paths {
		e, _ := t.entry(p)
		out = append(out, e)
	}
	w.Header().Set("X-Repo-Commit", c.ID)
	writeJSONResponse(w, "application/json", out)
}

func isTrue(v string) bool { return v == "true" || v == "True" || v == "1" }

// handlePathsInfo answers POST /api/models/{ns}/{name}/paths-info/{rev} with the entries of the
// given paths that exist. The body is a form (huggingface_hub: paths=…&paths=…&expand=…) or
// JSON (huggingface.js: {"paths": […], "expand": bool}).
func (s *Server) handlePathsInfo(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	var req struct {
		Paths []string `json:"paths"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if !decodeBody(w, r, &req) {
			return
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		if err := r.ParseForm(); err != nil {
			apiError(w, http.StatusBadRequest, "", "invalid form body: "+err.Error())
			return
		}
		req.Paths = r.PostForm["paths"]
	}
	c, ok := s.resolve(w, repo, meta, r.PathValue("rev"))
	if !ok {
		return
	}
	t := s.newRepoTree(c)
	out := []treeEntry{}
	for _, p := range req.Paths {
		if e, ok := t.entry(strings.Trim(p, "/")); ok {
			out = append(out, e)
		}
	}
	w.Header().Set("X-Repo-Commit", c.ID)
	writeJSONResponse(w, "application/json", out)
}
