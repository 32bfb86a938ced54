package hubserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// One fuzz target per HTTP handler. Each serves requests built from the fuzzed strings on a hub
// holding a public repo miner/m (regular, nested and LFS files), a private repo miner/p, and a
// private object of other/secret, and checks what must hold for any input: no panic, no 5xx,
// JSON where JSON is announced, and the other namespace's object never reachable or revealed.

// fuzzHub is the fixture of the fuzz targets.
type fuzzHub struct {
	s         *Server
	h         http.Handler
	commit    string // head of miner/m
	lfsOID    string // an LFS object of miner/m
	secretOID string // an object uploaded to other/secret only
}

func newFuzzHub(f *testing.F) *fuzzHub {
	f.Helper()
	s, err := New(Config{Dir: f.TempDir(), Tokens: map[string]string{tokMiner: "miner", tokOther: "other"}})
	if err != nil {
		f.Fatal(err)
	}
	fh := &fuzzHub{s: s, h: s.Handler()}
	do := func(method, target, token, body string) string {
		rec := record(fh.h, method, target, token, body)
		if rec.Code != 200 {
			f.Fatalf("%s %s = %d %s", method, target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	upload := func(repo, token, content string) string {
		sum := sha256.Sum256([]byte(content))
		oid := hex.EncodeToString(sum[:])
		b := do("POST", "/"+repo+".git/info/lfs/objects/batch", token, fmt.Sprintf(`{"operation":"upload","objects":[{"oid":%q,"size":%d}]}`, oid, len(content)))
		var resp struct {
			Objects []struct {
				Actions struct{ Upload struct{ Href string } }
			}
		}
		json.Unmarshal([]byte(b), &resp)
		href, _ := url.Parse(resp.Objects[0].Actions.Upload.Href)
		do("PUT", href.RequestURI(), "", content)
		do("POST", "/api/models/"+repo+"/commit/main", token, ndjson(header, lfsFileLine("w.safetensors", oid, len(content))))
		return oid
	}
	do("POST", "/api/repos/create", tokMiner, `{"name":"m","organization":"miner"}`)
	do("POST", "/api/repos/create", tokMiner, `{"name":"p","organization":"miner","private":true}`)
	do("POST", "/api/repos/create", tokOther, `{"name":"secret","organization":"other","private":true}`)
	fh.secretOID = upload("other/secret", tokOther, "private weights")
	fh.lfsOID = upload("miner/m", tokMiner, "public weights")
	b := do("POST", "/api/models/miner/m/commit/main", tokMiner, ndjson(header, fileLine("config.json", "{}"), fileLine("a/b/c.txt", "nested")))
	var c struct{ CommitOid string }
	json.Unmarshal([]byte(b), &c)
	fh.commit = c.CommitOid
	return fh
}

// serve answers one request and checks the invariants common to all handlers. A request the
// fuzzed strings cannot make (an invalid URL) is skipped.
func (fh *fuzzHub) serve(t *testing.T, method, target, token, contentType string, header map[string]string, body string) *httptest.ResponseRecorder {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Skip()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	fh.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s answered %d: %s", method, target, rec.Code, rec.Body)
	}
	if strings.Contains(rec.Header().Get("Content-Type"), "json") && !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %s answered %d with invalid JSON: %q", method, target, rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "private weights") || strings.Contains(rec.Header().Get("Location"), fh.secretOID) {
		t.Fatalf("%s %s leaked other/secret's object: %d %v", method, target, rec.Code, rec.Header())
	}
	return rec
}

func repoPath(parts ...string) string {
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func FuzzInfo(f *testing.F) {
	fh := newFuzzHub(f)
	for _, seed := range [][2]string{{"main", ""}, {"HEAD", "expand=sha&expand=private"}, {fh.commit, "blobs=true"},
		{"refs/heads/main", "expand=nope"}, {"v1.0", ""}, {strings.Repeat("0", 40), ""}} {
		f.Add(seed[0], seed[1], true)
	}
	f.Fuzz(func(t *testing.T, rev, query string, private bool) {
		repo := map[bool]string{false: "miner/m", true: "miner/p"}[private]
		rec := fh.serve(t, "GET", "/api/models/"+repo+"/revision/"+url.PathEscape(rev)+"?"+query, tokMiner, "", nil, "")
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), `"id":"`+repo+`"`) {
			t.Fatalf("info of %s = %s", repo, rec.Body)
		}
	})
}

func FuzzTree(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add("main", "", "recursive=true")
	f.Add(fh.commit, "a", "recursive=false&expand=true")
	f.Add("HEAD", "a/b", "cursor=YQ")
	f.Add("main", "config.json", "cursor=%%%")
	f.Add("main", "", "recursive=1&cursor="+strings.Repeat("A", 100))
	f.Fuzz(func(t *testing.T, rev, dir, query string) {
		target := "/api/models/miner/m/tree/" + url.PathEscape(rev)
		if dir != "" {
			target += "/" + repoPath(strings.Split(dir, "/")...)
		}
		rec := fh.serve(t, "GET", target+"?"+query, "", "", nil, "")
		if rec.Code != 200 {
			return
		}
		var entries []treeEntry
		if err := json.Unmarshal(rec.Body.Bytes(), &entries); err != nil {
			t.Fatalf("tree = %s: %v", rec.Body, err)
		}
		for _, e := range entries {
			if e.Type != "file" && e.Type != "directory" || len(e.OID) != 40 {
				t.Fatalf("tree entry %+v", e)
			}
		}
	})
}

func FuzzRefs(f *testing.F) {
	fh := newFuzzHub(f)
	for _, name := range []string{"m", "p", "nope", "..", "m.git"} {
		f.Add(name, tokMiner)
		f.Add(name, "")
	}
	f.Fuzz(func(t *testing.T, name, token string) {
		rec := fh.serve(t, "GET", "/api/models/miner/"+url.PathEscape(name)+"/refs", token, "", nil, "")
		if rec.Code == 200 && name == "p" && token != tokMiner {
			t.Fatalf("refs of a private repo with token %q", token)
		}
	})
}

func FuzzCommits(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add("main", "")
	f.Add("HEAD", "cursor="+fh.commit)
	f.Add(fh.commit, "cursor=../../repo")
	f.Add("main", "cursor="+strings.Repeat("0", 40))
	f.Fuzz(func(t *testing.T, rev, query string) {
		rec := fh.serve(t, "GET", "/api/models/miner/m/commits/"+url.PathEscape(rev)+"?"+query, "", "", nil, "")
		if rec.Code == 200 && !strings.HasPrefix(rec.Body.String(), "[") {
			t.Fatalf("commits = %s", rec.Body)
		}
	})
}

func FuzzPathsInfo(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add("application/x-www-form-urlencoded", "paths=config.json&paths=a&expand=true")
	f.Add("application/json", `{"paths":["w.safetensors","a/b","nope"],"expand":false}`)
	f.Add("application/json", `{"paths":"x"}`)
	f.Add("", "paths=%zz")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		fh.serve(t, "POST", "/api/models/miner/m/paths-info/main", "", contentType, nil, body)
	})
}

func FuzzWhoami(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add("Bearer " + tokMiner)
	f.Add("Bearer ")
	f.Add("Basic abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, auth string) {
		rec := fh.serve(t, "GET", "/api/whoami-v2", "", "", map[string]string{"Authorization": auth}, "")
		if rec.Code == 200 && auth != "Bearer "+tokMiner && auth != "Bearer "+tokOther {
			t.Fatalf("whoami with %q = 200 %s", auth, rec.Body)
		}
	})
}

func FuzzCreate(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add(`{"name":"n","organization":"miner","private":true}`)
	f.Add(`{"name":"n2","organization":"miner","visibility":"private","type":"model"}`)
	f.Add(`{"name":"n3","visibility":"protected"}`)
	f.Add(`{"name":"x","organization":"other"}`)
	f.Add(`{"name":"../x","files":[{}]}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := fh.serve(t, "POST", "/api/repos/create", tokMiner, "application/json", nil, body)
		if rec.Code == 200 && !strings.Contains(rec.Body.String(), `"name":"miner/`) {
			t.Fatalf("create outside the caller's namespace: %s", rec.Body)
		}
	})
}

func FuzzSettings(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add("p", `{"private":true}`, tokMiner)
	f.Add("m", `{"private":false}`, tokMiner)
	f.Add("p", `{"private":"yes"}`, tokOther)
	f.Add("m", `{}`, "")
	f.Fuzz(func(t *testing.T, name, body, token string) {
		rec := fh.serve(t, "PUT", "/api/models/miner/"+url.PathEscape(name)+"/settings", token, "application/json", nil, body)
		if rec.Code == 200 && token != tokMiner {
			t.Fatalf("settings of miner/%s changed with token %q", name, token)
		}
	})
}

func FuzzPreupload(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add(`{"files":[{"path":"a.bin","sample":"AAE=","size":2},{"path":"README.md","sample":"aGk=","size":2}]}`)
	f.Add(`{"files":[{"path":"../x","sample":"","size":-1}]}`)
	f.Add(`{"files":[{"path":"x","sample":"!!","size":1}],"gitAttributes":"*"}`)
	f.Fuzz(func(t *testing.T, body string) {
		fh.serve(t, "POST", "/api/models/miner/m/preupload/main", tokMiner, "application/json", nil, body)
	})
}

func FuzzBatch(f *testing.F) {
	fh := newFuzzHub(f)
	for _, oid := range []string{fh.secretOID, fh.lfsOID, "xyz", strings.Repeat("a", 64)} {
		f.Add(fmt.Sprintf(`{"operation":"upload","transfers":["basic","multipart"],"objects":[{"oid":%q,"size":15}],"hash_algo":"sha_256"}`, oid))
	}
	f.Add(`{"operation":"download","objects":[]}`)
	f.Add(`{"operation":"upload","objects":[{"oid":"` + fh.secretOID + `","size":-1}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := fh.serve(t, "POST", "/miner/m.git/info/lfs/objects/batch", tokMiner, "application/vnd.git-lfs+json", nil, body)
		if rec.Code != 200 {
			return
		}
		var resp struct {
			Objects []struct {
				OID     string          `json:"oid"`
				Actions json.RawMessage `json:"actions"`
				Error   json.RawMessage `json:"error"`
			} `json:"objects"`
		}
		json.Unmarshal(rec.Body.Bytes(), &resp)
		for _, o := range resp.Objects {
			if o.OID == fh.secretOID && o.Actions == nil && o.Error == nil {
				t.Fatalf("batch in miner/m says other/secret's object is stored: %s", rec.Body)
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add(fmt.Sprintf(`{"oid":%q,"size":15}`, fh.secretOID))
	f.Add(fmt.Sprintf(`{"oid":%q,"size":14}`, fh.lfsOID))
	f.Add(`{"oid":"../../x","size":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		rec := fh.serve(t, "POST", "/miner/m.git/info/lfs/objects/verify", tokMiner, "application/vnd.git-lfs+json", nil, body)
		if rec.Code == 200 && strings.Contains(body, fh.secretOID) {
			t.Fatalf("verify in miner/m found other/secret's object: %s", body)
		}
	})
}

func FuzzLFSPut(f *testing.F) {
	fh := newFuzzHub(f)
	content := "new object"
	sum := sha256.Sum256([]byte(content))
	oid := hex.EncodeToString(sum[:])
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	valid := url.Values{"size": {"10"}, "exp": {exp}, "sig": {fh.s.sign("put", "miner/m", oid, "10", exp)}}.Encode()
	f.Add("miner/m", oid, valid, content)
	f.Add("other/secret", oid, valid, content) // a URL of miner/m replayed for another repo
	f.Add("miner/m", oid, valid, "other body")
	f.Add("miner/m", oid, "size=-1&exp=1&sig=00", "")
	f.Fuzz(func(t *testing.T, repo, oid, query, body string) {
		target := "/lfs-upload/" + repoPath(strings.Split(repo, "/")...) + "/" + url.PathEscape(oid) + "?" + query
		rec := fh.serve(t, "PUT", target, "", "", nil, body)
		if rec.Code == 200 {
			got := sha256.Sum256([]byte(body))
			if hex.EncodeToString(got[:]) != oid || repo != "miner/m" {
				t.Fatalf("PUT %s with %d bytes accepted", target, len(body))
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	fh := newFuzzHub(f)
	for _, p := range []string{"config.json", "w.safetensors", "a/b/c.txt", "nope", "a"} {
		f.Add("GET", "main", p, "bytes=2-")
		f.Add("HEAD", fh.commit, p, "")
	}
	f.Add("GET", "HEAD", "config.json", "bytes=5-1")
	f.Add("GET", "main", "config.json", "bytes=0-0,1-1")
	f.Fuzz(func(t *testing.T, method, rev, path, rangeHeader string) {
		fuzzFile(t, fh, method, "resolve", rev, path, rangeHeader)
	})
}

func FuzzRaw(f *testing.F) {
	fh := newFuzzHub(f)
	for _, p := range []string{"config.json", "w.safetensors", "a/b/c.txt", "nope"} {
		f.Add("HEAD", "main", p, "")
		f.Add("GET", fh.commit, p, "bytes=0-0")
	}
	f.Fuzz(func(t *testing.T, method, rev, path, rangeHeader string) {
		fuzzFile(t, fh, method, "raw", rev, path, rangeHeader)
	})
}

// fuzzFile requests a file through the resolve or raw endpoint: what comes back must be the
// file's content (or part of it), its LFS pointer, or a redirect to the object.
func fuzzFile(t *testing.T, fh *fuzzHub, method, endpoint, rev, path, rangeHeader string) {
	if method != "GET" && method != "HEAD" {
		method = "GET"
	}
	target := "/miner/m/" + endpoint + "/" + url.PathEscape(rev) + "/" + repoPath(strings.Split(path, "/")...)
	rec := fh.serve(t, method, target, "", "", map[string]string{"Range": rangeHeader}, "")
	if rec.Code == 200 && method == "GET" {
		if known := map[string]bool{"{}": true, "nested": true, "public weights": true, lfsPointer(fh.lfsOID, 14): true,
			defaultGitattributes: true}; !known[rec.Body.String()] {
			t.Fatalf("GET %s = %q", target, rec.Body)
		}
	}
	if rec.Code == 302 && !strings.Contains(rec.Header().Get("Location"), "/lfs/"+fh.lfsOID+"?") {
		t.Fatalf("GET %s redirected to %q", target, rec.Header().Get("Location"))
	}
}

func FuzzLFSGet(f *testing.F) {
	fh := newFuzzHub(f)
	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	f.Add(fh.lfsOID, url.Values{"exp": {exp}, "sig": {fh.s.sign("get", fh.lfsOID, exp)}}.Encode(), "bytes=1-3")
	f.Add(fh.secretOID, url.Values{"exp": {exp}, "sig": {fh.s.sign("get", fh.lfsOID, exp)}}.Encode(), "")
	f.Add(fh.lfsOID, "exp=99999999999&sig=00", "")
	f.Fuzz(func(t *testing.T, oid, query, rangeHeader string) {
		rec := fh.serve(t, "GET", "/lfs/"+url.PathEscape(oid)+"?"+query, "", "", map[string]string{"Range": rangeHeader}, "")
		if (rec.Code == 200 || rec.Code == 206) && oid != fh.lfsOID {
			t.Fatalf("GET /lfs/%s?%s served %q", oid, query, rec.Body)
		}
	})
}

// FuzzCommit posts arbitrary NDJSON commit bodies: the server must answer (never panic, never
// a 500), a commit it accepts must be readable back, and never hold other/secret's object.
func FuzzCommit(f *testing.F) {
	fh := newFuzzHub(f)
	f.Add(ndjson(header, fileLine("a", "x")))
	f.Add(ndjson(header, `{"key":"deletedFile","value":{"path":".gitattributes"}}`))
	f.Add(ndjson(header, `{"key":"deletedFolder","value":{"path":"a/"}}`))
	f.Add(ndjson(header, `{"key":"lfsFile","value":{"path":"a","algo":"sha256","oid":"x"}}`))
	f.Add(ndjson(header, lfsFileLine("stolen.bin", fh.secretOID, 15)))
	f.Add(ndjson(header, lfsFileLine("copy.bin", fh.lfsOID, 0)))
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		rec := fh.serve(t, "POST", "/api/models/miner/m/commit/main", tokMiner, "application/x-ndjson", nil, body)
		if rec.Code != 200 {
			return
		}
		info := fh.serve(t, "GET", "/api/models/miner/m?blobs=true", "", "", nil, "")
		b, _ := io.ReadAll(info.Body)
		if info.Code != 200 || !bytes.Contains(b, []byte(`"siblings"`)) || bytes.Contains(b, []byte(fh.secretOID)) {
			t.Fatalf("info after commit: %d %s", info.Code, b)
		}
	})
}
