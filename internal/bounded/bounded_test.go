package bounded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadAll(t *testing.T) {
	for _, tt := range []struct {
		in    string
		limit int64
		ok    bool
	}{{"", 0, true}, {"abc", 3, true}, {"abcd", 3, false}, {"a", 0, false}} {
		b, err := ReadAll(strings.NewReader(tt.in), tt.limit)
		switch {
		case tt.ok && (err != nil || string(b) != tt.in):
			t.Errorf("ReadAll(%q, %d) = %q, %v", tt.in, tt.limit, b, err)
		case !tt.ok && !errors.Is(err, ErrTooLarge):
			t.Errorf("ReadAll(%q, %d) error = %v, want ErrTooLarge", tt.in, tt.limit, err)
		}
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("hello"), 0o600)
	if b, err := ReadFile(p, 5); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, err := ReadFile(p, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the limit: %v", err)
	}
	if _, err := ReadFile(p+"x", 4); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

// TestSpecialFiles: a FIFO (which would block open until a writer comes) and a device (which
// never ends) are refused at once; a symlink to a regular file is followed.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", dir} {
		if _, err := ReadFile(p, 10); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile(%s) error = %v, want ErrNotRegular", p, err)
		}
		if f, err := Open(p); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(%s) error = %v, want ErrNotRegular", p, err)
			if f != nil {
				f.Close()
			}
		}
	}
	reg := filepath.Join(dir, "reg")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(reg, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(reg, link); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(link, 10); err != nil || string(b) != "x" {
		t.Errorf("ReadFile(symlink to a file) = %q, %v", b, err)
	}
}
