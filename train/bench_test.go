package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pretrain/pretrain/nn"
)

// BenchmarkTrainStep measures training tokens/s: forward, backward, gradient clipping and
// the AdamW update of one optimizer step on random tokens.
//
//	go test ./train -run '^$' -bench TrainStep -benchtime 3x
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		preset      string
		batch, seqL int
	}{
		{"gpt2-tiny", 8, 256},
		{"llama-tiny", 8, 256},
		{"gpt2-124m", 4, 64}, // llm.c train_gpt2.c's own B and T
		{"gpt2-124m", 1, 1024},
	} {
		b.Run(fmt.Sprintf("%s/B=%d/L=%d", bc.preset, bc.batch, bc.seqL), func(b *testing.B) {
			_, cfg, err := nn.Preset(bc.preset)
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewModel(cfg, 1)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			batch := make([][]int32, bc.batch)
			for i := range batch {
				for range bc.seqL {
					batch[i] = append(batch[i], int32(rng.IntN(cfg.VocabSize)))
				}
			}
			params := m.Params()
			opt := NewAdamW(AdamWConfig{WeightDecay: 0.1}, params)
			for b.Loop() {
				m.ZeroGrad()
				if _, err := m.Backward(b.Context(), batch, 1); err != nil {
					b.Fatal(err)
				}
				ClipGradNorm(params, 1)
				if err := opt.Update(params, 1e-4); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*bc.batch*bc.seqL)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
