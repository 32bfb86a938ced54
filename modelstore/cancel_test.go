package modelstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestHashDirStopsOnCancel: hashing stops with the context's error instead of reading every
// file to the end; with a live context it gives HashDir's answer.
func TestHashDirStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := HashDirContext(ctx, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("HashDirContext(cancelled) error = %v, want context.Canceled", err)
	}
	want, err := HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := HashDirContext(t.Context(), dir); err != nil || got != want {
		t.Errorf("HashDirContext = %q, %v; HashDir %q", got, err, want)
	}
}
