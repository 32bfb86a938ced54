package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestEvalCommand scores nn's torch fixture through the CLI and compares with the losses
// torch computed (nn/testdata/gen_fixtures.py).
func TestEvalCommand(t *testing.T) {
	dir := filepath.Join("..", "..", "nn", "testdata", "models", "llama-gqa-f32")
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp struct {
		Batches [][][]int32 `json:"batches"`
		Losses  []any       `json:"losses"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	b, _ := json.Marshal(exp.Batches[1:4])
	if err := os.WriteFile(tokens, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "eval", "--model", dir, "--tokens", tokens, "--max-batches", "2")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Losses   []float64 `json:"losses"`
		MeanLoss float64   `json:"mean_loss"`
		Batches  int       `json:"batches"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if got.Batches != 2 || len(got.Losses) != 2 {
		t.Fatalf("eval printed %d batches, want 2 (--max-batches): %s", got.Batches, out)
	}
	var mean float64
	for i, l := range got.Losses {
		w := exp.Losses[i+1].(float64)
		if math.Abs(l-w)/w > 1e-4 {
			t.Errorf("loss %d = %v, torch %v", i, l, w)
		}
		mean += w / 2
	}
	if math.Abs(got.MeanLoss-mean)/mean > 1e-4 {
		t.Errorf("mean_loss = %v, torch %v", got.MeanLoss, mean)
	}
}

func TestBenchGemmCommand(t *testing.T) {
	out, _, err := runCLI(t, "bench", "gemm", "--m", "30", "--n", "40", "--k", "50", "--runs", "1")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Median float64 `json:"median_gflops"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Median <= 0 {
		t.Errorf("bench gemm printed %q (%v)", out, err)
	}
}

// TestEvalNoBatches: a token file without a batch (null, []) is an error, not a mean loss
// of +Inf with exit status 0.
func TestEvalNoBatches(t *testing.T) {
	dir := filepath.Join("..", "..", "nn", "testdata", "models", "llama-gqa-f32")
	for _, content := range []string{"null", "[]", ""} {
		tokens := filepath.Join(t.TempDir(), "tokens.json")
		if err := os.WriteFile(tokens, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, _, err := runCLI(t, "eval", "--model", dir, "--tokens", tokens); err == nil {
			t.Errorf("eval --tokens %q = %s, want an error", content, out)
		}
	}
}
