package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/train"
)

// minerCmd groups the miner's commands.
type minerCmd struct {
	Train minerTrainCmd `cmd:"" help:"Train a GPT-2 or Llama-family model on CPU; resumes from --out's checkpoint."`
	Push  minerPushCmd  `cmd:"" help:"Check a model against the competition, upload it, commit its metadata on chain, then make it public."`
	Score minerScoreCmd `cmd:"" help:"Score a local model as validators will and say whether it would beat the best model (or given uids) after epsilon."`
}

// minerTrainCmd is `pretrain miner train`; its flags map one to one onto train.Config.
type minerTrainCmd struct {
	Arch            string  `required:"" enum:"gpt2,llama" help:"Architecture family: gpt2 or llama."`
	Preset          string  `help:"Model shape: ${presets}. Not with --init."`
	Init            string  `type:"existingdir" help:"Continue from this Hugging Face model directory instead of a preset."`
	Data            string  `required:"" help:"Training corpus: a JSON-lines file with a content or text field (.gz allowed), or a datasets-server URL."`
	Dataset         string  `help:"Dataset loader. Its name when --data is a datasets-server URL (default local)."`
	Pages           int     `help:"Pages to draw (num_pages). From a datasets-server (default 20)."`
	HFToken         string  `name:"hf-token" env:"HF_TOKEN" help:"Hugging Face token for datasets that need one."`
	Out             string  `required:"" help:"Output path. The run directory: trainer_state.bin, latest/ and best/ model directories."`
	Tokenizer       string  `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Default: gpt2 for gpt2, Xenova/gpt-4 for llama."`
	Steps           int64   `help:"Optimizer steps. Also the cosine schedule's length."`
	Minutes         float64 `help:"Wall-clock budget in minutes (constant rate after warm-up unless --steps is set)."`
	LR              float64 `name:"lr" help:"Peak learning rate (default 1e-3)."`
	MinLR           float64 `name:"min-lr" help:"Learning-rate floor of the cosine decay (default lr/10)."`
	Warmup          int64   `help:"Warm-up steps (default min(100, steps/10))."`
	WeightDecay     float64 `name:"weight-decay" help:"AdamW weight decay of 2-D weights (default 0.1)."`
	Clip            float64 `help:"Gradient-norm clip (default 1.0)."`
	Batch           int     `help:"Rows per batch. One micro-batch (default 8)."`
	Accum           int     `help:"Micro-batches per optimizer step (default 1)."`
	SeqLen          int     `name:"seq-len" help:"Tokens per row (sequence length L). Default 256."`
	Seed            uint64  `help:"Seed of initialization and data order."`
	EvalEvery       int64   `name:"eval-every" help:"Steps between held-out evaluations (default 50)."`
	CheckpointEvery int64   `name:"checkpoint-every" help:"Steps between checkpoints (default 100)."`
	EvalWindows     int     `name:"eval-windows" help:"Held-out windows per evaluation (default 32)."`
	DType           string  `name:"dtype" default:"F32" enum:"F32,BF16" help:"Weight dtype. One of ${enum}, for the checkpoints."`
	JSON            bool    `name:"json" help:"Print JSON instead of text. The result with the held-out curve."`
}

func (c *minerTrainCmd) Run(ctx context.Context, e *env) error {
	bar := progress.New(e.stderr, progress.Options{Label: "train", Total: c.Steps, Unit: "steps"})
	res, err := train.Run(ctx, train.Config{
		Arch: c.Arch, Preset: c.Preset, Init: c.Init, Data: c.Data, Dataset: c.Dataset, Pages: c.Pages, HFToken: c.HFToken,
		Out: c.Out, Tokenizer: c.Tokenizer,
		Steps: c.Steps, Duration: time.Duration(c.Minutes * float64(time.Minute)),
		LR: c.LR, MinLR: c.MinLR, Warmup: c.Warmup, WeightDecay: c.WeightDecay, Clip: c.Clip,
		Batch: c.Batch, Accum: c.Accum, SeqLen: c.SeqLen, Seed: c.Seed,
		EvalEvery: c.EvalEvery, CheckpointEvery: c.CheckpointEvery, EvalWindows: c.EvalWindows, DType: c.DType,
		Log: e.log, Progress: func(r train.StepReport) { showStep(bar, r) },
	})
	bar.Finish()
	if err != nil {
		return err
	}
	if c.JSON {
		out, err := json.Marshal(map[string]any{"step": res.Step, "loss": finiteOr(res.Loss),
			"held_out_loss": finiteOr(res.EvalLoss), "best_loss": finiteOr(res.BestLoss), "curve": res.Curve})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, string(out))
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "step %d: train loss %.4f, held-out loss %.4f, best %.4f\n", res.Step, res.Loss, res.EvalLoss, res.BestLoss)
	return err
}

// showStep moves the training bar to a step and shows its numbers.
func showStep(bar *progress.Bar, r train.StepReport) {
	held := "-" // no evaluation yet in this process
	if !math.IsNaN(r.HeldOut) {
		held = fmt.Sprintf("%.4f", r.HeldOut)
	}
	desc := fmt.Sprintf("loss %.4f held-out %s lr %.2e norm %.3f %.0f tok/s", r.Loss, held, r.LR, r.Norm, r.TokensPerSecond)
	if r.Steps == 0 && r.Remaining >= 0 { // a time budget: the bar cannot know the ETA
		desc += " eta " + r.Remaining.Round(time.Second).String()
	}
	bar.Describe(desc)
	bar.Set(r.Step)
}
