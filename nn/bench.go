package nn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pretrain/pretrain/nn/kernels"
)

// BenchEvalResult is what [BenchEval] measured.
type BenchEvalResult struct {
	Preset          string    `json:"preset"`
	DType           string    `json:"dtype"`
	Precision       string    `json:"precision"`
	SeqLen          int       `json:"seq_len"`
	TokensPerSecond []float64 `json:"tokens_per_second"`
	Median          float64   `json:"median_tokens_per_second"`
	PeakRSSBytes    int64     `json:"peak_rss_bytes"`
	Kernel          string    `json:"kernel"`
	Workers         int       `json:"workers"`
}

// BenchEval times loss evaluation of one [1, seqLen] batch of random tokens on a preset
// shape with random weights at precision ("fp32", "bf16", or "auto": the dtype's), runs
// times after one warm-up, and reports each run and the median. Peak RSS is the process's
// high-water mark (Linux and other unixes).
func BenchEval(ctx context.Context, preset, dtype, precision string, seqLen, runs int) (*BenchEvalResult, error) {
	_, cfg, err := Preset(preset)
	if err != nil {
		return nil, err
	}
	if seqLen < 2 || runs < 1 {
		return nil, fmt.Errorf("bench eval: need seq len >= 2 and runs >= 1")
	}
	m, _, err := InitRandom(cfg, dtype, 1)
	if err != nil {
		return nil, err
	}
	if err := m.UsePrecision(precision); err != nil {
		return nil, fmt.Errorf("bench eval: %w", err)
	}
	r := rand.New(rand.NewPCG(2, 3))
	ids := make([]int32, seqLen)
	for i := range ids {
		ids[i] = int32(r.IntN(cfg.VocabSize))
	}
	res := &BenchEvalResult{Preset: preset, DType: dtype, Precision: m.Precision().String(), SeqLen: seqLen,
		Kernel: kernels.Active(m.Precision() == PrecisionBF16), Workers: kernels.Workers()}
	for i := range runs + 1 {
		start := time.Now()
		if _, err := m.Loss(ctx, [][]int32{ids}); err != nil {
			return nil, err
		}
		if i > 0 { // the first run pages weights in and warms the pools
			res.TokensPerSecond = append(res.TokensPerSecond, float64(seqLen)/time.Since(start).Seconds())
		}
	}
	res.Median = median(res.TokensPerSecond)
	res.PeakRSSBytes = peakRSS()
	return res, nil
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
