package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/hub/hubtest"
	"github.com/pretrain/pretrain/modelstore"
)

// TestMinerPushAndHelpers drives a miner's commands against an in-process local hub and a
// local chain file: model init, push, then metadata, best-uid, repo and download read back
// what was pushed.
func TestMinerPushAndHelpers(t *testing.T) {
	ts, _ := hubtest.Start(t, nil, nil)
	dir := t.TempDir()
	wallets := filepath.Join(dir, "wallets")
	db := filepath.Join(dir, "chain.db")
	model := filepath.Join(dir, "model")
	must := func(args ...string) string {
		t.Helper()
		out, _, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	must("wallet", "new", "--wallet.path", wallets, "--wallet.name", "m")
	must("chain", "init", "--chain.path", db, "--manual")
	must("chain", "register", "--chain.path", db, "--wallet.path", wallets, "--wallet.name", "m")
	must("model", "init", "--arch", "gpt2", "--preset", "gpt2-tiny", "--out", model)
	chainFlags := []string{"--chain.path", db}
	hubFlags := []string{"--hub.endpoint", ts.URL}
	t.Setenv("HF_ACCESS_TOKEN", hubtest.Token)
	t.Setenv("HF_ENDPOINT", "")

	// Bad competition names are usage errors; nothing is pushed.
	if _, _, err := runCLI(t, append(append([]string{"miner", "push", "--model", model, "--repo", "miner/tiny", "--competition", "NOPE",
		"--wallet.path", wallets, "--wallet.name", "m"}, chainFlags...), hubFlags...)...); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("push --competition NOPE: %v", err)
	}
	out := must(append(append([]string{"miner", "push", "--model", model, "--repo", "miner/tiny", "--competition", "local",
		"--wallet.path", wallets, "--wallet.name", "m", "--retry-delay", "10ms", "--json"}, chainFlags...), hubFlags...)...)
	var pushed struct {
		UID      int    `json:"uid"`
		Metadata string `json:"metadata"`
		Commit   string `json:"commit"`
		Hotkey   string `json:"hotkey"`
		DirHash  string `json:"dir_hash"`
		Public   bool   `json:"public"`
		URL      string `json:"url"`
	}
	if err := json.Unmarshal([]byte(out), &pushed); err != nil {
		t.Fatalf("push output %q: %v", out, err)
	}
	if !pushed.Public || pushed.URL != ts.URL+"/miner/tiny/tree/"+pushed.Commit ||
		pushed.Metadata != "miner:tiny:"+pushed.Commit+":"+modelstore.SecureHash(pushed.DirHash, pushed.Hotkey)+":99" {
		t.Errorf("push printed %s", out)
	}

	for _, who := range []string{"0", pushed.Hotkey} {
		var md struct {
			UID      *int   `json:"uid"`
			Metadata string `json:"metadata"`
		}
		if err := json.Unmarshal([]byte(must(append([]string{"metadata", who}, chainFlags...)...)), &md); err != nil {
			t.Fatal(err)
		}
		if md.UID == nil || *md.UID != 0 || md.Metadata != pushed.Metadata {
			t.Errorf("metadata %s = %+v, want uid 0 and %s", who, md, pushed.Metadata)
		}
	}
	if got := strings.TrimSpace(must(append([]string{"best-uid", "--competition", "99"}, chainFlags...)...)); got != "0" {
		t.Errorf("best-uid = %q, want 0", got)
	}
	if _, _, err := runCLI(t, append([]string{"best-uid", "--competition", "B3_MODEL"}, chainFlags...)...); err == nil {
		t.Error("best-uid of a competition nobody entered succeeded")
	}
	if got := strings.TrimSpace(must(append(append([]string{"repo", "0"}, chainFlags...), hubFlags...)...)); got != pushed.URL {
		t.Errorf("repo 0 = %q, want %q", got, pushed.URL)
	}
	dest := filepath.Join(dir, "best")
	var dl struct {
		DirHash string `json:"dir_hash"`
		Dir     string `json:"dir"`
	}
	if err := json.Unmarshal([]byte(must(append(append([]string{"download", "0", dest}, chainFlags...), hubFlags...)...)), &dl); err != nil {
		t.Fatal(err)
	}
	if h, err := modelstore.HashDir(dest); err != nil || h != pushed.DirHash || dl.DirHash != h {
		t.Errorf("downloaded hash %s (%v), printed %s, pushed %s", h, err, dl.DirHash, pushed.DirHash)
	}
	if _, err := os.Stat(filepath.Join(dest, "tokenizer.json")); err != nil {
		t.Errorf("the download lacks the tokenizer: %v", err)
	}
	if _, _, err := runCLI(t, append(append([]string{"download", "0", dest}, chainFlags...), hubFlags...)...); err == nil {
		t.Error("download into an existing directory succeeded")
	}
}
