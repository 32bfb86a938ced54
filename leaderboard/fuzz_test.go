package leaderboard_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/leaderboard"
	"github.com/pretrain/pretrain/validator"
)

// FuzzHandler sends arbitrary methods, paths, queries and If-None-Match headers to the
// leaderboard of the fixture: no request may panic, get a 500, or echo markup unescaped.
func FuzzHandler(f *testing.F) {
	e := newEnv(f)
	h := e.srv.Handler()
	for _, p := range pagePaths() {
		f.Add("GET", p, "", "")
	}
	for _, p := range []string{"/api/board", "/api/uid/2", "/api/competition/99", "/api/validators", "/api/sources", "/static/x/style.css"} {
		f.Add("GET", p, "", "")
	}
	f.Add("HEAD", "/uid/65535", "x=1", `"abc", W/"def"`)
	f.Add("POST", "/", "", "*")
	f.Add("GET", "/uid/<script>alert(1)</script>", "a=<img src=x>", "")
	f.Add("GET", "/competition/-1", "", "")
	f.Add("GET", "/../../etc/passwd", "", "")
	f.Fuzz(func(t *testing.T, method, path, query, inm string) {
		if !validMethod(method) {
			return
		}
		if !strings.HasPrefix(path, "/") { // as in every request line a server parses
			path = "/" + path
		}
		req := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}, Host: "leaderboard.test"}
		req.RequestURI = req.URL.RequestURI()
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		switch rec.Code {
		case http.StatusOK, http.StatusNotModified, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect: // ServeMux cleaning the path
		default:
			t.Fatalf("%s %s?%s = %d:\n%.500s", method, path, query, rec.Code, body)
		}
		if len(body) > 1<<20 {
			t.Errorf("%s %s: %d bytes", method, path, len(body))
		}
		if (rec.Code == http.StatusOK || rec.Code >= 400) && rec.Header().Get("Content-Type") == "" {
			t.Errorf("%s %s: no Content-Type", method, path)
		}
		if n := bytes.Count(body, []byte("<script")); n > 1 || bytes.Contains(body, []byte("<img")) {
			t.Errorf("%s %s: the page carries markup from the request:\n%s", method, path, body)
		}
	})
}

func validMethod(m string) bool {
	return m != "" && strings.IndexFunc(m, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) }) < 0
}

// FuzzReadStepLog feeds arbitrary bytes to the step log reader: it must not panic, must
// account for every byte of a final read, and must only return records it validated.
func FuzzReadStepLog(f *testing.F) {
	rec := validator.StepRecord{Version: 1, Step: 3, ValidatorHotkey: "5V", UIDs: []chain.UID{2},
		UIDData: map[string]validator.UIDRec{"2": {UID: 2, HF: "a/b", DatasetPerf: map[string]validator.LossRecord{"d": {}}}}}
	line, err := json.Marshal(rec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(line, '\n'))
	f.Add([]byte("{\"version\":1,\"step\":1,\"validator_hotkey\":\"x\",\"uid_data\":{\"1\":{\"uid\":1,\"average_loss\":null}}}\n{bad\n"))
	f.Add([]byte("\n\n\r\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, final := range []bool{false, true} {
			b, err := leaderboard.ReadStepLog(bytes.NewReader(data), final)
			if err != nil {
				t.Fatal(err)
			}
			if b.Consumed > int64(len(data)) || (final && b.Consumed != int64(len(data))) {
				t.Fatalf("consumed %d of %d bytes (final %v)", b.Consumed, len(data), final)
			}
			for _, r := range b.Records {
				if r.Version != 1 || r.ValidatorHotkey == "" || r.Step < 0 {
					t.Fatalf("returned an invalid record %+v", r)
				}
			}
		}
	})
}
