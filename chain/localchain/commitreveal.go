package localchain

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/timelock"
	"github.com/pretrain/pretrain/wallet"
)

// Commit-reveal as subtensor runs it (CRv4: commit_timelocked_weights and
// coinbase/reveal_commits.rs), with the local chain's own beacon in place of drand quicknet.
//
// The beacon is a BLS12-381 key derived from the chain file's genesis seed. It signs round r
// with drand's bls-unchained-g1-rfc9380 scheme (as quicknet does), and publishes rounds on
// quicknet's schedule scaled to the local block time: four rounds per block, round 4b+1 at
// block b. A validator's commit is made exactly as on subtensor (timelock.SealWeights, the
// SDK's round choice, with the chain's block times in place of the wall clock), stored with
// the epoch it was made in, and revealed in epoch commit epoch + RevealPeriodEpochs at the
// first block where its round is published: decrypted with the round's signature, decoded,
// checked to be the committer's, and applied with set_weights' checks at that block. A
// commit whose round is not published by the end of its reveal epoch expires. Failures are
// kept with their reason (WeightCommits). Reveals run before the block's epochs, as
// subtensor's block_step does, so Yuma only ever sees revealed weights.
//
// The beacon's secret is in the chain file: this is commit-reveal's mechanics for local
// runs, not its secrecy.

// commitRevealVersion is CommitRevealWeightsVersion, the version commits must carry
// (subtensor's since CRv4).
const commitRevealVersion = 4

const (
	maxCommitBytes = 5000 // MAX_CRV3_COMMIT_SIZE_BYTES
	maxUnrevealed  = 10   // unrevealed commits per hotkey and epoch (TooManyUnrevealedCommits)
	keptOutcomes   = 16   // revealed or failed commits kept per hotkey for WeightCommits
	roundsPerBlock = 4    // quicknet's 3 s rounds per 12 s block
)

// Errors of the commit-reveal calls, as subtensor names them.
var (
	ErrCommitRevealEnabled          = fmt.Errorf("%w: commit-reveal is enabled (CommitRevealEnabled): weights must be committed", chain.ErrInvalid)
	ErrCommitRevealDisabled         = fmt.Errorf("%w: commit-reveal is disabled (CommitRevealDisabled)", chain.ErrInvalid)
	ErrIncorrectCommitRevealVersion = fmt.Errorf("%w: commit_reveal_version is not %d (IncorrectCommitRevealVersion)", chain.ErrInvalid, commitRevealVersion)
	ErrTooManyUnrevealedCommits     = fmt.Errorf("%w: %d unrevealed commits this epoch (TooManyUnrevealedCommits)", chain.ErrRateLimited, maxUnrevealed)
)

func (s subnet) commitReveal() bool { return !s.NoCommitReveal }

// beaconBlockTime is the block interval the beacon's schedule and the round choice use: the
// chain's, or subtensor's 12 s on a manual chain, whose blocks have no times.
func (c *Chain) beaconBlockTime() time.Duration {
	if c.blockTime == 0 {
		return 12 * time.Second
	}
	return c.blockTime
}

// Beacon is the local chain's beacon: its public key and schedule (round 1 at genesis, a
// quarter block per round).
func (c *Chain) Beacon() timelock.Beacon {
	return timelock.Beacon{PublicKey: c.beaconPub,
		Schedule: timelock.Schedule{Genesis: c.genesis, Period: c.beaconBlockTime() / roundsPerBlock}}
}

// blockTimeAt is block b's time on the beacon's clock.
func (c *Chain) blockTimeAt(b int64) time.Time {
	return c.genesis.Add(time.Duration(b) * c.beaconBlockTime())
}

// publishedRound is the latest round published at block b.
func publishedRound(b int64) uint64 { return uint64(b)*roundsPerBlock + 1 }

// roundBlock is the first block at which round r is published.
func roundBlock(r uint64) int64 {
	if r <= 1 {
		return 0
	}
	return int64(min((r-2)/roundsPerBlock+1, math.MaxInt64))
}

// LatestRound is the beacon's latest published round at the head block.
func (c *Chain) LatestRound(ctx context.Context) (uint64, error) {
	head, err := c.CurrentBlock(ctx)
	if err != nil {
		return 0, err
	}
	return publishedRound(int64(head)), nil
}

// Pulse returns the beacon's signature of round, once the chain has published it; an error
// wrapping chain.ErrNotFound before.
func (c *Chain) Pulse(ctx context.Context, round uint64) (timelock.Signature, error) {
	latest, err := c.LatestRound(ctx)
	if err != nil {
		return timelock.Signature{}, err
	}
	if round > latest {
		return timelock.Signature{}, fmt.Errorf("beacon round %d (latest %d): %w", round, latest, chain.ErrNotFound)
	}
	return c.beaconKey.Sign(round)
}

// epochIndex is subtensor's epoch of block b: (b + netuid + 1) / (tempo + 1).
func epochIndex(s subnet, b int64) int64 {
	return (b + int64(s.NetUID) + 1) / (int64(s.Tempo) + 1)
}

// epochStart is the first block of epoch e (negative for the epochs before genesis).
func epochStart(s subnet, e int64) int64 {
	return e*(int64(s.Tempo)+1) - int64(s.NetUID) - 1
}

// SetWeights sets signer's weights as bittensor's SDK does: on a subnet with commit-reveal
// on (the default) a timelocked commit of them (timelock.SealWeights, then
// CommitTimelockedWeights' checks), which the chain reveals and applies in the reveal epoch;
// otherwise set_weights. Either way the rows Yuma reads change only through set_weights'
// checks. WeightCommits tells what became of a commit.
func (c *Chain) SetWeights(ctx context.Context, signer chain.Signer, netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) error {
	hotkey := signer.SS58()
	if len(uids) != len(weights) {
		return fmt.Errorf("set weights: %d uids, %d weights: %w", len(uids), len(weights), chain.ErrInvalid)
	}
	return c.weightsCall(ctx, netuid, func(tx *sql.Tx, s subnet, head int64) error {
		if !s.commitReveal() {
			return c.setWeights(ctx, tx, s, head, hotkey, uids, weights, versionKey)
		}
		pub, err := wallet.SS58Decode(hotkey)
		if err != nil {
			return fmt.Errorf("commit weights: %w: %w", chain.ErrInvalid, err)
		}
		at := timelock.CommitTime{Now: c.blockTimeAt(head), BlockTime: c.beaconBlockTime(), Block: uint64(head),
			NetUID: netuid, Tempo: uint64(s.Tempo), RevealPeriod: s.RevealPeriodEpochs}
		ct, round, err := timelock.SealWeights(c.Beacon(), at,
			timelock.WeightsPayload{Hotkey: pub, UIDs: uids, Values: weights, VersionKey: versionKey}, crand.Reader)
		if err != nil {
			return err
		}
		return c.commitTimelocked(ctx, tx, s, head, hotkey, ct, round, commitRevealVersion)
	})
}

// CommitTimelockedWeights is subtensor's commit_timelocked_weights: it stores commit, a
// timelock ciphertext of a WeightsTlockPayload to the chain's beacon round revealRound, for
// reveal in the epoch RevealPeriodEpochs after this one. The checks, in subtensor's order:
// size, commit-reveal on, version, registration, rate limit (WeightsSetRateLimit since the
// hotkey's last commit or weights), at most 10 unrevealed commits per epoch. The ciphertext
// itself is checked only at the reveal.
func (c *Chain) CommitTimelockedWeights(ctx context.Context, signer chain.Signer, netuid uint16, commit []byte, revealRound uint64, version uint16) error {
	return c.weightsCall(ctx, netuid, func(tx *sql.Tx, s subnet, head int64) error {
		return c.commitTimelocked(ctx, tx, s, head, signer.SS58(), commit, revealRound, version)
	})
}

func (c *Chain) commitTimelocked(ctx context.Context, tx *sql.Tx, s subnet, head int64, hotkey string, commit []byte, round uint64, version uint16) error {
	switch {
	case len(commit) > maxCommitBytes:
		return fmt.Errorf("commit weights: %d bytes > %d: %w", len(commit), maxCommitBytes, chain.ErrInvalid)
	case round > math.MaxInt64:
		return fmt.Errorf("commit weights: reveal round %d: %w", round, chain.ErrInvalid)
	case !s.commitReveal():
		return fmt.Errorf("commit weights on subnet %d: %w", s.NetUID, ErrCommitRevealDisabled)
	case version != commitRevealVersion:
		return fmt.Errorf("commit weights: version %d: %w", version, ErrIncorrectCommitRevealVersion)
	}
	uid, _, lastSet, err := neuronOf(ctx, tx, s.NetUID, hotkey)
	if err != nil {
		return fmt.Errorf("commit weights: %w", err)
	}
	if lastSet >= 0 && s.WeightsRateLimit > 0 && head-lastSet < int64(s.WeightsRateLimit) {
		return fmt.Errorf("commit weights by %s at block %d: last at %d, limit %d blocks (CommittingWeightsTooFast): %w",
			hotkey, head, lastSet, s.WeightsRateLimit, chain.ErrRateLimited)
	}
	epoch := epochIndex(s, head)
	var unrevealed int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM weight_commits WHERE status = 'pending'
		AND netuid = ? AND epoch = ? AND hotkey = ?`, s.NetUID, epoch, hotkey).Scan(&unrevealed); err != nil {
		return fmt.Errorf("commit weights: %w", err)
	}
	if unrevealed >= maxUnrevealed {
		return fmt.Errorf("commit weights by %s in epoch %d: %w", hotkey, epoch, ErrTooManyUnrevealedCommits)
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO weight_commits (netuid, hotkey, epoch, commit_block, reveal_round, ciphertext)
			VALUES (?, ?, ?, ?, ?, ?)`, []any{s.NetUID, hotkey, epoch, head, int64(round), commit}},
		{`UPDATE neurons SET last_update = ?, weights_set_block = ? WHERE netuid = ? AND uid = ?`,
			[]any{head, head, s.NetUID, uid}},
		{`DELETE FROM weight_commits WHERE netuid = ? AND hotkey = ? AND status != 'pending' AND id NOT IN
			(SELECT id FROM weight_commits WHERE netuid = ? AND hotkey = ? AND status != 'pending'
			ORDER BY id DESC LIMIT ?)`, []any{s.NetUID, hotkey, s.NetUID, hotkey, keptOutcomes}},
	} {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("commit weights: %w", err)
		}
	}
	c.log.Info("weights committed", "netuid", s.NetUID, "uid", uid, "block", head, "epoch", epoch,
		"reveal_epoch", epoch+int64(s.RevealPeriodEpochs), "reveal_round", round)
	return nil
}

// pendingCommit is a stored commit not yet revealed or dropped.
type pendingCommit struct {
	id          int64
	netuid      uint16
	hotkey      string
	epoch       int64
	commitBlock int64
	round       uint64
	ciphertext  []byte
}

func loadPending(ctx context.Context, q querier) ([]pendingCommit, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, netuid, hotkey, epoch, commit_block, reveal_round, ciphertext
		FROM weight_commits WHERE status = 'pending' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("load weight commits: %w", err)
	}
	defer rows.Close()
	var out []pendingCommit
	for rows.Next() {
		var p pendingCommit
		var round int64
		if err := rows.Scan(&p.id, &p.netuid, &p.hotkey, &p.epoch, &p.commitBlock, &round, &p.ciphertext); err != nil {
			return nil, fmt.Errorf("load weight commits: %w", err)
		}
		p.round = uint64(round)
		out = append(out, p)
	}
	return out, rows.Err()
}

// dueBlock is the first block at or after from where the reveal step resolves p (reveals it
// or drops it as expired).
func dueBlock(s subnet, p pendingCommit, from int64) int64 {
	revealEpoch := p.epoch + int64(s.RevealPeriodEpochs)
	end := epochStart(s, revealEpoch+1) - 1
	b := max(from, epochStart(s, revealEpoch), roundBlock(p.round))
	if b > end {
		return max(from, end+1)
	}
	return b
}

// revealCommits is the reveal step of block b: every pending commit in its reveal epoch whose
// round is published is opened and applied, or dropped with its reason; commits past their
// reveal epoch expire. It returns the commits still pending.
func (c *Chain) revealCommits(ctx context.Context, tx *sql.Tx, subnets map[uint16]subnet, b int64, pending []pendingCommit) ([]pendingCommit, error) {
	keep := pending[:0]
	for _, p := range pending {
		s, ok := subnets[p.netuid]
		if !ok {
			keep = append(keep, p)
			continue
		}
		revealEpoch := p.epoch + int64(s.RevealPeriodEpochs)
		cur := epochIndex(s, b)
		var reason string
		switch {
		case cur > revealEpoch:
			reason = fmt.Sprintf("expired: round %d was not published before reveal epoch %d ended", p.round, revealEpoch)
		case cur < revealEpoch || p.round > publishedRound(b):
			keep = append(keep, p)
			continue
		default:
			var err error
			if reason, err = c.reveal(ctx, tx, s, b, p); err != nil {
				return nil, err
			}
		}
		if err := c.resolve(ctx, tx, p, b, reason); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// reveal opens p with its round's signature and applies it at block b. It returns why the
// commit failed ("" when applied); the error is for the transaction, not the commit.
func (c *Chain) reveal(ctx context.Context, tx *sql.Tx, s subnet, b int64, p pendingCommit) (string, error) {
	sig, err := c.beaconKey.Sign(p.round)
	if err != nil {
		return "", err
	}
	plain, err := timelock.Decrypt(p.ciphertext, sig)
	if err != nil {
		return fmt.Sprintf("ciphertext does not open with round %d's signature: %v", p.round, err), nil
	}
	payload, err := timelock.DecodeWeightsPayload(plain)
	if err != nil {
		return fmt.Sprintf("payload does not decode: %v", err), nil
	}
	if committer, err := wallet.SS58Decode(p.hotkey); err != nil || committer != payload.Hotkey {
		return "payload's hotkey is not the committer's", nil
	}
	err = c.setWeights(ctx, tx, s, b, p.hotkey, payload.UIDs, payload.Values, payload.VersionKey)
	if errors.Is(err, chain.ErrInvalid) || errors.Is(err, chain.ErrNotRegistered) || errors.Is(err, chain.ErrRateLimited) {
		return err.Error(), nil
	}
	return "", err
}

// resolve records p's outcome at block b: revealed when reason is empty, failed otherwise.
// The ciphertext is no longer needed.
func (c *Chain) resolve(ctx context.Context, tx *sql.Tx, p pendingCommit, b int64, reason string) error {
	status := chain.CommitRevealed
	if reason != "" {
		status = chain.CommitFailed
		c.log.Warn("weight commit dropped", "netuid", p.netuid, "hotkey", p.hotkey, "commit_block", p.commitBlock,
			"block", b, "reason", reason)
	} else {
		c.log.Info("weights revealed", "netuid", p.netuid, "hotkey", p.hotkey, "commit_block", p.commitBlock, "block", b)
	}
	_, err := tx.ExecContext(ctx, `UPDATE weight_commits SET status = ?, outcome_block = ?, reason = ?, ciphertext = x''
		WHERE id = ?`, string(status), b, reason, p.id)
	if err != nil {
		return fmt.Errorf("record weight commit: %w", err)
	}
	return nil
}

// WeightCommits returns hotkey's commits on netuid still recorded: those pending and the last
// few revealed or dropped (with the reason), oldest first.
func (c *Chain) WeightCommits(ctx context.Context, netuid uint16, hotkey string) ([]chain.WeightCommit, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return nil, err
	}
	rows, err := c.ro.QueryContext(ctx, `SELECT commit_block, reveal_round, status, outcome_block, reason
		FROM weight_commits WHERE netuid = ? AND hotkey = ? ORDER BY id`, netuid, hotkey)
	if err != nil {
		return nil, fmt.Errorf("weight commits: %w", err)
	}
	defer rows.Close()
	var out []chain.WeightCommit
	for rows.Next() {
		var w chain.WeightCommit
		var round, outcome int64
		if err := rows.Scan(&w.Block, &round, &w.Status, &outcome, &w.Reason); err != nil {
			return nil, fmt.Errorf("weight commits: %w", err)
		}
		w.RevealRound = uint64(round)
		if outcome >= 0 {
			w.Resolved = chain.Block(outcome)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
