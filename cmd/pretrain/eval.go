package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// evalCmd scores a model on token batches the way validators do (compute_text_loss):
// per-batch mean cross-entropy and their mean, printed as JSON.
type evalCmd struct {
	competitionFlags `embed:""`
	scheduleFlag     `embed:""`
	Model            string `required:"" type:"existingdir" help:"Model directory (Hugging Face layout: config.json and safetensors)."`
	Tokens           string `type:"existingfile" xor:"input" required:"" help:"JSON array of batches, each a [B][L] array of token ids (data batches output)."`
	Text             string `type:"existingfile" xor:"input" required:"" help:"Text to score: JSON lines with a text or content field (.gz allowed), or plain text; tokenized and packed as SN9's loaders do."`
	SeqLen           int    `name:"seq-len" help:"Tokens per row (sequence length L). Used with --text; default: the competition's."`
	Tokenizer        string `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Used with --text; default: the model directory's, else the competition's."`
	MaxBatches       int    `name:"max-batches" help:"Evaluate at most this many batches (0: all)."`
	Check            bool   `help:"Score as a validator would: the competition's constraints and the sanity check (check_for_reasonable_output on batches 0 and 1); a failure scores +Inf with the reason."`
	JSON             bool   `name:"json" help:"Print JSON instead of text. JSON is eval's only output, so this changes nothing."`
	Precision        string `enum:"auto,fp32,bf16" default:"auto" help:"Arithmetic of the weight GEMMs and attention's products: fp32, bf16, or auto. fp32 widens the stored weights exactly; bf16 rounds weights and GEMM inputs to bfloat16 and sums in float32; auto follows the model's dtype (bf16 for BF16 weights, as validators load models in bfloat16)."`
}

func (c *evalCmd) Run(ctx context.Context, e *env) error {
	comp, err := c.competition(c.Schedule)
	if err != nil {
		return err
	}
	batches, err := c.batches(ctx, comp)
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
	var rejected error
	if c.Check {
		_, rejected = eval.CheckDir(c.Model, comp.Constraints)
	}
	bar := progress.New(e.stderr, progress.Options{Label: "eval", Total: int64(len(batches)), Unit: "batches"})
	rep, err := m.Evaluate(ctx, batches, c.Check, func(done, total int) { bar.Set(int64(done)) })
	bar.Finish()
	switch {
	case err != nil && rejected != nil && ctx.Err() == nil:
		// A model the validator refuses may not even run on these tokens: the verdict is
		// the answer asked for.
		return printJSON(e, map[string]any{"error": err.Error(), "validator": validatorVerdict(comp, rejected, nil)})
	case err != nil:
		return err
	}
	var verdict map[string]any
	if c.Check {
		verdict = validatorVerdict(comp, rejected, rep)
	}
	return printJSON(e, jsonLosses(rep, verdict))
}

// validatorVerdict is what a validator of comp would record for this model on these batches:
// +Inf with the reason when the model breaks the competition's constraints (rejected) or
// fails the sanity check (the reference's score_model), else the mean loss.
func validatorVerdict(comp competition.Competition, rejected error, rep *nn.EvalReport) map[string]any {
	v := map[string]any{"competition": comp.ID.String()}
	reason := ""
	if rejected != nil {
		reason = rejected.Error()
	} else if rep.Reasonable == nil {
		reason = fmt.Sprintf("%d batches: the sanity check needs 2", rep.Batches)
	} else if !*rep.Reasonable {
		reason = "sanity check failed: " + rep.Reason
	} else if math.IsInf(rep.MeanLoss, 0) || math.IsNaN(rep.MeanLoss) {
		reason = fmt.Sprintf("loss is %v", rep.MeanLoss)
	}
	if reason != "" {
		v["score"], v["reason"] = finiteOr(math.Inf(1)), reason
		return v
	}
	v["score"] = rep.MeanLoss
	return v
}

// batches reads --tokens, or tokenizes and packs --text.
func (c *evalCmd) batches(ctx context.Context, comp competition.Competition) ([][][]int32, error) {
	if c.Tokens != "" {
		f, err := bounded.Open(c.Tokens) // refuses FIFOs and other special files
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return nn.ReadBatches(f)
	}
	seqLen := cmp.Or(c.SeqLen, comp.Constraints.SequenceLength)
	if seqLen < 2 {
		return nil, fmt.Errorf("%w: --seq-len %d: need at least 2", errUsage, seqLen)
	}
	tok, err := tokenizer.Load(modelTokenizer(c.Tokenizer, c.Model, comp.Constraints.Tokenizer))
	if err != nil {
		return nil, err
	}
	docs, err := dataset.ReadDocuments(ctx, c.Text)
	if err != nil {
		return nil, err
	}
	packed, err := dataset.DocumentBatches(ctx, docs, tok, seqLen)
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
// checkpoints and model init write them), else fallback.
func modelTokenizer(name, dir, fallback string) string {
	if name != "" {
		return name
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err == nil {
		return dir
	}
	return fallback
}

// jsonLosses is the report as JSON, +Inf (not a JSON number) as the string "+Inf", with the
// validator's verdict when there is one.
func jsonLosses(r *nn.EvalReport, verdict map[string]any) any {
	type alias nn.EvalReport
	losses := make([]any, len(r.Losses))
	for i, l := range r.Losses {
		losses[i] = finiteOr(l)
	}
	return struct {
		*alias
		Losses    []any          `json:"losses"`
		MeanLoss  any            `json:"mean_loss"`
		Validator map[string]any `json:"validator,omitempty"`
	}{(*alias)(r), losses, finiteOr(r.MeanLoss), verdict}
}
