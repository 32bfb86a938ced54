package validator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/internal/wait"
	"github.com/pretrain/pretrain/modelstore"
)

// Config holds the validator's settings; every cadence and limit has the reference's default
// (DefaultConfig).
type Config struct {
	NetUID   uint16
	Schedule competition.Schedule
	// ModelDir holds the model store (models/) and the state (vali-state/).
	ModelDir string
	// SpecVersion is the reference's __spec_version__: evaluation state is dropped when it
	// changes. WeightsVersionKey is sent with weights.
	SpecVersion       int64
	WeightsVersionKey uint64

	SampleMin          int // uids a competition keeps evaluating (5)
	UpdatedModelsLimit int // pending + current uids before the update loop waits (25)
	DontSetWeights     bool
	Offline            bool // no weights, nothing signed

	MetagraphResync     time.Duration // 20 min
	UpdateStartDelay    time.Duration // 60 s before the first model update
	ScanTopModelCadence time.Duration // 30 min
	ChainUpdateCadence  time.Duration // 20 min per uid
	EvalSlotWait        time.Duration // 300 s while the queues are full
	IdleWait            time.Duration // 300 s when no competition has a uid to evaluate
	StepTTL             time.Duration // 7200 s
	WeightsInterval     time.Duration // 3600 s between weight settings
	WeightsRetry        time.Duration // 120 s after a failed setting
	WeightsPoll         time.Duration // 60 s while the weights are all zero
	WeightsTTL          time.Duration // 60 s for one setting
	CleanStartDelay     time.Duration // 1 h
	CleanInterval       time.Duration // 5 min
	CleanGrace          time.Duration // 10 min
	ChainErrorWait      time.Duration // 180 s after a chain error in the update loop

	// TopMinerMinStake and TopMinerMinFraction drive the top-miner scan (50,000 and 0.05).
	TopMinerMinStake    float64
	TopMinerMinFraction float64

	// StepLog is the JSON-lines step log (default ModelDir/vali-state/steps.jsonl).
	StepLog string
	Logger  *slog.Logger
}

// DefaultConfig returns the reference's settings for schedule.
func DefaultConfig() Config {
	return Config{
		NetUID: 9, Schedule: competition.Mainnet,
		SpecVersion: competition.WeightsVersionKey, WeightsVersionKey: competition.WeightsVersionKey,
		SampleMin: competition.SampleMin, UpdatedModelsLimit: 25,
		MetagraphResync: 20 * time.Minute, UpdateStartDelay: time.Minute,
		ScanTopModelCadence: 30 * time.Minute, ChainUpdateCadence: 20 * time.Minute,
		EvalSlotWait: 300 * time.Second, IdleWait: 300 * time.Second, StepTTL: 7200 * time.Second,
		WeightsInterval: time.Hour, WeightsRetry: 120 * time.Second, WeightsPoll: time.Minute, WeightsTTL: time.Minute,
		CleanStartDelay: time.Hour, CleanInterval: 5 * time.Minute, CleanGrace: 10 * time.Minute,
		ChainErrorWait:   180 * time.Second,
		TopMinerMinStake: TopMinerValidatorMinStake, TopMinerMinFraction: TopMinerMinWeightFraction,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.ModelDir == "":
		return errors.New("validator: no model directory")
	case len(c.Schedule) == 0:
		return errors.New("validator: no competition schedule")
	case c.SampleMin < 1 || c.UpdatedModelsLimit < 1:
		return errors.New("validator: sample_min and updated_models_limit must be positive")
	}
	if err := c.Schedule.Validate(); err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	for _, d := range []time.Duration{c.MetagraphResync, c.ScanTopModelCadence, c.StepTTL, c.WeightsInterval, c.WeightsTTL, c.CleanInterval} {
		if d <= 0 {
			return errors.New("validator: cadences and time limits must be positive")
		}
	}
	return nil
}

// Evaluator scores one downloaded model on a sample file (eval.Worker in production).
type Evaluator interface {
	Evaluate(ctx context.Context, dir, sampleFile string) (eval.Result, error)
}

// Clock is the validator's time source; tests inject their own.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time                                   { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error { return wait.Sleep(ctx, d) }

// Validator is the SN9 validator: the reference's threads as goroutines around the pure
// rules. Build it with New, then Run it.
type Validator struct {
	cfg       Config
	chain     chain.Chain
	signer    chain.Signer // nil when offline
	hub       modelstore.Downloader
	data      *dataset.Sources
	evaluator Evaluator
	clock     Clock
	store     *modelstore.Store
	log       *slog.Logger
	metrics   *Metrics
	steplog   *StepLog
	wandb     *WandB

	mu        sync.Mutex // guards the fields below
	state     *State
	mg        *chain.Metagraph
	miners    *MinerIterator
	weights   []float32
	rejected  map[string]Rejection // by hotkey: why its current metadata was refused
	lastCheck map[chain.UID]time.Time
}

// Rejection is why a miner's committed model was refused at sync time (hash, size,
// constraints, metadata); it is listed in the step log of its competition.
type Rejection struct {
	Metadata chain.ModelMetadata
	Reason   string
}

// Deps are the validator's connections.
type Deps struct {
	Chain     chain.Chain
	Signer    chain.Signer // required unless Offline or DontSetWeights
	Hub       modelstore.Downloader
	Data      *dataset.Sources
	Evaluator Evaluator
	Clock     Clock // real time if nil
	Metrics   *Metrics
	WandB     *WandB // nil: no W&B logging (always nil when Offline)
}

// New opens the validator's store and state.
func New(cfg Config, d Deps) (*Validator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Chain == nil || d.Hub == nil || d.Data == nil || d.Evaluator == nil {
		return nil, errors.New("validator: chain, hub, data and evaluator are required")
	}
	if d.Signer == nil && !cfg.Offline && !cfg.DontSetWeights {
		return nil, errors.New("validator: a wallet hotkey is required to set weights (or --offline / --dont_set_weights)")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store, err := modelstore.Open(cfg.ModelDir, log)
	if err != nil {
		return nil, err
	}
	st, err := LoadState(statePath(cfg.ModelDir), cfg.SpecVersion, log)
	if err != nil {
		return nil, err
	}
	if cfg.StepLog == "" {
		cfg.StepLog = filepath.Join(cfg.ModelDir, "vali-state", "steps.jsonl")
	}
	sl, err := OpenStepLog(cfg.StepLog)
	if err != nil {
		return nil, err
	}
	v := &Validator{cfg: cfg, chain: d.Chain, signer: d.Signer, hub: d.Hub, data: d.Data, evaluator: d.Evaluator,
		clock: d.Clock, store: store, log: log, metrics: d.Metrics, steplog: sl, state: st, wandb: d.WandB,
		rejected: map[string]Rejection{}, lastCheck: map[chain.UID]time.Time{}}
	if v.clock == nil {
		v.clock = realClock{}
	}
	if cfg.Offline {
		v.wandb = nil
	}
	if v.metrics == nil {
		v.metrics = NewMetrics(nil)
	}
	return v, nil
}

func statePath(modelDir string) string { return filepath.Join(modelDir, "vali-state", "state.json") }

// StepLog returns the validator's step log.
func (v *Validator) StepLog() *StepLog { return v.steplog }

// Hotkey is the validator's own hotkey ("" when offline without a wallet).
func (v *Validator) Hotkey() string {
	if v.signer == nil {
		return ""
	}
	return v.signer.SS58()
}

// Run syncs the metagraph, then runs the update, clean, weights and evaluation loops until ctx
// ends or one of them fails for good. State is saved after each step, so a stop loses at most
// the step in flight.
func (v *Validator) Run(ctx context.Context) error {
	if err := v.SyncMetagraph(ctx); err != nil {
		return err
	}
	if hp, err := v.chain.Hyperparameters(ctx, v.cfg.NetUID); err != nil {
		v.log.Warn("subnet hyperparameters", "err", err)
	} else {
		v.log.Info("subnet hyperparameters", "tempo", hp.Tempo, "weights_rate_limit", hp.WeightsRateLimit,
			"min_allowed_weights", hp.MinAllowedWeights, "max_weight_limit", hp.MaxWeightLimit,
			"weights_version", hp.WeightsVersion, "commit_reveal", hp.CommitRevealEnabled, "reveal_period_epochs", hp.RevealPeriodEpochs)
		if hp.WeightsVersion > v.cfg.WeightsVersionKey {
			v.log.Warn("the subnet requires a newer weights version key than this validator sends", "ours", v.cfg.WeightsVersionKey, "subnet", hp.WeightsVersion)
		}
	}
	v.mu.Lock()
	cur := v.mg.Block
	comps, err := v.cfg.Schedule.At(cur)
	if err == nil {
		v.weights = v.state.Competitions.SubnetWeights(supported(comps), 0)
	}
	v.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return v.metagraphLoop(ctx) })
	g.Go(func() error { return v.updateLoop(ctx) })
	g.Go(func() error { return v.cleanLoop(ctx) })
	if !v.cfg.Offline && !v.cfg.DontSetWeights {
		g.Go(func() error { return v.weightsLoop(ctx) })
	}
	g.Go(func() error { return v.evalLoop(ctx) })
	err = g.Wait()
	if ctx.Err() != nil {
		return nil // a requested stop
	}
	return err
}

// SyncMetagraph reads the metagraph and tells the listeners: the miner iterator gets the
// uids, the model tracker forgets deregistered hotkeys (MetagraphSyncer's listener).
func (v *Validator) SyncMetagraph(ctx context.Context) error {
	mg, err := v.chain.Metagraph(ctx, v.cfg.NetUID)
	if err != nil {
		return fmt.Errorf("metagraph: %w", err)
	}
	uids := make([]chain.UID, mg.N)
	hotkeys := map[string]bool{}
	for i := range uids {
		uids[i] = chain.UID(i)
		hotkeys[mg.Hotkeys[i]] = true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.mg = mg
	if v.miners == nil {
		v.miners = NewMinerIterator(uids, rand.IntN(max(len(uids), 1)))
	} else {
		v.miners.SetUIDs(uids)
	}
	v.state.Models.OnHotkeysUpdated(hotkeys)
	v.metrics.block.Set(float64(mg.Block))
	return nil
}

func (v *Validator) metagraphLoop(ctx context.Context) error {
	for {
		if err := v.clock.Sleep(ctx, v.cfg.MetagraphResync); err != nil {
			return nil
		}
		if err := v.SyncMetagraph(ctx); err != nil {
			v.log.Warn("metagraph resync failed", "err", err)
		}
	}
}

func (v *Validator) metagraph() *chain.Metagraph {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.mg
}

// currentBlock is _get_current_block: the chain's head, or the cached metagraph's block.
func (v *Validator) currentBlock(ctx context.Context) chain.Block {
	for attempt, wait := 0, time.Second; attempt < 5; attempt, wait = attempt+1, wait*2 {
		b, err := v.chain.CurrentBlock(ctx)
		if err == nil {
			v.metrics.block.Set(float64(b))
			return b
		}
		if v.clock.Sleep(ctx, wait) != nil {
			break
		}
	}
	return v.metagraph().Block
}

// seed is _get_seed: the hash of the sync block, or a random seed when the chain fails.
func (v *Validator) seed(ctx context.Context, cur chain.Block) (*big.Int, chain.Block) {
	sync := dataset.SyncBlock(cur)
	for range 3 {
		h, err := v.chain.BlockHash(ctx, sync)
		if err == nil {
			return dataset.SeedFromBlockHash(h.String()), sync
		}
		v.log.Warn("block hash for the seed", "block", sync, "err", err)
	}
	return big.NewInt(rand.Int64N(math.MaxUint32 + 1)), 0
}

// errMisconfigured is the reference's MinerMisconfiguredError: the miner's metadata is
// missing or names a competition that is not active.
var errMisconfigured = errors.New("miner misconfigured")

// syncModel is ModelUpdater.sync_model: read the uid's metadata, check its competition at the
// upload block and now, wait the eval block delay, download into the store, record it, check
// the hash and the constraints. It returns whether a new model is ready to evaluate.
func (v *Validator) syncModel(ctx context.Context, uid chain.UID, hotkey string, cur chain.Block, force bool) (bool, error) {
	c, err := v.chain.Commitment(ctx, v.cfg.NetUID, hotkey)
	if errors.Is(err, chain.ErrNotFound) {
		return false, fmt.Errorf("%w: uid %d has no metadata", errMisconfigured, uid)
	}
	if err != nil {
		return false, chainErr{fmt.Errorf("metadata of uid %d: %w", uid, err)}
	}
	id, err := chain.ParseModelID(c.Data)
	if err != nil {
		return false, fmt.Errorf("%w: uid %d: %v", errMisconfigured, uid, err)
	}
	meta := chain.ModelMetadata{ID: id, Block: c.Block}
	comp, ok, err := v.cfg.Schedule.Lookup(competition.ID(id.CompetitionID), c.Block)
	if err != nil || !ok {
		return false, fmt.Errorf("%w: uid %d: competition %d not active at upload block %d", errMisconfigured, uid, id.CompetitionID, c.Block)
	}
	if _, ok, err := v.cfg.Schedule.Lookup(comp.ID, cur); err != nil || !ok {
		return false, fmt.Errorf("%w: uid %d: competition %d not active at block %d", errMisconfigured, uid, id.CompetitionID, cur)
	}
	if cur-meta.Block < comp.Constraints.EvalBlockDelay {
		return false, nil
	}
	if old, ok := v.state.Models.Metadata(hotkey); !force && ok && old == meta {
		return false, nil
	}
	if comp.Unsupported != "" {
		v.reject(hotkey, meta, "competition not supported here: "+comp.Unsupported)
		return false, nil
	}
	ref := modelstore.Ref{Namespace: id.Namespace, Name: id.Name, Commit: id.Commit}
	dir, hash, err := v.store.Fetch(ctx, v.hub, hotkey, ref, comp.Constraints.MaxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		v.state.Models.OnModelUpdated(hotkey, meta)
		v.reject(hotkey, meta, "download: "+err.Error())
		return false, err
	}
	// Recorded before the checks, so a bad model is not downloaded again until it changes.
	v.state.Models.OnModelUpdated(hotkey, meta)
	// taoverse raises MinerMisconfiguredError for both.
	if err := modelstore.CheckHash(hash, hotkey, id.Hash, id.SecureHash); err != nil {
		v.reject(hotkey, meta, "hash does not match the committed secure hash")
		return false, fmt.Errorf("%w: uid %d: %v", errMisconfigured, uid, err)
	}
	if _, err := eval.CheckDir(dir, comp.Constraints); err != nil {
		v.reject(hotkey, meta, err.Error())
		return false, fmt.Errorf("%w: uid %d: %v", errMisconfigured, uid, err)
	}
	v.mu.Lock()
	delete(v.rejected, hotkey)
	v.mu.Unlock()
	return true, nil
}

func (v *Validator) reject(hotkey string, meta chain.ModelMetadata, reason string) {
	v.log.Info("model rejected", "hotkey", hotkey, "model", meta.ID.String(), "reason", reason)
	v.metrics.failures.WithLabelValues("rejected").Inc()
	v.mu.Lock()
	v.rejected[hotkey] = Rejection{Metadata: meta, Reason: reason}
	v.mu.Unlock()
}

// recordMisconfigured is the reference's handling of MinerMisconfiguredError: an +Inf result
// under competition 0 (a quirk kept as is).
func (v *Validator) recordMisconfigured(hotkey string, cur chain.Block) {
	v.state.Models.OnModelEvaluated(hotkey, 0, EvalResult{Block: cur, Score: math.Inf(1)})
}

// saveState writes the state; the caller holds v.mu.
func (v *Validator) saveState() error {
	return v.state.Save(statePath(v.cfg.ModelDir))
}

// Weights returns the validator's current subnet weights.
func (v *Validator) Weights() []float32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]float32(nil), v.weights...)
}

func removeQuietly(path string) { _ = os.Remove(path) }

// Health is what the health endpoint reports.
type Health struct {
	Block       chain.Block    `json:"block"`
	GlobalStep  int64          `json:"global_step"`
	Pending     int            `json:"pending_uids"`
	Current     int            `json:"current_uids"`
	LastWeights *WeightsRecord `json:"last_weights,omitempty"`
}

// ServeHealth answers GET /healthz with the validator's Health as JSON.
func (v *Validator) ServeHealth(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	h := Health{GlobalStep: v.state.GlobalStep}
	if v.mg != nil {
		h.Block = v.mg.Block
	}
	h.Pending, h.Current = v.state.counts()
	v.mu.Unlock()
	h.LastWeights, _ = LastWeights(v.cfg.ModelDir)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(h)
}

// Config returns the validator's configuration.
func (v *Validator) Config() Config { return v.cfg }
