package miner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/scoring"
	"github.com/pretrain/pretrain/tokenizer"
)

// The "would I win?" score is a thin layer over the engine: nn.Model.Evaluate (loss and
// sanity check), the dataset loaders (each task's batches at a seed) and scoring.IsWin. When
// the validator's own entry point (eval.Score) exists, Score and TaskBatches are what switch
// to it.

// Data is where the evaluation pages come from.
type Data struct {
	Source dataset.Source
	// Blobs fetches Stack v2 contents (tasks on that dataset need it).
	Blobs dataset.BlobFetcher
	// HFToken says a Hugging Face token is configured (tasks on gated datasets need one).
	HFToken bool
	Log     *slog.Logger
}

// Task is one evaluation task's batches at a seed.
type Task struct {
	competition.EvalTask
	Batches []dataset.Batch
	// Skipped is why a task has no batches: its loader could not be built, which makes the
	// validator skip the task (pretraining 6.0.2) and renormalize the others' weights.
	Skipped string
}

// TaskBatches builds each of comp's tasks' batches for seed as a validator step does
// (sn9-spec.md §2, step 7): the competition's tokenizer and sequence length, the task's
// loader, then the seeded shuffle and the first 50 batches. A loader that yields no batch
// aborts, as it aborts the validator's step.
func TaskBatches(ctx context.Context, comp competition.Competition, data Data, seed *big.Int) ([]Task, error) {
	if comp.Unsupported != "" {
		return nil, fmt.Errorf("competition %s: %s", comp.ID, comp.Unsupported)
	}
	tok, err := tokenizer.Load(comp.Constraints.Tokenizer)
	if err != nil {
		return nil, err
	}
	var tasks []Task
	for _, et := range comp.Tasks {
		t := Task{EvalTask: et}
		spec, ok := specOf(et.Dataset)
		if !ok {
			return nil, fmt.Errorf("task %s: dataset %d has no loader", et.Name, et.Dataset)
		}
		l := &dataset.Loader{Spec: spec, Source: data.Source, Tokenizer: tok, Blobs: data.Blobs, HFToken: data.HFToken,
			SeqLen: comp.Constraints.SequenceLength, BatchSize: et.BatchSize, NumPages: et.NumPages, Log: data.Log}
		t.Batches, _, err = l.EvalBatches(ctx, seed)
		switch {
		case errors.Is(err, dataset.ErrNoBatches) || ctx.Err() != nil:
			return nil, fmt.Errorf("task %s: %w", et.Name, err)
		case err != nil:
			t.Skipped = err.Error()
			if data.Log != nil {
				data.Log.Warn("task skipped: its loader failed", "task", et.Name, "err", err)
			}
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

func specOf(id competition.DatasetID) (dataset.Spec, bool) {
	for _, s := range dataset.Specs {
		if s.ID == id {
			return s, true
		}
	}
	return dataset.Spec{}, false
}

// TaskScore is a model's result on one task (the reference's ScoreDetails).
type TaskScore struct {
	Name     string  `json:"name"`
	Raw      float64 `json:"raw_score"`
	Norm     float64 `json:"norm_score"`
	Weighted float64 `json:"weighted_norm_score"`
	Batches  int     `json:"num_samples"`
	// Unreasonable is the sanity check's reason when the model failed it (score +Inf).
	Unreasonable string `json:"unreasonable,omitempty"`
}

// Score is score_model (sn9-spec.md §2): per task, compute_text_loss (the sanity check on the
// first two batches, then the mean of the batch losses; +Inf when the check fails), its
// normalization, and the sum weighted by the tasks' weights renormalized over the tasks that
// were not skipped. Lower is better. progress, if not nil, is called after each batch.
func Score(ctx context.Context, m *nn.Model, tasks []Task, progress func()) (float64, []TaskScore, error) {
	total := 0.0
	var skipped []error
	for _, t := range tasks {
		if t.Skipped == "" {
			total += t.Weight
		} else {
			skipped = append(skipped, fmt.Errorf("task %s skipped: %s", t.Name, t.Skipped))
		}
	}
	if total <= 0 {
		return 0, nil, fmt.Errorf("score: no task has batches: %w", errors.Join(skipped...))
	}
	score := 0.0
	var details []TaskScore
	for _, t := range tasks {
		if t.Skipped != "" {
			continue
		}
		if t.Method != competition.MethodTextLoss {
			return 0, nil, fmt.Errorf("score: task %s: only text loss is implemented", t.Name)
		}
		batches := make([][][]int32, len(t.Batches))
		for i, b := range t.Batches {
			batches[i] = b
		}
		rep, err := m.Evaluate(ctx, batches, true, func(int, int) {
			if progress != nil {
				progress()
			}
		})
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, err
			}
			rep = &nn.EvalReport{MeanLoss: math.Inf(1)} // any exception scores the task inf
		}
		d := TaskScore{Name: t.Name, Raw: rep.MeanLoss, Batches: len(t.Batches)}
		if rep.Reasonable != nil && !*rep.Reasonable {
			d.Raw, d.Unreasonable = math.Inf(1), rep.Reason
		}
		d.Norm = t.Normalization.Normalize(d.Raw, t.Ceiling)
		d.Weighted = d.Norm * t.Weight / total
		score += d.Weighted
		details = append(details, d)
	}
	return score, details, nil
}

// Matchup is a local model's comparison with one model on chain.
type Matchup struct {
	UID   chain.UID   `json:"uid"`
	Block chain.Block `json:"block"`
	Score float64     `json:"score"`
	// Epsilon is the advantage the earlier of the two models has when the local model is
	// first evaluated: the earlier one's score counts multiplied by 1−Epsilon.
	Epsilon float64 `json:"epsilon"`
	Wins    bool    `json:"wins"`
	// Margin is the other model's score less the local one's, both after epsilon: positive
	// when the local model wins, by that much loss. RelativeMargin is Margin over the other
	// model's score after epsilon.
	Margin         float64 `json:"margin"`
	RelativeMargin float64 `json:"relative_margin"`
}

// Compare says whether a model scoring mine, committed at commitBlock, would beat a model
// scoring theirs committed at theirBlock, as scoring.IsWin decides it at block current
// (the block of the first evaluation: commitBlock plus the competition's eval delay).
func Compare(mine float64, commitBlock chain.Block, uid chain.UID, theirs float64, theirBlock chain.Block, eps competition.EpsilonFunc, current chain.Block) Matchup {
	m := Matchup{UID: uid, Block: theirBlock, Score: theirs}
	mineEff, theirsEff := mine, theirs
	switch {
	case theirBlock < commitBlock:
		m.Epsilon = eps.Epsilon(current, theirBlock)
		theirsEff *= 1 - m.Epsilon
	case commitBlock < theirBlock:
		m.Epsilon = eps.Epsilon(current, commitBlock)
		mineEff *= 1 - m.Epsilon
	}
	m.Wins = scoring.IsWin(mine, theirs, commitBlock, theirBlock, eps, current)
	m.Margin = theirsEff - mineEff
	if theirsEff != 0 && !math.IsInf(theirsEff, 0) {
		m.RelativeMargin = m.Margin / theirsEff
	}
	return m
}

// Verdict is the answer to "would my model win?".
type Verdict struct {
	Competition competition.ID `json:"competition_id"`
	// CommitBlock is the block the local model would be committed at; EvalBlock the first at
	// which validators evaluate it (CommitBlock plus the eval delay), where epsilon is read.
	CommitBlock chain.Block `json:"commit_block"`
	EvalBlock   chain.Block `json:"eval_block"`
	Score       float64     `json:"score"`
	Tasks       []TaskScore `json:"tasks"`
	// Rejected is why validators would not evaluate the local model (its score is +Inf).
	Rejected string     `json:"rejected,omitempty"`
	Against  []Opponent `json:"against"`
	// WouldWin: the local model is accepted and beats every opponent (trivially when there
	// is none).
	WouldWin bool `json:"would_win"`
}

// Opponent is a model on chain scored beside the local one.
type Opponent struct {
	Matchup
	Hotkey string      `json:"hotkey"`
	Repo   string      `json:"repo"`
	Tasks  []TaskScore `json:"tasks,omitempty"`
	// Failed is why the opponent scores +Inf for validators (no metadata for this
	// competition, download, hash or constraint failure).
	Failed string `json:"failed,omitempty"`
}

// VerdictConfig is what Judge needs.
type VerdictConfig struct {
	Model       string // the local model directory
	Competition competition.Competition
	Tasks       []Task      // from TaskBatches at the validators' seed
	CommitBlock chain.Block // the local model's would-be commit block
	Against     []chain.UID // the models to beat (BestUID's for "the best")
	Subnet      Subnet
	Hub         Downloader
	// StoreDir holds the opponents' models: <StoreDir>/<uid> (downloaded when missing).
	StoreDir string
	// Progress, if not nil, is called after every evaluated batch.
	Progress func()
}

// Validate reports a config that cannot work.
func (c VerdictConfig) Validate() error {
	switch {
	case c.Model == "":
		return errors.New("verdict: no model directory")
	case len(c.Tasks) == 0:
		return errors.New("verdict: no tasks")
	case len(c.Against) > 0 && (c.Subnet.Chain == nil || c.Hub == nil || c.StoreDir == ""):
		return errors.New("verdict: opponents need a chain, a hub and a store directory")
	}
	return nil
}

// Judge scores the local model and each opponent on the same tasks as validators would
// (constraints, hash check, Score) and compares them with Compare at the local model's first
// evaluation block.
func Judge(ctx context.Context, c VerdictConfig) (*Verdict, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cons := c.Competition.Constraints
	v := &Verdict{Competition: c.Competition.ID, CommitBlock: c.CommitBlock, EvalBlock: c.CommitBlock + cons.EvalBlockDelay}
	var err error
	v.Score, v.Tasks, v.Rejected, err = scoreDir(ctx, c.Model, cons, c.Tasks, c.Progress)
	if err != nil {
		return nil, err
	}
	v.WouldWin = v.Rejected == ""
	for _, uid := range c.Against {
		o, err := c.opponent(ctx, uid)
		if err != nil {
			return nil, err
		}
		o.Matchup = Compare(v.Score, v.CommitBlock, uid, o.Score, o.Block, cons.Epsilon, v.EvalBlock)
		v.WouldWin = v.WouldWin && o.Wins
		v.Against = append(v.Against, o)
	}
	return v, nil
}

// opponent fetches and scores uid's model. Failures a validator scores +Inf are recorded in
// Failed; only ctx's end and I/O on the local disk are errors.
func (c VerdictConfig) opponent(ctx context.Context, uid chain.UID) (Opponent, error) {
	o := Opponent{Matchup: Matchup{UID: uid, Score: math.Inf(1), Block: math.MaxInt64}}
	m, err := c.Subnet.Miner(ctx, uid)
	if err != nil {
		if ctx.Err() != nil {
			return o, err
		}
		o.Failed = err.Error()
		return o, nil
	}
	id := m.Metadata.ID
	o.Hotkey, o.Repo, o.Block = m.Hotkey, id.RepoID(), m.Metadata.Block
	if id.CompetitionID != int(c.Competition.ID) {
		o.Failed = fmt.Sprintf("its model is in competition %d", id.CompetitionID)
		return o, nil
	}
	dir := filepath.Join(c.StoreDir, fmt.Sprintf("%d-%s", uid, id.Commit))
	if err := fetchOrVerify(ctx, c.Hub, m.Hotkey, id, c.Competition.Constraints.MaxBytes, dir); err != nil {
		if ctx.Err() != nil {
			return o, err
		}
		o.Failed = err.Error()
		return o, nil
	}
	var rejected string
	o.Score, o.Tasks, rejected, err = scoreDir(ctx, dir, c.Competition.Constraints, c.Tasks, c.Progress)
	if rejected != "" {
		o.Failed = rejected
	}
	return o, err
}

// scoreDir checks a model directory against the constraints and scores it; a rejected model
// scores +Inf with the reason.
func scoreDir(ctx context.Context, dir string, cons competition.Constraints, tasks []Task, progress func()) (float64, []TaskScore, string, error) {
	if _, err := eval.CheckDir(dir, cons); err != nil {
		if reason, ok := eval.IsRejected(err); ok {
			return math.Inf(1), nil, reason, nil
		}
		return 0, nil, "", err
	}
	m, err := nn.Load(dir)
	if err != nil {
		return math.Inf(1), nil, err.Error(), nil
	}
	defer m.Close()
	score, details, err := Score(ctx, m, tasks, progress)
	return score, details, "", err
}

// fetchOrVerify downloads id's model into dir, or, when dir is there from an earlier run,
// checks its hash again.
func fetchOrVerify(ctx context.Context, d Downloader, hotkey string, id chain.ModelID, maxBytes int64, dir string) error {
	if _, err := os.Stat(dir); err != nil {
		_, _, err := Fetch(ctx, d, hotkey, id, maxBytes, dir)
		return err
	}
	hash, err := modelstore.HashDir(dir)
	if err != nil {
		return err
	}
	return modelstore.CheckHash(hash, hotkey, id.Hash, id.SecureHash)
}
