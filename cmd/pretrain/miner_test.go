package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/nn"
)

// TestMinerTrain trains a few steps of gpt2-tiny from a small corpus, then checks the best
// checkpoint is a model directory nn loads and the run resumes from its state.
func TestMinerTrain(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.jsonl")
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "{\"content\": \"Document %d tells of ships, whales and the sea, and of the men who sail it for years.\"}\n", i)
	}
	if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run")
	args := []string{"miner", "train", "--arch", "gpt2", "--preset", "gpt2-tiny", "--data", corpus, "--out", out,
		"--batch", "2", "--seq-len", "32", "--eval-every", "2", "--checkpoint-every", "2", "--eval-windows", "2", "--json"}
	stdout, _, err := runCLI(t, append(args, "--steps", "4")...)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Step int64   `json:"step"`
		Best float64 `json:"best_loss"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Step != 4 || !(res.Best > 0) {
		t.Fatalf("result %s: %v", stdout, err)
	}
	m, err := nn.Load(filepath.Join(out, "best"))
	if err != nil {
		t.Fatalf("best checkpoint does not load: %v", err)
	}
	m.Close()
	stdout, _, err = runCLI(t, append(args, "--steps", "6")...)
	if err != nil || !strings.Contains(stdout, `"step":6`) {
		t.Fatalf("resume to step 6: %v\n%s", err, stdout)
	}
	if _, _, err := runCLI(t, "miner", "train", "--arch", "llama", "--preset", "gpt2-tiny", "--data", corpus, "--out", filepath.Join(dir, "x"), "--steps", "1"); err == nil {
		t.Error("a gpt2 preset trained as --arch llama was accepted")
	}
}
