package dataset

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// A blob whose transfer is cut off is a transport error, retried like the reference's
// requests/urllib3 errors; a body that arrived whole but is not valid gzip is not. A blob over
// the size bound is ErrBodyTooLarge, never silently cut.
func TestSoftwareHeritageBlobFailures(t *testing.T) {
	text := bytes.Repeat([]byte("package main\n"), 100)
	good := gz(t, text)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 0xff
	random := make([]byte, 3000)
	rand.Read(random)
	// raw writes a whole HTTP response by hand, then closes the connection.
	raw := func(resp string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			buf.WriteString(resp)
			buf.Flush()
		}
	}
	const maxBytes = 2000
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		retryable bool
		is        error
	}{
		{"content-length cut short", raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + string(good[:10])), true, nil},
		{"content-length cut mid-stream", raw(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(good)) + string(good[:len(good)-5])), true, nil},
		{"chunked cut short", raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", len(good)) + string(good[:20])), true, nil},
		{"not gzip", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("not gzip at all")) }, false, nil},
		{"bad checksum", func(w http.ResponseWriter, _ *http.Request) { w.Write(badCRC) }, false, nil},
		{"gzip stream truncated, body whole", func(w http.ResponseWriter, _ *http.Request) { w.Write(good[:len(good)-12]) }, false, nil},
		{"trailing garbage", func(w http.ResponseWriter, _ *http.Request) { w.Write(append(bytes.Clone(good), "xyz"...)) }, false, nil},
		{"decoded over bound", func(w http.ResponseWriter, _ *http.Request) { w.Write(gz(t, make([]byte, maxBytes+1))) }, false, ErrBodyTooLarge},
		{"compressed over bound, no length", func(w http.ResponseWriter, _ *http.Request) {
			w.Write(gz(t, random)[:maxBytes/2])
			w.(http.Flusher).Flush() // chunked: no Content-Length
			w.Write(gz(t, random)[maxBytes/2:])
		}, false, ErrBodyTooLarge},
		{"content-length over bound", raw(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", maxBytes+1)), false, ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := httptest.NewServer(tt.handler)
			defer hs.Close()
			sh, err := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: hs.URL, AccessKeyID: "a", SecretAccessKey: "b", MaxBytes: maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			_, err = sh.Blob(t.Context(), blobID(7))
			if err == nil {
				t.Fatal("Blob succeeded, want error")
			}
			if Retryable(err) != tt.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, Retryable(err), tt.retryable)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Blob error %v, want %v", err, tt.is)
			}
		})
	}
	// The good blob still decodes, at exactly the bound too.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(gz(t, make([]byte, maxBytes))) }))
	defer hs.Close()
	sh, _ := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: hs.URL, AccessKeyID: "a", SecretAccessKey: "b", MaxBytes: maxBytes})
	if b, err := sh.Blob(t.Context(), blobID(7)); err != nil || len(b) != maxBytes {
		t.Errorf("Blob at the bound = %d bytes, %v", len(b), err)
	}
}

// TestSoftwareHeritageGzipVectors: whole blob bodies decode as Python's gzip.GzipFile read()
// does (testdata/gzip_vectors.json, gen_gzip_vectors.py): empty files, concatenated members,
// zero padding; and Python's errors are errors here, not retried.
func TestSoftwareHeritageGzipVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/gzip_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct{ Name, Hex, Out, Err string }
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			body, _ := hex.DecodeString(v.Hex)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
			defer hs.Close()
			sh, err := NewSoftwareHeritage(SoftwareHeritageConfig{BaseURL: hs.URL, AccessKeyID: "a", SecretAccessKey: "b"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := sh.Blob(t.Context(), blobID(7))
			switch {
			case v.Err != "" && (err == nil || Retryable(err)):
				t.Errorf("Blob(%x) = %x, %v; want a non-retryable error (Python: %s)", body, got, err, v.Err)
			case v.Err == "" && (err != nil || hex.EncodeToString(got) != v.Out):
				t.Errorf("Blob(%x) = %x, %v; want %s", body, got, err, v.Out)
			}
		})
	}
}
