package dataserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t testing.TB, dir, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(rel, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lines(n int, format string) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, format+"\n", i)
	}
	return b.Bytes()
}

func open(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "org/ds/default/train.jsonl.gz", lines(230, `{"content": "doc %d", "url": "u", "image_urls": []}`))
	writeFile(t, dir, "org/ds/default/test.jsonl", lines(3, `{"content": "t%d"}`))
	writeFile(t, dir, "fw/CC-B/train.jsonl", append([]byte("\n"), lines(70, `  {"text": "b%d", "score": 2.5, "n": 1}`)...))
	writeFile(t, dir, "fw/CC-A/train.jsonl", lines(120, `{"text": "a%d"}`))
	writeFile(t, dir, "fw/.hidden/train.jsonl", []byte("not json"))
	s, err := Open(dir, Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestRows(t *testing.T) {
	s, hs := open(t)
	if n, ok := s.NumRows("org/ds", "default", "train"); !ok || n != 230 {
		t.Fatalf("NumRows = %d, %v", n, ok)
	}
	tests := []struct {
		query    string
		status   int
		firstIdx int
		rows     int
	}{
		{"dataset=org/ds&config=default&split=train&offset=0&length=50", 200, 0, 50},
		{"dataset=org/ds&config=default&split=train&offset=200&length=50", 200, 200, 30},
		{"dataset=org/ds&config=default&split=train&offset=230&length=50", 200, 0, 0},
		{"dataset=org/ds&config=default&split=train&offset=99999999999&length=50", 200, 0, 0},
		{"dataset=org/ds&config=default&split=train", 200, 0, 100},
		{"dataset=fw&config=CC-B&split=train&offset=69&length=5", 200, 69, 1},
		{"dataset=org/ds&config=default&split=train&length=101", 422, 0, 0},
		{"dataset=org/ds&config=default&split=train&offset=-1", 422, 0, 0},
		{"dataset=org/ds&config=default&split=train&offset=x", 422, 0, 0},
		{"dataset=org/ds&config=default", 422, 0, 0},
		{"dataset=nope&config=default&split=train", 404, 0, 0},
		{"dataset=fw&config=.hidden&split=train", 404, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := get(t, hs.URL+"/rows?"+tt.query)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status != 200 {
				return
			}
			var resp struct {
				Features []struct{ Name string }
				Rows     []struct {
					RowIdx int             `json:"row_idx"`
					Row    json.RawMessage `json:"row"`
				}
				NumRowsTotal int `json:"num_rows_total"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if len(resp.Rows) != tt.rows {
				t.Fatalf("%d rows, want %d", len(resp.Rows), tt.rows)
			}
			for i, r := range resp.Rows {
				if r.RowIdx != tt.firstIdx+i {
					t.Errorf("row_idx %d, want %d", r.RowIdx, tt.firstIdx+i)
				}
				var row map[string]any
				if err := json.Unmarshal(r.Row, &row); err != nil {
					t.Fatal(err)
				}
				v := fmt.Sprint(row["content"], row["text"])
				if !strings.Contains(v, fmt.Sprint(r.RowIdx)) {
					t.Errorf("row %d holds %s", r.RowIdx, r.Row)
				}
			}
		})
	}
}

func TestSize(t *testing.T) {
	_, hs := open(t)
	status, body := get(t, hs.URL+"/size?dataset=fw")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp struct {
		Size struct {
			Dataset struct {
				NumRows int64 `json:"num_rows"`
			}
			Splits []struct {
				Config, Split string
				NumRows       int64 `json:"num_rows"`
			}
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(resp.Size.Splits)
	if want := "[{CC-A train 120} {CC-B train 70}]"; got != want || resp.Size.Dataset.NumRows != 190 {
		t.Errorf("splits %s total %d, want %s 190", got, resp.Size.Dataset.NumRows, want)
	}
	if status, _ := get(t, hs.URL+"/size?dataset=nope"); status != 404 {
		t.Errorf("unknown dataset status %d, want 404", status)
	}
}

func TestOpenRejectsBadFiles(t *testing.T) {
	for name, files := range map[string]map[string][]byte{
		"not json":        {"a/b/c.jsonl": []byte("{\"a\": 1}\nnot json\n")},
		"array row":       {"a/b/c.jsonl": []byte("[1,2]\n")},
		"too deep":        {"a/b/c/d/e.jsonl": []byte("{}\n")},
		"too shallow":     {"b/c.jsonl": []byte("{}\n")},
		"bad gzip":        {"a/b/c.jsonl.gz": nil},
		"line too long":   {"a/b/c.jsonl": []byte(`{"x": "` + strings.Repeat("y", 2000) + "\"}\n")},
		"duplicate split": {"a/b/c.jsonl": []byte("{}\n"), "a/b/c.jsonl.gz": []byte("{}\n")},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, data := range files {
				if data == nil {
					p := filepath.Join(dir, rel)
					os.MkdirAll(filepath.Dir(p), 0o755)
					os.WriteFile(p, []byte("not gzip"), 0o644)
					continue
				}
				writeFile(t, dir, rel, data)
			}
			if s, err := Open(dir, Options{MaxLineBytes: 1000, TempDir: t.TempDir()}); err == nil {
				s.Close()
				t.Error("Open succeeded, want error")
			}
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	s, _ := open(t)
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc
	status, body := get(t, "http://"+addr.String()+"/healthcheck")
	if status != 200 || string(body) != "ok" {
		t.Errorf("healthcheck = %d %q", status, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}

// FuzzOpen indexes arbitrary file contents as a split: it must return an error or a server
// whose rows are JSON objects, never panic.
func FuzzOpen(f *testing.F) {
	f.Add([]byte("{\"content\": \"x\"}\n"), false)
	f.Add([]byte("\n\n  {\"a\": [1, {\"b\": null}]}  \n{}"), false)
	f.Add([]byte("{\"a\": 1}\n"), true)
	f.Add([]byte("{\"a\":"), false)
	f.Fuzz(func(t *testing.T, data []byte, gz bool) {
		dir := t.TempDir()
		name := "d/c/s.jsonl"
		if gz {
			name += ".gz"
		}
		writeFile(t, dir, name, data)
		s, err := Open(dir, Options{MaxLineBytes: 1 << 16, TempDir: t.TempDir()})
		if err != nil {
			return
		}
		defer s.Close()
		hs := httptest.NewServer(s.Handler())
		defer hs.Close()
		status, body := get(t, hs.URL+"/rows?dataset=d&config=c&split=s&length=100")
		if status != 200 || !json.Valid(body) {
			t.Fatalf("status %d, valid JSON %v: %s", status, json.Valid(body), body)
		}
	})
}

func TestRowsResponseBound(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "d/c/s.jsonl", lines(10, `{"text": "`+strings.Repeat("x", 1000)+` %d"}`))
	s, err := Open(dir, Options{MaxResponseBytes: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	if status, _ := get(t, hs.URL+"/rows?dataset=d&config=c&split=s&length=3"); status != 200 {
		t.Errorf("3 rows: status %d, want 200", status)
	}
	if status, _ := get(t, hs.URL+"/rows?dataset=d&config=c&split=s&length=10"); status != 500 {
		t.Errorf("10 rows over the bound: status %d, want 500", status)
	}
}
