package validator

import (
	"slices"

	"github.com/pretrain/pretrain/chain"
)

// Reference thresholds for the top-miner scan (WEIGHT_SYNC_VALI_MIN_STAKE and
// WEIGHT_SYNC_MINER_MIN_PERCENT).
const (
	TopMinerValidatorMinStake = 50_000
	TopMinerMinWeightFraction = 0.05
)

// HighStakeValidators are the uids with at least minStake and a validator permit (taoverse's
// get_high_stake_validators), ascending.
func HighStakeValidators(m *chain.Metagraph, minStake float64) []chain.UID {
	var out []chain.UID
	for uid, stake := range m.Stake {
		// The reference's metagraph.S is float32: compare the stake as it would be rounded there.
		if float64(float32(stake)) >= minStake && uid < len(m.ValidatorPermit) && m.ValidatorPermit[uid] {
			out = append(out, chain.UID(uid))
		}
	}
	return out
}

// TopMiners are the miners that some high-stake validator gives at least minFraction of its
// total weight (taoverse's get_top_miners), ascending. The validator evaluates them first so it
// agrees quickly with the others on who leads.
func TopMiners(m *chain.Metagraph, minStake, minFraction float64) []chain.UID {
	var out []chain.UID
	for _, v := range HighStakeValidators(m, minStake) {
		if int(v) >= len(m.Weights) {
			continue
		}
		row := m.Weights[v]
		total := 0.0
		for _, e := range row {
			total += float64(e.Weight)
		}
		threshold := total * minFraction
		for _, e := range row {
			if float64(e.Weight) >= threshold && !slices.Contains(out, e.UID) {
				out = append(out, e.UID)
			}
		}
	}
	slices.Sort(out)
	return out
}
