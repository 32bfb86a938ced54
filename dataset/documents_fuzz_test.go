package dataset

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadDocuments: any file content gives documents or an error, never a panic; a file
// that does not start with '{' is one document, its bytes.
func FuzzReadDocuments(f *testing.F) {
	for _, s := range []string{"", "plain text", "{\"text\": \"a\"}\n{\"content\": \"b\"}", "  {\"text\": 1}", "{\n", "\n\n{\"text\":\"\\ud800\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "docs.jsonl")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		docs, err := ReadDocuments(t.Context(), p)
		if err != nil {
			return
		}
		if len(docs) == 1 && docs[0] == string(data) {
			return
		}
		for _, c := range data {
			if c == '{' {
				return // read as JSON lines
			}
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				t.Fatalf("plain text %q read as %q", data, docs)
			}
		}
	})
}
