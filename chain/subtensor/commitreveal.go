package subtensor

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"time"

	"github.com/pretrain/pretrain/chain"
)

// Commit-reveal v3/v4 (timelocked weight commits), as bittensor's SDK sends them when a
// subnet has CommitRevealWeightsEnabled: the weights are encrypted to a future drand
// quicknet round and submitted with SubtensorModule.commit_timelocked_weights; the chain
// decrypts them itself once it has ingested that round's pulse (subtensor
// pallets/subtensor/src/coinbase/reveal_commits.rs) and applies them as set_weights would.

// pulseDelay is how many drand rounds before the reveal time a commit targets
// (bittensor-drand's SUBTENSOR_PULSE_DELAY): subtensor ingests pulses with some lag.
const pulseDelay = 24

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

// revealRound is the drand quicknet round bittensor-drand's generate_commit targets for a
// commit made at block (the chain head) and wall-clock time now: the first block of the
// epoch revealPeriod epochs after the current one (subtensor's epochs end where
// (block + netuid + 1) % (tempo + 1) == 0), moved on by whole epochs until it is at least
// pulseDelay rounds away, converted to a round at blockTime per block, less pulseDelay.
func revealRound(now time.Time, blockTime time.Duration, block uint64, netuid uint16, tempo, revealPeriod uint64) uint64 {
	tempo1 := tempo + 1
	netuid1 := uint64(netuid) + 1
	epoch := (block + netuid1) / tempo1
	revealEpoch := epoch + revealPeriod
	var untilReveal float64 // seconds
	for {
		revealBlock := revealEpoch*tempo1 - netuid1
		// The SDK subtracts in u64; a period of 0 can put the reveal block in the past,
		// where this loop (unlike the SDK, which would wrap) moves on to the next epoch.
		if revealBlock >= block {
			untilReveal = float64(revealBlock-block) * blockTime.Seconds()
			if untilReveal >= pulseDelay*quicknetPeriod {
				break
			}
		}
		revealEpoch++
	}
	nowSecs := float64(now.UnixNano()) / 1e9
	round := math.Ceil((nowSecs + untilReveal - quicknetGenesis) / quicknetPeriod)
	if round <= pulseDelay {
		return 1
	}
	return uint64(round) - pulseDelay
}

// weightsTlockPayload is the SCALE encoding of subtensor's WeightsTlockPayload {hotkey:
// Vec<u8>, uids: Vec<u16>, values: Vec<u16>, version_key: u64}, the commit's plaintext.
func weightsTlockPayload(hotkey [32]byte, uids []chain.UID, values []uint16, versionKey uint64) []byte {
	b := appendCompact(nil, uint64(len(hotkey)))
	b = append(b, hotkey[:]...)
	b = appendCompact(b, uint64(len(uids)))
	for _, u := range uids {
		b = appendU16(b, uint16(u))
	}
	b = appendCompact(b, uint64(len(values)))
	for _, v := range values {
		b = appendU16(b, v)
	}
	return appendU64(b, versionKey)
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
	b = appendCompact(b, uint64(len(commit)))
	b = append(b, commit...)
	b = appendU64(b, round)
	return appendU16(b, version), nil
}

// timelockedWeightsCall builds the commit the SDK would send for these weights: the
// payload encrypted to the reveal round under the beacon's public key.
func (c *Client) timelockedWeightsCall(m *Metadata, p commitRevealParams, block chain.Block, hotkey [32]byte, netuid uint16, uids []chain.UID, weights []uint16, versionKey uint64) ([]byte, uint64, error) {
	if len(uids) != len(weights) {
		return nil, 0, fmt.Errorf("commit weights: %d uids, %d weights: %w", len(uids), len(weights), chain.ErrInvalid)
	}
	if block < 0 {
		return nil, 0, fmt.Errorf("commit weights: block %d: %w", block, chain.ErrInvalid)
	}
	pub := c.beacon
	if pub == nil {
		q, err := quicknetPublicKey()
		if err != nil {
			return nil, 0, err
		}
		pub = &q
	}
	round := revealRound(time.Now(), c.cfg.BlockTime, uint64(block), netuid, uint64(p.Tempo), p.RevealPeriodEpochs)
	ct, err := tlockEncrypt(pub, round, weightsTlockPayload(hotkey, uids, weights, versionKey), rand.Reader)
	if err != nil {
		return nil, 0, err
	}
	call, err := m.commitTimelockedWeightsCall(netuid, ct, round, p.Version)
	return call, round, err
}
