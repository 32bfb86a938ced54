package subtensor

import (
	"context"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
)

// Hyperparameters reads subnet netuid's weight-setting hyperparameters from
// SubtensorModule storage at the best block: Tempo, WeightsSetRateLimit, MinAllowedWeights,
// MaxWeightsLimit, WeightsVersionKey, CommitRevealWeightsEnabled and RevealPeriodEpochs
// (absent items read as the runtime's declared defaults, as the chain itself reads them). It
// returns an error wrapping chain.ErrNotFound when the subnet does not exist.
func (c *Client) Hyperparameters(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	h, err := c.hyperparametersAtHead(ctx, netuid)
	if err != nil {
		return h, fmt.Errorf("hyperparameters %d: %w", netuid, err)
	}
	return h, nil
}

func (c *Client) hyperparametersAtHead(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	hash, err := c.bestHash(ctx)
	if err != nil {
		return chain.Hyperparameters{}, err
	}
	rt, err := c.runtimeAt(ctx, &hash)
	if err != nil {
		return chain.Hyperparameters{}, err
	}
	exists, err := c.subnetExists(ctx, rt.meta, hash, netuid)
	if err != nil {
		return chain.Hyperparameters{}, err
	}
	if !exists {
		return chain.Hyperparameters{}, fmt.Errorf("subnet: %w", chain.ErrNotFound)
	}
	return c.hyperparameters(ctx, rt.meta, hash, netuid)
}

// hyperparameters reads netuid's hyperparameters at block hash at.
func (c *Client) hyperparameters(ctx context.Context, m *Metadata, at chain.Hash, netuid uint16) (chain.Hyperparameters, error) {
	var h chain.Hyperparameters
	key := appendU16(nil, netuid)
	var tempo, minWeights, maxLimit uint64
	for _, f := range []struct {
		item string
		max  uint64
		dst  *uint64
	}{
		{"Tempo", math.MaxUint16, &tempo},
		{"WeightsSetRateLimit", math.MaxUint64, &h.WeightsRateLimit},
		{"MinAllowedWeights", math.MaxUint16, &minWeights},
		{"MaxWeightsLimit", math.MaxUint16, &maxLimit},
		{"WeightsVersionKey", math.MaxUint64, &h.WeightsVersion},
		{"RevealPeriodEpochs", math.MaxUint64, &h.RevealPeriodEpochs},
	} {
		v, err := c.storageUint(ctx, m, at, f.item, key)
		if err != nil {
			return h, err
		}
		if v > f.max {
			return h, fmt.Errorf("%s = %d, above %d", f.item, v, f.max)
		}
		*f.dst = v
	}
	h.Tempo, h.MinAllowedWeights, h.MaxWeightLimit = uint16(tempo), uint16(minWeights), uint16(maxLimit)
	v, err := c.storageValue(ctx, m, at, "SubtensorModule", "CommitRevealWeightsEnabled", key)
	if err != nil {
		return h, err
	}
	if h.CommitRevealEnabled, err = asBool(v); err != nil {
		return h, fmt.Errorf("CommitRevealWeightsEnabled: %w", err)
	}
	return h, nil
}

// storageUint reads an unsigned integer item of SubtensorModule at block hash at.
func (c *Client) storageUint(ctx context.Context, m *Metadata, at chain.Hash, item string, parts ...[]byte) (uint64, error) {
	v, err := c.storageValue(ctx, m, at, "SubtensorModule", item, parts...)
	if err != nil {
		return 0, err
	}
	n, err := asUint(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", item, err)
	}
	return n, nil
}
