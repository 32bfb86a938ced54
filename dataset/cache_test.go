package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// countingSource serves synthetic pages of ~size bytes and counts calls.
type countingSource struct {
	calls int
	size  int
	fail  bool
}

func (s *countingSource) Rows(_ context.Context, r RowsRequest) (*RowsPage, error) {
	s.calls++
	if s.fail {
		return nil, &RequestError{Op: "rows", Status: 503, Err: errors.New("busy")}
	}
	text, _ := json.Marshal(fmt.Sprintf("%s/%d/%0*d", r.Dataset, r.Offset, s.size, 0))
	return &RowsPage{Rows: []Row{{"text": text}}, NumRowsTotal: 100}, nil
}

func (s *countingSource) Size(context.Context, string) (*Size, error) {
	s.calls++
	return &Size{}, nil
}

func TestCacheHitMissAndKey(t *testing.T) {
	src := &countingSource{size: 10}
	dir := filepath.Join(t.TempDir(), "pages")
	c, err := NewCache(src, dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	req := RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: 7, Length: 50}
	a, err := c.Rows(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Rows(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 || string(a.Rows[0]["text"]) != string(b.Rows[0]["text"]) {
		t.Errorf("calls = %d, want 1 (second read from disk); rows %s vs %s", src.calls, a.Rows[0]["text"], b.Rows[0]["text"])
	}
	// Every key field matters.
	for _, other := range []RowsRequest{
		{Dataset: "e", Config: "c", Split: "s", Offset: 7, Length: 50},
		{Dataset: "d", Config: "x", Split: "s", Offset: 7, Length: 50},
		{Dataset: "d", Config: "c", Split: "t", Offset: 7, Length: 50},
		{Dataset: "d", Config: "c", Split: "s", Offset: 8, Length: 50},
		{Dataset: "d", Config: "c", Split: "s", Offset: 7, Length: 40},
	} {
		before := src.calls
		if _, err := c.Rows(ctx, other); err != nil {
			t.Fatal(err)
		}
		if src.calls != before+1 {
			t.Errorf("%+v served from cache", other)
		}
	}
	// Size is never cached.
	c.Size(ctx, "d")
	c.Size(ctx, "d")
	if src.calls != 8 {
		t.Errorf("calls = %d, want 8", src.calls)
	}
	// A corrupt entry is refetched, and errors are not cached.
	if err := os.WriteFile(c.path(req), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	src.fail = true
	if _, err := c.Rows(ctx, req); !Retryable(err) {
		t.Errorf("corrupt entry with failing source: err %v, want the source's error", err)
	}
	src.fail = false
	if _, err := c.Rows(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Rows(ctx, req); err != nil || src.calls != 10 {
		t.Errorf("calls = %d, want 10", src.calls)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", info.Mode().Perm())
	}
}

func TestCacheEvictsToBound(t *testing.T) {
	src := &countingSource{size: 1000}
	dir := t.TempDir()
	const limit = 5000
	c, err := NewCache(src, dir, limit, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: int64(i), Length: 50}); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var total int64
	for _, e := range entries {
		info, err := os.Stat(e)
		if err != nil {
			t.Fatal(err)
		}
		total += info.Size()
	}
	if total > limit || len(entries) == 0 {
		t.Errorf("cache holds %d bytes in %d entries, limit %d", total, len(entries), limit)
	}
	// The newest page survived.
	before := src.calls
	if _, err := c.Rows(t.Context(), RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: 19, Length: 50}); err != nil {
		t.Fatal(err)
	}
	if src.calls != before {
		t.Error("most recent page was evicted")
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// endpointSource is a countingSource that reports an endpoint, as Client does.
type endpointSource struct {
	countingSource
	endpoint string
}

func (s *endpointSource) Endpoint() string { return s.endpoint }

// Pages cached from one datasets-server (a local one) are never served for another.
func TestCacheKeyIncludesEndpoint(t *testing.T) {
	dir := t.TempDir()
	local := &endpointSource{countingSource{size: 10}, "http://127.0.0.1:8000"}
	real := &endpointSource{countingSource{size: 20}, DefaultEndpoint}
	req := RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: 7, Length: 50}
	cl, err := NewCache(local, dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Rows(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	cr, err := NewCache(real, dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	page, err := cr.Rows(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if real.calls != 1 || len(page.Rows[0]["text"]) != len(`"d/7/"`)+20 {
		t.Errorf("real endpoint: %d fetches, row %s; want 1 fetch of its own page", real.calls, page.Rows[0]["text"])
	}
	if _, err := cl.Rows(t.Context(), req); err != nil || local.calls != 1 {
		t.Errorf("local endpoint refetched (%d calls, %v); want its cached page", local.calls, err)
	}
}

// TestCacheTamperedPage: a cached page whose rows were edited on disk (valid JSON, right
// key) fails its checksum and is refetched from the source, not served.
func TestCacheTamperedPage(t *testing.T) {
	src := &countingSource{size: 10}
	c, err := NewCache(src, filepath.Join(t.TempDir(), "pages"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := RowsRequest{Dataset: "d", Config: "c", Split: "s", Offset: 7, Length: 50}
	orig, err := c.Rows(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(c.path(req))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(data, []byte("d/7/"), []byte("X/7/"), 1)
	if bytes.Equal(tampered, data) {
		t.Fatalf("row text not found in the entry: %s", data)
	}
	if err := os.WriteFile(c.path(req), tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := c.Rows(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 2 || string(got.Rows[0]["text"]) != string(orig.Rows[0]["text"]) {
		t.Errorf("after tampering: %d source calls (want 2), row %s (want %s)", src.calls, got.Rows[0]["text"], orig.Rows[0]["text"])
	}
}
