package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLoss measures loss evaluation (forward, logits, cross-entropy) on random
// weights of a preset shape, batch 1; tok/s counts the L tokens of each batch.
func BenchmarkLoss(b *testing.B) {
	for _, bc := range []struct {
		preset, dtype, precision string
		seq                      int
	}{{"gpt2-124m", "F32", "fp32", 1024}, {"gpt2-124m", "BF16", "fp32", 1024}, {"gpt2-124m", "BF16", "bf16", 1024}} {
		b.Run(fmt.Sprintf("%s/%s/%s/seq%d", bc.preset, bc.dtype, bc.precision, bc.seq), func(b *testing.B) {
			_, cfg, err := Preset(bc.preset)
			if err != nil {
				b.Fatal(err)
			}
			m, _, err := InitRandom(cfg, bc.dtype, 1)
			if err != nil {
				b.Fatal(err)
			}
			if err := m.UsePrecision(bc.precision); err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 1))
			ids := make([]int32, bc.seq)
			for i := range ids {
				ids[i] = int32(r.IntN(cfg.VocabSize))
			}
			for b.Loop() {
				if _, err := m.Loss(b.Context(), [][]int32{ids}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bc.seq*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
