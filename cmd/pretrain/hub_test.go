package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
	"github.com/pretrain/pretrain/modelstore"
)

// TestHubCommands uploads with `pretrain hub upload`, reads it back with `hub info` and
// `hub download` from a local hub, and checks the downloaded hash against hashing the source.
func TestHubCommands(t *testing.T) {
	ts, _ := hubtest.Start(t, nil, nil)
	t.Setenv("HF_ENDPOINT", ts.URL)
	t.Setenv("HF_ACCESS_TOKEN", "") // exported but empty: HF_TOKEN must be used
	t.Setenv("HF_TOKEN", hubtest.Token)
	src := t.TempDir()
	for name, body := range map[string]string{"config.json": `{"model_type":"gpt2"}`, "model.safetensors": "weights", "tokenizer.json": "{}"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := runCLI(t, "hub", "upload", src, "--repo", "miner/cli")
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.TrimSpace(out)
	if err := hub.ValidateCommit(commit); err != nil {
		t.Fatalf("hub upload printed %q: %v", out, err)
	}
	t.Setenv("HF_TOKEN", "") // published: readable anonymously
	out, _, err = runCLI(t, "hub", "info", "miner/cli", "--revision", commit)
	var info struct {
		SHA     string `json:"sha"`
		Private bool   `json:"private"`
		Files   []struct{ Path string }
	}
	if err != nil || json.Unmarshal([]byte(out), &info) != nil || info.SHA != commit || info.Private || len(info.Files) != 4 {
		t.Fatalf("hub info = %s, %v", out, err)
	}
	dest := filepath.Join(t.TempDir(), "dl")
	out, _, err = runCLI(t, "hub", "download", "miner/cli", "--revision", commit, "--out", dest)
	var dl struct{ Hash string }
	if err != nil || json.Unmarshal([]byte(out), &dl) != nil {
		t.Fatalf("hub download = %s, %v", out, err)
	}
	if want, _ := modelstore.HashDir(src); dl.Hash != want {
		t.Errorf("downloaded hash %s, want %s (source)", dl.Hash, want)
	}
	if _, _, err := runCLI(t, "hub", "download", "miner/cli", "--revision", commit, "--out", dest+"2", "--max-bytes", "10"); err == nil ||
		!strings.Contains(err.Error(), "over the limit") {
		t.Errorf("hub download over --max-bytes = %v", err)
	}
}
