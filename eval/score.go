package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pretrain/pretrain/nn"
)

// TaskScore is the reference's ScoreDetails for one task.
type TaskScore struct {
	Name              string  `json:"name"`
	RawScore          float64 `json:"raw_score"`
	NormScore         float64 `json:"norm_score"`
	WeightedNormScore float64 `json:"weighted_norm_score"`
	NumSamples        int     `json:"num_samples"`
}

// Failure is the kind of a failed evaluation, for metrics and alerts; Result.Reason says more.
type Failure string

// The kinds of failure.
const (
	FailTimeout  Failure = "timeout"  // the worker outlived its time limit
	FailCrash    Failure = "crash"    // the worker died or answered nothing usable
	FailLoad     Failure = "load"     // the model could not be loaded
	FailRejected Failure = "rejected" // the model breaks the competition's constraints
	FailSanity   Failure = "sanity"   // the generation sanity check failed
	FailOther    Failure = "other"    // anything else (no batches, a non-finite loss, ...)
)

// Result is one model's score for one competition. Score is +Inf when the model failed, and
// Failure and Reason then say how and why.
type Result struct {
	Score       float64     `json:"score"`
	Failure     Failure     `json:"failure,omitempty"`
	Reason      string      `json:"reason,omitempty"`
	Tasks       []TaskScore `json:"tasks"`
	LoadSeconds float64     `json:"load_seconds"`
	EvalSeconds float64     `json:"eval_seconds"`
}

// Failed returns the result of a model that could not be scored.
func Failed(kind Failure, reason string) Result {
	return Result{Score: math.Inf(1), Failure: kind, Reason: reason}
}

// Score is score_model for text-loss tasks: for each task, the sanity check on its first two
// batches, then the mean of the per-batch mean cross-entropies, normalized and weighted, the
// task weights renormalized when tasks were skipped. Any failure (a failed sanity check, an
// error in the forward, a non-finite loss) makes the score +Inf with the reason, as the
// reference's exceptions and inf lists do; the error is for cancellation only.
func Score(ctx context.Context, m *nn.Model, s *Sample) (Result, error) {
	start := time.Now()
	total := 0.0
	for _, t := range s.Tasks {
		total += t.Task.Weight
	}
	res := Result{}
	fail := func(kind Failure, format string, args ...any) (Result, error) {
		res.Score, res.Failure, res.Reason = math.Inf(1), kind, fmt.Sprintf(format, args...)
		res.EvalSeconds = time.Since(start).Seconds()
		return res, ctx.Err()
	}
	if len(s.Tasks) == 0 || !(total > 0) {
		return fail(FailOther, "no task to score")
	}
	for _, t := range s.Tasks {
		w := t.Task.Weight
		if !isClose(total, 1) {
			w /= total
		}
		batches := make([][][]int32, len(t.Batches))
		for i, b := range t.Batches {
			batches[i] = b
		}
		if len(batches) < 2 {
			// The reference indexes batches[1] for the sanity check and raises.
			return fail(FailOther, "task %s: %d batches, the sanity check needs 2", t.Task.Name, len(batches))
		}
		ok, why, err := m.CheckReasonableOutput(ctx, batches[0], batches[1])
		switch {
		case ctx.Err() != nil:
			return fail(FailOther, "cancelled")
		case err != nil:
			return fail(FailOther, "task %s: %v", t.Task.Name, err)
		case !ok:
			return fail(FailSanity, "task %s: sanity check failed: %s", t.Task.Name, why)
		}
		sum := 0.0
		for i, b := range batches {
			l, err := m.Loss(ctx, b)
			if err != nil {
				if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
					return fail(FailOther, "cancelled")
				}
				return fail(FailOther, "task %s: batch %d: %v", t.Task.Name, i, err)
			}
			sum += l
		}
		raw := sum / float64(len(batches))
		if math.IsNaN(raw) || math.IsInf(raw, 0) {
			return fail(FailOther, "task %s: loss is %v", t.Task.Name, raw)
		}
		norm := t.Task.Normalization.Normalize(raw, t.Task.Ceiling)
		res.Tasks = append(res.Tasks, TaskScore{Name: t.Task.Name, RawScore: raw, NormScore: norm,
			WeightedNormScore: norm * w, NumSamples: len(batches)})
		res.Score += norm * w
	}
	res.EvalSeconds = time.Since(start).Seconds()
	return res, nil
}

// isClose is Python's math.isclose with its default rel_tol=1e-9, abs_tol=0.
func isClose(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
