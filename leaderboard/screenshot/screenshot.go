// Package screenshot renders web pages in headless Chromium, driven over the DevTools
// protocol by chromedp: PNGs of the leaderboard's pages for `pretrain leaderboard
// --screenshot`, and the browser the leaderboard's acceptance tests drive.
package screenshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium is returned when no Chromium or Chrome executable is on PATH.
var ErrNoChromium = errors.New("no chromium on PATH (on Debian: apt-get install chromium)")

// browserNames are the executables tried, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// FindChromium returns the path of the first Chromium or Chrome executable on PATH.
func FindChromium() (string, error) {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Width and Height are the viewport pages are rendered in (CSS pixels); a full-page capture
// extends the height to the whole page.
const (
	Width  = 1280
	Height = 900
)

// Start launches one headless browser at execPath and returns a context for its first tab;
// every chromedp action run with that context, or with a context derived from it (say with a
// timeout), uses the same browser. cancel closes the browser and waits for it to exit.
func Start(ctx context.Context, execPath string) (tab context.Context, cancel context.CancelFunc, err error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		// Containers run as root, where Chromium's sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(Width, Height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(actx)
	cancel = func() { cancelTab(); cancelAlloc() }
	// The first action starts the browser and ties it to the context it runs with: run it
	// here with tab itself, so that a derived context's end cannot close the browser.
	if err := chromedp.Do(tab); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start %s: %w", execPath, err)
	}
	return tab, cancel, nil
}

// Capture loads baseURL+path for each path in tab, waits for the page's content, and writes
// a full-page PNG to dir named after the path (index.png, competition-99.png, uid-3.png).
// It returns the files written.
func Capture(tab context.Context, baseURL string, paths []string, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, p := range paths {
		err := chromedp.Do(tab,
			chromedp.EmulateViewport(Width, Height),
			chromedp.Navigate(baseURL+p),
			chromedp.WaitReady("main"),
		)
		if err != nil {
			return files, fmt.Errorf("load %s: %w", p, err)
		}
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			return files, fmt.Errorf("screenshot %s: %w", p, err)
		}
		file := filepath.Join(dir, FileName(p))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	return files, nil
}

// FileName is the PNG name of a page path: "/" is index.png, "/uid/3" is uid-3.png.
func FileName(path string) string {
	name := strings.Trim(path, "/")
	if name == "" {
		name = "index"
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, name)
	return name + ".png"
}
