package timelock

import (
	"math"
	"time"
)

// Schedule is when a beacon publishes: round 1 at Genesis, then one round per Period.
type Schedule struct {
	Genesis time.Time
	Period  time.Duration
}

// QuicknetSchedule is drand quicknet's schedule, the beacon subtensor ingests (bittensor-drand
// src/constants.rs): 3 s rounds, four per 12 s block.
var QuicknetSchedule = Schedule{Genesis: time.Unix(1692803367, 0), Period: 3 * time.Second}

// RoundAt is the latest round published at t; 0 before genesis.
func (s Schedule) RoundAt(t time.Time) uint64 {
	d := t.Sub(s.Genesis)
	if d < 0 || s.Period <= 0 {
		return 0
	}
	return uint64(d/s.Period) + 1
}

// PulseDelay is how many rounds before the reveal time a commit targets
// (bittensor-drand's SUBTENSOR_PULSE_DELAY): subtensor ingests pulses with some lag.
const PulseDelay = 24

// CommitTime places a weight commit: the chain's head block and its time, the chain's block
// interval, and the subnet's epoch settings.
type CommitTime struct {
	Now          time.Time
	BlockTime    time.Duration
	Block        uint64
	NetUID       uint16
	Tempo        uint64 // the subnet's Tempo
	RevealPeriod uint64 // the subnet's RevealPeriodEpochs
}

// RevealRound is the round bittensor-drand's generate_commit targets for a weight commit
// made at at on a chain whose beacon follows s: the first block of the epoch RevealPeriod
// epochs after the current one (subtensor's epochs end where (block + netuid + 1) %
// (tempo + 1) == 0), moved on by whole epochs until it is at least PulseDelay rounds away,
// converted to a round at BlockTime per block, less PulseDelay. The arithmetic is the
// SDK's, in float64 seconds.
func RevealRound(s Schedule, at CommitTime) uint64 {
	block, blockTime, now := at.Block, at.BlockTime, at.Now
	tempo1 := at.Tempo + 1
	netuid1 := uint64(at.NetUID) + 1
	epoch := (block + netuid1) / tempo1
	revealEpoch := epoch + at.RevealPeriod
	period := s.Period.Seconds()
	var untilReveal float64 // seconds
	for {
		revealBlock := revealEpoch*tempo1 - netuid1
		// The SDK subtracts in u64; a period of 0 can put the reveal block in the past,
		// where this loop (unlike the SDK, which would wrap) moves on to the next epoch.
		if revealBlock >= block {
			untilReveal = float64(revealBlock-block) * blockTime.Seconds()
			if untilReveal >= PulseDelay*period {
				break
			}
		}
		revealEpoch++
	}
	nowSecs := float64(now.UnixNano()) / 1e9
	genesis := float64(s.Genesis.UnixNano()) / 1e9
	round := math.Ceil((nowSecs + untilReveal - genesis) / period)
	if round <= PulseDelay {
		return 1
	}
	return uint64(round) - PulseDelay
}
