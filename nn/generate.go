package nn

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/pretrain/pretrain/nn/kernels"
)

// GenerateOptions bound a generation.
type GenerateOptions struct {
	MaxNewTokens int
	// MinNewTokens keeps every EOS id's logit at -Inf until this many tokens are generated,
	// as transformers' MinNewTokensLengthLogitsProcessor does.
	MinNewTokens int
}

// Generate decodes from prompt with a KV cache and returns the new tokens (fewer than
// MaxNewTokens when an EOS id is chosen after MinNewTokens): greedily, or by sampling when the
// model's generation_config sets do_sample (see sampler). The generation_config's
// repetition_penalty and no_repeat_ngram_size apply.
func (m *Model) Generate(ctx context.Context, prompt []int32, opts GenerateOptions) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	if opts.MaxNewTokens < 0 || opts.MaxNewTokens > 1<<16 {
		return nil, fmt.Errorf("generate: max new tokens %d out of range", opts.MaxNewTokens)
	}
	if opts.MaxNewTokens == 0 {
		return nil, nil
	}
	if m.Generation.NumBeams > 1 {
		return nil, fmt.Errorf("generate: %w: num_beams %d (beam search)", ErrUnsupportedArchitecture, m.Generation.NumBeams)
	}
	cfg := m.Config
	d := cfg.Hidden
	cache := m.NewKVCache(len(prompt) + opts.MaxNewTokens)
	hidden := make([]float32, len(prompt)*d)
	if err := m.net.forward(ctx, prompt, 1, cache, hidden, nil); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	head := m.net.head()
	logits := make([]float32, head.Rows)
	last := hidden[(len(prompt)-1)*d : len(prompt)*d]
	seen := slices.Clone(prompt)
	var samp *sampler
	if m.Generation.DoSample {
		var err error
		if samp, err = newSampler(m.Generation, prompt); err != nil {
			return nil, err
		}
	}
	var out []int32
	for len(out) < opts.MaxNewTokens {
		kernels.Gemm(1, head.Rows, d, last, d, head, true, logits, head.Rows, false)
		if p := m.Generation.RepetitionPenalty; p != 1 && p > 0 {
			applyRepetitionPenalty(logits, seen, float32(p))
		}
		if n := m.Generation.NoRepeatNGramSize; n > 0 {
			banRepeatedNGrams(logits, seen, n)
		}
		if len(out) < opts.MinNewTokens {
			for _, e := range m.Generation.EOSTokenIDs {
				if e < len(logits) {
					logits[e] = float32(math.Inf(-1))
				}
			}
		}
		var next int32
		if samp != nil {
			next = int32(samp.next(logits))
		} else {
			next = int32(argmax(logits))
		}
		out = append(out, next)
		seen = append(seen, next)
		if len(out) >= opts.MinNewTokens && slices.Contains(m.Generation.EOSTokenIDs, int(next)) {
			break
		}
		if len(out) == opts.MaxNewTokens {
			break
		}
		if err := m.net.forward(ctx, []int32{next}, 1, cache, hidden[:d], nil); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		last = hidden[:d]
	}
	return out, nil
}

// applyRepetitionPenalty divides positive (multiplies negative) logits of every token seen
// so far by p, as transformers' RepetitionPenaltyLogitsProcessor does.
func applyRepetitionPenalty(logits []float32, seen []int32, p float32) {
	done := map[int32]bool{}
	for _, t := range seen {
		if done[t] || int(t) >= len(logits) {
			continue
		}
		done[t] = true
		if logits[t] < 0 {
			logits[t] *= p
		} else {
			logits[t] /= p
		}
	}
}

// banRepeatedNGrams sets to -Inf every token that would complete an n-gram already in
// seq, as transformers' NoRepeatNGramLogitsProcessor does.
func banRepeatedNGrams(logits []float32, seq []int32, n int) {
	if len(seq)+1 < n {
		return
	}
	prefix := seq[len(seq)-n+1:]
	for i := 0; i+n <= len(seq); i++ {
		if slices.Equal(seq[i:i+n-1], prefix) {
			if t := seq[i+n-1]; int(t) < len(logits) {
				logits[t] = float32(math.Inf(-1))
			}
		}
	}
}

// argmax returns the first index of the largest value, as torch.argmax does; NaN is
// treated as the largest, as torch does.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v != v {
			return i
		}
		if v > x[best] {
			best = i
		}
	}
	return best
}

// Sanity check constants of check_for_reasonable_output (pretrain/eval/method.py).
const (
	SanityPromptLength = 100
	SanityOutputLength = 20
)

// CheckReasonableOutput is the reference's check_for_reasonable_output: it generates
// SanityOutputLength tokens (EOS suppressed throughout) after the first SanityPromptLength
// tokens of each row of batch1 and batch2 and fails the model when
//   - the two outputs agree in at least half of their positions (summed over rows), or
//   - both outputs have a most frequent token occurring more than half the time.
//
// It reports whether the model passes and, when it does not, which rule failed; the error is
// for failures to run the model at all (the reference scores those inf too).
func (m *Model) CheckReasonableOutput(ctx context.Context, batch1, batch2 [][]int32) (bool, string, error) {
	gen := func(batch [][]int32) ([][]int32, error) {
		var outs [][]int32
		for _, row := range batch {
			prompt := row[:min(len(row), SanityPromptLength)]
			o, err := m.Generate(ctx, prompt, GenerateOptions{MaxNewTokens: SanityOutputLength, MinNewTokens: SanityOutputLength})
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
		return outs, nil
	}
	g1, err := gen(batch1)
	if err != nil {
		return false, "", fmt.Errorf("sanity check: %w", err)
	}
	g2, err := gen(batch2)
	if err != nil {
		return false, "", fmt.Errorf("sanity check: %w", err)
	}
	ok, reason := judgeOutputs(g1, g2)
	return ok, reason, nil
}

// judgeOutputs applies the two rules to generated token rows.
func judgeOutputs(g1, g2 [][]int32) (bool, string) {
	if len(g1) != len(g2) {
		// torch.eq on tensors of different batch sizes raises; the reference then scores inf.
		return false, "outputs of different batch sizes"
	}
	same := 0
	for r := range g1 {
		for j := range min(len(g1[r]), len(g2[r])) {
			if g1[r][j] == g2[r][j] {
				same++
			}
		}
	}
	if float64(same) >= SanityOutputLength/2.0 {
		return false, fmt.Sprintf("too much overlap between outputs: %d equal tokens", same)
	}
	mostCommon := func(g [][]int32) int {
		counts := map[int32]int{}
		best := 0
		for _, row := range g {
			for _, t := range row {
				counts[t]++
				best = max(best, counts[t])
			}
		}
		return best
	}
	c1, c2 := mostCommon(g1), mostCommon(g2)
	if float64(c1) > SanityOutputLength/2.0 && float64(c2) > SanityOutputLength/2.0 {
		return false, fmt.Sprintf("too much repetition in both outputs: most common tokens occur %d and %d times", c1, c2)
	}
	return true, ""
}
