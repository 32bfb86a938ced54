package train

// This file holds the optimizer pieces, which work on flat float32 parameter and gradient
// slices.

import (
	"fmt"
	"math"
	"time"
)

// AdamWConfig are AdamW's hyperparameters, with torch.optim.AdamW's defaults where zero.
type AdamWConfig struct {
	Beta1, Beta2 float64 // default 0.9, 0.999
	Eps          float64 // default 1e-8
	WeightDecay  float64 // applied to tensors marked Decay only; default 0
}

func (c AdamWConfig) withDefaults() AdamWConfig {
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Param is one parameter tensor with its gradient, flattened. Decay is false for norms and
// biases, which get no weight decay.
type Param struct {
	Name  string
	Data  []float32
	Grad  []float32
	Decay bool
}

// AdamW is torch.optim.AdamW (decoupled weight decay, bias-corrected moments), in float32 as
// torch's single-tensor CPU path computes it. Its state is exported for checkpoints.
type AdamW struct {
	Config AdamWConfig
	Step   int64
	M, V   [][]float32 // first and second moments, one per param
}

// NewAdamW returns an optimizer for params.
func NewAdamW(cfg AdamWConfig, params []Param) *AdamW {
	o := &AdamW{Config: cfg.withDefaults()}
	for _, p := range params {
		o.M = append(o.M, make([]float32, len(p.Data)))
		o.V = append(o.V, make([]float32, len(p.Data)))
	}
	return o
}

// Update applies one step at learning rate lr to params, which must be the ones the optimizer
// was made for, in the same order.
func (o *AdamW) Update(params []Param, lr float64) error {
	if len(params) != len(o.M) {
		return fmt.Errorf("adamw: %d params, optimizer has %d", len(params), len(o.M))
	}
	o.Step++
	c := o.Config
	bc1 := 1 - math.Pow(c.Beta1, float64(o.Step))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.Step))
	stepSize := float32(lr / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	eps := float32(c.Eps)
	for i, p := range params {
		if len(p.Data) != len(o.M[i]) || len(p.Grad) != len(p.Data) {
			return fmt.Errorf("adamw: param %s has %d values and %d gradients, want %d", p.Name, len(p.Data), len(p.Grad), len(o.M[i]))
		}
		decay := float32(1)
		if p.Decay {
			decay = float32(1 - lr*c.WeightDecay)
		}
		m, v := o.M[i], o.V[i]
		for j, g := range p.Grad {
			m[j] = b1*m[j] + (1-b1)*g
			v[j] = b2*v[j] + (1-b2)*g*g
			denom := float32(math.Sqrt(float64(v[j])))/bc2Sqrt + eps
			p.Data[j] = p.Data[j]*decay - stepSize*(m[j]/denom)
		}
	}
	return nil
}

// ClipGradNorm scales all gradients so their global L2 norm is at most maxNorm, as
// torch.nn.utils.clip_grad_norm_ does, and returns the norm before clipping.
func ClipGradNorm(params []Param, maxNorm float64) float64 {
	sum := 0.0
	for _, p := range params {
		for _, g := range p.Grad {
			sum += float64(g) * float64(g)
		}
	}
	norm := math.Sqrt(sum)
	coef := maxNorm / (norm + 1e-6)
	if coef < 1 {
		c := float32(coef)
		for _, p := range params {
			for j := range p.Grad {
				p.Grad[j] *= c
			}
		}
	}
	return norm
}

// Schedule is a linear warm-up to Peak over Warmup steps, then a cosine decay to Min at Total
// steps, then Min.
type Schedule struct {
	Peak, Min     float64
	Warmup, Total int64
}

// LR is the learning rate of step (0-based).
func (s Schedule) LR(step int64) float64 {
	switch {
	case step < s.Warmup:
		return s.Peak * float64(step+1) / float64(s.Warmup)
	case step >= s.Total:
		return s.Min
	}
	ratio := float64(step-s.Warmup) / float64(max(s.Total-s.Warmup, 1))
	return s.Min + 0.5*(1+math.Cos(math.Pi*ratio))*(s.Peak-s.Min)
}

// TimeSchedule plans the learning rate over a wall-clock budget instead of a step count,
// for runs bounded by time only. The warm-up is linear and ends after Warmup steps or once
// WarmupShare of the budget is spent, whichever comes first (a slow model may take few
// steps in a short budget); the decay is a cosine from Peak to Min over the fraction f of
// Budget spent, reaching Min when the budget ends. The rate of a step is the lower of the two:
//
//	lr = min(Peak·min(1, max((step+1)/Warmup, f/WarmupShare)), Min + ½(1+cos(π·f))·(Peak−Min))
//
// with f = min(elapsed/Budget, 1), so it is a function of the step and the training time
// spent before it.
type TimeSchedule struct {
	Peak, Min   float64
	Warmup      int64
	WarmupShare float64
	Budget      time.Duration
}

// LR is the learning rate of step (0-based) begun after elapsed training time. A budget
// of zero is spent from the start.
func (s TimeSchedule) LR(step int64, elapsed time.Duration) float64 {
	frac := 1.0
	if s.Budget > 0 {
		frac = min(max(float64(elapsed)/float64(s.Budget), 0), 1)
	}
	ramp := 1.0
	if step < s.Warmup {
		ramp = float64(step+1) / float64(s.Warmup)
		if s.WarmupShare > 0 {
			ramp = min(1, max(ramp, frac/s.WarmupShare))
		}
	}
	return min(s.Peak*ramp, s.Min+0.5*(1+math.Cos(math.Pi*frac))*(s.Peak-s.Min))
}
