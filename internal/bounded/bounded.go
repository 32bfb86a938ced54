// Package bounded reads untrusted input whole, up to a limit: a larger input is an error,
// never a truncated read and never an unbounded allocation. Its files are regular files: a
// FIFO or a device in their place is an error, never an open or a read that blocks forever.
package bounded

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrTooLarge is returned for input over the limit.
var ErrTooLarge = errors.New("input too large")

// ErrNotRegular is returned for a path that names something other than a regular file (after
// symlinks): a FIFO, socket or device.
var ErrNotRegular = errors.New("not a regular file")

// Open opens the regular file at path for reading. A FIFO would block open until a writer
// comes, and a device (/dev/zero) never ends; O_NONBLOCK makes the open of a FIFO return at
// once (it changes nothing for a regular file), and anything but a regular file is refused.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())}
	}
	return f, nil
}

// ReadAll reads r to the end; more than limit bytes is an error wrapping ErrTooLarge.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}

// ReadFile reads the regular file at path (see [Open]), of at most limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := ReadAll(f, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}
