package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// evalCmd scores a model on token batches the way validators do (compute_text_loss):
// per-batch mean cross-entropy and their mean, printed as JSON.
type evalCmd struct {
	Model      string `required:"" type:"existingdir" help:"Hugging Face model directory (config.json + safetensors)."`
	Tokens     string `type:"existingfile" xor:"input" required:"" help:"JSON array of batches, each a [B][L] array of token ids (data batches output)."`
	Text       string `type:"existingfile" xor:"input" required:"" help:"Text to score: JSON lines with a text or content field (.gz allowed), or plain text; tokenized and packed as SN9's loaders do."`
	SeqLen     int    `name:"seq-len" default:"512" help:"Tokens per row with --text (the local competition's 512; SN9's text competitions use 4096)."`
	Tokenizer  string `help:"Tokenizer name or directory for --text (default: the model directory's, else gpt2)."`
	MaxBatches int    `name:"max-batches" help:"Evaluate at most this many batches (0: all)."`
	Check      bool   `help:"Also run the generation sanity check (check_for_reasonable_output) on batches 0 and 1."`
	JSON       bool   `name:"json" help:"Print JSON (the only output format; accepted for scripts)."`
	Precision  string `enum:"auto,fp32,bf16" default:"auto" help:"Arithmetic of the weight GEMMs: fp32 (stored weights widened exactly), bf16 (weights and GEMM inputs rounded to bfloat16, float32 sums), or auto: the model's dtype (bf16 for BF16 weights, as validators load models in bfloat16)."`
}

func (c *evalCmd) Run(ctx context.Context, e *env) error {
	batches, err := c.batches(ctx)
	if err != nil {
		return err
	}
	if c.MaxBatches > 0 && len(batches) > c.MaxBatches {
		batches = batches[:c.MaxBatches]
	}
	m, err := nn.Load(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.UsePrecision(c.Precision); err != nil {
		return err
	}
	e.log.Info("model loaded", "architecture", m.Architecture(), "params", m.ParamCount(), "batches", len(batches),
		"precision", m.Precision())
	bar := progress.New(e.stderr, progress.Options{Label: "eval", Total: int64(len(batches)), Unit: "batches"})
	rep, err := m.Evaluate(ctx, batches, c.Check, func(done, total int) { bar.Set(int64(done)) })
	bar.Finish()
	if err != nil {
		return err
	}
	out, err := json.Marshal(jsonLosses(rep))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, string(out))
	return err
}

// batches reads --tokens, or tokenizes and packs --text.
func (c *evalCmd) batches(ctx context.Context) ([][][]int32, error) {
	if c.Tokens != "" {
		f, err := bounded.Open(c.Tokens) // refuses FIFOs and other special files
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return nn.ReadBatches(f)
	}
	if c.SeqLen < 2 {
		return nil, fmt.Errorf("%w: --seq-len %d: need at least 2", errUsage, c.SeqLen)
	}
	tok, err := tokenizer.Load(modelTokenizer(c.Tokenizer, c.Model))
	if err != nil {
		return nil, err
	}
	docs, err := dataset.ReadDocuments(ctx, c.Text)
	if err != nil {
		return nil, err
	}
	packed, err := dataset.DocumentBatches(ctx, docs, tok, c.SeqLen)
	if err != nil {
		return nil, fmt.Errorf("eval %s: %w", c.Text, err)
	}
	out := make([][][]int32, len(packed))
	for i, b := range packed {
		out[i] = b
	}
	return out, nil
}

// modelTokenizer is name if set, else dir if it carries a tokenizer.json (as the trainer's
// checkpoints and model init write them), else gpt2.
func modelTokenizer(name, dir string) string {
	if name != "" {
		return name
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		return dir
	}
	return "gpt2"
}

// jsonLosses replaces +Inf (not representable in JSON) by the string "inf".
func jsonLosses(r *nn.EvalReport) any {
	type alias nn.EvalReport
	losses := make([]any, len(r.Losses))
	for i, l := range r.Losses {
		losses[i] = finiteOr(l)
	}
	return struct {
		*alias
		Losses   []any `json:"losses"`
		MeanLoss any   `json:"mean_loss"`
	}{(*alias)(r), losses, finiteOr(r.MeanLoss)}
}

func finiteOr(v float64) any {
	if v > 1e308 || v < -1e308 || v != v {
		return fmt.Sprint(v)
	}
	return v
}
