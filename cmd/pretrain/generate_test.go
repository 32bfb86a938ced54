package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/tokenizer"
)

// TestGenerateMatchesTorch runs `pretrain generate` on nn's torch-made fixture models and
// compares the greedy continuations with the ones gen_fixtures.py computed from transformers'
// modeling code (every EOS masked for 20 tokens: --min-new-tokens = --max-new-tokens = 20).
// llama-genconfig carries a generation_config.json (repetition penalty, no-repeat n-grams),
// which the command must honour to agree.
func TestGenerateMatchesTorch(t *testing.T) {
	for _, name := range []string{"gpt2-f32", "llama-gqa-f32", "qwen2-f32", "llama-genconfig"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "nn", "testdata", "models", name)
			raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var exp struct {
				Prompts   [][]int32 `json:"prompts"`
				Generated [][]int32 `json:"generated"`
			}
			if err := json.Unmarshal(raw, &exp); err != nil {
				t.Fatal(err)
			}
			for i, p := range exp.Prompts {
				ids := make([]string, len(p))
				for j, id := range p {
					ids[j] = fmt.Sprint(id)
				}
				out, _, err := runCLI(t, "generate", "--model", dir, "--prompt-ids", strings.Join(ids, ","),
					"--max-new-tokens", "20", "--min-new-tokens", "20", "--json")
				if err != nil {
					t.Fatal(err)
				}
				var got struct {
					IDs  []int32 `json:"ids"`
					Text string  `json:"text"`
				}
				if err := json.Unmarshal([]byte(out), &got); err != nil {
					t.Fatalf("output %q: %v", out, err)
				}
				if !slices.Equal(got.IDs, exp.Generated[i]) {
					t.Errorf("prompt %d: generated %v, torch %v", i, got.IDs, exp.Generated[i])
				}
			}
		})
	}
}

// TestModelInitThenGenerate makes a model directory with `model init`, checks it carries the
// gpt2 tokenizer (Load(dir) encodes as the built-in does), and generates text from a prompt:
// the output is the prompt followed by the decoding of exactly max-new-tokens tokens (the
// gpt2 EOS is masked for that many).
func TestModelInitThenGenerate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if _, _, err := runCLI(t, "model", "init", "--arch", "gpt2", "--preset", "gpt2-tiny", "--out", dir, "--seed", "3"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("model init wrote no %s: %v", f, err)
		}
	}
	own, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	builtin, _ := tokenizer.Load("gpt2")
	const prompt = "It was the best of times, it was the worst of times"
	if !slices.Equal(own.Encode(prompt, false), builtin.Encode(prompt, false)) || own.EOS() != builtin.EOS() {
		t.Error("the directory's tokenizer differs from gpt2")
	}
	out, _, err := runCLI(t, "generate", "--model", dir, "--prompt", prompt, "--max-new-tokens", "7", "--min-new-tokens", "7", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		PromptIDs []int32 `json:"prompt_ids"`
		IDs       []int32 `json:"ids"`
		Text      string  `json:"text"`
	}
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.PromptIDs, builtin.Encode(prompt, false)) || len(g.IDs) != 7 || g.Text != string(builtin.Decode(g.IDs)) {
		t.Errorf("generate printed %s", out)
	}
	text, _, err := runCLI(t, "generate", "--model", dir, "--prompt", prompt, "--max-new-tokens", "7", "--min-new-tokens", "7")
	if err != nil {
		t.Fatal(err)
	}
	if text != prompt+g.Text+"\n" {
		t.Errorf("text output %q, want prompt + %q", text, g.Text)
	}

	// Mismatched family, existing directory.
	if _, _, err := runCLI(t, "model", "init", "--arch", "llama", "--preset", "gpt2-tiny", "--out", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not llama") {
		t.Errorf("llama arch with a gpt2 preset: error = %v", err)
	}
	if _, _, err := runCLI(t, "model", "init", "--arch", "gpt2", "--preset", "gpt2-tiny", "--out", dir); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing dir: error = %v", err)
	}
}

// TestGenerateTrainedModel: `generate` reads the checkpoint `miner train` writes (its
// tokenizer included) and prints the prompt and a continuation.
func TestGenerateTrainedModel(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	if _, _, err := runCLI(t, "miner", "train", "--arch", "gpt2", "--preset", "gpt2-tiny", "--data", filepath.Join("..", "..", "examples", "demo-corpus-small.jsonl.gz"),
		"--out", out, "--steps", "1", "--batch", "1", "--seq-len", "16", "--eval-every", "1", "--eval-windows", "2"); err != nil {
		t.Fatal(err)
	}
	text, _, err := runCLI(t, "generate", "--model", filepath.Join(out, "best"), "--prompt", "Call me Ishmael.", "--max-new-tokens", "5", "--min-new-tokens", "5")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "Call me Ishmael.") || len(text) <= len("Call me Ishmael.\n") {
		t.Errorf("generate printed %q", text)
	}
}
