package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenizeDefaultsToCompetition: tokenize uses the competition's tokenizer, LOCAL's gpt2
// unless told otherwise (GPT-2's ids 15496 and 995 are "Hello" and " world").
func TestTokenizeDefaultsToCompetition(t *testing.T) {
	decode := func(args ...string) string {
		var out strings.Builder
		err := run(t.Context(), append([]string{"tokenize", "--decode"}, args...), strings.NewReader("[15496, 995]"), &out, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	if got := decode(); got != "Hello world" {
		t.Errorf("default competition: %q, want gpt2's \"Hello world\"", got)
	}
	if got := decode("--competition", "B3_MODEL"); got == "Hello world" {
		t.Error("--competition B3_MODEL decoded with gpt2, not Xenova/gpt-4")
	}
	if got := decode("--competition", "B3_MODEL", "--tokenizer", "gpt2"); got != "Hello world" {
		t.Errorf("an explicit --tokenizer must win: %q", got)
	}
}

// TestDataBatchesCompetitionDefaults: without --tokenizer and --seq-len, data batches packs
// as the competition does (LOCAL: gpt2, 512 tokens), and says what each count is.
func TestDataBatchesCompetitionDefaults(t *testing.T) {
	url := localDataserver(t)
	outFile := filepath.Join(t.TempDir(), "batches.json")
	out, _, err := runCLI(t, "data", "batches", "--dataset", "fineweb", "--seed", "7", "--pages", "6",
		"--data.endpoint", url, "--out", outFile)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Tokenizer   string `json:"tokenizer"`
		SeqLen      int    `json:"seq_len"`
		Batches     int    `json:"batches"`
		PageTokens  int    `json:"page_tokens"`
		BatchTokens int    `json:"batch_tokens"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if sum.Tokenizer != "gpt2" || sum.SeqLen != 512 {
		t.Errorf("tokenizer %q, seq_len %d: want LOCAL's gpt2 and 512", sum.Tokenizer, sum.SeqLen)
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	var seqs [][]int32
	if err := json.Unmarshal(raw, &seqs); err != nil {
		t.Fatal(err)
	}
	written := 0
	for _, s := range seqs {
		if len(s) != 512 {
			t.Fatalf("a row of %d tokens, want 512", len(s))
		}
		written += len(s)
	}
	if len(seqs) == 0 || sum.Batches != len(seqs) || sum.BatchTokens != written || sum.PageTokens < written {
		t.Errorf("summary %+v, file: %d rows, %d tokens", sum, len(seqs), written)
	}

	// A competition with several datasets needs --dataset; B3's defaults apply with one.
	if _, _, err := runCLI(t, "data", "batches", "--competition", "B3_MODEL", "--seed", "7", "--out", outFile); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--dataset") {
		t.Errorf("B3 without --dataset: %v, want a usage error naming --dataset", err)
	}
	out, _, err = runCLI(t, "data", "batches", "--competition", "B3_MODEL", "--dataset", "fineweb", "--seed", "7",
		"--pages", "6", "--seq-len", "64", "--data.endpoint", url, "--out", outFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Tokenizer != "Xenova/gpt-4" || sum.SeqLen != 64 {
		t.Errorf("B3 with --seq-len 64: %+v %v, want Xenova/gpt-4 and the explicit 64", sum, err)
	}
}

// TestLocalDatasetNeedsEndpoint: the local corpus has no public server; asking for it
// without --data.endpoint is a usage error naming the flag, not a request to huggingface.co.
func TestLocalDatasetNeedsEndpoint(t *testing.T) {
	for _, cmd := range [][]string{
		{"data", "pages", "--dataset", "local", "--seed", "1"},
		{"data", "pages", "--seed", "1"}, // LOCAL's only dataset
		{"data", "batches", "--seed", "1", "--out", filepath.Join(t.TempDir(), "b.json")},
	} {
		_, _, err := runCLI(t, cmd...)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--data.endpoint") {
			t.Errorf("%v: %v, want a usage error naming --data.endpoint", cmd, err)
		}
	}
}

// TestEvalCheckVerdict: eval --check says what a validator would score beside the raw loss:
// the loss itself for a model that passes, +Inf with the reason for one that fails the
// sanity check or the competition's constraints.
func TestEvalCheckVerdict(t *testing.T) {
	text := filepath.Join("..", "..", "examples", "demo-corpus-small.jsonl.gz")
	model := filepath.Join(t.TempDir(), "m")
	if _, _, err := runCLI(t, "model", "init", "--preset", "gpt2-tiny", "--out", model); err != nil {
		t.Fatal(err)
	}
	type verdict struct {
		MeanLoss  any    `json:"mean_loss"`
		Error     string `json:"error"`
		Validator struct {
			Competition string `json:"competition"`
			Score       any    `json:"score"`
			Reason      string `json:"reason"`
		} `json:"validator"`
	}
	check := func(args ...string) verdict {
		t.Helper()
		out, _, err := runCLI(t, append([]string{"eval", "--text", text, "--max-batches", "2", "--check"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var v verdict
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return v
	}
	// A random model decodes greedily into the same tokens for both prompts: the reference's
	// check fails it.
	v := check("--model", model)
	if v.Validator.Score != "+Inf" || !strings.Contains(v.Validator.Reason, "sanity check failed") {
		t.Errorf("greedy random model: %+v, want +Inf for the sanity check", v.Validator)
	}
	if l, ok := v.MeanLoss.(float64); !ok || math.IsInf(l, 0) {
		t.Errorf("the raw loss must stay beside the verdict: %v", v.MeanLoss)
	}
	// With a sampling generation config it passes, and the verdict is the mean loss.
	sampling := `{"do_sample": true, "top_k": 50, "bos_token_id": 50256, "eos_token_id": 50256}`
	if err := os.WriteFile(filepath.Join(model, "generation_config.json"), []byte(sampling), 0o644); err != nil {
		t.Fatal(err)
	}
	v = check("--model", model)
	if v.Validator.Competition != "LOCAL" || v.Validator.Score != v.MeanLoss || v.Validator.Reason != "" {
		t.Errorf("sampling model: %+v beside mean_loss %v, want the loss itself", v.Validator, v.MeanLoss)
	}
	// nn's 44,880-parameter fixture is under LOCAL's 100,000 minimum, and its 97-token
	// vocabulary cannot even run gpt2's ids: the verdict still comes, with the error.
	fixture, _ := nnFixture(t, "llama-gqa-f32")
	v = check("--model", fixture, "--tokenizer", "gpt2")
	if v.Validator.Score != "+Inf" || !strings.Contains(v.Validator.Reason, "below the minimum 100000") || v.Error == "" {
		t.Errorf("small model: %+v (error %q), want +Inf for its parameter count", v.Validator, v.Error)
	}
}
