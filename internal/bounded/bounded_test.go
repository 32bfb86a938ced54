package bounded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
