package hubserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/pretrain/pretrain/hub"
)

// commitLine is one line of a commit's NDJSON body.
type commitLine struct {
	Key   string `json:"key"`
	Value struct {
		Summary, Description, ParentCommit string
		Path, Content, Encoding, Algo, OID string
		Size                               int64
	} `json:"value"`
}

// commitOp is a checked operation of a commit, ready to apply to the parent's tree.
type commitOp struct {
	line int    // 1-based line of the body, for errors
	key  string // file, lfsFile, deletedFile or deletedFolder
	path string
	file fileEntry // of file and lfsFile
	// staged: an inline file's object, written by this request and not stored yet.
	staged *stagedObject
}

// opError is a commit operation that cannot be applied.
type opError struct {
	line int
	key  string
	msg  string
}

func (e *opError) Error() string { return fmt.Sprintf("line %d (%s): %s", e.line, e.key, e.msg) }

func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

// handleCommit answers POST /api/models/{ns}/{name}/commit/main with an NDJSON body: a header
// line, then file (inline base64), lfsFile (an object uploaded to this repo), deletedFile and
// deletedFolder lines. The new commit's tree is the parent's with the operations applied.
//
// Everything that takes time (reading and checking the body, storing inline files and
// syncing them to disk) happens before the repo's lock is taken; under it the operations are
// applied in time linear in the tree and the body, and two small files are written.
func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request) {
	repo, _, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), true)
	if !ok {
		return
	}
	if r.PathValue("rev") != "main" {
		apiError(w, http.StatusBadRequest, "RevisionNotFound", "only main can be committed to")
		return
	}
	head, ops, ok := s.readCommitBody(w, r)
	if !ok {
		return
	}
	defer s.lock(repo)()
	meta, err := s.readRepo(repo)
	if err != nil {
		s.internal(w, "commit", err)
		return
	}
	if p := head.Value.ParentCommit; p != "" && p != meta.Head {
		apiError(w, http.StatusPreconditionFailed, "", "parentCommit is not the head of main")
		return
	}
	parent, err := s.readCommit(repo, meta.Head)
	if err != nil {
		s.internal(w, "commit", err)
		return
	}
	files, err := s.applyOps(repo, parent, ops)
	if err != nil {
		apiError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	c := &commitMeta{Version: formatVersion, Parent: parent.ID, Summary: head.Value.Summary, Description: head.Value.Description,
		Time: s.now().UTC(), Files: files}
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

// readCommitBody streams the body, at most MaxCommitBytes (413 beyond), checks every line and
// stores inline files, staged and then made durable together. On failure it has written the
// answer.
func (s *Server) readCommitBody(w http.ResponseWriter, r *http.Request) (head commitLine, ops []commitOp, ok bool) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.maxCmt))
	n := 0
	var staged []stagedObject
	defer func() {
		if !ok {
			removeStaged(staged)
		}
	}()
	for {
		var l commitLine
		err := dec.Decode(&l)
		if err == io.EOF {
			break
		}
		n++
		switch {
		case isTooLarge(err):
			apiError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("commit body: more than %d bytes", s.maxCmt))
			return head, nil, false
		case err != nil:
			apiError(w, http.StatusBadRequest, "", fmt.Sprintf("line %d: %v", n, err))
			return head, nil, false
		case n == 1 && l.Key != "header":
			apiError(w, http.StatusBadRequest, "", "the first line must be the header")
			return head, nil, false
		case n == 1:
			head = l
			continue
		}
		op, err := s.parseOp(n, l)
		if err != nil {
			var bad *opError
			if errors.As(err, &bad) {
				apiError(w, http.StatusBadRequest, "", err.Error())
			} else {
				s.internal(w, "commit", err)
			}
			return head, nil, false
		}
		ops = append(ops, op)
		if op.staged != nil {
			staged = append(staged, *op.staged)
		}
	}
	if n == 0 {
		apiError(w, http.StatusBadRequest, "", "the first line must be the header")
		return head, nil, false
	}
	if err := s.storeStaged(staged); err != nil {
		s.internal(w, "commit", err)
		return head, nil, false
	}
	return head, ops, true
}

// parseOp checks one operation line; an inline file is staged as an object (content-addressed,
// so no lock is needed). Errors other than *opError are the server's.
func (s *Server) parseOp(n int, l commitLine) (commitOp, error) {
	v := l.Value
	bad := func(msg string) (commitOp, error) { return commitOp{}, &opError{n, l.Key, msg} }
	op := commitOp{line: n, key: l.Key, path: v.Path}
	if l.Key == "deletedFolder" {
		op.path = strings.TrimSuffix(v.Path, "/") // huggingface_hub ends folder paths with '/'
	}
	if err := hub.ValidatePath(op.path); err != nil {
		return bad(err.Error())
	}
	switch l.Key {
	case "file":
		if v.Encoding != "base64" {
			return bad("encoding must be base64")
		}
		content, err := base64.StdEncoding.DecodeString(v.Content)
		if err != nil {
			return bad("content is not base64")
		}
		oid, staged, err := s.stageBytes(content)
		if err != nil {
			return commitOp{}, err
		}
		op.staged = staged
		op.file = fileEntry{Path: op.path, Size: int64(len(content)), SHA256: oid, BlobID: gitBlobIDOf(content)}
	case "lfsFile":
		if v.Algo != "sha256" {
			return bad("algo must be sha256")
		}
		if !isOID(v.OID) {
			return bad("invalid oid")
		}
		if v.Size < 0 {
			return bad("negative size")
		}
		op.file = fileEntry{Path: op.path, Size: v.Size, SHA256: v.OID, LFS: true}
	case "deletedFile", "deletedFolder":
	default:
		return bad("unknown key")
	}
	return op, nil
}

// applyOps returns the parent's files with ops applied in order. An lfsFile must name an
// object uploaded to this repo or already in the parent's tree: knowing a sha256 is no proof
// of having the file.
func (s *Server) applyOps(repo string, parent *commitMeta, ops []commitOp) ([]fileEntry, error) {
	tree := &pathTrie{}
	inParent := map[string]bool{}
	for _, f := range parent.Files {
		tree.put(f)
		if f.LFS {
			inParent[f.SHA256] = true
		}
	}
	for _, op := range ops {
		bad := func(msg string) error { return &opError{op.line, op.key, msg} }
		switch op.key {
		case "file":
			tree.put(op.file)
		case "lfsFile":
			f := op.file
			size, ok := s.repoObjectSize(repo, f.SHA256)
			if !ok && inParent[f.SHA256] {
				size, ok = s.objectSizeOK(f.SHA256)
			}
			if !ok {
				return nil, bad("LFS object " + f.SHA256 + " was not uploaded to this repo")
			}
			if f.Size != 0 && f.Size != size {
				return nil, bad(fmt.Sprintf("size %d, uploaded object has %d", f.Size, size))
			}
			f.Size = size
			tree.put(f)
		case "deletedFile":
			if !tree.remove(op.path) {
				return nil, bad("no such file")
			}
		case "deletedFolder":
			tree.removeFolder(op.path)
		}
	}
	files := tree.collect(nil)
	sortFiles(files)
	return files, checkTree(files)
}

// pathTrie is a file tree keyed by path segment: adding or deleting a file, or deleting a
// whole folder, costs the path's length, however large the tree.
type pathTrie struct {
	file     *fileEntry
	children map[string]*pathTrie
}

func (t *pathTrie) walk(p string, create bool) *pathTrie {
	for seg := range strings.SplitSeq(p, "/") {
		next := t.children[seg]
		if next == nil {
			if !create {
				return nil
			}
			if t.children == nil {
				t.children = map[string]*pathTrie{}
			}
			next = &pathTrie{}
			t.children[seg] = next
		}
		t = next
	}
	return t
}

func (t *pathTrie) put(f fileEntry) { t.walk(f.Path, true).file = &f }

// remove deletes the file at p, reporting whether there was one.
func (t *pathTrie) remove(p string) bool {
	n := t.walk(p, false)
	if n == nil || n.file == nil {
		return false
	}
	n.file = nil
	return true
}

// removeFolder deletes every file under p/ (not a file named p).
func (t *pathTrie) removeFolder(p string) {
	if n := t.walk(p, false); n != nil {
		n.children = nil
	}
}

func (t *pathTrie) collect(out []fileEntry) []fileEntry {
	if t.file != nil {
		out = append(out, *t.file)
	}
	for _, c := range t.children {
		out = c.collect(out)
	}
	return out
}
