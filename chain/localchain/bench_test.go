package localchain

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkEpoch times one Yuma epoch on subnets of SN9's size (256 uids) and larger, with
// 64 validators each weighting every miner.
func BenchmarkEpoch(b *testing.B) {
	for _, n := range []int{256, 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			in := benchInput(n, 64)
			for b.Loop() {
				runEpoch(in)
			}
		})
	}
}

func benchInput(n, validators int) *epochInput {
	r := rand.New(rand.NewPCG(1, 2))
	in := &epochInput{
		Block:  1000,
		Params: epochParams{Tempo: 360, ActivityCutoff: 5000, Kappa: 32767, BondsPenalty: 65535, BondsMovingAverage: 900_000, MaxAllowedValidators: 64},
		Stake:  make([]uint64, n), LastUpdate: make([]uint64, n), RegisteredAt: make([]uint64, n),
		Permit: make([]bool, n), OwnerUID: -1, Weights: make([][]pair, n), Bonds: make([][]pair, n),
		Emission: 361e9,
	}
	for i := 0; i < validators; i++ {
		in.Stake[i] = r.Uint64N(1e15)
		in.Permit[i] = true
		in.LastUpdate[i] = 900
		for j := validators; j < n; j++ {
			in.Weights[i] = append(in.Weights[i], pair{uint16(j), uint16(r.IntN(65536))})
			in.Bonds[i] = append(in.Bonds[i], pair{uint16(j), uint16(r.IntN(65536))})
		}
	}
	return in
}

// BenchmarkSetWeights times one SetWeights transaction (256 weights) on a file in a temp dir.
func BenchmarkSetWeights(b *testing.B) {
	c, err := Open(b.Context(), Config{Path: b.TempDir() + "/chain.db", Manual: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := b.Context()
	if err := c.CreateSubnet(ctx, 9, SubnetConfig{Tempo: 360, NoWeightsRateLimit: true, NoCommitReveal: true}); err != nil {
		b.Fatal(err)
	}
	cold := mustKey(b, "//Cold")
	v := mustKey(b, "//V")
	c.Register(ctx, 9, v.SS58(), cold.SS58())
	c.AddStake(ctx, v.SS58(), cold.SS58(), 1e9)
	uids := []uint16{}
	for i := 1; i < 256; i++ {
		k := mustKey(b, fmt.Sprintf("//M%d", i))
		if _, err := c.Register(ctx, 9, k.SS58(), cold.SS58()); err != nil {
			b.Fatal(err)
		}
		uids = append(uids, uint16(i))
	}
	if _, err := c.Advance(ctx, 360); err != nil {
		b.Fatal(err)
	}
	us, ws := make([]chainUID, len(uids)), make([]uint16, len(uids))
	for i, u := range uids {
		us[i], ws[i] = chainUID(u), uint16(i+1)
	}
	for b.Loop() {
		if err := c.SetWeights(ctx, v, 9, us, ws, 0); err != nil {
			b.Fatal(err)
		}
	}
}
