package localchain

import (
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/chaintest"
)

// TestConformance runs the suite on a subnet without commit-reveal and on one with it (the
// default).
func TestConformance(t *testing.T) {
	for _, commitReveal := range []bool{false, true} {
		name := map[bool]string{false: "CommitRevealOff", true: "CommitRevealOn"}[commitReveal]
		t.Run(name, func(t *testing.T) {
			chaintest.Run(t, func(t *testing.T) chaintest.Harness {
				c, _ := openManual(t)
				ctx := t.Context()
				cfg := SubnetConfig{Tempo: 3, WeightsVersionKey: 7, NoCommitReveal: !commitReveal}
				if err := c.CreateSubnet(ctx, 9, cfg); err != nil {
					t.Fatal(err)
				}
				v, m, cold := key(t, "//Validator"), key(t, "//Miner"), key(t, "//Cold")
				for _, k := range []string{v.SS58(), m.SS58()} {
					if _, err := c.Register(ctx, 9, k, cold.SS58()); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.AddStake(ctx, v.SS58(), cold.SS58(), 1e9); err != nil {
					t.Fatal(err)
				}
				mustAdvance(t, c, 4) // an epoch gives the validator its permit
				return chaintest.Harness{Chain: c, NetUID: 9, Validator: v, Miner: m,
					Advance: func(t *testing.T, n int) { mustAdvance(t, c, int64(n)) },
					// cfg with subtensor's defaults for the rest (and the local MinAllowedWeights 1).
					Hyperparameters: chain.Hyperparameters{Tempo: 3, WeightsRateLimit: 100, MinAllowedWeights: 1,
						MaxWeightLimit: 65535, WeightsVersion: 7, CommitRevealEnabled: commitReveal, RevealPeriodEpochs: 1}}
			})
		})
	}
}
