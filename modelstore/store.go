package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound is returned by [Store.Retrieve] when no complete snapshot is on disk.
var ErrNotFound = errors.New("model not in store")

// partialSuffix marks a download in progress beside its snapshot (hub.PartialSuffix).
const partialSuffix = ".partial"

// Ref names one model at one commit.
type Ref struct {
	Namespace, Name, Commit string
}

// RepoID is "namespace/name".
func (r Ref) RepoID() string { return r.Namespace + "/" + r.Name }

// validate keeps every component a single, harmless path element. Repo ids and commits come
// from chain metadata, i.e. from strangers.
func (r Ref) validate() error {
	for _, p := range []struct{ what, v string }{{"namespace", r.Namespace}, {"name", r.Name}, {"commit", r.Commit}} {
		if err := pathElem(p.v); err != nil {
			return fmt.Errorf("model %s@%s: %s: %w", r.RepoID(), r.Commit, p.what, err)
		}
	}
	if strings.Contains(r.Namespace, "--") || strings.Contains(r.Name, "--") {
		return fmt.Errorf("model %s: \"--\" would make the cache directory ambiguous", r.RepoID())
	}
	return nil
}

func pathElem(s string) error {
	if s == "" || s == "." || s == ".." || len(s) > 255 || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("%q is not a valid path element", s)
	}
	if strings.HasSuffix(s, partialSuffix) {
		return fmt.Errorf("%q has the reserved suffix %s", s, partialSuffix)
	}
	return nil
}

// Store is the validator's model cache rooted at a directory, laid out as the Hugging Face
// cache the reference uses: <dir>/models/<hotkey>/models--<ns>--<name>/snapshots/<commit>/
// (taoverse model/storage/disk/utils.py). Its methods are safe for concurrent use as long as
// two goroutines do not fetch the same snapshot at once.
type Store struct {
	dir string
	log *slog.Logger
}

// Open creates <dir>/models if needed and returns the store. log may be nil.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		return nil, fmt.Errorf("open model store %s: %w", dir, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{dir: dir, log: log.With("component", "modelstore")}, nil
}

// MinersDir is <dir>/models.
func (s *Store) MinersDir() string { return filepath.Join(s.dir, "models") }

// MinerDir is <dir>/models/<hotkey>.
func (s *Store) MinerDir(hotkey string) (string, error) {
	if err := pathElem(hotkey); err != nil {
		return "", fmt.Errorf("hotkey: %w", err)
	}
	return filepath.Join(s.MinersDir(), hotkey), nil
}

// SnapshotDir is <dir>/models/<hotkey>/models--<ns>--<name>/snapshots/<commit>.
func (s *Store) SnapshotDir(hotkey string, ref Ref) (string, error) {
	miner, err := s.MinerDir(hotkey)
	if err != nil {
		return "", err
	}
	if err := ref.validate(); err != nil {
		return "", err
	}
	return filepath.Join(miner, "models--"+ref.Namespace+"--"+ref.Name, "snapshots", ref.Commit), nil
}

// Retrieve returns the snapshot directory of a model already downloaded completely, or
// ErrNotFound. A download in progress is never returned.
func (s *Store) Retrieve(hotkey string, ref Ref) (string, error) {
	dir, err := s.SnapshotDir(hotkey, ref)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("retrieve %s@%s for %s: %w", ref.RepoID(), ref.Commit, hotkey, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("retrieve %s@%s: %w", ref.RepoID(), ref.Commit, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("retrieve %s@%s: %s is not a directory", ref.RepoID(), ref.Commit, dir)
	}
	return dir, nil
}

// Downloader fetches a model repo at a commit into dest, which it must create atomically
// (only once every file is complete and verified), refusing repos whose files total more than
// maxBytes. [hub.Client] implements it.
type Downloader interface {
	Download(ctx context.Context, repo, commit, dest string, maxBytes int64) error
}

// Fetch returns the snapshot of ref for hotkey and its directory hash, downloading it with d
// first if it is not in the store.
func (s *Store) Fetch(ctx context.Context, d Downloader, hotkey string, ref Ref, maxBytes int64) (dir, hash string, err error) {
	dir, err = s.Retrieve(hotkey, ref)
	if errors.Is(err, ErrNotFound) {
		dir, _ = s.SnapshotDir(hotkey, ref)
		if err = os.MkdirAll(filepath.Dir(dir), 0o755); err == nil {
			err = d.Download(ctx, ref.RepoID(), ref.Commit, dir, maxBytes)
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("fetch %s@%s for %s: %w", ref.RepoID(), ref.Commit, hotkey, err)
	}
	if hash, err = HashDirContext(ctx, dir); err != nil {
		return "", "", fmt.Errorf("fetch %s@%s for %s: %w", ref.RepoID(), ref.Commit, hotkey, err)
	}
	return dir, hash, nil
}

// newestMtime is the newest modification time of the files under dir (following symlinks,
// skipping what cannot be read), or the zero time if there are none: taoverse's
// get_newest_datetime_under_path after the fix of pretraining#181, which had used the oldest.
func newestMtime(dir string) time.Time {
	var newest time.Time
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
		return nil
	})
	return newest
}

// removeIfStale removes dir if its newest file is older than now-grace (a dir without files
// always is), as taoverse's remove_dir_out_of_grace. It reports whether it removed dir.
func removeIfStale(dir string, grace time.Duration, now time.Time) (bool, error) {
	if !newestMtime(dir).Before(now.Add(-grace)) {
		return false, nil
	}
	return true, os.RemoveAll(dir)
}

// DeleteUnreferenced removes what the validator no longer needs, as taoverse's
// DiskModelStore.delete_unreferenced_models: the directory of every hotkey not in keep, and
// under the hotkeys in keep every commit directory (models--*/*/<commit>) other than the kept
// snapshot; each only once its newest file is older than grace (the reference uses 10 min),
// so a download in progress survives. now is the current time. It returns the removed paths;
// a failure on one hotkey does not stop the others.
func (s *Store) DeleteUnreferenced(keep map[string]Ref, grace time.Duration, now time.Time) ([]string, error) {
	valid := map[string]bool{}
	for hotkey, ref := range keep {
		if dir, err := s.SnapshotDir(hotkey, ref); err == nil {
			valid[dir] = true
		}
	}
	hotkeys, err := os.ReadDir(s.MinersDir())
	if err != nil {
		return nil, fmt.Errorf("delete unreferenced models: %w", err)
	}
	var removed []string
	var errs []error
	remove := func(dir string) {
		ok, err := removeIfStale(dir, grace, now)
		if err != nil {
			errs = append(errs, err)
			s.log.Warn("remove model dir", "path", dir, "err", err)
		}
		if ok {
			removed = append(removed, dir)
		}
	}
	for _, h := range hotkeys {
		if !h.IsDir() {
			continue
		}
		hotDir := filepath.Join(s.MinersDir(), h.Name())
		if _, ok := keep[h.Name()]; !ok {
			remove(hotDir)
			continue
		}
		// The reference walks every level (models--*/<any>/<any>), not just snapshots/.
		for _, model := range subdirs(hotDir) {
			for _, mid := range subdirs(model) {
				for _, commit := range subdirs(mid) {
					if !valid[commit] {
						remove(commit)
					}
				}
			}
		}
	}
	return removed, errors.Join(errs...)
}

// subdirs lists the directories (not symlinks) in dir; errors give an empty list, as the
// reference logs and goes on.
func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// DiskUsage is the total size of the regular files under the store's models directory
// (symlinks are not followed).
func (s *Store) DiskUsage() (int64, error) {
	var total int64
	err := filepath.WalkDir(s.MinersDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("disk usage %s: %w", s.MinersDir(), err)
	}
	return total, nil
}
