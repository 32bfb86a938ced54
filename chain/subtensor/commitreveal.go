package subtensor

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/internal/scale"
	"github.com/pretrain/pretrain/chain/timelock"
)

// Commit-reveal v3/v4 (timelocked weight commits), as bittensor's SDK sends them when a
// subnet has CommitRevealWeightsEnabled: the weights are encrypted to a future drand
// quicknet round and submitted with SubtensorModule.commit_timelocked_weights; the chain
// decrypts them itself once it has ingested that round's pulse (subtensor
// pallets/subtensor/src/coinbase/reveal_commits.rs) and applies them as set_weights would.

// commitRevealParams are the subnet's hyperparameters that commit-reveal reads.
type commitRevealParams struct {
	chain.Hyperparameters
	Version uint16 // CommitRevealWeightsVersion, which the call must carry
}

// commitRevealParams reads netuid's hyperparameters and, where commit-reveal is on, the
// commit version at block hash at. Absent items read as their declared defaults
// (commit-reveal on, tempo 360, period 1).
func (c *Client) commitRevealParams(ctx context.Context, m *Metadata, at chain.Hash, netuid uint16) (commitRevealParams, error) {
	var p commitRevealParams
	var err error
	if p.Hyperparameters, err = c.hyperparameters(ctx, m, at, netuid); err != nil || !p.CommitRevealEnabled {
		return p, err
	}
	version, err := c.storageUint(ctx, m, at, "CommitRevealWeightsVersion")
	if err != nil {
		return p, err
	}
	if version > math.MaxUint16 {
		return p, fmt.Errorf("CommitRevealWeightsVersion %d exceeds u16", version)
	}
	p.Version = uint16(version)
	return p, nil
}

// commitTimelockedWeightsCall encodes SubtensorModule.commit_timelocked_weights(netuid,
// commit, reveal_round, commit_reveal_version).
func (m *Metadata) commitTimelockedWeightsCall(netuid uint16, commit []byte, round uint64, version uint16) ([]byte, error) {
	u16 := func(id uint32) bool { return m.isPrim(id, PrimU16) }
	bytes := func(id uint32) bool { return m.isSeqOf(id, PrimU8) }
	u64 := func(id uint32) bool { return m.isPrim(id, PrimU64) }
	b, err := m.callPrefix("SubtensorModule", "commit_timelocked_weights",
		[]string{"netuid", "commit", "reveal_round", "commit_reveal_version"}, []func(uint32) bool{u16, bytes, u64, u16})
	if err != nil {
		return nil, fmt.Errorf("commit timelocked weights: %w", err)
	}
	b = appendU16(b, netuid)
	b = scale.AppendCompact(b, uint64(len(commit)))
	b = append(b, commit...)
	b = appendU64(b, round)
	return appendU16(b, version), nil
}

// timelockedWeightsCall builds the commit the SDK would send for these weights
// (timelock.SealWeights) at the head block and the wall clock.
func (c *Client) timelockedWeightsCall(m *Metadata, p commitRevealParams, block chain.Block, hotkey [32]byte, netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) ([]byte, uint64, error) {
	if block < 0 {
		return nil, 0, fmt.Errorf("commit weights: block %d: %w", block, chain.ErrInvalid)
	}
	beacon := timelock.Quicknet()
	if c.beacon != nil {
		beacon.PublicKey = *c.beacon
	}
	at := timelock.CommitTime{Now: time.Now(), BlockTime: c.cfg.BlockTime, Block: uint64(block), NetUID: netuid,
		Tempo: uint64(p.Tempo), RevealPeriod: p.RevealPeriodEpochs}
	ct, round, err := timelock.SealWeights(beacon, at,
		timelock.WeightsPayload{Hotkey: hotkey, UIDs: uids, Values: weights, VersionKey: versionKey}, rand.Reader)
	if err != nil {
		return nil, 0, err
	}
	call, err := m.commitTimelockedWeightsCall(netuid, ct, round, p.Version)
	return call, round, err
}

// WeightCommits returns hotkey's timelocked weight commits on netuid that are in
// SubtensorModule.TimelockedWeightCommits at the best block, oldest first: all pending. The
// chain drops a commit from storage when it reveals or discards it and records which only
// in that block's events, so those are not returned (the weight row's LastUpdate at the
// reveal block shows an applied one).
func (c *Client) WeightCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.WeightCommit, error) {
	w, err := c.weightCommits(ctx, netuid, hotkey)
	if err != nil {
		return nil, fmt.Errorf("weight commits %d %s: %w", netuid, hotkey, err)
	}
	return w, nil
}

func (c *Client) weightCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.WeightCommit, error) {
	pub, err := decodeSS58(hotkey)
	if err != nil {
		return nil, err
	}
	hash, err := c.bestHash(ctx)
	if err != nil {
		return nil, err
	}
	rt, err := c.runtimeAt(ctx, &hash)
	if err != nil {
		return nil, err
	}
	m := rt.meta
	prefix, e, err := m.storageKey("SubtensorModule", "TimelockedWeightCommits", appendU16(nil, netuid))
	if err != nil {
		return nil, err
	}
	var out []chain.WeightCommit
	err = c.storagePrefix(ctx, hash, prefix, func(_, raw []byte) error {
		v, err := m.DecodeValue(e.Value, raw)
		if err != nil {
			return err
		}
		commits, err := asList(v)
		if err != nil {
			return err
		}
		for i, cv := range commits {
			// (who, commit_block, commit, reveal_round)
			t, err := asList(cv)
			if err != nil || len(t) != 4 {
				return fmt.Errorf("commit %d: want (account, block, commit, round)", i)
			}
			who, err := asAccount(t[0])
			if err != nil {
				return fmt.Errorf("commit %d: %w", i, err)
			}
			if who != pub {
				continue
			}
			block, err1 := asUint(t[1])
			round, err2 := asUint(t[3])
			if err := errors.Join(err1, err2); err != nil || block > math.MaxInt64 {
				return fmt.Errorf("commit %d: block or round: %v", i, err)
			}
			out = append(out, chain.WeightCommit{Block: chain.Block(block), RevealRound: round, Status: chain.CommitPending})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b chain.WeightCommit) int { return cmp.Compare(a.Block, b.Block) })
	return out, err
}
