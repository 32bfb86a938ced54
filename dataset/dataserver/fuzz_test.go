package dataserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary methods, paths and queries to the API. Nothing panics; every
// JSON answer parses; a 200 /rows page holds exactly the requested slice of the split's
// rows, byte for byte as in the file, with their indexes; a 200 /size counts every row; an
// error names itself in a JSON {"error"}.
func FuzzHandler(f *testing.F) {
	for _, seed := range [][3]string{
		{"GET", "/rows", "dataset=org/ds&config=default&split=train&offset=10&length=5"},
		{"GET", "/rows", "dataset=org/ds&config=default&split=train&offset=228"},
		{"GET", "/rows", "dataset=fw&config=CC-A&split=train&offset=-1"},
		{"GET", "/rows", "dataset=fw&config=CC-A&split=train&length=101"},
		{"GET", "/rows", "dataset=fw&config=CC-A&split=train&offset=9223372036854775807&length=100"},
		{"GET", "/rows", "dataset=%zz&config=;&split=train"},
		{"GET", "/size", "dataset=fw"},
		{"GET", "/size", "dataset=fw&dataset=org/ds"},
		{"POST", "/rows", "dataset=fw"},
		{"GET", "/healthcheck", ""},
		{"GET", "/../rows", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	dir := f.TempDir()
	files := map[splitKey][]byte{
		{"org/ds", "default", "train"}: lines(230, `{"content": "doc %d", "url": "u\u0000\u2028"}`),
		{"fw", "CC-A", "train"}:        lines(120, `{"text": "a%d"}`),
		{"fw", "CC-B", "train"}:        append([]byte("\n"), lines(70, `  {"text": "b%d", "score": 2.5}  `)...),
	}
	rows := map[splitKey][][]byte{}
	for k, data := range files {
		writeFile(f, dir, k.dataset+"/"+k.config+"/"+k.split+".jsonl", data)
		for _, l := range bytes.Split(data, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				rows[k] = append(rows[k], l)
			}
		}
	}
	s, err := Open(dir, Options{TempDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	h := s.Handler()

	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		req, err := http.NewRequestWithContext(t.Context(), method, "http://datasets.test/", nil)
		if err != nil {
			return // not a method net/http sends
		}
		req.URL.Path, req.URL.RawQuery = path, rawQuery
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(body) {
			t.Fatalf("%s %s?%s: status %d, invalid JSON %q", method, path, rawQuery, rec.Code, body)
		}
		q := req.URL.Query()
		switch {
		case rec.Code >= 400 && rec.Code != http.StatusMethodNotAllowed && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"):
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Fatalf("%s %s?%s: status %d without an error message: %q", method, path, rawQuery, rec.Code, body)
			}
		case rec.Code == http.StatusOK && path == "/rows":
			checkRows(t, rows[splitKey{q.Get("dataset"), q.Get("config"), q.Get("split")}], q.Get("offset"), q.Get("length"), body)
		case rec.Code == http.StatusOK && path == "/size":
			var sz struct {
				Size struct {
					Dataset struct {
						NumRows int `json:"num_rows"`
					}
				}
			}
			want := 0
			for k, r := range rows {
				if k.dataset == q.Get("dataset") {
					want += len(r)
				}
			}
			if json.Unmarshal(body, &sz) != nil || sz.Size.Dataset.NumRows != want || want == 0 {
				t.Fatalf("/size?%s = %s, want %d rows", rawQuery, body, want)
			}
		}
	})
}

// checkRows compares a 200 /rows body with the split's rows and the request's paging.
func checkRows(t *testing.T, split [][]byte, offsetQ, lengthQ string, body []byte) {
	t.Helper()
	if split == nil {
		t.Fatalf("200 for a split that does not exist: %s", body)
	}
	offset, length := 0, MaxRowsPerPage
	if offsetQ != "" {
		v, err := strconv.ParseInt(offsetQ, 10, 64)
		if err != nil || v < 0 {
			t.Fatalf("200 for offset %q", offsetQ)
		}
		offset = int(min(v, int64(len(split))))
	}
	if lengthQ != "" {
		v, err := strconv.Atoi(lengthQ)
		if err != nil || v < 0 || v > MaxRowsPerPage {
			t.Fatalf("200 for length %q", lengthQ)
		}
		length = v
	}
	var page struct {
		Rows []struct {
			RowIdx int             `json:"row_idx"`
			Row    json.RawMessage `json:"row"`
		} `json:"rows"`
		NumRowsTotal int `json:"num_rows_total"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	want := split[offset:min(offset+length, len(split))]
	if page.NumRowsTotal != len(split) || len(page.Rows) != len(want) {
		t.Fatalf("offset %d length %d: %d rows of %d, want %d of %d", offset, length, len(page.Rows), page.NumRowsTotal, len(want), len(split))
	}
	for i, r := range page.Rows {
		if r.RowIdx != offset+i || !bytes.Equal(r.Row, want[i]) {
			t.Fatalf("row %d: idx %d %s, want idx %d %s", i, r.RowIdx, r.Row, offset+i, want[i])
		}
	}
}
