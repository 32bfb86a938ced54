package hubserver

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pretrain/pretrain/internal/atomicfile"
)

// On disk, under Config.Dir (format version 1, JSON, written atomically):
//
//	objects/<sha256>                        file contents, regular and LFS alike
//	repos/<ns>/<name>/repo.json             {"version":1,"private":bool,"head":"<commit>"}
//	repos/<ns>/<name>/commits/<commit>.json a commit and its whole file list
//	repos/<ns>/<name>/lfs/<sha256>          empty: the object was uploaded to this repo
//	tmp/                                    uploads in progress
//
// Later additions are optional fields (created, blob_id) that older stores lack.

const formatVersion = 1

type repoMeta struct {
	Version int       `json:"version"`
	Private bool      `json:"private"`
	Head    string    `json:"head"`
	Created time.Time `json:"created,omitzero"`
}

// fileEntry is a file of a commit's tree.
type fileEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	LFS    bool   `json:"lfs"`
	BlobID string `json:"blob_id,omitempty"` // git blob id of a regular file
}

type commitMeta struct {
	Version     int         `json:"version"`
	ID          string      `json:"id"`
	Parent      string      `json:"parent,omitempty"`
	Summary     string      `json:"summary"`
	Description string      `json:"description,omitempty"`
	Time        time.Time   `json:"time"`
	Files       []fileEntry `json:"files"`
}

// lfsPointer is the Git LFS pointer file stored in git for an LFS file; its git blob id is the
// file's blobId in the model info, as on the Hub.
func lfsPointer(oid string, size int64) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, size)
}

// gitBlobID is git's object id of a blob: sha1("blob <size>\0" + content).
func gitBlobID(r io.Reader, size int64) (string, error) {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", size)
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// gitBlobIDOf is the git blob id of content in memory.
func gitBlobIDOf(content []byte) string {
	id, _ := gitBlobID(bytes.NewReader(content), int64(len(content)))
	return id
}

// blobID is a file's git blob id: of its LFS pointer, or of its content (recorded at commit;
// computed from the stored object for files committed before it was).
func (s *Server) blobID(f fileEntry) string {
	switch {
	case f.LFS:
		return gitBlobIDOf([]byte(lfsPointer(f.SHA256, f.Size)))
	case f.BlobID != "":
		return f.BlobID
	}
	in, err := os.Open(s.objectPath(f.SHA256))
	if err != nil {
		return ""
	}
	defer in.Close()
	id, _ := gitBlobID(in, f.Size)
	return id
}

func (s *Server) repoDir(repo string) string {
	return filepath.Join(s.dir, "repos", filepath.FromSlash(repo))
}

func (s *Server) objectPath(oid string) string { return filepath.Join(s.dir, "objects", oid) }

func (s *Server) readRepo(repo string) (*repoMeta, error) {
	var m repoMeta
	if err := readJSON(filepath.Join(s.repoDir(repo), "repo.json"), &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func (s *Server) readCommit(repo, id string) (*commitMeta, error) {
	var c commitMeta
	if err := readJSON(filepath.Join(s.repoDir(repo), "commits", id+".json"), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path atomically: temp file, fsync, rename, fsync the directory.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// putObject stores r as an object if its sha256 and size are as given (want empty: any),
// durably, and returns its sha256.
func (s *Server) putObject(r io.Reader, wantOID string, wantSize int64) (string, error) {
	tmp, oid, err := s.writeTemp(r, wantOID, wantSize, true)
	if err != nil {
		return "", err
	}
	if err := s.install(tmp, oid); err != nil {
		return "", err
	}
	return oid, atomicfile.SyncDir(filepath.Join(s.dir, "objects"))
}

// writeTemp copies r to a new file in tmp/, checks its size and sha256 (want empty: any) and
// syncs it if asked. The caller installs or removes the file.
func (s *Server) writeTemp(r io.Reader, wantOID string, wantSize int64, sync bool) (path, oid string, err error) {
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "obj-*")
	if err != nil {
		return "", "", err
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, wantSize+1))
	if err != nil {
		return "", "", err
	}
	oid = hex.EncodeToString(h.Sum(nil))
	if n != wantSize {
		return "", "", fmt.Errorf("got %d bytes, want %d", n, wantSize)
	}
	if wantOID != "" && oid != wantOID {
		return "", "", fmt.Errorf("sha256 %s, want %s", oid, wantOID)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return "", "", err
		}
	}
	return tmp.Name(), oid, nil
}

// install moves a checked temporary file into the store under its sha256, unless an object of
// that name is already there.
func (s *Server) install(tmp, oid string) error {
	if _, err := os.Stat(s.objectPath(oid)); err == nil {
		return os.Remove(tmp)
	}
	return os.Rename(tmp, s.objectPath(oid))
}

// stagedObject is an object written to tmp/, neither synced nor in the store yet.
type stagedObject struct{ tmp, oid string }

// stageBytes writes content to tmp/ unless its object is already stored (staged is nil then).
func (s *Server) stageBytes(content []byte) (oid string, staged *stagedObject, err error) {
	sum := sha256.Sum256(content)
	oid = hex.EncodeToString(sum[:])
	if size, ok := s.objectSizeOK(oid); ok && size == int64(len(content)) {
		return oid, nil, nil
	}
	tmp, oid, err := s.writeTemp(bytes.NewReader(content), oid, int64(len(content)), false)
	if err != nil {
		return "", nil, err
	}
	return oid, &stagedObject{tmp, oid}, nil
}

// storeStaged makes staged objects durable, then moves them into the store and syncs their
// names: no object ever appears under its name before its bytes are on disk, so a crash
// cannot leave a stored object whose content does not match its name. The staged files are
// removed whatever happens.
func (s *Server) storeStaged(staged []stagedObject) error {
	if len(staged) == 0 {
		return nil
	}
	defer removeStaged(staged) // installed ones are gone already
	tmps := make([]string, len(staged))
	for i, st := range staged {
		tmps[i] = st.tmp
	}
	if err := s.syncFiles(tmps); err != nil {
		return err
	}
	for _, st := range staged {
		if err := s.install(st.tmp, st.oid); err != nil {
			return err
		}
	}
	return atomicfile.SyncDir(filepath.Join(s.dir, "objects"))
}

func removeStaged(staged []stagedObject) {
	for _, st := range staged {
		os.Remove(st.tmp)
	}
}

// objectSizeOK returns the size of a stored object, ok=false if it is missing.
func (s *Server) objectSizeOK(oid string) (int64, bool) {
	fi, err := os.Stat(s.objectPath(oid))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

func (s *Server) lfsMarkerPath(repo, oid string) string {
	return filepath.Join(s.repoDir(repo), "lfs", oid)
}

// addRepoObject records that an object's bytes were uploaded to repo.
func (s *Server) addRepoObject(repo, oid string) error {
	return writeAtomic(s.lfsMarkerPath(repo, oid), nil)
}

// repoObjectSize returns the size of an object uploaded to repo, ok=false if it was not.
func (s *Server) repoObjectSize(repo, oid string) (int64, bool) {
	if _, err := os.Stat(s.lfsMarkerPath(repo, oid)); err != nil {
		return 0, false
	}
	return s.objectSizeOK(oid)
}

// newCommitID derives a 40-hex id from the commit's content, like git (which hashes the tree,
// parent, author time and message).
func newCommitID(c *commitMeta) string {
	b, _ := json.Marshal(struct {
		Parent, Summary, Description string
		Time                         time.Time
		Files                        []fileEntry
	}{c.Parent, c.Summary, c.Description, c.Time, c.Files})
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// errTreeConflict reports a file that would also be a directory.
var errTreeConflict = errors.New("a path is both a file and a directory")

// checkTree rejects trees where one path is a prefix directory of another.
func checkTree(files []fileEntry) error {
	set := map[string]bool{}
	for _, f := range files {
		set[f.Path] = true
	}
	for _, f := range files {
		for dir := f.Path; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			dir = dir[:i]
			if set[dir] {
				return fmt.Errorf("%q and %q: %w", dir, f.Path, errTreeConflict)
			}
		}
	}
	return nil
}

func sortFiles(files []fileEntry) {
	slices.SortFunc(files, func(a, b fileEntry) int { return strings.Compare(a.Path, b.Path) })
}

// initDirs creates the store's directories and checks its format.
func initDirs(dir string) error {
	for _, d := range []string{"objects", "repos", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// Leftover uploads of a crashed server are garbage.
	return filepath.WalkDir(filepath.Join(dir, "tmp"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Remove(p)
		}
		return nil
	})
}

// repoHasObject reports whether an object of that size was uploaded to repo.
func (s *Server) repoHasObject(repo, oid string, size int64) bool {
	got, ok := s.repoObjectSize(repo, oid)
	return ok && got == size
}
