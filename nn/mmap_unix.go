//go:build unix

package nn

import (
	"fmt"
	"syscall"

	"github.com/pretrain/pretrain/internal/bounded"
)

// mapFile maps a file read-only, so weights are paged in on use and shared with the page cache.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := bounded.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if size != int64(int(size)) {
		return nil, nil, fmt.Errorf("file of %d bytes too large to map", size)
	}
	buf, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return buf, func() error { return syscall.Munmap(buf) }, nil
}
