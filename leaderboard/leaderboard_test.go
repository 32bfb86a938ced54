package leaderboard_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/leaderboard"
	lt "github.com/pretrain/pretrain/leaderboard/leaderboardtest"
	"github.com/pretrain/pretrain/validator"
)

const hub = "https://hub.example"

// flakyChain is a chain.Reader that fails while down is set.
type flakyChain struct {
	chain.Reader
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (c *flakyChain) CurrentBlock(ctx context.Context) (chain.Block, error) {
	if c.down.Load() {
		return 0, errDown
	}
	return c.Reader.CurrentBlock(ctx)
}

// env is a leaderboard fed by the fixture: V0's step log from its file, V1's over HTTP.
type env struct {
	f      *lt.Fixture
	chain  *flakyChain
	srv    *leaderboard.Server
	url    string
	ts     *httptest.Server
	v1     *httptest.Server
	v1Seen atomic.Value // the last since= V1's endpoint was asked for
}

func newEnv(t testing.TB, configure ...func(*leaderboard.Config)) *env {
	t.Helper()
	e := &env{f: lt.New(t)}
	e.chain = &flakyChain{Reader: e.f.Chain}
	steps := lt.StepLogHandler(func() []validator.StepRecord { return e.f.V1Steps })
	e.v1 = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.v1Seen.Store(r.URL.Query().Get("since"))
		steps.ServeHTTP(w, r)
	}))
	t.Cleanup(e.v1.Close)
	cfg := leaderboard.Config{
		Chain: e.chain, NetUID: lt.NetUID, Schedule: competition.LocalSchedule,
		StepLogs: []string{e.f.StepLogPath}, Validators: []string{e.v1.URL}, Hub: hub,
		DownloadFlags: "--chain.path " + e.f.ChainPath + " --netuid 9",
		Now:           func() time.Time { return time.Date(2026, 12, 1, 13, 0, 0, 0, time.UTC) },
	}
	for _, c := range configure {
		c(&cfg)
	}
	var err error
	if e.srv, err = leaderboard.New(cfg); err != nil {
		t.Fatal(err)
	}
	e.srv.Refresh(t.Context())
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	e.url = e.ts.URL
	return e
}

func (e *env) get(t testing.TB, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// pagePaths are every page of the fixture's leaderboard.
func pagePaths() []string {
	p := []string{"/", "/competition/99", "/competition/5", "/validators"}
	for uid := range 8 {
		p = append(p, fmt.Sprintf("/uid/%d", uid))
	}
	return p
}

// TestEveryNumberMatchesItsSource reads every number cell of every page and checks its exact
// value (data-v) against the chain (read here directly) or the step log records, and its
// displayed text against that value.
func TestEveryNumberMatchesItsSource(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	m, err := e.f.Chain.Metagraph(ctx, lt.NetUID)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(uid chain.UID) chain.Commitment {
		c, err := e.f.Chain.Commitment(ctx, lt.NetUID, m.Hotkeys[uid])
		if err != nil {
			t.Fatalf("commitment of uid %d: %v", uid, err)
		}
		return c
	}
	// latest is the newest record (by block) that scored uid's committed repo and commit.
	latest := func(uid chain.UID) *validator.UIDRec {
		id, err := chain.ParseModelID(commit(uid).Data)
		if err != nil {
			return nil
		}
		var best *validator.UIDRec
		var bestBlock chain.Block = -1
		for _, r := range e.f.Steps {
			d, ok := r.UIDData[strconv.Itoa(int(uid))]
			if ok && d.HF == id.RepoID() && (d.Commit == "" || d.Commit == id.Commit) && r.Block > bestBlock {
				best, bestBlock = &d, r.Block
			}
		}
		return best
	}
	rowShare := func(v, uid chain.UID) float64 {
		var sum, w float64
		for _, x := range m.Weights[v] {
			sum += float64(x.Weight)
			if x.UID == uid {
				w = float64(x.Weight)
			}
		}
		if sum == 0 {
			return 0
		}
		return w / sum
	}
	cos := func(a, b chain.UID) float64 {
		dense := func(v chain.UID) []float64 {
			x := make([]float64, m.N)
			for _, e := range m.Weights[v] {
				x[e.UID] = float64(e.Weight)
			}
			return x
		}
		x, y := dense(a), dense(b)
		var dot, nx, ny float64
		for i := range x {
			dot, nx, ny = dot+x[i]*y[i], nx+x[i]*x[i], ny+y[i]*y[i]
		}
		return dot / math.Sqrt(nx*ny)
	}
	record := func(hotkey string, step int64) validator.StepRecord {
		for _, r := range e.f.Steps {
			if r.ValidatorHotkey == hotkey && r.Step == step {
				return r
			}
		}
		t.Fatalf("no record of step %d by %s", step, hotkey)
		return validator.StepRecord{}
	}
	ptr := func(v float64) *float64 { return &v }
	checked := map[string]int{}
	for _, path := range pagePaths() {
		resp, body := e.get(t, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		pageUID := -1
		if s, ok := strings.CutPrefix(path, "/uid/"); ok {
			pageUID, _ = strconv.Atoi(s)
		}
		for n := range doc.Descendants() {
			if n.Type == html.ElementNode && n.Data == "title" && n.Parent.Data == "circle" {
				checkPointTitle(t, path, textOf(n), e.f.Steps)
				checked["chart_point"]++
				continue
			}
			kind := attr(n, "data-k")
			if n.Type != html.ElementNode || kind == "" {
				continue
			}
			text := strings.TrimSpace(textOf(n))
			got := attr(n, "data-v")
			uid := chain.UID(pageUID)
			if s := ancestorAttr(n, "data-uid"); s != "" {
				u, _ := strconv.Atoi(s)
				uid = chain.UID(u)
			}
			var want *float64
			switch kind {
			case "block":
				want = ptr(float64(m.Block))
				got = text
			case "reward_share":
				want = ptr(1)
			case "commit_block":
				want = ptr(float64(commit(uid).Block))
			case "epsilon":
				d := min(float64(m.Block-commit(uid).Block)/600, 1)
				if id, _ := chain.ParseModelID(commit(uid).Data); competition.ID(id.CompetitionID) == competition.Local {
					want = ptr(0.005 - d*(0.005-0.0005))
				}
			case "loss", "dataset_loss", "win_rate":
				if d := latest(uid); d != nil {
					switch kind {
					case "loss":
						want = d.AverageLoss
					case "dataset_loss":
						want = d.DatasetPerf[attr(n, "data-dataset")].AverageLoss
					default:
						want = ptr(d.WinRate)
					}
				}
			case "incentive":
				want = ptr(m.Incentive[uid])
			case "emission":
				want = ptr(m.Emission[uid])
			case "weight":
				if v := ancestorAttr(n, "data-validator"); v != "" && attr(n, "data-uid") != "" {
					vu, _ := strconv.Atoi(v)
					u, _ := strconv.Atoi(attr(n, "data-uid"))
					want = ptr(rowShare(chain.UID(vu), chain.UID(u)))
				} else {
					vu, _ := strconv.Atoi(attr(n, "data-validator"))
					want = ptr(rowShare(chain.UID(vu), uid))
				}
			case "stake", "vtrust", "last_update":
				v, _ := strconv.Atoi(ancestorAttr(n, "data-validator"))
				want = ptr(map[string]float64{"stake": m.Stake[v], "vtrust": m.ValidatorTrust[v], "last_update": float64(m.LastUpdate[v])}[kind])
			case "cosine":
				a, _ := strconv.Atoi(attr(n, "data-a"))
				b, _ := strconv.Atoi(attr(n, "data-b"))
				c := cos(chain.UID(a), chain.UID(b))
				if got != "" && math.Abs(parse(t, got)-c) < 1e-12 {
					c = parse(t, got) // the sum's order may differ in the last place
				}
				want = &c
			case "score_loss", "score_win_rate", "score_weight", "best_loss":
				if kind == "best_loss" {
					repo, commit, _ := strings.Cut(ancestorAttr(n, "data-commit"), "@")
					for _, r := range e.f.Steps {
						d, ok := r.UIDData[strconv.Itoa(int(uid))]
						if ok && d.HF == repo && d.Commit == commit && d.AverageLoss != nil && (want == nil || *d.AverageLoss < *want) {
							want = d.AverageLoss
						}
					}
					break
				}
				step, _ := strconv.ParseInt(ancestorAttr(n, "data-step"), 10, 64)
				d := record(ancestorAttr(n, "data-validator-hotkey"), step).UIDData[strconv.Itoa(int(uid))]
				switch kind {
				case "score_loss":
					want = d.AverageLoss
				case "score_win_rate":
					want = ptr(d.WinRate)
				default:
					want = ptr(float64(d.Weight))
					if g, err := strconv.ParseFloat(got, 32); err == nil {
						got = strconv.FormatFloat(float64(float32(g)), 'g', -1, 64)
					}
				}
			default:
				t.Errorf("%s: a number of unknown kind %q", path, kind)
				continue
			}
			checked[kind]++
			where := fmt.Sprintf("%s %s (uid %d)", path, kind, uid)
			if want == nil {
				if got != "" || text != "—" {
					t.Errorf("%s = %q shown %q, want no value and —", where, got, text)
				}
				continue
			}
			if v := parse(t, got); v != *want {
				t.Errorf("%s = %v, want %v", where, v, *want)
			}
			if !shownAs(text, *want) {
				t.Errorf("%s shown as %q, which does not round %v", where, text, *want)
			}
		}
	}
	for _, k := range []string{"chart_point", "block", "reward_share", "commit_block", "epsilon", "loss", "dataset_loss", "win_rate",
		"incentive", "emission", "weight", "stake", "vtrust", "last_update", "cosine", "score_loss", "score_win_rate", "score_weight", "best_loss"} {
		if checked[k] == 0 {
			t.Errorf("no %s cell was checked", k)
		}
	}
	t.Logf("checked %v", checked)
}

// checkPointTitle checks a chart point's tooltip ("uid U, step S of V, block B: loss L")
// against the step record it names.
func checkPointTitle(t *testing.T, path, title string, steps []validator.StepRecord) {
	t.Helper()
	var uid, step, block int
	var validatorKey, loss string
	if _, err := fmt.Sscanf(title, "uid %d, step %d of %s block %d: loss %s", &uid, &step, &validatorKey, &block, &loss); err != nil {
		t.Errorf("%s: chart point %q: %v", path, title, err)
		return
	}
	prefix, _, _ := strings.Cut(strings.TrimSuffix(validatorKey, ","), "…")
	for _, r := range steps {
		d, ok := r.UIDData[strconv.Itoa(uid)]
		if ok && r.Step == int64(step) && int(r.Block) == block && strings.HasPrefix(r.ValidatorHotkey, prefix) {
			if d.AverageLoss == nil {
				t.Errorf("%s: chart point %q for a step that has no loss", path, title)
			} else if !shownAs(loss, *d.AverageLoss) {
				t.Errorf("%s: chart point %q, but the step's loss is %v", path, title, *d.AverageLoss)
			}
			return
		}
	}
	t.Errorf("%s: chart point %q names no step record", path, title)
}

func parse(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return v
}

// shownAs reports whether text is v rounded to text's own number of decimals.
func shownAs(text string, v float64) bool {
	_, frac, _ := strings.Cut(text, ".")
	shown, err := strconv.ParseFloat(text, 64)
	return err == nil && math.Abs(shown-v) <= 0.5*math.Pow(10, -float64(len(frac)))*(1+1e-9)
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func ancestorAttr(n *html.Node, key string) string {
	for ; n != nil; n = n.Parent {
		if v := attr(n, key); v != "" {
			return v
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func TestBoardStatuses(t *testing.T) {
	e := newEnv(t)
	b := e.srv.Board()
	if b.Block != e.f.Head || b.Stale {
		t.Fatalf("board at block %d stale %v, want %d and fresh", b.Block, b.Stale, e.f.Head)
	}
	byID := map[competition.ID]*leaderboard.Competition{}
	for _, c := range b.Competitions {
		byID[c.ID] = c
	}
	local := byID[competition.Local]
	if local == nil || local.Best == nil || *local.Best != lt.Best {
		t.Fatalf("LOCAL best = %v, want uid %d", local, lt.Best)
	}
	var order []chain.UID
	status := map[chain.UID]*leaderboard.Model{}
	for _, m := range local.Models {
		order = append(order, m.UID)
		status[m.UID] = m
	}
	if want := []chain.UID{lt.Best, lt.Hostile, lt.Fresh, lt.Failed}; !slices.Equal(order, want) {
		t.Errorf("LOCAL ranking = %v, want %v", order, want)
	}
	for _, c := range []struct {
		uid    chain.UID
		status string
		reason string
	}{
		{lt.Best, leaderboard.StatusEvaluated, ""},
		{lt.Hostile, leaderboard.StatusEvaluated, ""},
		{lt.Fresh, leaderboard.StatusPending, "eligible for evaluation from block 40"},
		{lt.Failed, leaderboard.StatusRejected, lt.FailedReason},
	} {
		if m := status[c.uid]; m.Status != c.status || m.Reason != c.reason {
			t.Errorf("uid %d status %q reason %q, want %q %q", c.uid, m.Status, m.Reason, c.status, c.reason)
		}
	}
	if m := status[lt.Best]; m.URL != hub+"/alice/gpt-tiny/tree/"+lt.BestCommit || m.ScoredBy.Step != 3 {
		t.Errorf("best model URL %s scored by step %d, want step 3", m.URL, m.ScoredBy.Step)
	}
	off := byID[competition.B14ModelMultiData]
	if off == nil || off.Active || len(off.Models) != 1 || off.Models[0].Status != leaderboard.StatusRejected ||
		!strings.Contains(off.Models[0].Reason, "not scheduled") {
		t.Errorf("off-schedule competition = %+v", off)
	}
	if len(b.Unparsed) != 1 || b.Unparsed[0].UID != lt.Garbage || !strings.Contains(b.Unparsed[0].Reason, "malformed") {
		t.Errorf("unparsed commitments = %+v", b.Unparsed)
	}
	if len(b.Validators) != 2 || b.Validators[0].UID != lt.V0 || b.Validators[0].LatestStep.Step != 3 || b.Validators[1].LatestStep.Step != 8 {
		t.Errorf("validators = %+v", b.Validators)
	}
	src := b.Sources
	if len(src) != 3 || src[1].Records != 3 || src[1].Skipped != e.f.SkippedLines || src[2].Records != 2 {
		t.Errorf("sources = %+v, want 3 records and %d skipped from the file, 2 from HTTP", src, e.f.SkippedLines)
	}
	rep, ok := b.UID(lt.Best)
	if !ok || len(rep.Commits) != 2 || rep.Commits[0].Commit != lt.OldBestCommit || rep.Commits[1].Steps != 3 {
		t.Errorf("uid %d report commits = %+v", lt.Best, rep.Commits)
	}
	if want := "pretrain download 2 ./uid-2 --chain.path " + e.f.ChainPath + " --netuid 9"; rep.Download != want {
		t.Errorf("download = %q, want %q", rep.Download, want)
	}
	for _, uid := range []chain.UID{lt.V0, lt.Garbage} {
		if rep, _ := b.UID(uid); rep.Download != "" {
			t.Errorf("uid %d without a model has download command %q", uid, rep.Download)
		}
	}
}

func TestHostileStringsAreEscaped(t *testing.T) {
	e := newEnv(t)
	for _, path := range append(pagePaths(), "/uid/3?x=<script>", "/nope/<script>alert(1)</script>") {
		_, body := e.get(t, path)
		for _, bad := range []string{"<img src=x", "<script>alert", "<i>@"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains unescaped %q", path, bad)
			}
		}
	}
	_, body := e.get(t, "/competition/99")
	if !strings.Contains(body, `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;/a&amp;b&lt;i&gt;@`) {
		t.Error("the hostile repo name is not shown escaped")
	}
	if !strings.Contains(body, `href="`+hub+`/%22%3E%3Cimg%20src=x%20onerror=alert%281%29%3E/a&amp;b%3Ci%3E/tree/`) {
		t.Error("the hostile repo's link is not path-escaped")
	}
}

func TestCachingHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/api/board", "/uid/2"} {
		resp, _ := e.get(t, path)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: ETag %q Cache-Control %q", path, etag, resp.Header.Get("Cache-Control"))
		}
		if r2, body := e.get(t, path, "If-None-Match", etag); r2.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s with its ETag = %d, want 304", path, r2.StatusCode)
		}
		if r3, _ := e.get(t, path, "If-None-Match", `"other"`); r3.StatusCode != http.StatusOK {
			t.Errorf("%s with another ETag = %d, want 200", path, r3.StatusCode)
		}
	}
	// A change in a source changes the page's ETag.
	resp, _ := e.get(t, "/")
	appendStep(t, e.f, 4, 32, 2.9)
	e.srv.Refresh(t.Context())
	if r2, body := e.get(t, "/", "If-None-Match", resp.Header.Get("ETag")); r2.StatusCode != http.StatusOK || !strings.Contains(body, ">2.9000<") {
		t.Errorf("after a new step: %d, want 200 with the new loss", r2.StatusCode)
	}
	// Static files are named by their hash and cached for good.
	_, page := e.get(t, "/")
	i := strings.Index(page, "/static/")
	link := page[i : i+strings.IndexByte(page[i:], '"')]
	sr, _ := e.get(t, link)
	if sr.StatusCode != http.StatusOK || !strings.Contains(sr.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d, Cache-Control %q", link, sr.StatusCode, sr.Header.Get("Cache-Control"))
	}
	if r, _ := e.get(t, strings.Replace(link, "/static/", "/static/0", 1)); r.StatusCode != http.StatusNotFound {
		t.Errorf("a static file under a wrong hash = %d, want 404", r.StatusCode)
	}
}

// appendStep appends a V0 step that scores the best model at loss.
func appendStep(t testing.TB, f *lt.Fixture, step int64, block chain.Block, loss float64) {
	t.Helper()
	line := fmt.Sprintf(`{"version":1,"step":%d,"timestamp":"2026-12-01T12:30:00Z","validator_hotkey":%q,"block":%d,"competition_id":99,`+
		`"uid_data":{"2":{"uid":2,"hotkey":%q,"hf":%q,"commit":%q,"average_loss":%v,"win_rate":1,"weight":1}}}`+"\n",
		step, f.Hotkeys[lt.V0], block, f.Hotkeys[lt.Best], lt.BestRepo, lt.BestCommit, loss)
	fh, err := os.OpenFile(f.StepLogPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(line); err != nil {
		t.Fatal(err)
	}
}

func TestIncrementalSources(t *testing.T) {
	e := newEnv(t)
	if got := e.v1Seen.Load(); got != "" {
		t.Errorf("first request asked since=%q, want no since", got)
	}
	// Half a line (a writer mid-way) is left for the next read.
	fh, _ := os.OpenFile(e.f.StepLogPath, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString(`{"version":1,"step":9`)
	fh.Close()
	e.srv.Refresh(t.Context())
	if got := e.v1Seen.Load(); got != "8" {
		t.Errorf("second request asked since=%q, want 8", got)
	}
	if s := e.srv.Board().Sources[1]; s.Skipped != e.f.SkippedLines || s.Records != 3 {
		t.Errorf("after half a line: %+v", s)
	}
	e.f.V1Steps = append(e.f.V1Steps, e.f.V1Steps[1])
	e.f.V1Steps[2].Step = 9
	e.srv.Refresh(t.Context())
	if s := e.srv.Board().Sources[2]; s.Records != 3 {
		t.Errorf("V1 records after a new step = %d, want 3", s.Records)
	}
}

func TestStaleSourcesKeepTheirData(t *testing.T) {
	e := newEnv(t)
	e.chain.down.Store(true)
	e.v1.Close()
	os.Remove(e.f.StepLogPath)
	e.srv.Refresh(t.Context())
	b := e.srv.Board()
	if !b.Stale || b.Block != e.f.Head || b.Competitions[0].Best == nil {
		t.Fatalf("board after the sources went down: stale %v block %d", b.Stale, b.Block)
	}
	for _, path := range pagePaths() {
		resp, body := e.get(t, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with sources down = %d", path, resp.StatusCode)
		}
		if n := strings.Count(body, `class="banner stale"`); n != 3 {
			t.Errorf("%s shows %d stale banners, want 3 (chain, file, validator)", path, n)
		}
	}
	_, body := e.get(t, "/")
	if !strings.Contains(body, `class="best-uid">uid 2<`) || !strings.Contains(body, "connection refused") {
		t.Error("the stale page lost the best model or the reason")
	}
}

func TestNeverReadChain(t *testing.T) {
	f := lt.New(t)
	c := &flakyChain{Reader: f.Chain}
	c.down.Store(true)
	srv, err := leaderboard.New(leaderboard.Config{Chain: c, NetUID: lt.NetUID, Schedule: competition.LocalSchedule})
	if err != nil {
		t.Fatal(err)
	}
	srv.Refresh(t.Context())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/", "/validators", "/api/board"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) == 0 {
			t.Errorf("GET %s before any chain data = %d, %d bytes", path, resp.StatusCode, len(b))
		}
		if path == "/" && (!strings.Contains(string(b), "No chain data yet") || !strings.Contains(string(b), "connection refused")) {
			t.Errorf("GET / does not say the chain is missing")
		}
	}
	if resp, _ := http.Get(ts.URL + "/uid/2"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /uid/2 without a metagraph = %d, want 404", resp.StatusCode)
	}
}

func TestAPI(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, contains string
		status         int
	}{
		{"/api/board", `"best_uid": 2`, 200},
		{"/api/competition/99", `"best_uid": 2`, 200},
		{"/api/validators", `"cosine"`, 200},
		{"/api/uid/2", `"download_command": "pretrain download 2 ./uid-2`, 200},
		{"/api/sources", `"skipped_lines": 2`, 200},
		{"/api/uid/99", `not found`, 404},
		{"/api/competition/x", `not found`, 404},
		{"/uid/70000", `Not found`, 404},
		{"/competition/7", `Not found`, 404},
	} {
		resp, body := e.get(t, c.path)
		if resp.StatusCode != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s = %d, want %d containing %q:\n%.300s", c.path, resp.StatusCode, c.status, c.contains, body)
		}
	}
	for _, hub := range []string{"javascript:alert(1)", "huggingface.co", "http://"} {
		if _, err := leaderboard.New(leaderboard.Config{Chain: e.chain, Schedule: competition.LocalSchedule, Hub: hub}); err == nil {
			t.Errorf("New with hub %q succeeded", hub)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.url+"/api/board", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/board = %v, %v, want 405", resp.StatusCode, err)
	}
}

func TestRunServesAndStops(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- e.srv.Run(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a.String() })
	}()
	resp, err := http.Get("http://" + <-addr + "/competition/99")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<tr data-uid="2"`) {
		t.Errorf("GET /competition/99 from Run = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

// TestHostileStepLog feeds a step record from an unknown validator whose hotkey, repo and
// reason are markup and that scores a uid the subnet does not have: the pages stay whole and
// escaped, and the unknown uid is ignored.
func TestHostileStepLog(t *testing.T) {
	e := newEnv(t)
	line := fmt.Sprintf(`{"version":1,"step":1,"timestamp":"2026-12-01T12:40:00Z","validator_hotkey":"<img src=x onerror=alert(5)>","block":32,"competition_id":99,`+
		`"top_uid":60000,"uid_data":{"2":{"uid":2,"hotkey":%q,"hf":"<script>alert(6)</script>","average_loss":1e308,"reason":"<img src=y>"},`+
		`"60000":{"uid":60000,"hf":"x/y","average_loss":1}}}`+"\n", e.f.Hotkeys[lt.Best])
	fh, err := os.OpenFile(e.f.StepLogPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(line)
	fh.Close()
	e.srv.Refresh(t.Context())
	if s := e.srv.Board().Sources[1]; s.Records != 4 {
		t.Fatalf("the hostile record was not read: %+v", s)
	}
	for _, path := range append(pagePaths(), "/api/board", "/api/uid/2", "/uid/60000") {
		resp, body := e.get(t, path)
		want := http.StatusOK
		if path == "/uid/60000" {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
		if strings.Contains(body, "<img src=") || strings.Contains(body, "<script>alert") {
			t.Errorf("%s carries the step log's markup unescaped", path)
		}
	}
	if _, body := e.get(t, "/uid/2"); !strings.Contains(body, "&lt;script&gt;alert(6)&lt;/script&gt;@") {
		t.Error("the uid page does not show the hostile repo as text")
	}
}
