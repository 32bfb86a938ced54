// Package scoring turns a competition step's losses into weights, exactly as the reference
// validator does (pretrain/validation.py and _compute_and_set_competition_weights in
// neurons/validator.py): the competitive-uid filter, pairwise
// wins with the epsilon advantage, win rates, softmax step weights, the per-competition moving
// average, the subnet weights from reward shares, and the chain's u16 weight form. It is
// pure: no I/O, no clocks.
package scoring

import (
	"fmt"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// Model is one evaluated uid of a step: the block its metadata was committed at and its score
// (a loss: lower is better, +Inf for a model that failed).
type Model struct {
	UID   chain.UID
	Block chain.Block
	Loss  float64
}

// IsWin reports whether model i beats model j: the earlier of the two has its loss scaled by
// 1-epsilon; equal blocks give no advantage, and ties lose (pretraining's iswin).
func IsWin(lossI, lossJ float64, blockI, blockJ chain.Block, eps competition.EpsilonFunc, current chain.Block) bool {
	if blockI < blockJ {
		lossI *= 1 - eps.Epsilon(current, blockI)
	}
	if blockJ < blockI {
		lossJ *= 1 - eps.Epsilon(current, blockJ)
	}
	return lossI < lossJ
}

// CompetitiveUIDs returns, in input order, the uids that could at some point be the top model:
// those whose loss beats the fully decayed loss of every other model committed at the same or
// an earlier block (pretraining's compute_competitive_uids). The earliest model is always kept
// (all of nothing is true); clones of an earlier model are dropped, and so are models tied
// with another of the same block.
func CompetitiveUIDs(models []Model, eps competition.EpsilonFunc) []chain.UID {
	factor := 1 - eps.Decayed()
	var out []chain.UID
	for _, m := range models {
		keep := true
		for _, o := range models {
			if o.UID != m.UID && o.Block <= m.Block && !(m.Loss < o.Loss*factor) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, m.UID)
		}
	}
	return out
}

// Wins plays every pair of uids (pretraining's compute_wins): wins[u] counts the others u
// beats, and the win rate is wins/(n-1), or 1 for a lone uid.
func Wins(uids []chain.UID, models []Model, eps competition.EpsilonFunc, current chain.Block) (wins map[chain.UID]int, winRates map[chain.UID]float64) {
	byUID := make(map[chain.UID]Model, len(models))
	for _, m := range models {
		byUID[m.UID] = m
	}
	wins = make(map[chain.UID]int, len(uids))
	winRates = make(map[chain.UID]float64, len(uids))
	for _, i := range uids {
		mi, matches := byUID[i], 0
		wins[i] = 0
		for _, j := range uids {
			if i == j {
				continue
			}
			mj := byUID[j]
			if IsWin(mi.Loss, mj.Loss, mi.Block, mj.Block, eps, current) {
				wins[i]++
			}
			matches++
		}
		winRates[i] = 1
		if matches > 0 {
			winRates[i] = float64(wins[i]) / float64(matches)
		}
	}
	return wins, winRates
}

// Ranking is the outcome of one competition step.
type Ranking struct {
	Competitive []chain.UID
	Wins        map[chain.UID]int
	WinRates    map[chain.UID]float64
	// Top is the uid with the highest win rate, the first in competitive order on a tie
	// (Python's max over the win-rate dict). HasTop is false when no uid is competitive.
	Top    chain.UID
	HasTop bool
}

// Rank runs the competitive filter and the pairwise wins over a step's models, in the order
// the validator evaluated them. Uids must be unique.
//
// The reference raises on max() of an empty win-rate dict when no uid is competitive (every
// model tied with another of the same block); here the step simply has no top model and every
// win rate is 0.
func Rank(models []Model, eps competition.EpsilonFunc, current chain.Block) (Ranking, error) {
	seen := make(map[chain.UID]bool, len(models))
	for _, m := range models {
		if seen[m.UID] {
			return Ranking{}, fmt.Errorf("rank: uid %d listed twice", m.UID)
		}
		seen[m.UID] = true
	}
	r := Ranking{Competitive: CompetitiveUIDs(models, eps)}
	r.Wins, r.WinRates = Wins(r.Competitive, models, eps, current)
	for _, uid := range r.Competitive {
		if !r.HasTop || r.WinRates[uid] > r.WinRates[r.Top] {
			r.Top, r.HasTop = uid, true
		}
	}
	return r, nil
}
