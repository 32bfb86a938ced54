package hub_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pretrain/pretrain/hub"
)

// FuzzUploadResponses feeds arbitrary preupload, LFS batch and commit answers to Upload: it
// must return (an error or a valid commit id), never panic.
func FuzzUploadResponses(f *testing.F) {
	oid := "5c1b3f5b1d40e0b8c0fbc1ab1d2bdb62ce1bd0d2ddc6e0b4b19ab8d8d0d1c2b9"
	f.Add(`{"files":[{"path":"config.json","uploadMode":"regular"},{"path":"model.safetensors","uploadMode":"lfs"}]}`,
		`{"objects":[{"oid":"`+oid+`","size":1}]}`, `{"commitOid":"`+strings.Repeat("a", 40)+`"}`)
	f.Add(`{"files":[{"path":"config.json","uploadMode":"xet"}]}`, `{}`, `{}`)
	f.Add(`{"files":[]}`, `{"objects":[{"oid":"x","actions":{"upload":{"href":"ftp://x"}}}]}`, `{"commitOid":1}`)
	var bodies atomic.Pointer[[3]string]
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		b := bodies.Load()
		switch {
		case strings.HasSuffix(r.URL.Path, "/preupload/main"):
			io.WriteString(w, b[0])
		case strings.HasSuffix(r.URL.Path, "/objects/batch"):
			io.WriteString(w, b[1])
		case strings.HasSuffix(r.URL.Path, "/commit/main"):
			io.WriteString(w, b[2])
		default: // create repo, LFS PUT and verify succeed
		}
	}))
	defer ts.Close()
	dir := f.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte{0}, 0o644)
	c, err := hub.New(hub.Config{Endpoint: ts.URL, Token: "hf_token_fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, preupload, batch, commit string) {
		bodies.Store(&[3]string{preupload, batch, commit})
		got, err := c.Upload(t.Context(), dir, "miner/fuzz", hub.UploadOptions{})
		if err == nil && hub.ValidateCommit(got) != nil {
			t.Fatalf("Upload returned commit %q", got)
		}
	})
}
