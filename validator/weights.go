package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/scoring"
)

// WeightsRecord is the last weight setting: what was set, when, and the chain's answer. It is
// saved (vali-state/weights.json) so that a restart does not set weights again before the
// interval, and served on the health endpoint.
type WeightsRecord struct {
	Time    time.Time   `json:"time"`
	Block   chain.Block `json:"block"`
	UIDs    []chain.UID `json:"uids"`
	Weights []uint16    `json:"weights"`
	Version uint64      `json:"version_key"`
	Error   string      `json:"error,omitempty"` // empty when the chain accepted them
}

func weightsPath(modelDir string) string {
	return filepath.Join(modelDir, "vali-state", "weights.json")
}

// LastWeights returns the last successful weight setting recorded in modelDir.
func LastWeights(modelDir string) (*WeightsRecord, error) {
	b, err := bounded.ReadFile(weightsPath(modelDir), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r WeightsRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("weights record: %w", err)
	}
	return &r, nil
}

// weightsLoop is the set_weights thread: wait for non-zero weights, set them (retrying every
// WeightsRetry), then wait WeightsInterval. After a restart the interval counts from the last
// recorded setting, so weights are neither lost nor set twice.
func (v *Validator) weightsLoop(ctx context.Context) error {
	for {
		w := v.Weights()
		if slices.ContainsFunc(w, func(x float32) bool { return x > 0 }) {
			break
		}
		if v.clock.Sleep(ctx, v.cfg.WeightsPoll) != nil {
			return nil
		}
	}
	if last, err := LastWeights(v.cfg.ModelDir); err == nil && last != nil {
		if wait := v.cfg.WeightsInterval - v.clock.Now().Sub(last.Time); wait > 0 {
			v.log.Info("weights set recently; waiting", "last", last.Time, "wait", wait)
			if v.clock.Sleep(ctx, wait) != nil {
				return nil
			}
		}
	}
	for {
		for {
			ttl, cancel := context.WithTimeout(ctx, v.cfg.WeightsTTL)
			err := v.SetWeights(ttl)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			v.log.Warn("set weights failed; retrying", "err", err, "in", v.cfg.WeightsRetry)
			if v.clock.Sleep(ctx, v.cfg.WeightsRetry) != nil {
				return nil
			}
		}
		if v.clock.Sleep(ctx, v.cfg.WeightsInterval) != nil {
			return nil
		}
	}
}

// SetWeights sets the current weights on chain once, after checking the subnet's
// hyperparameters: the rate limit (from the chain's last update of our uid) and the version
// key. The chain's backend decides the extrinsic (set_weights, or a timelocked commit where
// commit-reveal is on).
func (v *Validator) SetWeights(ctx context.Context) error {
	if v.signer == nil {
		return errors.New("set weights: no wallet")
	}
	hp, err := v.chain.Hyperparameters(ctx, v.cfg.NetUID)
	if err != nil {
		return fmt.Errorf("set weights: hyperparameters: %w", err)
	}
	mg, err := v.chain.Metagraph(ctx, v.cfg.NetUID)
	if err != nil {
		return fmt.Errorf("set weights: metagraph: %w", err)
	}
	me := slices.Index(mg.Hotkeys, v.signer.SS58())
	if me < 0 {
		return fmt.Errorf("set weights: hotkey %s is not registered on subnet %d", v.signer.SS58(), v.cfg.NetUID)
	}
	cur, err := v.chain.CurrentBlock(ctx)
	if err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	if me < len(mg.LastUpdate) && mg.LastUpdate[me] > 0 && uint64(cur-mg.LastUpdate[me]) < hp.WeightsRateLimit {
		return fmt.Errorf("set weights: rate limit: last update at block %d, limit %d blocks, now %d", mg.LastUpdate[me], hp.WeightsRateLimit, cur)
	}
	version := v.cfg.WeightsVersionKey
	if hp.WeightsVersion > version {
		v.log.Warn("the subnet requires a newer weights version key; the chain will refuse ours", "ours", version, "subnet", hp.WeightsVersion)
	}
	w := v.Weights()
	if len(w) > mg.N {
		w = w[:mg.N]
	}
	uids, w16, err := scoring.ToU16(w)
	if err != nil {
		return err
	}
	if len(uids) == 0 {
		return errors.New("set weights: all weights are zero")
	}
	rec := WeightsRecord{Time: v.clock.Now().UTC(), Block: cur, UIDs: uids, Weights: w16, Version: version}
	err = v.chain.SetWeights(ctx, v.signer, v.cfg.NetUID, uids, w16, version)
	if err != nil {
		rec.Error = err.Error()
		v.metrics.failures.WithLabelValues("weights").Inc()
		v.log.Warn("chain refused weights", "block", cur, "err", err)
		return fmt.Errorf("set weights: %w", err)
	}
	b, _ := json.Marshal(rec)
	if err := atomicfile.WriteFile(weightsPath(v.cfg.ModelDir), b, 0o644); err != nil {
		v.log.Warn("record weights", "err", err)
	}
	v.metrics.observeWeights(rec)
	v.log.Info("weights set", "block", cur, "uids", uids, "weights", w16, "commit_reveal", hp.CommitRevealEnabled)
	return nil
}
