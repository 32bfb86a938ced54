package main

import (
	"bytes"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	lt "github.com/pretrain/pretrain/leaderboard/leaderboardtest"
	"github.com/pretrain/pretrain/leaderboard/screenshot"
)

// TestLeaderboardScreenshot runs `pretrain leaderboard --screenshot DIR` on the recorded
// fixture and checks that every page became a PNG of the browser's width.
func TestLeaderboardScreenshot(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs in the full suite, not in -short")
	}
	if _, err := screenshot.FindChromium(); err != nil {
		t.Skipf("skipping the browser test: %v", err)
	}
	f := lt.New(t)
	dir := t.TempDir()
	if d := os.Getenv("LEADERBOARD_SCREENSHOTS"); d != "" { // to look at them: a directory that stays
		dir = d
	}
	out, _, err := runCLI(t, "leaderboard", "--chain.path", f.ChainPath, "--schedule", "local",
		"--steplog", f.StepLogPath, "--screenshot", dir)
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(out)
	var names []string
	for _, file := range files {
		names = append(names, filepath.Base(file))
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if w := img.Bounds().Dx(); w != screenshot.Width {
			t.Errorf("%s is %d pixels wide, want %d", file, w, screenshot.Width)
		}
	}
	want := []string{"index.png", "competition-99.png", "competition-5.png", "validators.png",
		"uid-2.png", "uid-3.png", "uid-4.png", "uid-5.png", "uid-6.png", "uid-7.png"}
	if !slices.Equal(names, want) {
		t.Errorf("screenshots %v, want %v", names, want)
	}
}

func TestLeaderboardUsage(t *testing.T) {
	if _, _, err := runCLI(t, "leaderboard", "--chain.path", filepath.Join(t.TempDir(), "none.db")); !errors.Is(err, errUsage) {
		t.Errorf("leaderboard without a chain file: %v, want a usage error", err)
	}
	f := lt.New(t)
	if _, _, err := runCLI(t, "leaderboard", "--chain.path", f.ChainPath, "--validator", "ftp://x"); !errors.Is(err, errUsage) {
		t.Errorf("leaderboard with an ftp validator url: %v, want a usage error", err)
	}
}
