package nn

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
)

// sampler draws the next token as transformers' sample() does when generation_config sets
// do_sample: the logits warpers Temperature, TopK and TopP in that order, a softmax, and a
// multinomial draw. torch's RNG cannot be reproduced, so the draw uses a PCG seeded from the
// prompt: a validator's result is repeatable, and, as in the reference, a sampling model's
// two outputs differ as sampling makes them differ.
type sampler struct {
	g    *GenerationConfig
	rng  *rand.Rand
	idx  []int
	prob []float64
}

func newSampler(g *GenerationConfig, prompt []int32) (*sampler, error) {
	if !(g.Temperature > 0) || math.IsInf(g.Temperature, 0) {
		return nil, fmt.Errorf("generate: temperature %v must be a strictly positive float", g.Temperature)
	}
	if g.TopK < 0 {
		return nil, fmt.Errorf("generate: top_k %d must be a non-negative integer", g.TopK)
	}
	if !(g.TopP >= 0 && g.TopP <= 1) {
		return nil, fmt.Errorf("generate: top_p %v must be a float in [0, 1]", g.TopP)
	}
	h := fnv.New64a()
	for _, t := range prompt {
		h.Write([]byte{byte(t), byte(t >> 8), byte(t >> 16), byte(t >> 24)})
	}
	return &sampler{g: g, rng: rand.New(rand.NewPCG(h.Sum64(), 0x5eed))}, nil
}

// next warps logits in place and draws a token.
func (s *sampler) next(logits []float32) int {
	if t := s.g.Temperature; t != 1 {
		for i := range logits {
			logits[i] /= float32(t)
		}
	}
	// Candidates sorted by descending logit; ties keep index order.
	s.idx = s.idx[:0]
	for i, v := range logits {
		if !math.IsInf(float64(v), -1) {
			s.idx = append(s.idx, i)
		}
	}
	if len(s.idx) == 0 {
		return argmax(logits)
	}
	slices.SortStableFunc(s.idx, func(a, b int) int { return cmp.Compare(logits[b], logits[a]) })
	// TopK keeps every token scoring at least the k-th largest (ties at the threshold stay).
	if k := s.g.TopK; k > 0 && k < len(s.idx) {
		kth := logits[s.idx[k-1]]
		n := k
		for n < len(s.idx) && logits[s.idx[n]] >= kth {
			n++
		}
		s.idx = s.idx[:n]
	}
	// Softmax over the survivors.
	s.prob = s.prob[:0]
	hi, sum := float64(logits[s.idx[0]]), 0.0
	for _, i := range s.idx {
		p := math.Exp(float64(logits[i]) - hi)
		s.prob = append(s.prob, p)
		sum += p
	}
	for j := range s.prob {
		s.prob[j] /= sum
	}
	// TopP drops the least likely tokens whose cumulative probability, counted from the least
	// likely, is at most 1-top_p, always keeping the most likely one.
	if p := s.g.TopP; p < 1 {
		cum, cut := 0.0, len(s.prob)
		for j := len(s.prob) - 1; j > 0; j-- {
			cum += s.prob[j]
			if cum > 1-p {
				break
			}
			cut = j
		}
		s.idx, s.prob = s.idx[:cut], s.prob[:cut]
		sum = 0
		for _, q := range s.prob {
			sum += q
		}
		for j := range s.prob {
			s.prob[j] /= sum
		}
	}
	u := s.rng.Float64()
	for j, q := range s.prob {
		if u < q {
			return s.idx[j]
		}
		u -= q
	}
	return s.idx[len(s.idx)-1]
}
