package localchain

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// TestOpenRefusesEmptyAndSpecialFiles: SQLite would take an empty file for a new database,
// so a command pointed at the wrong file would silently start a chain there; a FIFO would
// block the open.
func TestOpenRefusesEmptyAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.db")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{empty, fifo, dir} {
		if c, err := Open(t.Context(), Config{Path: p, Manual: true}); !errors.Is(err, chain.ErrInvalid) {
			t.Errorf("Open(%s) error = %v, want ErrInvalid", p, err)
			if c != nil {
				c.Close()
			}
		}
	}
	if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was written to (%v)", err)
	}
	// A chain that exists reopens.
	c, path := openManual(t)
	c.Close()
	c2, err := Open(t.Context(), Config{Path: path, Manual: true})
	if err != nil {
		t.Fatalf("reopen a chain: %v", err)
	}
	c2.Close()
}

// TestAddStakeZero: a stake of 0 rao (an amount that rounds to nothing) is refused.
func TestAddStakeZero(t *testing.T) {
	c, _ := openManual(t)
	hot, cold := key(t, "//Alice"), key(t, "//Bob")
	if err := c.AddStake(t.Context(), hot.SS58(), cold.SS58(), 0); !errors.Is(err, chain.ErrInvalid) {
		t.Errorf("AddStake(0 rao) error = %v, want ErrInvalid", err)
	}
}
