package screenshot

import (
	"path/filepath"
	"testing"
)

func TestFileName(t *testing.T) {
	for path, want := range map[string]string{
		"/": "index.png", "": "index.png", "/competition/99": "competition-99.png", "/uid/3": "uid-3.png",
		"/validators": "validators.png", "/../x": "---x.png", "/a b/é": "a-b--.png",
	} {
		if got := FileName(path); got != want || filepath.Base(got) != got {
			t.Errorf("FileName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestStartWithoutBrowser(t *testing.T) {
	if _, _, err := Start(t.Context(), filepath.Join(t.TempDir(), "no-such-browser")); err == nil {
		t.Error("Start with a missing executable succeeded")
	}
}
