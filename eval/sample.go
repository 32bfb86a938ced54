package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
)

// TaskData is one evaluation task's data at a seed: the selected batches and the pages read.
type TaskData struct {
	Task    competition.EvalTask `json:"task"`
	Dataset string               `json:"dataset"`
	// Pages are "{dataset}:{config}:{page}", as the reference's step log names them.
	Pages   []string        `json:"pages"`
	Tokens  int             `json:"tokens"` // the loader's buffer, before packing
	Batches []dataset.Batch `json:"batches"`
}

// Sample is what a validator step evaluates every model of a competition on.
type Sample struct {
	Competition competition.ID `json:"competition_id"`
	Seed        string         `json:"seed"` // decimal
	Tasks       []TaskData     `json:"tasks"`
}

// LoadSample fetches the batches of every task of comp at seed, as run_step does: a task
// whose loader fails to construct is skipped (logged), a loader that yields no batch aborts
// the step (the reference raises ValueError), and the batches are shuffled with
// Random(seed) and cut to the first 50.
func LoadSample(ctx context.Context, src *dataset.Sources, comp competition.Competition, tok dataset.Tokenizer, seed *big.Int, log *slog.Logger) (*Sample, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sample{Competition: comp.ID, Seed: seed.String()}
	for _, task := range comp.Tasks {
		if task.Method != competition.MethodTextLoss {
			return nil, fmt.Errorf("task %s: evaluation method %d is not supported", task.Name, task.Method)
		}
		spec, err := dataset.SpecByID(task.Dataset)
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", task.Name, err)
		}
		l, err := src.Loader(spec, tok, comp.Constraints.SequenceLength, task.BatchSize, task.NumPages)
		if err != nil {
			log.Error("skipping task: loader", "task", task.Name, "err", err)
			continue
		}
		batches, res, err := l.EvalBatches(ctx, seed)
		switch {
		case errors.Is(err, dataset.ErrNoBatches):
			return nil, fmt.Errorf("did not find any data for task %s: %w", task.Name, err)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			log.Error("skipping task: loading data", "task", task.Name, "err", err)
			continue
		}
		td := TaskData{Task: task, Dataset: spec.Dataset, Tokens: len(res.Tokens), Batches: batches}
		for _, p := range res.PageNames {
			td.Pages = append(td.Pages, spec.Dataset+":"+spec.Config+":"+p)
		}
		s.Tasks = append(s.Tasks, td)
	}
	if len(s.Tasks) == 0 {
		return nil, fmt.Errorf("competition %s: no task could load its data", comp.ID)
	}
	return s, nil
}

// Pages lists the pages of every task, in task order.
func (s *Sample) Pages() []string {
	var out []string
	for _, t := range s.Tasks {
		out = append(out, t.Pages...)
	}
	return out
}
