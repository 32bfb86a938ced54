package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/tokenizer"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDocuments(t *testing.T) {
	jsonl := "{\"text\": \"first\", \"content\": \"ignored\"}\n\n  {\"content\": \"second\"}\n{\"text\":\"third\\nline\"}\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(jsonl))
	zw.Close()
	for _, tc := range []struct {
		name, file string
		data       []byte
		want       []string
		err        string
	}{
		{"jsonl text before content", "a.jsonl", []byte(jsonl), []string{"first", "second", "third\nline"}, ""},
		{"gzipped", "a.jsonl.gz", gz.Bytes(), []string{"first", "second", "third\nline"}, ""},
		{"plain text is one document", "a.txt", []byte("  Call me Ishmael.\n{not json}\n"), []string{"  Call me Ishmael.\n{not json}\n"}, ""},
		{"empty file", "e.txt", nil, []string{""}, ""},
		{"row without text", "b.jsonl", []byte("{\"text\": \"a\"}\n{\"title\": \"b\"}\n"), nil, "line 2"},
		{"text not a string", "c.jsonl", []byte("{\"text\": 5}\n"), nil, "not a string"},
		{"bad json", "d.jsonl", []byte("{\"text\": \"a\"\n"), nil, "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadDocuments(t.Context(), writeFile(t, tc.file, tc.data))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ReadDocuments error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ReadDocuments = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDocumentBatches checks the packing against the loaders' definition: the windows, in
// order, are the consecutive seqLen-token cuts of every document's truncated ids followed by
// EOS, the partial last window dropped.
func TestDocumentBatches(t *testing.T) {
	tok, err := tokenizer.Load("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{"The quick brown fox jumps over the lazy dog.", strings.Repeat("word ", 1500), "Moby-Dick; or, The Whale."}
	var stream []int32
	for _, d := range docs {
		ids := tok.Encode(d, true)
		if len(ids) > tok.MaxLength() {
			t.Fatalf("Encode(truncate) gave %d ids, over %d", len(ids), tok.MaxLength())
		}
		stream = append(append(stream, ids...), tok.EOS())
	}
	const L = 64
	batches, err := DocumentBatches(context.Background(), docs, tok, L)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(stream) / L; len(batches) != want {
		t.Fatalf("%d batches, want %d", len(batches), want)
	}
	for i, b := range batches {
		if len(b) != 1 || !slices.Equal(b[0], stream[i*L:(i+1)*L]) {
			t.Fatalf("batch %d is not window %d of the stream", i, i)
		}
	}
	if _, err := DocumentBatches(context.Background(), []string{"short"}, tok, L); !errors.Is(err, ErrNoBatches) {
		t.Errorf("too short: error = %v, want ErrNoBatches", err)
	}
}
