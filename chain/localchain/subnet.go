package localchain

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/wallet"
)

// SubnetConfig holds a subnet's hyperparameters. Zero fields take subtensor's defaults
// (pallets/subtensor/src/lib.rs and the runtime), except where noted.
type SubnetConfig struct {
	Tempo              uint16 // blocks between epochs (default 360)
	MaxUIDs            uint16 // default 256
	MaxValidators      uint16 // validator permits (default 64)
	Kappa              uint16 // consensus majority × 65535 (default 32767)
	BondsPenalty       uint16 // × 65535 (default 65535: bonds use clipped weights)
	BondsMovingAverage uint64 // × 1e6 (default 900000: EMA alpha 0.1)
	ActivityCutoff     uint64 // blocks (default 5000)
	StakeThreshold     uint64 // rao below which stake counts as zero (default 0)
	WeightsRateLimit   uint64 // blocks between set_weights of one hotkey (default 100)
	WeightsVersionKey  uint64 // minimum version key (default 0)
	MinAllowedWeights  uint16 // default 1 (local choice; subtensor's varies per subnet)
	MaxWeightsLimit    uint16 // max normalized weight × 65535 (default 65535: no limit)
	CommitRateLimit    uint64 // blocks between commitments of one hotkey (default 100, ~20 min)
	ImmunityPeriod     uint64 // blocks a new registration cannot be pruned (default 4096)
	EmissionPerBlock   uint64 // rao per block paid out at epochs (default 1e9, local choice)
	OwnerHotkey        string // SS58 of the owner's hotkey, whose self-weight counts; optional
	Yuma3              bool   // Yuma3On: absolute bonds, dividends by bonds × active stake
	LiquidAlpha        bool   // LiquidAlphaOn: per-bond EMA rate between AlphaLow and AlphaHigh
	AlphaLow           uint16 // liquid alpha bounds × 65535 (defaults 45875 and 58982)
	AlphaHigh          uint16
	AlphaSteepness     int16  // liquid alpha sigmoid steepness (default 1000)
	NoWeightsRateLimit bool   // set WeightsRateLimit to 0 (zero means default otherwise)
	NoCommitRateLimit  bool   // set CommitRateLimit to 0
	NoCommitReveal     bool   // CommitRevealWeightsEnabled off (on by default, as on subtensor)
	RevealPeriodEpochs uint64 // epochs from a weight commit to its reveal (default 1)
}

func (c SubnetConfig) withDefaults() SubnetConfig {
	c.Tempo = cmp.Or(c.Tempo, 360)
	c.MaxUIDs = cmp.Or(c.MaxUIDs, 256)
	c.MaxValidators = cmp.Or(c.MaxValidators, 64)
	c.Kappa = cmp.Or(c.Kappa, 32767)
	c.BondsPenalty = cmp.Or(c.BondsPenalty, 65535)
	c.BondsMovingAverage = cmp.Or(c.BondsMovingAverage, 900_000)
	c.ActivityCutoff = cmp.Or(c.ActivityCutoff, 5000)
	c.WeightsRateLimit = cmp.Or(c.WeightsRateLimit, 100)
	c.MinAllowedWeights = cmp.Or(c.MinAllowedWeights, 1)
	c.MaxWeightsLimit = cmp.Or(c.MaxWeightsLimit, 65535)
	c.CommitRateLimit = cmp.Or(c.CommitRateLimit, 100)
	c.ImmunityPeriod = cmp.Or(c.ImmunityPeriod, 4096)
	c.EmissionPerBlock = cmp.Or(c.EmissionPerBlock, 1_000_000_000)
	c.AlphaLow = cmp.Or(c.AlphaLow, 45875)
	c.AlphaHigh = cmp.Or(c.AlphaHigh, 58982)
	c.AlphaSteepness = cmp.Or(c.AlphaSteepness, 1000)
	c.RevealPeriodEpochs = cmp.Or(c.RevealPeriodEpochs, 1)
	if c.NoWeightsRateLimit {
		c.WeightsRateLimit = 0
	}
	if c.NoCommitRateLimit {
		c.CommitRateLimit = 0
	}
	return c
}

// Validate reports hyperparameters outside their ranges.
func (c SubnetConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxValidators > c.MaxUIDs:
		return fmt.Errorf("subnet config: max validators %d > max uids %d", c.MaxValidators, c.MaxUIDs)
	case c.BondsMovingAverage > 1_000_000:
		return fmt.Errorf("subnet config: bonds moving average %d > 1000000", c.BondsMovingAverage)
	case c.EmissionPerBlock > 1<<40:
		return fmt.Errorf("subnet config: emission per block %d > 2^40 rao", c.EmissionPerBlock)
	case c.Tempo == 65535:
		return errors.New("subnet config: tempo 65535")
	case c.WeightsVersionKey > math.MaxInt64:
		return fmt.Errorf("subnet config: weights version key %d > 2^63-1", c.WeightsVersionKey)
	case c.AlphaLow > c.AlphaHigh:
		return fmt.Errorf("subnet config: alpha low %d > alpha high %d", c.AlphaLow, c.AlphaHigh)
	case c.RevealPeriodEpochs > maxRevealPeriod:
		return fmt.Errorf("subnet config: reveal period %d epochs > %d", c.RevealPeriodEpochs, maxRevealPeriod)
	}
	if c.OwnerHotkey != "" {
		if _, err := wallet.SS58Decode(c.OwnerHotkey); err != nil {
			return fmt.Errorf("subnet config owner: %w", err)
		}
	}
	return nil
}

type subnet struct {
	NetUID uint16
	SubnetConfig
	CreatedBlock int64
}

const subnetCols = `netuid, tempo, max_uids, max_validators, kappa, bonds_penalty, bonds_moving_average,
	activity_cutoff, stake_threshold, weights_rate_limit, weights_version_key, min_allowed_weights,
	max_weights_limit, commit_rate_limit, immunity_period, emission_per_block, owner_hotkey,
	yuma3, liquid_alpha, alpha_low, alpha_high, alpha_steepness, created_block,
	commit_reveal, reveal_period_epochs`

func scanSubnet(sc interface{ Scan(...any) error }) (subnet, error) {
	var s subnet
	var commitReveal bool
	err := sc.Scan(&s.NetUID, &s.Tempo, &s.MaxUIDs, &s.MaxValidators, &s.Kappa, &s.BondsPenalty,
		&s.BondsMovingAverage, &s.ActivityCutoff, &s.StakeThreshold, &s.WeightsRateLimit,
		&s.WeightsVersionKey, &s.MinAllowedWeights, &s.MaxWeightsLimit, &s.CommitRateLimit,
		&s.ImmunityPeriod, &s.EmissionPerBlock, &s.OwnerHotkey, &s.Yuma3, &s.LiquidAlpha,
		&s.AlphaLow, &s.AlphaHigh, &s.AlphaSteepness, &s.CreatedBlock, &commitReveal, &s.RevealPeriodEpochs)
	s.NoCommitReveal = !commitReveal
	return s, err
}

func loadSubnets(ctx context.Context, q querier) ([]subnet, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+subnetCols+` FROM subnets ORDER BY netuid`)
	if err != nil {
		return nil, fmt.Errorf("load subnets: %w", err)
	}
	defer rows.Close()
	var out []subnet
	for rows.Next() {
		s, err := scanSubnet(rows)
		if err != nil {
			return nil, fmt.Errorf("load subnets: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func loadSubnet(ctx context.Context, q querier, netuid uint16) (subnet, error) {
	s, err := scanSubnet(q.QueryRowContext(ctx, `SELECT `+subnetCols+` FROM subnets WHERE netuid = ?`, netuid))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("subnet %d: %w", netuid, chain.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("subnet %d: %w", netuid, err)
	}
	return s, nil
}

// CreateSubnet adds subnet netuid with hyperparameters cfg (zeros take the defaults).
func (c *Chain) CreateSubnet(ctx context.Context, netuid uint16, cfg SubnetConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		head, err := getMetaInt(ctx, tx, metaHead)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO subnets (`+subnetCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT(netuid) DO NOTHING`,
			netuid, cfg.Tempo, cfg.MaxUIDs, cfg.MaxValidators, cfg.Kappa, cfg.BondsPenalty,
			int64(cfg.BondsMovingAverage), int64(cfg.ActivityCutoff), int64(cfg.StakeThreshold),
			int64(cfg.WeightsRateLimit), int64(cfg.WeightsVersionKey), cfg.MinAllowedWeights,
			cfg.MaxWeightsLimit, int64(cfg.CommitRateLimit), int64(cfg.ImmunityPeriod),
			int64(cfg.EmissionPerBlock), cfg.OwnerHotkey, cfg.Yuma3, cfg.LiquidAlpha,
			cfg.AlphaLow, cfg.AlphaHigh, cfg.AlphaSteepness, head, !cfg.NoCommitReveal, int64(cfg.RevealPeriodEpochs))
		if err != nil {
			return fmt.Errorf("create subnet %d: %w", netuid, err)
		}
		var created int64
		if err := tx.QueryRowContext(ctx, `SELECT changes()`).Scan(&created); err != nil {
			return err
		}
		if created == 0 {
			return fmt.Errorf("create subnet %d: %w", netuid, ErrSubnetExists)
		}
		c.log.Info("subnet created", "netuid", netuid, "tempo", cfg.Tempo, "block", head)
		return nil
	})
}

// Subnet returns subnet netuid's hyperparameters.
func (c *Chain) Subnet(ctx context.Context, netuid uint16) (SubnetConfig, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	s, err := loadSubnet(ctx, c.ro, netuid)
	return s.SubnetConfig, err
}

// maxRevealPeriod bounds RevealPeriodEpochs, as subtensor's MAX_COMMIT_REVEAL_PEROIDS
// (its minimum, 1, is the default here).
const maxRevealPeriod = 100

// Hyperparameters returns subnet netuid's weight-setting settings.
func (c *Chain) Hyperparameters(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return chain.Hyperparameters{}, err
	}
	s, err := loadSubnet(ctx, c.ro, netuid)
	if err != nil {
		return chain.Hyperparameters{}, fmt.Errorf("hyperparameters: %w", err)
	}
	return s.hyperparameters(), nil
}

func (c SubnetConfig) hyperparameters() chain.Hyperparameters {
	return chain.Hyperparameters{
		Tempo:               c.Tempo,
		WeightsRateLimit:    c.WeightsRateLimit,
		MinAllowedWeights:   c.MinAllowedWeights,
		MaxWeightLimit:      c.MaxWeightsLimit,
		WeightsVersion:      c.WeightsVersionKey,
		CommitRevealEnabled: !c.NoCommitReveal,
		RevealPeriodEpochs:  c.RevealPeriodEpochs,
	}
}

// SetHyperparameters replaces subnet netuid's weight-setting settings with h, taken
// literally (zeros are zeros, not defaults), as the subnet owner's sudo_set_* calls do on
// subtensor. The next epoch runs with the new tempo; a changed rate limit, version key or
// weight bounds apply to the next weight setting.
func (c *Chain) SetHyperparameters(ctx context.Context, netuid uint16, h chain.Hyperparameters) error {
	switch {
	case h.Tempo == 0 || h.Tempo == math.MaxUint16:
		return fmt.Errorf("set hyperparameters: tempo %d outside [1, 65534]: %w", h.Tempo, chain.ErrInvalid)
	case h.WeightsRateLimit > math.MaxInt64 || h.WeightsVersion > math.MaxInt64:
		return fmt.Errorf("set hyperparameters: rate limit or version key above 2^63-1: %w", chain.ErrInvalid)
	case h.RevealPeriodEpochs < 1 || h.RevealPeriodEpochs > maxRevealPeriod:
		return fmt.Errorf("set hyperparameters: reveal period %d epochs outside [1, %d]: %w", h.RevealPeriodEpochs, maxRevealPeriod, chain.ErrInvalid)
	}
	ctx, cancel := c.timeout(ctx)
	defer cancel()
	if err := c.sync(ctx); err != nil {
		return err
	}
	return c.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subnets SET tempo = ?, weights_rate_limit = ?,
			min_allowed_weights = ?, max_weights_limit = ?, weights_version_key = ?, commit_reveal = ?,
			reveal_period_epochs = ? WHERE netuid = ?`,
			h.Tempo, int64(h.WeightsRateLimit), h.MinAllowedWeights, h.MaxWeightLimit,
			int64(h.WeightsVersion), h.CommitRevealEnabled, int64(h.RevealPeriodEpochs), netuid)
		if err != nil {
			return fmt.Errorf("set hyperparameters: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("set hyperparameters: subnet %d: %w", netuid, chain.ErrNotFound)
		}
		c.log.Info("hyperparameters set", "netuid", netuid, "hyperparameters", h)
		return nil
	})
}
