package nn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pretrain/pretrain/internal/bounded"
)

// Bounds on a token-batch file (JSON), far above one SN9 task (50 batches of 1 x 4096).
const (
	maxBatchFileBytes = 1 << 30
	maxBatchTokens    = 1 << 26
)

// ReadBatches parses a JSON array of batches, each a [B][L] array of token ids with equal
// row lengths, as compute_text_loss receives them. A JSON array of token arrays (what
// `pretrain data batches` writes) is read as batches of one row, SN9's batch size.
func ReadBatches(r io.Reader) ([][][]int32, error) {
	raw, err := bounded.ReadAll(r, maxBatchFileBytes)
	if err != nil {
		return nil, fmt.Errorf("read batches: %w", err)
	}
	var batches [][][]int32
	if err := json.Unmarshal(raw, &batches); err != nil {
		var rows [][]int32
		if json.Unmarshal(raw, &rows) != nil {
			return nil, fmt.Errorf("read batches: want a JSON array of [B][L] token arrays or of token arrays: %w", err)
		}
		batches = make([][][]int32, len(rows))
		for i, row := range rows {
			batches[i] = [][]int32{row}
		}
	}
	total := 0
	for i, b := range batches {
		if len(b) == 0 || len(b[0]) == 0 {
			return nil, fmt.Errorf("read batches: batch %d is empty", i)
		}
		for j, row := range b {
			if len(row) != len(b[0]) {
				return nil, fmt.Errorf("read batches: batch %d row %d has %d tokens, row 0 has %d", i, j, len(row), len(b[0]))
			}
			total += len(row)
		}
		if total > maxBatchTokens {
			return nil, fmt.Errorf("read batches: more than %d tokens", maxBatchTokens)
		}
	}
	return batches, nil
}

// EvalReport is the result of evaluating a model on token batches.
type EvalReport struct {
	Losses          []float64 `json:"losses"`
	MeanLoss        float64   `json:"mean_loss"`
	Batches         int       `json:"batches"`
	Tokens          int       `json:"tokens"`
	Seconds         float64   `json:"seconds"`
	TokensPerSecond float64   `json:"tokens_per_second"`
	Precision       string    `json:"precision"` // of the weight GEMMs: fp32 or bf16
	// Reasonable and Reason are the sanity check's verdict when it was run.
	Reasonable *bool  `json:"reasonable,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Evaluate computes the loss of every batch and their mean (compute_text_loss's score,
// without the sanity check unless check is set and there are two batches). progress, when
// not nil, is called after each batch.
func (m *Model) Evaluate(ctx context.Context, batches [][][]int32, check bool, progress func(done, total int)) (*EvalReport, error) {
	rep := &EvalReport{Batches: len(batches), Losses: make([]float64, 0, len(batches)), Precision: m.precision.String()}
	start := time.Now()
	if check && len(batches) >= 2 {
		ok, reason, err := m.CheckReasonableOutput(ctx, batches[0], batches[1])
		if err != nil {
			return nil, err
		}
		rep.Reasonable, rep.Reason = &ok, reason
	}
	for i, b := range batches {
		l, err := m.Loss(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", i, err)
		}
		rep.Losses = append(rep.Losses, l)
		rep.Tokens += len(b) * len(b[0])
		if progress != nil {
			progress(i+1, len(batches))
		}
	}
	rep.MeanLoss = MeanLoss(rep.Losses)
	rep.Seconds = time.Since(start).Seconds()
	if rep.Seconds > 0 {
		rep.TokensPerSecond = float64(rep.Tokens) / rep.Seconds
	}
	return rep, nil
}
