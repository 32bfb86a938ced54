package leaderboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pretrain/pretrain/leaderboard"
	lt "github.com/pretrain/pretrain/leaderboard/leaderboardtest"
	"github.com/pretrain/pretrain/leaderboard/screenshot"
)

// TestBrowser loads every page of a leaderboard fed by the fixture in headless Chromium (one
// browser for all of them) and checks what a visitor sees: the best uid and its loss, the
// links, drawn charts, hostile strings shown as text, and the page updating in place.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs in the full suite, not in -short")
	}
	exe, err := screenshot.FindChromium()
	if err != nil {
		t.Skipf("skipping the browser tests: %v", err)
	}
	e := newEnv(t, func(c *leaderboard.Config) { c.Poll = 200 * time.Millisecond })
	tab, cancel, err := screenshot.Start(t.Context(), exe)
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	// load opens path and returns a function that evaluates a JavaScript expression there.
	load := func(t *testing.T, path string) func(expr string) any {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 30*time.Second)
		t.Cleanup(cancel)
		if err := chromedp.Do(ctx, chromedp.Navigate(e.url+path), chromedp.WaitReady("main")); err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		return func(expr string) any {
			t.Helper()
			v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
			if err != nil {
				t.Fatalf("%s: evaluate %s: %v", path, expr, err)
			}
			return v
		}
	}
	want := func(t *testing.T, eval func(string) any, expr string, v any) {
		t.Helper()
		if got := eval(expr); fmt.Sprint(got) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", expr, got, v)
		}
	}
	// A chart is drawn when its first line has a visible extent on screen.
	const chartDrawn = `(() => { const l = document.querySelector("svg.chart polyline"); if (!l) return false;
		const b = l.getBoundingClientRect(); return b.width > 100 && b.height > 10 })()`
	const visibleText = `(sel) => { const n = document.querySelector(sel); return n && n.offsetParent !== null ? n.textContent.trim() : null }`
	text := func(sel string) string { return fmt.Sprintf("(%s)(%q)", visibleText, sel) }

	for _, path := range pagePaths() {
		t.Run("scripts"+path, func(t *testing.T) {
			eval := load(t, path)
			want(t, eval, "document.body.dataset.live", "on") // live.js ran under the page's CSP
			want(t, eval, "document.querySelectorAll('img, script:not([src]), main i').length", 0)
		})
	}
	t.Run("overview", func(t *testing.T) {
		eval := load(t, "/")
		want(t, eval, text(".best-uid"), "uid 2")
		want(t, eval, text(`p.best [data-k="loss"]`), "3.0500")
		want(t, eval, `document.querySelector("p.best a.repo").href`, hub+"/alice/gpt-tiny/tree/"+lt.BestCommit)
		want(t, eval, text("p.best a.repo"), lt.BestRepo+"@"+lt.BestCommit[:8])
		want(t, eval, chartDrawn, true)
		want(t, eval, `document.querySelectorAll("svg.chart circle").length`, 5) // 3 steps of V0, 2 of V1
	})
	t.Run("competition", func(t *testing.T) {
		eval := load(t, "/competition/99")
		want(t, eval, `[...document.querySelectorAll("table.models tbody tr")].map(r => r.dataset.uid).join(",")`, "2,3,7,4")
		want(t, eval, text(`tr[data-uid="3"] a.repo`), lt.HostileRepo+"@"+lt.HostileCommit[:8])
		want(t, eval, `document.querySelector('tr[data-uid="3"] a.repo').getAttribute("href")`,
			hub+"/%22%3E%3Cimg%20src=x%20onerror=alert%281%29%3E/a&b%3Ci%3E/tree/"+lt.HostileCommit)
		want(t, eval, text(`tr[data-uid="4"] td.status small`), lt.FailedReason)
		want(t, eval, text(`tr[data-uid="2"] [data-k="loss"]`), "3.0500")
		want(t, eval, `document.querySelectorAll("svg.chart").length`, 2)
		want(t, eval, chartDrawn, true)
	})
	t.Run("validators", func(t *testing.T) {
		eval := load(t, "/validators")
		want(t, eval, `document.querySelectorAll("table.validators tbody tr").length`, 2)
		want(t, eval, text(`[data-k="cosine"][data-a="0"][data-b="0"]`), "1.0000")
		want(t, eval, text(`tr[data-validator="0"] [data-k="stake"]`), "300.00")
	})
	t.Run("uid", func(t *testing.T) {
		eval := load(t, "/uid/2")
		want(t, eval, text("code.download"), "pretrain download 2 ./uid-2 --chain.path "+e.f.ChainPath+" --netuid 9")
		want(t, eval, `document.querySelectorAll("table.scores tbody tr").length`, 5)
		want(t, eval, chartDrawn, true)
		eval = load(t, "/uid/6")
		want(t, eval, text("table.model code"), lt.GarbageData)
	})
	t.Run("live", func(t *testing.T) {
		eval := load(t, "/")
		eval("window.sameDocument = 42")
		appendStep(t, e.f, 4, 32, 2.9)
		e.srv.Refresh(t.Context())
		poll(t, tab, text(`p.best [data-k="loss"]`)+` === "2.9000"`)
		want(t, eval, "window.sameDocument", 42) // updated in place, not reloaded
		e.chain.down.Store(true)
		e.srv.Refresh(t.Context())
		poll(t, tab, `document.querySelector('#status [data-stale="chain"]') !== null`)
		want(t, eval, text(`p.best [data-k="loss"]`), "2.9000") // the last data stays, marked stale
		e.ts.Close()
		poll(t, tab, `document.body.dataset.live === "offline"`)
		if s := eval(text("#live")); !strings.Contains(fmt.Sprint(s), "unreachable") {
			t.Errorf("live indicator with the server down = %q", s)
		}
	})
}

func poll(t *testing.T, tab context.Context, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
}
