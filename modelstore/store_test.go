package modelstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The layout tests of taoverse's test_disk_utils.py, on our Store.
func TestLayout(t *testing.T) {
	base := t.TempDir()
	s, err := Open(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := Ref{Namespace: "test-namespace", Name: "test-name", Commit: "test-commit"}
	sep := string(filepath.Separator)
	if got, want := s.MinersDir(), base+sep+"models"; got != want {
		t.Errorf("MinersDir = %q, want %q", got, want)
	}
	if got, _ := s.MinerDir("test-hotkey"); got != base+sep+"models"+sep+"test-hotkey" {
		t.Errorf("MinerDir = %q", got)
	}
	want := base + sep + "models" + sep + "test-hotkey" + sep + "models--test-namespace--test-name" + sep + "snapshots" + sep + "test-commit"
	if got, err := s.SnapshotDir("test-hotkey", ref); err != nil || got != want {
		t.Errorf("SnapshotDir = %q, %v, want %q", got, err, want)
	}
	for _, bad := range []struct {
		hotkey string
		ref    Ref
	}{
		{"..", ref},
		{"a/b", ref},
		{"h", Ref{"..", "n", "c"}},
		{"h", Ref{"ns", "n/../../x", "c"}},
		{"h", Ref{"ns", "n", ""}},
		{"h", Ref{"ns", "n", "c.partial"}},
		{"h", Ref{"a--b", "n", "c"}},
	} {
		if got, err := s.SnapshotDir(bad.hotkey, bad.ref); err == nil {
			t.Errorf("SnapshotDir(%q, %+v) = %q, want an error", bad.hotkey, bad.ref, got)
		}
	}
}

// fakeDownloader writes fixed files into dest, as a Downloader must: all at once.
type fakeDownloader struct {
	calls int
	err   error
	files map[string]string
}

func (f *fakeDownloader) Download(ctx context.Context, repo, commit, dest string, maxBytes int64) error {
	f.calls++
	if f.err != nil {
		return f.err
	}
	tmp := dest + partialSuffix
	for name, content := range f.files {
		p := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return os.Rename(tmp, dest)
}

func TestFetchAndRetrieve(t *testing.T) {
	s, _ := Open(t.TempDir(), nil)
	ref := Ref{"ns", "name", strings.Repeat("a", 40)}
	if _, err := s.Retrieve("hk", ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retrieve before download = %v, want ErrNotFound", err)
	}
	// A partial download is never retrieved.
	snap, _ := s.SnapshotDir("hk", ref)
	if err := os.MkdirAll(snap+partialSuffix, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Retrieve("hk", ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Retrieve with only a partial download = %v, want ErrNotFound", err)
	}
	os.RemoveAll(snap + partialSuffix)

	failing := &fakeDownloader{err: errors.New("boom")}
	if _, _, err := s.Fetch(t.Context(), failing, "hk", ref, 0); err == nil || !strings.Contains(err.Error(), "ns/name") {
		t.Errorf("Fetch with a failing download = %v, want an error naming the repo", err)
	}
	d := &fakeDownloader{files: map[string]string{"config.json": "{}", "model.safetensors": "w"}}
	dir, hash, err := s.Fetch(t.Context(), d, "hk", ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := HashDir(dir); hash != want || dir != snap {
		t.Errorf("Fetch = %s %s, want %s %s", dir, hash, snap, want)
	}
	if _, _, err := s.Fetch(t.Context(), d, "hk", ref, 0); err != nil || d.calls != 1 {
		t.Errorf("second Fetch: %v, %d downloads, want 1", err, d.calls)
	}
	if got, err := s.Retrieve("hk", ref); err != nil || got != snap {
		t.Errorf("Retrieve = %q, %v", got, err)
	}
	if n, err := s.DiskUsage(); err != nil || n != 3 {
		t.Errorf("DiskUsage = %d, %v, want 3", n, err)
	}
}

// TestDeleteUnreferenced checks the cleanup rules with controlled mtimes: the kept snapshot
// stays; other commits of a kept hotkey and whole unkept hotkeys go once their newest file is
// older than the grace period; anything with a recent file stays; empty dirs go.
func TestDeleteUnreferenced(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-time.Hour), now.Add(-time.Minute)
	const grace = 10 * time.Minute
	base := t.TempDir()
	s, _ := Open(base, nil)
	keep := Ref{"ns", "m", "keep"}
	type file struct {
		path  string
		mtime time.Time
	}
	files := []file{
		{"models/hk1/models--ns--m/snapshots/keep/w", old},            // kept snapshot, old: stays
		{"models/hk1/models--ns--m/snapshots/stale/w", old},           // other commit, old: removed
		{"models/hk1/models--ns--m/snapshots/fresh/w", recent},        // other commit, recent: stays
		{"models/hk1/models--ns--m/snapshots/mixed/a", old},           // newest file decides
		{"models/hk1/models--ns--m/snapshots/mixed/sub/b", recent},    // ... and it is recent: stays
		{"models/hk1/models--ns--other/snapshots/c1/w", old},          // other repo of a kept hotkey: removed
		{"models/hk1/models--ns--m/snapshots/dl.partial/w", old},      // stale partial download: removed
		{"models/hk1/models--ns--m/snapshots/live.partial/w", recent}, // live partial download: stays
		{"models/hk2/models--x--y/snapshots/c/w", old},                // unkept hotkey, old: removed
		{"models/hk3/models--x--y/snapshots/c/w", recent},             // unkept hotkey, recent: stays
	}
	for _, f := range files {
		p := filepath.Join(base, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(base, "models/hk4/empty"), 0o755); err != nil { // no files: removed
		t.Fatal(err)
	}
	removed, err := s.DeleteUnreferenced(map[string]Ref{"hk1": keep}, grace, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range removed {
		removed[i], _ = filepath.Rel(base, removed[i])
	}
	slices.Sort(removed)
	want := []string{
		"models/hk1/models--ns--m/snapshots/dl.partial",
		"models/hk1/models--ns--m/snapshots/stale",
		"models/hk1/models--ns--other/snapshots/c1",
		"models/hk2",
		"models/hk4",
	}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(base, f.path))
		gone := slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(f.path, w+"/") })
		if (err != nil) != gone {
			t.Errorf("%s: exists=%v, want %v", f.path, err == nil, !gone)
		}
	}
}

// taoverse test_get_newest_datetime_under_path(_empty) and test_remove_dir_out_of_grace(_in_grace).
func TestNewestMtimeAndGrace(t *testing.T) {
	dir := t.TempDir()
	if got := newestMtime(dir); !got.IsZero() {
		t.Errorf("newestMtime(empty) = %v, want the zero time (datetime.min)", got)
	}
	t1, t2 := time.Unix(1_700_000_000, 0), time.Unix(1_700_000_100, 0)
	for name, mt := range map[string]time.Time{"a/test1.txt": t2, "test2.txt": t1} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mt, mt)
	}
	if got := newestMtime(dir); !got.Equal(t2) {
		t.Errorf("newestMtime = %v, want %v (the newest, not the oldest: pretraining#181)", got, t2)
	}
	if removed, err := removeIfStale(dir, 60*time.Second, t2.Add(59*time.Second)); removed || err != nil {
		t.Errorf("removeIfStale within grace = %v, %v", removed, err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal("removed within grace")
	}
	if removed, err := removeIfStale(dir, 60*time.Second, t2.Add(61*time.Second)); !removed || err != nil {
		t.Errorf("removeIfStale out of grace = %v, %v", removed, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("not removed out of grace")
	}
}
