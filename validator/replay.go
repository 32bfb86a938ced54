package validator

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/tokenizer"
)

// Difference is one way a re-run step differs from its record.
type Difference struct {
	What   string     `json:"what"` // pages, tokens, score, task, hash, wins, win_rate, competitive, weight, top_uid
	UID    *chain.UID `json:"uid,omitempty"`
	Logged any        `json:"logged"`
	Now    any        `json:"now"`
}

// ReplayReport is the outcome of re-running a logged step.
type ReplayReport struct {
	Step          int64          `json:"step"`
	CompetitionID competition.ID `json:"competition_id"`
	Block         chain.Block    `json:"block"`
	Seed          string         `json:"seed"`
	Scores        map[string]any `json:"scores"` // uid -> loss now (or the +Inf reason)
	Differences   []Difference   `json:"differences"`
}

// Replay re-runs a logged step from its seed, pages and model revisions: it loads the same
// competition's data at the logged seed, downloads each uid's logged commit (checking the
// logged secure hash), scores it in a worker, ranks the scores with the logged blocks at the
// logged block, and reports every difference. Operators use it to find out why their weights
// differ from another validator's.
func (v *Validator) Replay(ctx context.Context, rec StepRecord) (*ReplayReport, error) {
	comp, ok, err := v.cfg.Schedule.Lookup(rec.CompetitionID, rec.Block)
	if err != nil || !ok {
		return nil, fmt.Errorf("replay: competition %s not active at block %d", rec.CompetitionID, rec.Block)
	}
	seed, ok := new(big.Int).SetString(rec.Seed, 10)
	if !ok {
		return nil, fmt.Errorf("replay: seed %q is not a decimal integer", rec.Seed)
	}
	rep := &ReplayReport{Step: rec.Step, CompetitionID: rec.CompetitionID, Block: rec.Block, Seed: rec.Seed, Scores: map[string]any{}}
	diff := func(what string, uid *chain.UID, logged, now any) {
		rep.Differences = append(rep.Differences, Difference{What: what, UID: uid, Logged: logged, Now: now})
	}
	tok, err := tokenizer.Load(comp.Constraints.Tokenizer)
	if err != nil {
		return nil, err
	}
	sample, err := eval.LoadSample(ctx, v.data, comp, tok, seed, v.log)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if pages := sample.Pages(); !slices.Equal(pages, rec.Pages) {
		diff("pages", nil, rec.Pages, pages)
	}
	for i, t := range sample.Tasks {
		now := taskRecord(t)
		if i >= len(rec.Tasks) || rec.Tasks[i].Name != now.Name || rec.Tasks[i].Tokens != now.Tokens || rec.Tasks[i].Batches != now.Batches {
			var logged any
			if i < len(rec.Tasks) {
				logged = rec.Tasks[i]
			}
			diff("tokens", nil, logged, now)
		}
	}
	sampleFile := filepath.Join(v.cfg.ModelDir, "vali-state", "replay-"+strconv.FormatInt(rec.Step, 10)+".json")
	if err := eval.WriteSample(sampleFile, sample); err != nil {
		return nil, err
	}
	defer removeQuietly(sampleFile)

	var scores []Scored
	for _, uid := range rec.UIDs {
		u := rec.UIDData[strconv.Itoa(int(uid))]
		s := Scored{UID: uid, Hotkey: u.Hotkey, Block: NoBlock, Score: math.Inf(1)}
		if u.Block != nil {
			s.Block = *u.Block
		}
		r := v.replayScore(ctx, comp, u, sampleFile)
		s.Score = r.Score
		if math.IsInf(r.Score, 1) {
			rep.Scores[strconv.Itoa(int(uid))] = "inf: " + r.Reason
		} else {
			rep.Scores[strconv.Itoa(int(uid))] = r.Score
		}
		if logged, now := u.AverageLoss, finite(r.Score); (logged == nil) != (now == nil) || (logged != nil && *logged != *now) {
			diff("score", &uid, u.AverageLoss, now)
		}
		for _, t := range r.Tasks {
			if lt, ok := u.Tasks[t.Name]; !ok || lt.RawScore == nil || *lt.RawScore != t.RawScore {
				diff("task "+t.Name, &uid, lt.RawScore, t.RawScore)
			}
		}
		if r.Reason == reasonHashMismatch {
			diff("hash", &uid, u.SecureHash, "mismatch")
		}
		scores = append(scores, s)
	}
	n := len(rec.SubnetWeights)
	for _, u := range rec.UIDs {
		n = max(n, int(u)+1)
	}
	_, r, step, err := rankStep(comp.Constraints.Epsilon, rec.Block, scores, n)
	if err != nil {
		return nil, err
	}
	for _, uid := range rec.UIDs {
		u := rec.UIDData[strconv.Itoa(int(uid))]
		if c := slices.Contains(r.Competitive, uid); c != u.Competitive {
			diff("competitive", &uid, u.Competitive, c)
		}
		if r.Wins[uid] != u.WinTotal {
			diff("wins", &uid, u.WinTotal, r.Wins[uid])
		}
		if r.WinRates[uid] != u.WinRate {
			diff("win_rate", &uid, u.WinRate, r.WinRates[uid])
		}
		if step[uid] != u.Weight {
			diff("weight", &uid, u.Weight, step[uid])
		}
	}
	var top *chain.UID
	if r.HasTop {
		top = &r.Top
	}
	if (top == nil) != (rec.TopUID == nil) || (top != nil && *top != *rec.TopUID) {
		diff("top_uid", nil, rec.TopUID, top)
	}
	return rep, nil
}

// replayScore downloads the logged revision of a uid's model and scores it.
func (v *Validator) replayScore(ctx context.Context, comp competition.Competition, u UIDRec, sampleFile string) eval.Result {
	if u.Commit == "" || u.HF == "Unknown" {
		return eval.Failed(eval.FailLoad, "no model logged")
	}
	ns, name, err := chain.SplitRepoID(u.HF)
	if err != nil {
		return eval.Failed(eval.FailLoad, err.Error())
	}
	dir, hash, err := v.store.Fetch(ctx, v.hub, u.Hotkey, modelstore.Ref{Namespace: ns, Name: name, Commit: u.Commit}, comp.Constraints.MaxBytes)
	if err != nil {
		return eval.Failed(eval.FailLoad, "download: "+err.Error())
	}
	if u.SecureHash != "" && modelstore.SecureHash(hash, u.Hotkey) != u.SecureHash {
		return eval.Failed(eval.FailLoad, reasonHashMismatch)
	}
	r, err := v.evaluator.Evaluate(ctx, dir, sampleFile)
	if err != nil {
		return eval.Failed(eval.FailOther, err.Error())
	}
	return r
}

// reasonHashMismatch is replayScore's reason for files that do not match the logged secure hash.
const reasonHashMismatch = "the downloaded files do not match the logged secure hash"
