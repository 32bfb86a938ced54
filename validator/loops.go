package validator

import (
	"context"
	"errors"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/modelstore"
)

// updateLoop is update_models: scan the top miners every ScanTopModelCadence, wait for an
// open evaluation slot, then sync the next uid of the iterator (at most once per uid per
// ChainUpdateCadence) and queue it when it has a new model.
func (v *Validator) updateLoop(ctx context.Context) error {
	if v.clock.Sleep(ctx, v.cfg.UpdateStartDelay) != nil {
		return nil
	}
	var lastScan time.Time
	for ctx.Err() == nil {
		if lastScan.IsZero() || v.clock.Now().Sub(lastScan) > v.cfg.ScanTopModelCadence {
			lastScan = v.clock.Now()
			v.queueTopModels(ctx)
		}
		if v.waitForOpenEvalSlot(ctx) != nil {
			return nil
		}
		if err := v.updateNext(ctx); err != nil {
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, errMisconfigured):
				v.log.Debug("update", "err", err)
			default:
				v.log.Warn("update loop", "err", err)
				if isChainError(err) {
					_ = v.clock.Sleep(ctx, v.cfg.ChainErrorWait)
				}
			}
		}
	}
	return nil
}

// chainErr marks errors from chain reads in the update loop (the reference sleeps 3 minutes
// on a websocket error).
type chainErr struct{ error }

func (e chainErr) Unwrap() error { return e.error }

func isChainError(err error) bool {
	var c chainErr
	return errors.As(err, &c)
}

// updateNext handles the iterator's next uid.
func (v *Validator) updateNext(ctx context.Context) error {
	v.mu.Lock()
	uid, err := v.miners.Next()
	last, seen := v.lastCheck[uid]
	v.mu.Unlock()
	if err != nil {
		return v.clock.Sleep(ctx, v.cfg.ChainUpdateCadence)
	}
	if seen {
		if d := v.clock.Now().Sub(last); d < v.cfg.ChainUpdateCadence {
			if err := v.clock.Sleep(ctx, v.cfg.ChainUpdateCadence-d); err != nil {
				return err
			}
		}
	}
	v.mu.Lock()
	v.lastCheck[uid] = v.clock.Now()
	mg := v.mg
	v.mu.Unlock()
	if int(uid) >= len(mg.Hotkeys) {
		return nil
	}
	hotkey := mg.Hotkeys[uid]
	cur := v.currentBlock(ctx)
	force := false
	if meta, ok := v.state.Models.Metadata(hotkey); ok {
		id := competition.ID(meta.ID.CompetitionID)
		v.mu.Lock()
		queued := v.state.queued(id, uid)
		v.mu.Unlock()
		if comp, ok, err := v.cfg.Schedule.Lookup(id, cur); err == nil && ok && !queued {
			force = ShouldRetryModel(comp.Constraints.Epsilon, cur, v.state.Models.EvalResults(hotkey, id))
		}
	}
	updated, err := v.syncModel(ctx, uid, hotkey, cur, force)
	if errors.Is(err, errMisconfigured) {
		v.recordMisconfigured(hotkey, cur)
		return err
	}
	if err != nil {
		return err
	}
	if updated {
		v.queue(hotkey, uid)
	}
	return nil
}

// queue adds uid to the pending uids of its model's competition.
func (v *Validator) queue(hotkey string, uid chain.UID) {
	meta, ok := v.state.Models.Metadata(hotkey)
	if !ok {
		return
	}
	v.mu.Lock()
	v.state.addPending(competition.ID(meta.ID.CompetitionID), uid)
	pending, current := v.state.counts()
	v.mu.Unlock()
	v.metrics.queue.WithLabelValues("pending").Set(float64(pending))
	v.metrics.queue.WithLabelValues("current").Set(float64(current))
	v.log.Info("new model queued", "uid", uid, "hotkey", hotkey, "model", meta.ID.String())
}

// queueTopModels is _queue_top_models_for_eval: the miners the high-stake validators weight
// most are synced (forced) and queued, ignoring the slot limit, unless evaluated within the
// retry cadence.
func (v *Validator) queueTopModels(ctx context.Context) {
	mg := v.metagraph()
	top := TopMiners(mg, v.cfg.TopMinerMinStake, v.cfg.TopMinerMinFraction)
	v.mu.Lock()
	queued := v.state.allUIDs()
	v.mu.Unlock()
	for _, uid := range top {
		if queued[uid] || int(uid) >= len(mg.Hotkeys) {
			continue
		}
		hotkey := mg.Hotkeys[uid]
		last, _ := v.state.Models.BlockLastEvaluated(hotkey)
		cur := v.currentBlock(ctx)
		if cur-last < competition.ModelRetryCadence {
			continue
		}
		ok, err := v.syncModel(ctx, uid, hotkey, cur, true)
		if errors.Is(err, errMisconfigured) {
			v.recordMisconfigured(hotkey, cur)
		}
		if err != nil {
			v.log.Debug("top model check", "uid", uid, "err", err)
			continue
		}
		if ok {
			v.queue(hotkey, uid)
		}
	}
}

// waitForOpenEvalSlot waits while the queues hold UpdatedModelsLimit uids.
func (v *Validator) waitForOpenEvalSlot(ctx context.Context) error {
	for {
		v.mu.Lock()
		pending, current := v.state.counts()
		v.mu.Unlock()
		if pending+current < v.cfg.UpdatedModelsLimit {
			return nil
		}
		if err := v.clock.Sleep(ctx, v.cfg.EvalSlotWait); err != nil {
			return err
		}
	}
}

// cleanLoop is clean_models: after CleanStartDelay, every CleanInterval, delete downloaded
// models that no queued uid references (after the grace period).
func (v *Validator) cleanLoop(ctx context.Context) error {
	if v.clock.Sleep(ctx, v.cfg.CleanStartDelay) != nil {
		return nil
	}
	for {
		v.clean()
		if v.clock.Sleep(ctx, v.cfg.CleanInterval) != nil {
			return nil
		}
	}
}

func (v *Validator) clean() {
	v.mu.Lock()
	uids := v.state.allUIDs()
	mg := v.mg
	v.mu.Unlock()
	keep := map[string]modelstore.Ref{}
	all := v.state.Models.AllMetadata()
	for uid := range uids {
		if int(uid) >= len(mg.Hotkeys) {
			continue
		}
		hk := mg.Hotkeys[uid]
		if m, ok := all[hk]; ok {
			keep[hk] = modelstore.Ref{Namespace: m.ID.Namespace, Name: m.ID.Name, Commit: m.ID.Commit}
		}
	}
	deleted, err := v.store.DeleteUnreferenced(keep, v.cfg.CleanGrace, v.clock.Now())
	if err != nil {
		v.log.Warn("clean models", "err", err)
	}
	if len(deleted) > 0 {
		v.log.Info("deleted unreferenced models", "paths", deleted)
	}
}

// evalLoop is run(): steps until ctx ends. A failed step is retried (global_step does not
// advance, so the same competition comes again).
func (v *Validator) evalLoop(ctx context.Context) error {
	for ctx.Err() == nil {
		stepCtx, cancel := context.WithTimeout(ctx, v.cfg.StepTTL)
		_, err := v.Step(stepCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			v.log.Error("step failed", "err", err)
			v.metrics.failures.WithLabelValues("step").Inc()
			if v.clock.Sleep(ctx, 10*time.Second) != nil {
				return nil
			}
		}
	}
	return nil
}
