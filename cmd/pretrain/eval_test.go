package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pretrain/pretrain/tokenizer"
)

// fixtureExpected is the part of an nn fixture's expected.json the eval tests read.
type fixtureExpected struct {
	Batches [][][]int32 `json:"batches"`
	Losses  []any       `json:"losses"`
}

// nnFixture returns the directory of nn's torch fixture name and its expected losses.
func nnFixture(t *testing.T, name string) (string, fixtureExpected) {
	t.Helper()
	dir := filepath.Join("..", "..", "nn", "testdata", "models", name)
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp fixtureExpected
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	return dir, exp
}

// TestEvalCommand scores nn's torch fixture through the CLI and compares with the losses
// torch computed (nn/testdata/gen_fixtures.py).
func TestEvalCommand(t *testing.T) {
	dir, exp := nnFixture(t, "llama-gqa-f32")
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

// TestEvalText scores a JSON-lines file with --text and checks it equals --tokens on the
// windows built by hand from the gpt2 tokenizer: each row's ids and EOS, cut into L-token
// rows, the partial tail dropped.
func TestEvalText(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m")
	if _, _, err := runCLI(t, "model", "init", "--arch", "gpt2", "--preset", "gpt2-tiny", "--out", model); err != nil {
		t.Fatal(err)
	}
	rows := []string{"Call me Ishmael. Some years ago, never mind how long precisely.", "Mr. Speaker, Mr. Vice President, members of Congress, distinguished guests."}
	var jsonl []byte
	tok, err := tokenizer.Load("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	var stream []int32
	for i, r := range rows {
		field := []string{"text", "content"}[i]
		line, _ := json.Marshal(map[string]string{field: r})
		jsonl = append(append(jsonl, line...), '\n')
		stream = append(append(stream, tok.Encode(r, true)...), tok.EOS())
	}
	const L = 8
	var batches [][][]int32
	for i := 0; i+L <= len(stream); i += L {
		batches = append(batches, [][]int32{stream[i : i+L]})
	}
	dir := t.TempDir()
	text := filepath.Join(dir, "docs.jsonl")
	tokens := filepath.Join(dir, "tokens.json")
	b, _ := json.Marshal(batches)
	if err := os.WriteFile(text, jsonl, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokens, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fromText, _, err := runCLI(t, "eval", "--model", model, "--text", text, "--seq-len", fmt.Sprint(L), "--json")
	if err != nil {
		t.Fatal(err)
	}
	fromTokens, _, err := runCLI(t, "eval", "--model", model, "--tokens", tokens)
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		Losses  []float64 `json:"losses"`
		Batches int       `json:"batches"`
	}
	var a, c report
	if err := json.Unmarshal([]byte(fromText), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(fromTokens), &c); err != nil {
		t.Fatal(err)
	}
	if a.Batches != len(batches) || !slices.Equal(a.Losses, c.Losses) {
		t.Errorf("--text: %d batches, losses %v; by hand: %d batches, losses %v", a.Batches, a.Losses, len(batches), c.Losses)
	}
	if _, _, err := runCLI(t, "eval", "--model", model, "--text", text, "--tokens", tokens); err == nil {
		t.Error("--text with --tokens accepted")
	}
}

// TestEvalPrecision: on a BF16 model eval defaults to bf16 (the model's dtype) and
// --precision fp32 selects the float32 twin; both against torch's losses, bf16 within nn's
// bf16 bound (3e-3 relative).
func TestEvalPrecision(t *testing.T) {
	dir, exp := nnFixture(t, "llama-tied-bf16")
	tokens := filepath.Join(t.TempDir(), "tokens.json")
	b, _ := json.Marshal(exp.Batches[1:3])
	if err := os.WriteFile(tokens, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
		bound float64
	}{{nil, "bf16", 3e-3}, {[]string{"--precision", "bf16"}, "bf16", 3e-3}, {[]string{"--precision", "fp32"}, "fp32", 1e-4}} {
		out, _, err := runCLI(t, append([]string{"eval", "--model", dir, "--tokens", tokens}, tc.flags...)...)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Losses    []float64 `json:"losses"`
			Precision string    `json:"precision"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if got.Precision != tc.want || len(got.Losses) != 2 {
			t.Fatalf("eval %v: precision %q, %d losses; want %s, 2", tc.flags, got.Precision, len(got.Losses), tc.want)
		}
		for i, l := range got.Losses {
			if w := exp.Losses[i+1].(float64); math.Abs(l-w)/w > tc.bound {
				t.Errorf("eval %v: loss %d = %v, torch %v", tc.flags, i, l, w)
			}
		}
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
