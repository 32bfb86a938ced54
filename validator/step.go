package validator

import (
	"math"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/scoring"
)

// NoBlock stands for the reference's block=inf: a uid evaluated without metadata of the
// competition. It is later than every real block, so it never gets an epsilon advantage.
const NoBlock = chain.Block(math.MaxInt64)

// Scored is one uid's evaluation in a step, in evaluation order.
type Scored struct {
	UID    chain.UID
	Hotkey string
	Block  chain.Block // NoBlock without metadata
	Score  float64     // +Inf when the model failed
}

// Outcome is what a step decides from its scores: the reference's
// _compute_and_set_competition_weights and the end of run_step.
type Outcome struct {
	Ranking     scoring.Ranking
	StepWeights []float32 // softmax of win rates over the metagraph's uids
	// Results are the tracker records, by hotkey, in evaluation order (one per evaluated uid).
	Results []HotkeyResult
	Keep    []chain.UID // next step's uids, in the reference's set insertion order
	// SubnetWeights are the tracker's merged weights over the active competitions.
	SubnetWeights []float32
}

// HotkeyResult is one EvalResult to record for a hotkey.
type HotkeyResult struct {
	Hotkey string
	Result EvalResult
}

// Decide is a step's pure core. It ranks the scores (competitive filter, wins, win rates),
// computes the step's softmax weights over n uids, folds them into the competition tracker,
// aligns the tracker with the active competitions, and picks the uids to keep. The tracker is
// updated in place; everything else is returned.
func Decide(comp competition.Competition, active []competition.Competition, current chain.Block,
	scores []Scored, n int, tracker *scoring.Tracker, sampleMin int) (Outcome, error) {
	models, r, step, err := rankStep(comp.Constraints.Epsilon, current, scores, n)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{Ranking: r, StepWeights: step}
	var top scoring.Model
	for _, m := range models {
		if r.HasTop && m.UID == r.Top {
			top = m
		}
	}
	for _, s := range scores {
		res := EvalResult{Block: current, Score: s.Score}
		if r.HasTop {
			res.WinningModelBlock, res.WinningModelScore = top.Block, top.Loss
		}
		out.Results = append(out.Results, HotkeyResult{Hotkey: s.Hotkey, Result: res})
	}
	if err := tracker.Record(comp.ID, out.StepWeights); err != nil {
		return Outcome{}, err
	}
	ids := make([]competition.ID, 0, len(active))
	for _, c := range active {
		ids = append(ids, c.ID)
	}
	tracker.Reset(ids)
	out.SubnetWeights = tracker.SubnetWeights(supported(active), 0)
	out.Keep = UIDsToKeep(r, models, tracker.Weights(comp.ID), sampleMin)
	return out, nil
}

// rankStep ranks a step's scores (competitive filter, wins, win rates) and computes its
// softmax weights over n uids: the part of a step that replay recomputes.
func rankStep(eps competition.EpsilonFunc, current chain.Block, scores []Scored, n int) ([]scoring.Model, scoring.Ranking, []float32, error) {
	models := make([]scoring.Model, len(scores))
	uids := make([]chain.UID, len(scores))
	for i, s := range scores {
		models[i], uids[i] = scoring.Model{UID: s.UID, Block: s.Block, Loss: s.Score}, s.UID
	}
	r, err := scoring.Rank(models, eps, current)
	if err != nil {
		return nil, scoring.Ranking{}, nil, err
	}
	step, err := scoring.StepWeights(uids, r.WinRates, competition.Temperature, n)
	if err != nil {
		return nil, scoring.Ranking{}, nil, err
	}
	return models, r, step, nil
}

// supported drops the competitions this implementation cannot evaluate (see
// competition.Competition.Unsupported), so their share goes to the others.
func supported(comps []competition.Competition) []competition.Competition {
	var out []competition.Competition
	for _, c := range comps {
		if c.Unsupported == "" {
			out = append(out, c)
		}
	}
	return out
}
