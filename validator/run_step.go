package validator

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/tokenizer"
)

// Step runs one evaluation step (run_step) and returns its record, or nil when the
// competition had nothing to evaluate. On success the global step advances and the state is
// saved; on error nothing changes, so the step is repeated.
func (v *Validator) Step(ctx context.Context) (*StepRecord, error) {
	start := v.clock.Now()
	cur := v.currentBlock(ctx)
	comps, err := v.cfg.Schedule.At(cur)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	step := v.state.GlobalStep
	comp := comps[int(step%int64(len(comps)))]
	if comp.Unsupported != "" {
		v.state.GlobalStep++
		err := v.saveState()
		v.mu.Unlock()
		v.log.Debug("skipping unsupported competition", "competition", comp.ID, "why", comp.Unsupported)
		return nil, err
	}
	uids := v.state.takePending(comp.ID)
	pending, current := v.state.counts()
	mg := v.mg
	v.mu.Unlock()
	if len(uids) == 0 {
		v.log.Debug("no uids to evaluate", "competition", comp.ID)
		if pending+current == 0 {
			if err := v.clock.Sleep(ctx, v.cfg.IdleWait); err != nil {
				return nil, err
			}
		}
		v.mu.Lock()
		v.state.GlobalStep++
		err := v.saveState()
		v.mu.Unlock()
		return nil, err
	}
	v.log.Info("step", "step", step, "block", cur, "competition", comp.ID, "uids", uids)

	tok, err := tokenizer.Load(comp.Constraints.Tokenizer)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", comp.Constraints.Tokenizer, err)
	}
	seed, syncBlock := v.seed(ctx, cur)
	dataStart := time.Now()
	sample, err := eval.LoadSample(ctx, v.data, comp, tok, seed, v.log)
	if err != nil {
		return nil, fmt.Errorf("load data: %w", err)
	}
	dataSeconds := time.Since(dataStart).Seconds()
	sampleFile := filepath.Join(v.cfg.ModelDir, "vali-state", "sample-"+strconv.FormatInt(step, 10)+".json")
	if err := eval.WriteSample(sampleFile, sample); err != nil {
		return nil, err
	}
	defer removeQuietly(sampleFile)

	rec := &StepRecord{Version: StepLogVersion, Step: step, Timestamp: start.UTC(), ValidatorHotkey: v.Hotkey(),
		Block: cur, CompetitionID: comp.ID, Seed: seed.String(), SyncBlock: syncBlock, Pages: sample.Pages(),
		UIDs: uids, UIDData: map[string]UIDRec{}}
	if v.signer != nil {
		if i := slices.Index(mg.Hotkeys, v.signer.SS58()); i >= 0 {
			u := chain.UID(i)
			rec.ValidatorUID = &u
		}
	}
	for _, t := range sample.Tasks {
		rec.Tasks = append(rec.Tasks, taskRecord(t))
	}
	var loadPerf, computePerf PerfMonitor
	scores := make([]Scored, 0, len(uids))
	for _, uid := range uids {
		s, r, err := v.evaluateUID(ctx, comp, mg, uid, sampleFile)
		if err != nil {
			return nil, err
		}
		if r.LoadSeconds > 0 || r.EvalSeconds > 0 {
			loadPerf.Add(time.Duration(r.LoadSeconds * float64(time.Second)))
			computePerf.Add(time.Duration(r.EvalSeconds * float64(time.Second)))
		}
		scores = append(scores, s)
		rec.UIDData[strconv.Itoa(int(uid))] = uidRecord(s, r, v.state.Models, comp, cur)
	}

	scoringStart := time.Now()
	v.mu.Lock()
	unlock := sync.OnceFunc(v.mu.Unlock) // released before the slow W&B upload
	defer unlock()
	ids := make([]competition.ID, len(comps))
	for i, c := range comps {
		ids[i] = c.ID
	}
	out, err := Decide(comp, comps, cur, scores, mg.N, v.state.Competitions, v.cfg.SampleMin)
	if err != nil {
		return nil, err
	}
	for _, r := range out.Results {
		v.state.Models.OnModelEvaluated(r.Hotkey, comp.ID, r.Result)
	}
	v.state.setEval(comp.ID, out.Keep, ids)
	v.weights = out.SubnetWeights
	v.state.GlobalStep++
	fillOutcome(rec, out, v.state.Competitions.Weights(comp.ID))
	rec.Rejected = v.rejectedFor(comp.ID, mg)
	rec.Timings = StepTimings{LoadData: Summary{N: 1, Min: dataSeconds, Median: dataSeconds, Max: dataSeconds, P90: dataSeconds},
		LoadModel: loadPerf.summary(), ComputeLoss: computePerf.summary()}
	rec.Timings.Scoring = time.Since(scoringStart).Seconds()
	rec.Timings.Total = v.clock.Now().Sub(start).Seconds()
	rec.SubnetWeights = out.SubnetWeights
	// The step log first, then the state: a crash between the two repeats the step, and its
	// record appears twice (readers keep the last record of a step).
	if err := v.steplog.Append(rec); err != nil {
		v.state.GlobalStep--
		return nil, err
	}
	if err := v.saveState(); err != nil {
		return nil, err
	}
	unlock()
	v.metrics.observeStep(rec)
	if v.wandb != nil {
		if err := v.wandb.Log(ctx, rec); err != nil {
			v.log.Warn("wandb", "err", err)
		}
	}
	top := "none"
	if rec.TopUID != nil {
		top = strconv.Itoa(int(*rec.TopUID))
	}
	v.log.Info("step done", "step", step, "competition", comp.ID, "top_uid", top, "seconds", rec.Timings.Total)
	v.logTable(rec)
	return rec, nil
}

// evaluateUID scores one uid of the step: +Inf without metadata of this competition, when its
// model is missing from the store, or when the worker fails.
func (v *Validator) evaluateUID(ctx context.Context, comp competition.Competition, mg *chain.Metagraph, uid chain.UID, sampleFile string) (Scored, eval.Result, error) {
	s := Scored{UID: uid, Block: NoBlock, Score: math.Inf(1)}
	if int(uid) >= len(mg.Hotkeys) {
		return s, eval.Failed(eval.FailOther, "uid not in the metagraph"), nil
	}
	s.Hotkey = mg.Hotkeys[uid]
	meta, ok := v.state.Models.Metadata(s.Hotkey)
	if !ok || competition.ID(meta.ID.CompetitionID) != comp.ID {
		return s, eval.Failed(eval.FailOther, "no model for this competition"), nil
	}
	s.Block = meta.Block
	dir, err := v.store.Retrieve(s.Hotkey, modelstore.Ref{Namespace: meta.ID.Namespace, Name: meta.ID.Name, Commit: meta.ID.Commit})
	if err != nil {
		return s, eval.Failed(eval.FailLoad, "model not in the store: "+err.Error()), nil
	}
	v.log.Info("evaluating", "uid", uid, "hotkey", s.Hotkey, "model", meta.ID.String())
	r, err := v.evaluator.Evaluate(ctx, dir, sampleFile)
	if err != nil {
		return s, r, err
	}
	s.Score = r.Score
	if math.IsNaN(s.Score) {
		s.Score, r.Failure, r.Reason = math.Inf(1), eval.FailOther, "score is NaN"
	}
	if math.IsInf(s.Score, 1) {
		v.log.Warn("model scored +Inf", "uid", uid, "hotkey", s.Hotkey, "reason", r.Reason)
		v.metrics.failures.WithLabelValues(string(cmp.Or(r.Failure, eval.FailOther))).Inc()
	}
	v.metrics.evaluated.Inc()
	return s, r, nil
}

// rejectedFor lists the miners whose current metadata for competition id was refused.
func (v *Validator) rejectedFor(id competition.ID, mg *chain.Metagraph) map[string]UIDRec {
	out := map[string]UIDRec{}
	for uid, hk := range mg.Hotkeys {
		r, ok := v.rejected[hk]
		if !ok || competition.ID(r.Metadata.ID.CompetitionID) != id {
			continue
		}
		b := r.Metadata.Block
		out[strconv.Itoa(uid)] = UIDRec{UID: chain.UID(uid), Hotkey: hk, Block: &b, HF: r.Metadata.ID.RepoID(),
			Commit: r.Metadata.ID.Commit, SecureHash: r.Metadata.ID.SecureHash, CompetitionID: id, Reason: r.Reason}
	}
	return out
}

// taskRecord is what the step log keeps of a task's data; Tokens counts the batches' tokens.
func taskRecord(t eval.TaskData) TaskRecord {
	n := 0
	for _, b := range t.Batches {
		for _, row := range b {
			n += len(row)
		}
	}
	return TaskRecord{Name: t.Task.Name, Dataset: t.Dataset, Weight: t.Task.Weight, Pages: t.Pages, Batches: len(t.Batches), Tokens: n}
}

func uidRecord(s Scored, r eval.Result, models *ModelTracker, comp competition.Competition, cur chain.Block) UIDRec {
	rec := UIDRec{UID: s.UID, Hotkey: s.Hotkey, HF: "Unknown", CompetitionID: comp.ID, Reason: r.Reason,
		EpsilonAdv:  comp.Constraints.Epsilon.Epsilon(cur, s.Block),
		DatasetPerf: map[string]LossRecord{}, Tasks: map[string]TaskScore{},
		LoadSeconds: r.LoadSeconds, EvalSeconds: r.EvalSeconds}
	if s.Block != NoBlock {
		b := s.Block
		rec.Block = &b
	}
	if meta, ok := models.Metadata(s.Hotkey); ok && competition.ID(meta.ID.CompetitionID) == comp.ID {
		rec.HF, rec.Commit, rec.SecureHash = meta.ID.RepoID(), meta.ID.Commit, meta.ID.SecureHash
	}
	if !math.IsInf(s.Score, 0) {
		rec.AverageLoss = finite(s.Score)
		rec.Reason = ""
	}
	for _, t := range r.Tasks {
		rec.Tasks[t.Name] = TaskScore{RawScore: finite(t.RawScore), NormScore: finite(t.NormScore),
			WeightedNormScore: finite(t.WeightedNormScore), NumSamples: t.NumSamples}
	}
	for _, task := range comp.Tasks {
		if ts, ok := rec.Tasks[task.Name]; ok {
			rec.DatasetPerf[datasetName(task.Dataset)] = LossRecord{AverageLoss: ts.RawScore}
		}
	}
	return rec
}

func fillOutcome(rec *StepRecord, out Outcome, compWeights []float32) {
	if out.Ranking.HasTop {
		t := out.Ranking.Top
		rec.TopUID = &t
	}
	for k, u := range rec.UIDData {
		u.WinRate = out.Ranking.WinRates[u.UID]
		u.WinTotal = out.Ranking.Wins[u.UID]
		u.Competitive = slices.Contains(out.Ranking.Competitive, u.UID)
		if int(u.UID) < len(out.StepWeights) {
			u.Weight = out.StepWeights[u.UID]
		}
		if int(u.UID) < len(compWeights) {
			u.NormWeight = compWeights[u.UID]
		}
		rec.UIDData[k] = u
	}
}

// datasetName is the legacy dataset_perf key the reference's leaderboard reads.
func datasetName(id competition.DatasetID) string {
	switch id {
	case competition.DatasetFineWeb:
		return "HuggingFaceFW/fineweb"
	case competition.DatasetFineWeb2:
		return "HuggingFaceFW/fineweb-edu-score-2"
	case competition.DatasetStack2:
		return "bigcode/the-stack-v2-dedup"
	case competition.DatasetPes2oX:
		return "laion/Pes2oX-fulltext"
	case competition.DatasetFineMath3P:
		return "HuggingFaceTB/finemath:finemath-3p"
	case competition.DatasetWebMath3P:
		return "HuggingFaceTB/finemath:infiwebmath-3p"
	case competition.DatasetLocal:
		return "pretrain/demo-corpus"
	}
	return fmt.Sprintf("dataset-%d", id)
}

func finite(f float64) *float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil
	}
	return &f
}

// logTable prints the step's console table: uid, block, loss, win rate, weight.
func (v *Validator) logTable(rec *StepRecord) {
	for _, uid := range rec.UIDs {
		u := rec.UIDData[strconv.Itoa(int(uid))]
		loss := "inf"
		if u.AverageLoss != nil {
			loss = strconv.FormatFloat(*u.AverageLoss, 'f', 4, 64)
		}
		v.log.Info("step result", "uid", uid, "hf", u.HF, "loss", loss, "win_rate", u.WinRate, "wins", u.WinTotal,
			"weight", u.Weight, "competitive", u.Competitive, "reason", u.Reason)
	}
}
