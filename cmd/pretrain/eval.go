package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/nn"
)

// evalCmd scores a model on token batches the way validators do (compute_text_loss):
// per-batch mean cross-entropy and their mean, printed as JSON.
type evalCmd struct {
	Model      string `required:"" type:"existingdir" help:"Hugging Face model directory (config.json + safetensors)."`
	Tokens     string `required:"" type:"existingfile" help:"JSON array of batches, each a [B][L] array of token ids."`
	MaxBatches int    `name:"max-batches" help:"Evaluate at most this many batches (0: all)."`
	Check      bool   `help:"Also run the generation sanity check (check_for_reasonable_output) on batches 0 and 1."`
}

func (c *evalCmd) Run(ctx context.Context, e *env) error {
	f, err := bounded.Open(c.Tokens)
	if err != nil {
		return err
	}
	batches, err := nn.ReadBatches(f)
	f.Close()
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
	e.log.Info("model loaded", "architecture", m.Architecture(), "params", m.ParamCount(), "batches", len(batches))
	tty := isTerminal(e.stderr)
	rep, err := m.Evaluate(ctx, batches, c.Check, func(done, total int) {
		if tty { // a one-line progress bar
			fmt.Fprintf(e.stderr, "\reval  batch %d / %d", done, total)
		}
	})
	if tty {
		fmt.Fprintln(e.stderr)
	}
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
