// Package dataserver is a local datasets-server: the /rows and /size subset of the Hugging Face
// datasets-server API that SN9's loaders use, served from JSON-lines files on disk, so the same
// client and page arithmetic run offline (localnet, tests, `pretrain dataserver`).
//
// Layout: DIR/<dataset>/<config>/<split>.jsonl or .jsonl.gz, where <dataset> may span two
// directories ("tiiuae/falcon-refinedweb"). Each non-blank line is one row, a JSON object.
package dataserver

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/internal/httpserve"
)

// Defaults.
const (
	DefaultMaxLineBytes = 16 << 20
	// DefaultMaxResponseBytes bounds one /rows body; a page over it is answered with 500
	// (the real server truncates cells instead).
	DefaultMaxResponseBytes = 64 << 20
	// MaxRowsPerPage is the datasets-server's page limit and default length.
	MaxRowsPerPage = 100
)

// Options configures Open. Zero values mean the defaults.
type Options struct {
	MaxLineBytes     int64  // longest accepted row
	MaxResponseBytes int64  // largest /rows body
	TempDir          string // where .gz splits are decompressed; os.TempDir() if empty
	Log              *slog.Logger
}

type splitKey struct{ dataset, config, split string }

type split struct {
	key     splitKey
	f       *os.File // plain JSON lines (the file itself, or a decompressed, unlinked copy)
	starts  []int64  // row i is f[starts[i]:ends[i]]
	ends    []int64
	bytes   int64
	columns []feature
}

type feature struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
}

// Server serves the splits found under a directory. Safe for concurrent use.
type Server struct {
	splits   map[splitKey]*split
	datasets map[string][]*split // sorted by config, split
	maxResp  int64
	log      *slog.Logger
}

// Open scans dir and indexes every split. Every row must be a JSON object no longer than
// MaxLineBytes.
func Open(dir string, opts Options) (*Server, error) {
	s := &Server{splits: map[splitKey]*split{}, datasets: map[string][]*split{}, log: opts.Log,
		maxResp: cmp.Or(opts.MaxResponseBytes, DefaultMaxResponseBytes)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "dataserver")
	maxLine := cmp.Or(opts.MaxLineBytes, DefaultMaxLineBytes)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != dir && strings.HasPrefix(name, ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".jsonl.gz")) {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) < 3 || len(parts) > 4 {
			return fmt.Errorf("dataserver %s: want <dataset>/<config>/<split>.jsonl[.gz] (dataset of 1 or 2 directories)", path)
		}
		key := splitKey{
			dataset: strings.Join(parts[:len(parts)-2], "/"),
			config:  parts[len(parts)-2],
			split:   strings.TrimSuffix(strings.TrimSuffix(parts[len(parts)-1], ".gz"), ".jsonl"),
		}
		if _, dup := s.splits[key]; dup {
			return fmt.Errorf("dataserver %s: split %s/%s/%s given twice", path, key.dataset, key.config, key.split)
		}
		sp, err := indexSplit(path, opts.TempDir, maxLine)
		if err != nil {
			return err
		}
		sp.key = key
		s.splits[key] = sp
		s.datasets[key.dataset] = append(s.datasets[key.dataset], sp)
		s.log.Info("split indexed", "dataset", key.dataset, "config", key.config, "split", key.split, "rows", len(sp.starts))
		return nil
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("dataserver open %s: %w", dir, err)
	}
	for _, l := range s.datasets {
		slices.SortFunc(l, func(a, b *split) int {
			return cmp.Or(strings.Compare(a.key.config, b.key.config), strings.Compare(a.key.split, b.key.split))
		})
	}
	return s, nil
}

// indexSplit opens a split (decompressing .gz into an unlinked temp file) and records where
// every row starts and ends.
func indexSplit(path, tmpDir string, maxLine int64) (*split, error) {
	f, err := bounded.Open(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		tmp, err := os.CreateTemp(tmpDir, "dataserver-*.jsonl")
		if err != nil {
			f.Close()
			return nil, err
		}
		_ = os.Remove(tmp.Name()) // the open descriptor keeps it; nothing to clean up
		_, err = io.Copy(tmp, zr)
		f.Close()
		if err != nil {
			tmp.Close()
			return nil, fmt.Errorf("%s: gunzip: %w", path, err)
		}
		f = tmp
	}
	sp := &split{f: f}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var line []byte
	for lineNo := 1; ; lineNo++ {
		line = line[:0]
		var chunk []byte
		for {
			chunk, err = r.ReadSlice('\n')
			line = append(line, chunk...)
			if int64(len(line)) > maxLine+1 {
				f.Close()
				return nil, fmt.Errorf("%s:%d: row longer than %d bytes", path, lineNo, maxLine)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		start := off
		off += int64(len(line))
		body := bytes.TrimSpace(line)
		if len(body) > 0 {
			if body[0] != '{' || !json.Valid(body) {
				f.Close()
				return nil, fmt.Errorf("%s:%d: row is not a JSON object", path, lineNo)
			}
			lead := int64(bytes.Index(line, body[:1]))
			sp.starts = append(sp.starts, start+lead)
			sp.ends = append(sp.ends, start+lead+int64(len(body)))
			if sp.columns == nil {
				sp.columns = features(body)
			}
		}
		if err == io.EOF {
			break
		}
	}
	sp.bytes = off
	return sp, nil
}

// features lists a row's fields in order with a datasets-style type.
func features(row []byte) []feature {
	dec := json.NewDecoder(bytes.NewReader(row))
	if _, err := dec.Token(); err != nil {
		return []feature{}
	}
	out := []feature{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		dtype := `{"dtype":"null","_type":"Value"}`
		switch t := bytes.TrimSpace(v); {
		case len(t) == 0:
		case t[0] == '"':
			dtype = `{"dtype":"string","_type":"Value"}`
		case t[0] == '[':
			dtype = `{"feature":{"dtype":"string","_type":"Value"},"_type":"Sequence"}`
		case t[0] == 't' || t[0] == 'f':
			dtype = `{"dtype":"bool","_type":"Value"}`
		case t[0] == '-' || (t[0] >= '0' && t[0] <= '9'):
			dtype = `{"dtype":"int64","_type":"Value"}`
			if bytes.ContainsAny(t, ".eE") {
				dtype = `{"dtype":"float64","_type":"Value"}`
			}
		}
		name, _ := k.(string)
		out = append(out, feature{Name: name, Type: json.RawMessage(dtype)})
	}
	return out
}

// Close releases the split files.
func (s *Server) Close() error {
	var errs []error
	for _, sp := range s.splits {
		errs = append(errs, sp.f.Close())
	}
	return errors.Join(errs...)
}

// NumRows returns the row count of a split, and whether it exists.
func (s *Server) NumRows(dataset, config, split string) (int, bool) {
	sp, ok := s.splits[splitKey{dataset, config, split}]
	if !ok {
		return 0, false
	}
	return len(sp.starts), true
}

// Handler returns the HTTP API: GET /rows, GET /size, GET /healthcheck.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rows", s.rows)
	mux.HandleFunc("GET /size", s.size)
	mux.HandleFunc("GET /healthcheck", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (s *Server) rows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := splitKey{q.Get("dataset"), q.Get("config"), q.Get("split")}
	if key.dataset == "" || key.config == "" || key.split == "" {
		writeError(w, http.StatusUnprocessableEntity, "Parameters 'dataset', 'config' and 'split' are required")
		return
	}
	offset, length := int64(0), int64(MaxRowsPerPage)
	var err error
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			writeError(w, http.StatusUnprocessableEntity, "Parameter 'offset' must be a non-negative integer")
			return
		}
	}
	if v := q.Get("length"); v != "" {
		if length, err = strconv.ParseInt(v, 10, 64); err != nil || length < 0 || length > MaxRowsPerPage {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Parameter 'length' must be an integer in 0..%d", MaxRowsPerPage))
			return
		}
	}
	sp, ok := s.splits[key]
	if !ok {
		writeError(w, http.StatusNotFound, "The dataset, config or split does not exist.")
		return
	}
	n := int64(len(sp.starts))
	var buf bytes.Buffer
	buf.WriteString(`{"features":[`)
	for i, f := range sp.columns {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"feature_idx":%d,"name":%s,"type":%s}`, i, quote(f.Name), f.Type)
	}
	buf.WriteString(`],"rows":[`)
	for i := offset; i < min(offset+length, n); i++ {
		if i > offset {
			buf.WriteByte(',')
		}
		if int64(buf.Len())+sp.ends[i]-sp.starts[i] > s.maxResp {
			writeError(w, http.StatusInternalServerError, "response too large")
			return
		}
		row := make([]byte, sp.ends[i]-sp.starts[i])
		if _, err := sp.f.ReadAt(row, sp.starts[i]); err != nil {
			s.log.Error("read row", "dataset", key.dataset, "row", i, "err", err)
			writeError(w, http.StatusInternalServerError, "read error")
			return
		}
		fmt.Fprintf(&buf, `{"row_idx":%d,"row":`, i)
		buf.Write(row)
		buf.WriteString(`,"truncated_cells":[]}`)
	}
	fmt.Fprintf(&buf, `],"num_rows_total":%d,"num_rows_per_page":%d,"partial":false}`, n, MaxRowsPerPage)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type sizeSplit struct {
	Dataset         string `json:"dataset"`
	Config          string `json:"config"`
	Split           string `json:"split"`
	NumBytesParquet int64  `json:"num_bytes_parquet_files"`
	NumBytesMemory  int64  `json:"num_bytes_memory"`
	NumRows         int64  `json:"num_rows"`
	NumColumns      int    `json:"num_columns"`
}

type sizeConfig struct {
	Dataset          string `json:"dataset"`
	Config           string `json:"config"`
	NumBytesOriginal int64  `json:"num_bytes_original_files"`
	NumBytesParquet  int64  `json:"num_bytes_parquet_files"`
	NumBytesMemory   int64  `json:"num_bytes_memory"`
	NumRows          int64  `json:"num_rows"`
	NumColumns       int    `json:"num_columns"`
}

func (s *Server) size(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("dataset")
	list, ok := s.datasets[name]
	if name == "" || !ok {
		writeError(w, http.StatusNotFound, "The dataset does not exist.")
		return
	}
	var resp struct {
		Size struct {
			Dataset struct {
				Dataset          string `json:"dataset"`
				NumBytesOriginal int64  `json:"num_bytes_original_files"`
				NumBytesParquet  int64  `json:"num_bytes_parquet_files"`
				NumBytesMemory   int64  `json:"num_bytes_memory"`
				NumRows          int64  `json:"num_rows"`
			} `json:"dataset"`
			Configs []sizeConfig `json:"configs"`
			Splits  []sizeSplit  `json:"splits"`
		} `json:"size"`
		Pending []any `json:"pending"`
		Failed  []any `json:"failed"`
		Partial bool  `json:"partial"`
	}
	resp.Pending, resp.Failed = []any{}, []any{}
	resp.Size.Dataset.Dataset = name
	resp.Size.Configs, resp.Size.Splits = []sizeConfig{}, []sizeSplit{}
	for _, sp := range list {
		rows := int64(len(sp.starts))
		resp.Size.Dataset.NumRows += rows
		resp.Size.Dataset.NumBytesOriginal += sp.bytes
		resp.Size.Dataset.NumBytesMemory += sp.bytes
		resp.Size.Splits = append(resp.Size.Splits, sizeSplit{Dataset: name, Config: sp.key.config, Split: sp.key.split,
			NumBytesMemory: sp.bytes, NumRows: rows, NumColumns: len(sp.columns)})
		if n := len(resp.Size.Configs); n > 0 && resp.Size.Configs[n-1].Config == sp.key.config {
			c := &resp.Size.Configs[n-1]
			c.NumRows += rows
			c.NumBytesOriginal += sp.bytes
			c.NumBytesMemory += sp.bytes
			continue
		}
		resp.Size.Configs = append(resp.Size.Configs, sizeConfig{Dataset: name, Config: sp.key.config,
			NumBytesOriginal: sp.bytes, NumBytesMemory: sp.bytes, NumRows: rows, NumColumns: len(sp.columns)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// Run serves on addr until ctx ends, then shuts down gracefully. ready, if not nil, receives
// the bound address once listening.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	return httpserve.Run(ctx, "dataserver", addr, s.Handler(), s.log, ready)
}
