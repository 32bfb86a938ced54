package leaderboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/validator"
)

//go:embed templates static
var assets embed.FS

// pageNames are the page templates; each defines "title" and "content" for layout.html.
var pageNames = []string{"index", "competition", "validators", "uid", "notfound"}

// maxScoreRows bounds the scores table of a uid's page to the newest rows; the JSON API has
// them all.
const maxScoreRows = 200

// maxValidatorColumns bounds the per-validator weight columns of a competition's table (the
// validators with the most stake); the JSON API has them all.
const maxValidatorColumns = 8

// pages holds the parsed templates and the static files with their content hashes.
type pages struct {
	tmpl   map[string]*template.Template
	static map[string]staticFile // by name
}

type staticFile struct {
	body        []byte
	hash        string
	contentType string
}

func newPages() (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}, static: map[string]staticFile{}}
	entries, err := fs.ReadDir(assets, "static")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		body, err := assets.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		ct := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}[path.Ext(e.Name())]
		p.static[e.Name()] = staticFile{body, hex.EncodeToString(sum[:8]), ct}
	}
	funcs := template.FuncMap{
		"num":         formatNum,
		"nump":        formatNumPtr,
		"exact":       exact,
		"exactp":      exactPtr,
		"exact32":     func(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) },
		"num32":       func(v float32, decimals int) string { return formatNum(float64(v), decimals) },
		"short":       shortKey,
		"breakable":   breakable,
		"shortCommit": func(c string) string { r := []rune(c); return string(r[:min(len(r), 8)]) },
		"utc":         func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"asset":       func(name string) string { return "/static/" + p.static[name].hash + "/" + name },
		"comp":        func(id competition.ID) string { return id.String() },
		"cid":         func(id competition.ID) int { return int(id) },
		"cosine":      func(a Agreement, i, j int) *float64 { return a.Cosine[i][j] },
		"cols":        func(ws []ValidatorWeight) []ValidatorWeight { return ws[:min(len(ws), maxValidatorColumns)] },
		"vcols":       func(vs []*Validator) []*Validator { return vs[:min(len(vs), maxValidatorColumns)] },
		"newest":      func(s []Score) []Score { return s[max(0, len(s)-maxScoreRows):] },
		"maxRows":     func() int { return maxScoreRows },
		"maxCols":     func() int { return maxValidatorColumns },
		"dsloss":      func(m map[string]validator.LossRecord, name string) *float64 { return m[name].AverageLoss },
		"bestModel": func(c *Competition) *Model {
			if c.Best == nil || len(c.Models) == 0 {
				return nil
			}
			return c.Models[0]
		},
	}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/chart.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("leaderboard templates: %w", err)
		}
		p.tmpl[name] = t
	}
	return p, nil
}

// formatNum prints v with the given decimals; the pages carry the exact value beside it.
func formatNum(v float64, decimals int) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

func formatNumPtr(v *float64, decimals int) string {
	if v == nil {
		return "—"
	}
	return formatNum(*v, decimals)
}

// exact is v's shortest exact decimal form, for data-v attributes and the JSON API's readers.
func exact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func exactPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return exact(*v)
}

// breakable lets a browser wrap a dataset name ("org/name") after its slashes.
func breakable(s string) template.HTML {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = template.HTMLEscapeString(p)
	}
	return template.HTML(strings.Join(parts, "/<wbr>"))
}

// shortKey abbreviates an SS58 address for a table cell; the full one is in its title.
func shortKey(s string) string {
	r := []rune(s)
	if len(r) <= 12 {
		return s
	}
	return string(r[:5]) + "…" + string(r[len(r)-4:])
}

// Handler returns the HTTP handler of every page, the JSON API and the static files.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page("index", func(b *Board, r *http.Request) (any, bool) { return b, true }))
	mux.HandleFunc("GET /competition/{id}", s.page("competition", competitionOf))
	mux.HandleFunc("GET /validators", s.page("validators", func(b *Board, r *http.Request) (any, bool) { return b, true }))
	mux.HandleFunc("GET /uid/{uid}", s.page("uid", uidOf))
	mux.HandleFunc("GET /api/board", s.api(func(b *Board, r *http.Request) (any, bool) { return b, true }))
	mux.HandleFunc("GET /api/competition/{id}", s.api(func(b *Board, r *http.Request) (any, bool) {
		v, ok := competitionOf(b, r)
		if !ok {
			return nil, false
		}
		return v.(pageData).Competition, true
	}))
	mux.HandleFunc("GET /api/validators", s.api(func(b *Board, r *http.Request) (any, bool) {
		return struct {
			Block      chain.Block  `json:"block"`
			Validators []*Validator `json:"validators"`
			TopUIDs    []chain.UID  `json:"top_uids"`
			Agreement  Agreement    `json:"agreement"`
		}{b.Block, b.Validators, b.TopUIDs, b.Agreement}, true
	}))
	mux.HandleFunc("GET /api/uid/{uid}", s.api(func(b *Board, r *http.Request) (any, bool) {
		v, ok := uidOf(b, r)
		if !ok {
			return nil, false
		}
		return v.(pageData).UID, true
	}))
	mux.HandleFunc("GET /api/sources", s.api(func(b *Board, r *http.Request) (any, bool) { return b.Sources, true }))
	mux.HandleFunc("GET /static/{hash}/{name}", s.staticFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the leaderboard is read-only", http.StatusMethodNotAllowed)
			return
		}
		s.notFound(w, r)
	})
	return withDeadlines(mux)
}

// responseTimeout bounds reading a request and writing its response on one connection, which
// internal/httpserve leaves open (other servers stream large files): a client that reads
// slowly cannot hold a connection for longer.
const responseTimeout = 30 * time.Second

func withDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		deadline := time.Now().Add(responseTimeout)
		// Recorders in tests do not support deadlines; a real connection does.
		_ = rc.SetReadDeadline(deadline)
		_ = rc.SetWriteDeadline(deadline)
		h.ServeHTTP(w, r)
	})
}

// pageData is what a page template receives.
type pageData struct {
	*Board
	Competition *Competition
	UID         *UIDReport
	Charts      []*Chart
	Path        string
	PollMillis  int64 // how often live.js polls
}

type selector func(b *Board, r *http.Request) (any, bool)

func competitionOf(b *Board, r *http.Request) (any, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return nil, false
	}
	for _, c := range b.Competitions {
		if int(c.ID) == id {
			return pageData{Board: b, Competition: c}, true
		}
	}
	return nil, false
}

func uidOf(b *Board, r *http.Request) (any, bool) {
	uid, err := strconv.ParseUint(r.PathValue("uid"), 10, 16)
	if err != nil {
		return nil, false
	}
	rep, ok := b.UID(chain.UID(uid))
	if !ok {
		return nil, false
	}
	return pageData{Board: b, UID: rep}, true
}

func (s *Server) page(name string, sel selector) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b := s.Board()
		v, ok := sel(b, r)
		if !ok {
			s.notFound(w, r)
			return
		}
		d, isPage := v.(pageData)
		if !isPage {
			d = pageData{Board: b}
		}
		d.Path = r.URL.Path
		d.Charts = charts(name, d)
		d.PollMillis = s.cfg.Poll.Milliseconds()
		s.render(w, r, name, http.StatusOK, d)
	}
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	s.render(w, r, "notfound", http.StatusNotFound, pageData{Board: s.Board(), Path: r.URL.Path, PollMillis: s.cfg.Poll.Milliseconds()})
}

// render executes a page into memory, then serves it with an ETag of its bytes, so a client
// that polls gets 304 until something changed.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, status int, d pageData) {
	var buf bytes.Buffer
	if err := s.pages.tmpl[name].Execute(&buf, d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	serveBytes(w, r, status, buf.Bytes())
}

func (s *Server) api(sel selector) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := sel(s.Board(), r)
		if !ok {
			s.notFound(w, r)
			return
		}
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			s.log.Error("encode api response", "path", r.URL.Path, "err", err)
			http.Error(w, `{"error":"encoding failed"}`, http.StatusInternalServerError)
			return
		}
		setSecurityHeaders(w)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		serveBytes(w, r, http.StatusOK, append(body, '\n'))
	}
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

// serveBytes writes body with a strong ETag and Cache-Control: no-cache (clients may keep it
// but must revalidate), answering a matching If-None-Match with 304.
func serveBytes(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if status == http.StatusOK && etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// etagMatch implements If-None-Match's weak comparison over a list of tags or "*".
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := s.pages.static[r.PathValue("name")]
	if !ok || f.hash != r.PathValue("hash") {
		s.notFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+f.hash+`"`)
	// The URL names the content's hash, so the file at it never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(f.body)))
	if r.Method != http.MethodHead {
		w.Write(f.body)
	}
}

// charts lays out the charts a page shows.
func charts(page string, d pageData) []*Chart {
	switch page {
	case "index":
		var out []*Chart
		for _, c := range d.Competitions {
			out = append(out, bestChart(c))
		}
		return out
	case "competition":
		return []*Chart{bestChart(d.Competition), topChart(d.Competition)}
	case "uid":
		return []*Chart{byValidatorChart(fmt.Sprintf("uid %d: loss over time", d.UID.UID), d.UID.UID, d.UID.Scores)}
	}
	return nil
}

func bestChart(c *Competition) *Chart {
	if c.Best == nil {
		return lineChart(c.Name+": best model's loss", "block", "loss", "no model evaluated yet", nil)
	}
	return byValidatorChart(fmt.Sprintf("%s: best model (uid %d), loss over time", c.Name, *c.Best), *c.Best, c.Top[0].Scores)
}

// byValidatorChart draws one line per validator through a uid's scored steps.
func byValidatorChart(title string, uid chain.UID, scores []Score) *Chart {
	var series []chartSeries
	index := map[string]int{}
	for _, s := range scores {
		if s.Loss == nil {
			continue
		}
		i, ok := index[s.Validator]
		if !ok {
			i = len(series)
			index[s.Validator] = i
			name := "validator " + shortKey(s.Validator)
			if s.ValidatorUID != nil {
				name = fmt.Sprintf("validator uid %d", *s.ValidatorUID)
			}
			series = append(series, chartSeries{Name: name})
		}
		series[i].Points = append(series[i].Points, chartPoint{float64(s.Block), *s.Loss, pointTitle(uid, s)})
	}
	return lineChart(title, "block", "loss", "no scored steps yet", series)
}

// topChart draws one line per top model through all validators' scores of it.
func topChart(c *Competition) *Chart {
	var series []chartSeries
	for _, t := range c.Top {
		cs := chartSeries{Name: fmt.Sprintf("uid %d", t.UID)}
		for _, s := range t.Scores {
			if s.Loss != nil {
				cs.Points = append(cs.Points, chartPoint{float64(s.Block), *s.Loss, pointTitle(t.UID, s)})
			}
		}
		series = append(series, cs)
	}
	return lineChart(c.Name+": top models' loss over time", "block", "loss", "no model evaluated yet", series)
}

// pointTitle is a chart point's tooltip: whose score, from which step, and the loss.
func pointTitle(uid chain.UID, s Score) string {
	return fmt.Sprintf("uid %d, step %d of %s, block %d: loss %s", uid, s.Step, shortKey(s.Validator), s.Block, formatNum(*s.Loss, 4))
}
