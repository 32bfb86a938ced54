package localchain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/wallet"
)

// maxTotalStake bounds all stake on the chain (rao) so the epoch's I64F64 stake sum cannot
// overflow; it is about 4.6e9 TAO, far above the 21e6 TAO supply.
const maxTotalStake = 1 << 62

// Register registers hotkey (owned by coldkey; both SS58) on subnet netuid and returns its
// uid. When the subnet is full the non-immune neuron with the lowest pruning score is
// replaced (ties: the lowest uid), as subtensor's get_neuron_to_prune; if every neuron is
// immune, the lowest pruning score among all. A hotkey already registered there is an error
// wrapping ErrAlreadyRegistered. Registration costs nothing on the local chain.
func (c *Chain) Register(ctx context.Context, netuid uint16, hotkey, coldkey string) (chain.UID, error) {
	for _, k := range []string{hotkey, coldkey} {
		if _, err := wallet.SS58Decode(k); err != nil {
			return 0, fmt.Errorf("register: %w: %w", chain.ErrInvalid, err)
		}
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return 0, err
	}
	var uid chain.UID
	err := c.write(ctx, func(tx *sql.Tx) error {
		head, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		s, err := loadSubnet(ctx, tx, netuid)
		if err != nil {
			return err
		}
		var existing int
		err = tx.QueryRowContext(ctx, `SELECT uid FROM neurons WHERE netuid = ? AND hotkey = ?`, netuid, hotkey).Scan(&existing)
		if err == nil {
			uid = chain.UID(existing)
			return fmt.Errorf("register %s on %d (uid %d): %w", hotkey, netuid, existing, ErrAlreadyRegistered)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM neurons WHERE netuid = ?`, netuid).Scan(&n); err != nil {
			return err
		}
		if n < int(s.MaxUIDs) {
			uid = chain.UID(n)
			_, err = tx.ExecContext(ctx, `INSERT INTO neurons (netuid, uid, hotkey, coldkey, registered_block, last_update)
				VALUES (?, ?, ?, ?, ?, ?)`, netuid, n, hotkey, coldkey, head, head)
			if err != nil {
				return fmt.Errorf("register: %w", err)
			}
		} else {
			if uid, err = pruneUID(ctx, tx, s, head); err != nil {
				return err
			}
			if err := replaceNeuron(ctx, tx, netuid, uid, hotkey, coldkey, head); err != nil {
				return err
			}
		}
		c.log.Info("registered", "netuid", netuid, "uid", uid, "hotkey", hotkey, "block", head)
		return nil
	})
	return uid, err
}

func pruneUID(ctx context.Context, tx *sql.Tx, s subnet, head int64) (chain.UID, error) {
	var uid int
	err := tx.QueryRowContext(ctx, `SELECT uid FROM neurons WHERE netuid = ?
		ORDER BY (registered_block + ? >= ?) ASC, pruning_score ASC, uid ASC LIMIT 1`,
		s.NetUID, int64(s.ImmunityPeriod), head).Scan(&uid)
	if err != nil {
		return 0, fmt.Errorf("register: choose uid to prune: %w", err)
	}
	return chain.UID(uid), nil
}

// replaceNeuron gives uid to a new hotkey: the old neuron's weights, bonds and scores go.
func replaceNeuron(ctx context.Context, tx *sql.Tx, netuid uint16, uid chain.UID, hotkey, coldkey string, head int64) error {
	stmts := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM weights WHERE netuid = ? AND uid = ?`, []any{netuid, uid}},
		{`DELETE FROM bonds WHERE netuid = ? AND uid = ?`, []any{netuid, uid}},
		{`UPDATE neurons SET hotkey = ?, coldkey = ?, registered_block = ?, last_update = ?,
			weights_set_block = -1, validator_permit = 0, active = 1, rank = 0, trust = 0,
			validator_trust = 0, consensus = 0, incentive = 0, dividends = 0, emission = 0,
			pruning_score = 0, stake_weight = 0 WHERE netuid = ? AND uid = ?`,
			[]any{hotkey, coldkey, head, head, netuid, uid}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("replace uid %d: %w", uid, err)
		}
	}
	return nil
}

// AddStake adds rao to hotkey's stake (owned by coldkey). Stake counts on every subnet the
// hotkey is registered on; there are no balances on the local chain.
func (c *Chain) AddStake(ctx context.Context, hotkey, coldkey string, rao uint64) error {
	if rao == 0 {
		return fmt.Errorf("add stake: 0 rao: %w", chain.ErrInvalid)
	}
	for _, k := range []string{hotkey, coldkey} {
		if _, err := wallet.SS58Decode(k); err != nil {
			return fmt.Errorf("add stake: %w: %w", chain.ErrInvalid, err)
		}
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		var total int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(rao), 0) FROM stake`).Scan(&total); err != nil {
			return fmt.Errorf("add stake: %w", err)
		}
		if rao > maxTotalStake || uint64(total)+rao > maxTotalStake {
			return fmt.Errorf("add stake %d rao: total stake would pass 2^62: %w", rao, chain.ErrInvalid)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stake (hotkey, coldkey, rao) VALUES (?, ?, ?)
			ON CONFLICT(hotkey) DO UPDATE SET rao = rao + excluded.rao`, hotkey, coldkey, int64(rao))
		if err != nil {
			return fmt.Errorf("add stake: %w", err)
		}
		c.log.Info("stake added", "hotkey", hotkey, "rao", rao)
		return nil
	})
}

// neuronOf returns the uid of hotkey on netuid, or an error wrapping chain.ErrNotRegistered.
func neuronOf(ctx context.Context, tx *sql.Tx, netuid uint16, hotkey string) (uid int, permit bool, weightsSet int64, err error) {
	err = tx.QueryRowContext(ctx, `SELECT uid, validator_permit, weights_set_block FROM neurons
		WHERE netuid = ? AND hotkey = ?`, netuid, hotkey).Scan(&uid, &permit, &weightsSet)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, 0, fmt.Errorf("%s on subnet %d: %w", hotkey, netuid, chain.ErrNotRegistered)
	}
	return uid, permit, weightsSet, err
}

// Commit stores data as signer's commitment on netuid, as Commitments.set_commitment with
// one Raw field: at most chain.MaxCommitmentBytes bytes of UTF-8, from a registered hotkey,
// at most once per CommitRateLimit blocks. The commitment's block is the head block.
func (c *Chain) Commit(ctx context.Context, signer chain.Signer, netuid uint16, data string) error {
	hotkey := signer.SS58()
	if len(data) > chain.MaxCommitmentBytes {
		return fmt.Errorf("commit %d bytes, want at most %d: %w", len(data), chain.MaxCommitmentBytes, chain.ErrInvalid)
	}
	if !utf8.ValidString(data) {
		return fmt.Errorf("commit: data is not UTF-8: %w", chain.ErrInvalid)
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		head, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		s, err := loadSubnet(ctx, tx, netuid)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if _, _, _, err := neuronOf(ctx, tx, netuid, hotkey); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		var last int64
		err = tx.QueryRowContext(ctx, `SELECT block FROM commitments WHERE netuid = ? AND hotkey = ?`, netuid, hotkey).Scan(&last)
		switch {
		case err == nil:
			if s.CommitRateLimit > 0 && head-last < int64(s.CommitRateLimit) {
				return fmt.Errorf("commit by %s at block %d: last at %d, limit %d blocks: %w",
					hotkey, head, last, s.CommitRateLimit, chain.ErrRateLimited)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("commit: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO commitments (netuid, hotkey, data, block) VALUES (?, ?, ?, ?)
			ON CONFLICT(netuid, hotkey) DO UPDATE SET data = excluded.data, block = excluded.block`,
			netuid, hotkey, []byte(data), head)
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		c.log.Info("committed", "netuid", netuid, "hotkey", hotkey, "block", head)
		return nil
	})
}

// Commitment returns hotkey's commitment on netuid and its block.
func (c *Chain) Commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return chain.Commitment{}, err
	}
	var data []byte
	var block int64
	err := c.ro.QueryRowContext(ctx, `SELECT data, block FROM commitments WHERE netuid = ? AND hotkey = ?`,
		netuid, hotkey).Scan(&data, &block)
	if errors.Is(err, sql.ErrNoRows) {
		return chain.Commitment{}, fmt.Errorf("commitment of %s on %d: %w", hotkey, netuid, chain.ErrNotFound)
	}
	if err != nil {
		return chain.Commitment{}, fmt.Errorf("commitment of %s on %d: %w", hotkey, netuid, err)
	}
	return chain.Commitment{Data: string(data), Block: chain.Block(block)}, nil
}

// DoSetWeights is the set_weights call itself: it fails with ErrCommitRevealEnabled on a
// subnet with commit-reveal on, as subtensor's does; otherwise it replaces signer's weight
// row (setWeights).
func (c *Chain) DoSetWeights(ctx context.Context, signer chain.Signer, netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) error {
	return c.weightsCall(ctx, netuid, func(tx *sql.Tx, s subnet, head int64) error {
		if s.commitReveal() {
			return fmt.Errorf("set weights on subnet %d: %w", netuid, ErrCommitRevealEnabled)
		}
		return c.setWeights(ctx, tx, s, head, signer.SS58(), uids, weights, versionKey)
	})
}

// weightsCall runs fn in a write transaction with subnet netuid and the head block.
func (c *Chain) weightsCall(ctx context.Context, netuid uint16, fn func(tx *sql.Tx, s subnet, head int64) error) error {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		head, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		s, err := loadSubnet(ctx, tx, netuid)
		if err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		return fn(tx, s, head)
	})
}

// setWeights replaces hotkey's weight row at block head with the checks of subtensor's
// do_set_weights (subnets/weights.rs), in its order, and stores the row max-upscaled to
// 65535 as subtensor does. The rate limit applies only with commit-reveal off (with it on,
// commits are rate limited instead). Reveals apply commits through here.
func (c *Chain) setWeights(ctx context.Context, tx *sql.Tx, s subnet, head int64, hotkey string, uids []chain.UID, weights []uint16, versionKey uint64) error {
	netuid := s.NetUID
	if len(uids) != len(weights) {
		return fmt.Errorf("set weights: %d uids, %d weights: %w", len(uids), len(weights), chain.ErrInvalid)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM neurons WHERE netuid = ?`, netuid).Scan(&n); err != nil {
		return err
	}
	if len(uids) > n {
		return fmt.Errorf("set weights: %d uids for %d neurons: %w", len(uids), n, chain.ErrInvalid)
	}
	uid, permit, lastSet, err := neuronOf(ctx, tx, netuid, hotkey)
	if err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	if versionKey < s.WeightsVersionKey {
		return fmt.Errorf("set weights: version key %d < %d: %w", versionKey, s.WeightsVersionKey, chain.ErrInvalid)
	}
	if !s.commitReveal() && lastSet >= 0 && s.WeightsRateLimit > 0 && head-lastSet < int64(s.WeightsRateLimit) {
		return fmt.Errorf("set weights by %s at block %d: last at %d, limit %d blocks: %w",
			hotkey, head, lastSet, s.WeightsRateLimit, chain.ErrRateLimited)
	}
	selfOnly := len(uids) == 1 && int(uids[0]) == uid
	if !selfOnly && !permit {
		return fmt.Errorf("set weights: %s has no validator permit: %w", hotkey, chain.ErrInvalid)
	}
	seen := make(map[chain.UID]bool, len(uids))
	for _, u := range uids {
		if seen[u] {
			return fmt.Errorf("set weights: duplicate uid %d: %w", u, chain.ErrInvalid)
		}
		if int(u) >= n {
			return fmt.Errorf("set weights: uid %d >= %d neurons: %w", u, n, chain.ErrInvalid)
		}
		seen[u] = true
	}
	if !selfOnly && len(uids) < min(int(s.MinAllowedWeights), n) {
		return fmt.Errorf("set weights: %d weights < min %d: %w", len(uids), min(int(s.MinAllowedWeights), n), chain.ErrInvalid)
	}
	up := maxUpscaleU16(weights)
	if !selfOnly && !maxWeightLimited(up, s.MaxWeightsLimit) {
		return fmt.Errorf("set weights: a weight is above the max weight limit %d: %w", s.MaxWeightsLimit, chain.ErrInvalid)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM weights WHERE netuid = ? AND uid = ?`, netuid, uid); err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	for k, u := range uids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO weights (netuid, uid, pos, dest, weight) VALUES (?, ?, ?, ?, ?)`,
			netuid, uid, k, u, up[k]); err != nil {
			return fmt.Errorf("set weights: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE neurons SET last_update = ?, weights_set_block = ? WHERE netuid = ? AND uid = ?`,
		head, head, netuid, uid); err != nil {
		return fmt.Errorf("set weights: %w", err)
	}
	c.log.Info("weights set", "netuid", netuid, "uid", uid, "n", len(uids), "block", head)
	return nil
}

// maxUpscaleU16 is vec_u16_max_upscale_to_u16.
func maxUpscaleU16(w []uint16) []uint16 {
	f := make([]fix, len(w))
	for i, v := range w {
		f[i] = fixFromInt(int64(v))
	}
	return maxUpscaleToU16(f)
}

// maxWeightLimited is check_vec_max_limited: the largest normalized weight ≤ limit/65535.
func maxWeightLimited(w []uint16, limit uint16) bool {
	if len(w) == 0 {
		return true
	}
	f := make([]fix, len(w))
	for i, v := range w {
		f[i] = fixFromInt(int64(v))
	}
	normalize(f)
	return slices.Max(f) <= fixFromInt(int64(limit)).div(fixFromInt(math.MaxUint16))
}
