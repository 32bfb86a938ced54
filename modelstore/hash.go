package modelstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"

	"github.com/pretrain/pretrain/internal/bounded"
)

// hashBlockSize is the read size of the reference's get_hash_of_file (64 KiB). The digest does
// not depend on it; it only bounds memory.
const hashBlockSize = 64 << 10

// HashFile returns base64(sha256(contents of path)), the reference's get_hash_of_file
// (taoverse model/storage/disk/utils.py). A symlink is followed, as Python's open does.
func HashFile(path string) (string, error) { return hashFile(context.Background(), path) }

func hashFile(ctx context.Context, path string) (string, error) {
	// Python would hang on a FIFO or hash a device forever; only regular files are hashed.
	f, err := bounded.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash file %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, hashBlockSize)); err != nil {
		return "", fmt.Errorf("hash file %s: %w", path, err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// ctxReader fails its reads once ctx ends: a multi-gigabyte file stops hashing within a
// block of an interrupt.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// HashDir returns the reference's get_hash_of_directory (taoverse model/storage/disk/utils.py): one
// sha256 fed with the base64 file hash of every file, in the order of Python's os.walk(dir)
// top-down with dirnames sorted in place and filenames sorted, and returned base64-encoded.
//
// It reproduces os.walk's rules on Linux with followlinks=False:
//   - the files of a directory come before anything in its subdirectories;
//   - names sort as Python str: by code point after decoding the bytes as UTF-8 with
//     surrogateescape, which differs from byte order only for names that are not valid UTF-8;
//   - an entry is a directory if it is one after following symlinks (DirEntry.is_dir()), but a
//     symlink to a directory is never descended into and contributes nothing;
//   - every other entry (regular file, symlink to a file) is a file and is hashed by content.
//
// Where the reference silently skips a directory it cannot list, or crashes on a dangling
// symlink, HashDir returns an error instead.
func HashDir(dir string) (string, error) { return HashDirContext(context.Background(), dir) }

// HashDirContext is [HashDir] that stops, with ctx's error, once ctx ends.
func HashDirContext(ctx context.Context, dir string) (string, error) {
	h := sha256.New()
	if err := hashWalk(dir, func(path string) error {
		fh, err := hashFile(ctx, path)
		if err != nil {
			return err
		}
		_, _ = io.WriteString(h, fh)
		return nil
	}); err != nil {
		return "", fmt.Errorf("hash dir %s: %w", dir, err)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// HashTwoStrings returns base64(sha256(a + b)), the reference's get_hash_of_two_strings
// (taoverse model/utils.py).
func HashTwoStrings(a, b string) string {
	sum := sha256.Sum256([]byte(a + b))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// SecureHash returns the hotkey-salted hash a miner commits on chain: HashTwoStrings(dirHash,
// hotkey), with the hotkey in its SS58 form (as the reference's push and sync_model salt it).
func SecureHash(dirHash, hotkey string) string { return HashTwoStrings(dirHash, hotkey) }

// hashWalk calls file for every file under dir in os.walk order (see HashDir).
func hashWalk(dir string, file func(path string) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var dirs, files []string
	for _, e := range entries {
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			// DirEntry.is_dir() follows the link; a dangling link counts as a file.
			fi, err := os.Stat(filepath.Join(dir, e.Name()))
			if err != nil {
				files = append(files, e.Name()) // hashing it reports the error, as Python's open does
				continue
			}
			if fi.IsDir() {
				continue // listed in dirnames but never walked (followlinks=False): contributes nothing
			}
			isDir = false
		}
		if isDir {
			dirs = append(dirs, e.Name())
		} else {
			files = append(files, e.Name())
		}
	}
	slices.SortFunc(files, pyCompare)
	slices.SortFunc(dirs, pyCompare)
	for _, name := range files {
		if err := file(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	for _, name := range dirs {
		if err := hashWalk(filepath.Join(dir, name), file); err != nil {
			return err
		}
	}
	return nil
}

// pyCompare orders two file names as CPython orders the str values os.listdir gives for them
// on Linux: the bytes are decoded as UTF-8 with the surrogateescape handler (an undecodable
// byte b becomes U+DC00+b) and the code points are compared. Go's utf8.DecodeRuneInString
// rejects exactly the byte sequences CPython's strict decoder rejects (overlongs, surrogates,
// values above U+10FFFF, truncated sequences), and each rejected byte is escaped on its own in
// both, so decoding one byte at a time on error gives CPython's code points.
func pyCompare(a, b string) int {
	for len(a) > 0 && len(b) > 0 {
		ra, na := pyDecode(a)
		rb, nb := pyDecode(b)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case len(a) == len(b):
		return 0
	case len(a) == 0:
		return -1
	default:
		return 1
	}
}

// pyDecode returns the code point CPython's surrogateescape decoding gives for the start of s,
// and how many bytes it used.
func pyDecode(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		return 0xDC00 + rune(s[0]), 1
	}
	return r, n
}

// ErrHashMismatch means a downloaded model is not the one committed on chain.
var ErrHashMismatch = errors.New("hash of downloaded content does not match chain metadata")

// CheckHash applies the reference's hash check (taoverse ModelUpdater.sync_model):
// a model whose directory hash equals the metadata's plain hash passes
// (the legacy 4-field form; metaHash is "" for None, as in every 5-field commitment); otherwise
// SecureHash(dirHash, hotkey) must equal the metadata's secure hash.
func CheckHash(dirHash, hotkey, metaHash, metaSecureHash string) error {
	if dirHash == metaHash {
		return nil
	}
	if SecureHash(dirHash, hotkey) != metaSecureHash {
		return fmt.Errorf("check hash for %s: %w", hotkey, ErrHashMismatch)
	}
	return nil
}
