package dataset

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/bounded"
)

// DefaultCacheBytes bounds the page cache on disk.
const DefaultCacheBytes = 2 << 30

// cacheVersion is stored in every entry; entries of another version are ignored. Version 2
// added the endpoint to the key, version 3 the page's checksum.
const cacheVersion = 3

// Cache is a Source that keeps validated /rows pages on disk, keyed by (endpoint, dataset,
// config, split, offset, length), so a local datasets-server's pages are never served for the
// real one, and so a retried step or a second validator reuses them. /size is
// never cached: its row counts change and the reference re-reads them every round.
// Entries are written atomically; the least recently used are removed past MaxBytes.
type Cache struct {
	src      Source
	endpoint string
	dir      string
	maxBytes int64
	log      *slog.Logger
	mu       sync.Mutex // serializes eviction
}

var _ Source = (*Cache)(nil)

// NewCache returns a cache in dir (created 0700) in front of src. maxBytes 0 means
// DefaultCacheBytes.
func NewCache(src Source, dir string, maxBytes int64, log *slog.Logger) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("page cache %s: %w", dir, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The endpoint comes from the source (Client.Endpoint); a source without one keys as "".
	var endpoint string
	if e, ok := src.(interface{ Endpoint() string }); ok {
		endpoint = e.Endpoint()
	}
	return &Cache{src: src, endpoint: endpoint, dir: dir, maxBytes: cmp.Or(maxBytes, DefaultCacheBytes), log: log.With("component", "dataset_cache")}, nil
}

// HasToken forwards to the wrapped source.
func (c *Cache) HasToken() bool {
	t, ok := c.src.(interface{ HasToken() bool })
	return ok && t.HasToken()
}

type cacheEntry struct {
	Version  int    `json:"version"`
	Endpoint string `json:"endpoint"`
	Dataset  string `json:"dataset"`
	Config   string `json:"config"`
	Split    string `json:"split"`
	Offset   int64  `json:"offset"`
	Length   int    `json:"length"`
	// SHA256 is the hex sha256 of Page's bytes: a page edited or damaged on disk is
	// refetched, never read as the datasets-server's.
	SHA256 string          `json:"sha256"`
	Page   json.RawMessage `json:"page"`
}

func (c *Cache) path(r RowsRequest) string {
	key := strings.Join([]string{c.endpoint, r.Dataset, r.Config, r.Split, strconv.FormatInt(r.Offset, 10), strconv.Itoa(r.Length)}, "\x00")
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:])+".json")
}

// Rows returns the cached page or fetches, validates and stores it.
func (c *Cache) Rows(ctx context.Context, r RowsRequest) (*RowsPage, error) {
	p := c.path(r)
	if page, ok := c.read(p, r); ok {
		return page, nil
	}
	page, err := c.src.Rows(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := c.write(p, r, page); err != nil {
		c.log.Warn("page cache write failed", "err", err)
	}
	return page, nil
}

// Size is never cached.
func (c *Cache) Size(ctx context.Context, dataset string) (*Size, error) {
	return c.src.Size(ctx, dataset)
}

func (c *Cache) read(p string, r RowsRequest) (*RowsPage, bool) {
	data, err := bounded.ReadFile(p, c.maxBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	var e cacheEntry
	var page RowsPage
	if err != nil || json.Unmarshal(data, &e) != nil || e.Version != cacheVersion || e.Endpoint != c.endpoint ||
		e.Dataset != r.Dataset || e.Config != r.Config || e.Split != r.Split || e.Offset != r.Offset || e.Length != r.Length ||
		e.SHA256 != pageSum(e.Page) || json.Unmarshal(e.Page, &page) != nil || len(page.Rows) > r.Length {
		c.log.Warn("page cache entry unusable, refetching", "path", p)
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // recency for eviction
	return &page, true
}

func pageSum(page []byte) string {
	sum := sha256.Sum256(page)
	return hex.EncodeToString(sum[:])
}

func (c *Cache) write(p string, r RowsRequest, page *RowsPage) error {
	pageJSON, err := json.Marshal(page)
	if err != nil {
		return err
	}
	data, err := json.Marshal(cacheEntry{Version: cacheVersion, Endpoint: c.endpoint, Dataset: r.Dataset, Config: r.Config, Split: r.Split,
		Offset: r.Offset, Length: r.Length, SHA256: pageSum(pageJSON), Page: pageJSON})
	if err != nil {
		return err
	}
	if int64(len(data)) > c.maxBytes {
		return nil // larger than the whole cache: not worth keeping
	}
	if err := atomicfile.WriteFile(p, data, 0o600); err != nil {
		return fmt.Errorf("page cache: %w", err)
	}
	return c.evict()
}

// evict removes the least recently used entries until the cache fits in maxBytes.
func (c *Cache) evict() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != c.dir {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".json") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		files = append(files, file{path, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return fmt.Errorf("page cache scan: %w", err)
	}
	if total <= c.maxBytes {
		return nil
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= c.maxBytes {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("page cache evict: %w", err)
		}
		total -= f.size
	}
	return nil
}
