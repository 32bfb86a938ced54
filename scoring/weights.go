package scoring

import (
	"errors"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
)

// StepWeights are a step's weights over the metagraph's n uids: the softmax, at temperature,
// of the win rates of the evaluated uids (non-competitive ones take part with win rate 0),
// scattered into a zero vector. The reference computes this in float32 with torch; we compute
// in float64 and round, which agrees to within float32 rounding.
func StepWeights(uids []chain.UID, winRates map[chain.UID]float64, temperature float64, n int) ([]float32, error) {
	out := make([]float32, n)
	if len(uids) == 0 {
		return out, nil
	}
	x := make([]float64, len(uids))
	hi := math.Inf(-1)
	for i, uid := range uids {
		if int(uid) >= n {
			return nil, fmt.Errorf("step weights: uid %d outside metagraph of %d", uid, n)
		}
		// torch divides the float32 tensor by the float32 temperature.
		x[i] = float64(float32(winRates[uid]) / float32(temperature))
		hi = max(hi, x[i])
	}
	sum := 0.0
	for i := range x {
		x[i] = math.Exp(x[i] - hi)
		sum += x[i]
	}
	for i, uid := range uids {
		out[uid] = float32(x[i] / sum)
	}
	return out, nil
}

// U16Max is the chain's weight scale.
const U16Max = 65535

// ErrBadWeight is returned for negative or non-finite weights.
var ErrBadWeight = errors.New("weight is negative or not finite")

// ToU16 converts float weights, indexed by uid, to the form set on chain as bittensor's
// convert_weights_and_uids_for_emit does: scale so the largest is 65535, round half to even
// (Python's round), and drop the uids whose weight rounds to 0. All-zero weights give nothing
// to set.
func ToU16(weights []float32) ([]chain.UID, []uint16, error) {
	if len(weights) > math.MaxUint16+1 {
		return nil, nil, fmt.Errorf("u16 weights: %d uids, more than a subnet holds", len(weights))
	}
	sum, hi := 0.0, 0.0
	for uid, w := range weights {
		if w < 0 || math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
			return nil, nil, fmt.Errorf("u16 weights: uid %d: %w: %v", uid, ErrBadWeight, w)
		}
		sum += float64(w)
		hi = max(hi, float64(w))
	}
	if sum == 0 {
		return nil, nil, nil
	}
	var uids []chain.UID
	var vals []uint16
	for uid, w := range weights {
		v := math.RoundToEven(float64(w) / hi * U16Max)
		if v != 0 {
			uids = append(uids, chain.UID(uid))
			vals = append(vals, uint16(v))
		}
	}
	return uids, vals, nil
}
