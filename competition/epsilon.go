package competition

import (
	"fmt"

	"github.com/pretrain/pretrain/chain"
)

// EpsilonFunc gives an earlier model its advantage: a model committed at block model, compared at
// block current, has its loss multiplied by 1 - Epsilon(current, model) (iswin in
// pretrain/validation.py).
type EpsilonFunc interface {
	Epsilon(current, model chain.Block) float64
	// Decayed is the epsilon once fully decayed, as compute_epsilon(current_block=inf,
	// model_block=0) computes it; the competitive-uid filter uses it.
	Decayed() float64
}

// FixedEpsilon is taoverse's FixedEpsilon: the same advantage at every block.
type FixedEpsilon float64

func (e FixedEpsilon) Epsilon(current, model chain.Block) float64 { return float64(e) }
func (e FixedEpsilon) Decayed() float64                           { return float64(e) }
func (e FixedEpsilon) String() string                             { return fmt.Sprintf("FixedEpsilon(%g)", float64(e)) }

// LinearDecay is taoverse's LinearDecay: the advantage falls linearly from Start to End over
// Blocks blocks after the model's commit, then stays at End.
type LinearDecay struct {
	Start, End float64
	Blocks     int64
}

func (d LinearDecay) Epsilon(current, model chain.Block) float64 {
	delta := max(int64(current-model), 0)
	return d.Start - min(float64(delta)/float64(d.Blocks), 1)*(d.Start-d.End)
}

// Decayed evaluates the reference's expression with the fraction at 1, so the float result is
// bit-identical to compute_epsilon(inf, 0) (start-(start-end) is not always exactly end).
func (d LinearDecay) Decayed() float64 { return d.Start - 1*(d.Start-d.End) }

func (d LinearDecay) String() string {
	return fmt.Sprintf("LinearDecay(%g, %g, %d)", d.Start, d.End, d.Blocks)
}
