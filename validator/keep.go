package validator

import (
	"cmp"
	"slices"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/scoring"
)

// significantWeight is the competition weight above which a uid is kept by weight rather than
// by win rate.
const significantWeight = 0.001

// UIDsToKeep picks the uids a competition evaluates again next step (the end of the reference's
// run_step): competitive uids ranked by 1+weight when their moving-average competition weight is
// at least 0.001 and by win rate otherwise (a stable sort, ties in competitive order), the first
// sampleMin of them; then, while fewer than sampleMin, the step's evaluated models by ascending
// score (ties in evaluation order). weights is the competition's tracker weights by uid.
// The result is in the order the reference inserts the uids into its set.
func UIDsToKeep(r scoring.Ranking, models []scoring.Model, weights []float32, sampleMin int) []chain.UID {
	type prio struct {
		uid chain.UID
		p   float64
	}
	ranked := make([]prio, 0, len(r.Competitive))
	for _, uid := range r.Competitive {
		p := r.WinRates[uid]
		if int(uid) < len(weights) && weights[uid] >= significantWeight {
			// torch's .item() widens the float32 weight to a Python float before adding 1.
			p = 1 + float64(weights[uid])
		}
		ranked = append(ranked, prio{uid, p})
	}
	slices.SortStableFunc(ranked, func(a, b prio) int { return cmp.Compare(b.p, a.p) })
	keep := map[chain.UID]bool{}
	var order []chain.UID
	for _, x := range ranked[:min(sampleMin, len(ranked))] {
		keep[x.uid] = true
		order = append(order, x.uid)
	}
	byScore := slices.Clone(models)
	slices.SortStableFunc(byScore, func(a, b scoring.Model) int { return cmp.Compare(a.Loss, b.Loss) })
	for _, m := range byScore {
		if len(keep) >= sampleMin {
			break
		}
		if !keep[m.UID] {
			keep[m.UID] = true
			order = append(order, m.UID)
		}
	}
	return order
}
