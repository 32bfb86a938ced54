package hub_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/internal/stall"
)

// stallingHub serves a model whose model.safetensors (size bytes) comes at most chunk bytes
// per request, honouring Range, after which the response stalls until the client gives up.
// With chunk 0 no response headers are sent at all. It records each request's Range header.
func stallingHub(t *testing.T, size, chunk int) (endpoint, commit string, weights []byte, ranges func() []string) {
	commit = strings.Repeat("d", 40)
	cfg := `{"model_type": "gpt2"}`
	weights = bytes.Repeat([]byte("0123456789"), size/10)
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/m/x/revision/{rev}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"id": "m/x", "sha": %q, "siblings": [{"rfilename": "config.json", "size": %d, "blobId": %q},
			{"rfilename": "model.safetensors", "size": %d, "blobId": %q}]}`, commit, len(cfg), gitBlob(cfg), len(weights), gitBlob(string(weights)))
	})
	mux.HandleFunc("GET /m/x/resolve/{rev}/config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(cfg))
	})
	mux.HandleFunc("GET /m/x/resolve/{rev}/model.safetensors", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Range"))
		mu.Unlock()
		if chunk == 0 {
			<-r.Context().Done()
			return
		}
		from := 0
		if rg := r.Header.Get("Range"); rg != "" {
			from, _ = strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(weights)-1, len(weights)))
			w.WriteHeader(http.StatusPartialContent)
		}
		end := min(from+chunk, len(weights))
		w.Write(weights[from:end])
		w.(http.Flusher).Flush()
		if end < len(weights) {
			<-r.Context().Done() // stall: the rest never comes
		}
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts.URL, commit, weights, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestDownloadStall: a file body that stops after 1,000 bytes is resumed (Range) up to
// DownloadRetries times and then fails with a clear error, instead of waiting for ever.
func TestDownloadStall(t *testing.T) {
	t.Parallel()
	endpoint, commit, _, ranges := stallingHub(t, 5000, 1000)
	c, err := hub.New(hub.Config{Endpoint: endpoint, StallTimeout: 200 * time.Millisecond, DownloadRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "snap")
	err = c.Download(t.Context(), "m/x", commit, dest, 0)
	if !errors.Is(err, stall.ErrNoProgress) || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "after 3000 of 5000 bytes") {
		t.Fatalf("Download of a stalling file = %v, want no progress after 3000 of 5000 bytes", err)
	}
	if got, want := ranges(), []string{"", "bytes=1000-", "bytes=2000-"}; !slices.Equal(got, want) {
		t.Errorf("Range headers = %q, want %q (two resumed retries)", got, want)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("destination exists after a failed download")
	}
}

// TestDownloadStallResumes: a file that stalls twice but whose third request completes is
// downloaded whole and verified.
func TestDownloadStallResumes(t *testing.T) {
	t.Parallel()
	endpoint, commit, weights, ranges := stallingHub(t, 2500, 1000)
	c, err := hub.New(hub.Config{Endpoint: endpoint, StallTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "snap")
	if err := c.Download(t.Context(), "m/x", commit, dest, 0); err != nil {
		t.Fatalf("Download = %v, want success after two resumes (ranges %q)", err, ranges())
	}
	got, err := os.ReadFile(filepath.Join(dest, "model.safetensors"))
	if err != nil || !bytes.Equal(got, weights) {
		t.Errorf("downloaded weights differ (err %v)", err)
	}
}

// TestDownloadStallBeforeHeaders: a server that accepts the request and never answers is
// cut off after the stall timeout too.
func TestDownloadStallBeforeHeaders(t *testing.T) {
	t.Parallel()
	endpoint, commit, _, _ := stallingHub(t, 1000, 0)
	c, err := hub.New(hub.Config{Endpoint: endpoint, StallTimeout: 200 * time.Millisecond, DownloadRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Download(t.Context(), "m/x", commit, filepath.Join(t.TempDir(), "snap"), 0)
	if !errors.Is(err, stall.ErrNoProgress) {
		t.Fatalf("Download from a server that never answers = %v, want no progress", err)
	}
}
