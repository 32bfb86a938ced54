package miner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/scoring"
)

// The "would I win?" verdict scores with the validator's own entry points: eval.LoadSample
// (each task's batches at the seed) and eval.Score (score_model), after the validator's
// checks (modelstore.CheckHash, eval.CheckDir); scoring.IsWin decides each matchup.

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
	CommitBlock chain.Block      `json:"commit_block"`
	EvalBlock   chain.Block      `json:"eval_block"`
	Score       float64          `json:"score"`
	Tasks       []eval.TaskScore `json:"tasks"`
	// Reason is why the local model scores +Inf (a constraint, the sanity check, ...).
	Reason  string     `json:"reason,omitempty"`
	Against []Opponent `json:"against"`
	// WouldWin: the local model scores and beats every opponent (trivially when there is
	// none).
	WouldWin bool `json:"would_win"`
}

// Opponent is a model on chain scored beside the local one.
type Opponent struct {
	Matchup
	Hotkey string           `json:"hotkey"`
	Repo   string           `json:"repo"`
	Tasks  []eval.TaskScore `json:"tasks,omitempty"`
	// Failed is why the opponent scores +Inf for validators (no metadata for this
	// competition, download, hash or constraint failure).
	Failed string `json:"failed,omitempty"`
}

// VerdictConfig is what Judge needs.
type VerdictConfig struct {
	Model       string // the local model directory
	Competition competition.Competition
	Sample      *eval.Sample // from eval.LoadSample at the validators' seed
	CommitBlock chain.Block  // the local model's would-be commit block
	Against     []chain.UID  // the models to beat (BestUID's for "the best")
	Subnet      Subnet
	Hub         Downloader
	// StoreDir holds the opponents' models: <StoreDir>/<uid> (downloaded when missing).
	StoreDir string
	// Progress, if not nil, is called after each model is scored.
	Progress func()
}

// Validate reports a config that cannot work.
func (c VerdictConfig) Validate() error {
	switch {
	case c.Model == "":
		return errors.New("verdict: no model directory")
	case c.Sample == nil || len(c.Sample.Tasks) == 0:
		return errors.New("verdict: no sample")
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
	r, err := c.score(ctx, c.Model)
	if err != nil {
		return nil, err
	}
	v.Score, v.Tasks, v.Reason = r.Score, r.Tasks, r.Reason
	v.WouldWin = !math.IsInf(v.Score, 1)
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
	r, err := c.score(ctx, dir)
	o.Score, o.Tasks, o.Failed = r.Score, r.Tasks, r.Reason
	return o, err
}

// score is the validator's evaluation of a model directory: its constraint check (a rejected
// model scores +Inf with the reason), then eval.Score on the sample.
func (c VerdictConfig) score(ctx context.Context, dir string) (eval.Result, error) {
	if c.Progress != nil {
		defer c.Progress()
	}
	if _, err := eval.CheckDir(dir, c.Competition.Constraints); err != nil {
		if reason, ok := eval.IsRejected(err); ok {
			return eval.Failed(eval.FailRejected, reason), nil
		}
		return eval.Result{}, err
	}
	m, err := nn.Load(dir)
	if err != nil {
		return eval.Failed(eval.FailLoad, "load model: "+err.Error()), nil
	}
	defer m.Close()
	return eval.Score(ctx, m, c.Sample)
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
