package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/internal/httpserve"
	"github.com/pretrain/pretrain/validator"
)

// validatorCmd groups the validator's commands: run (the default) and replay.
type validatorCmd struct {
	Run    validatorRunCmd    `cmd:"" default:"withargs" help:"Run the validator (the default: 'pretrain validator --wallet.name W ...')."`
	Replay validatorReplayCmd `cmd:"" help:"Re-run a logged step from its seed, pages and model revisions; report every difference."`
}

// validatorFlags are the reference's validator flags, shared by run and replay.
type validatorFlags struct {
	Config kong.ConfigFlag `help:"JSON file of flag values (keys are flag names, e.g. \"netuid\": 9)."`

	walletFlags     `embed:""`
	subnetFlags     `embed:""`
	hubFlags        `embed:""`
	dataSourceFlags `embed:""`

	ModelDir           string `name:"model_dir" type:"path" default:"model-store" help:"Model store and validator state."`
	SampleMin          int    `name:"sample_min" default:"5" help:"Uids each competition keeps evaluating."`
	UpdatedModelsLimit int    `name:"updated_models_limit" default:"25" help:"Queued uids before the update loop waits."`
	DontSetWeights     bool   `name:"dont_set_weights" help:"Evaluate but never set weights."`
	Offline            bool   `help:"No weights, nothing signed, no wallet needed."`

	EvalTimeout time.Duration `name:"eval.timeout" default:"550s" help:"Time limit of one model's evaluation."`
	EvalMemory  int64         `name:"eval.memory_gb" default:"0" help:"Heap limit of an evaluation worker in GiB (0: none)."`
	StepLog     string        `name:"steplog" type:"path" help:"Step log file (JSON lines). Default MODEL_DIR/vali-state/steps.jsonl."`
}

// validatorRunCmd runs the SN9 validator (the reference's neurons/validator.py).
type validatorRunCmd struct {
	validatorFlags `embed:""`
	Listen         string        `name:"metrics.listen" help:"Serve /metrics, /healthz and /steplog on this address (e.g. 127.0.0.1:9100)."`
	WeightsEvery   time.Duration `name:"weights.interval" default:"1h" help:"Time between weight settings."`
	Resync         time.Duration `name:"metagraph.resync" default:"20m" help:"Metagraph resync interval."`
	ChainCadence   time.Duration `name:"chain_update_cadence" default:"20m" help:"Minimum time between two metadata checks of one uid."`
	ScanCadence    time.Duration `name:"scan_top_model_cadence" default:"30m" help:"Time between scans of the top miners."`
	WandBProject   string        `name:"wandb.project" help:"Log steps to this W&B project (needs WANDB_API_KEY; off by default)."`
	WandBEntity    string        `name:"wandb.entity" default:"macrocosmos" help:"W&B entity."`
	WandBKey       string        `name:"wandb.api_key" env:"WANDB_API_KEY" help:"W&B API key (sent only to the W&B endpoint)."`
	WandBHost      string        `name:"wandb.endpoint" default:"https://api.wandb.ai" help:"W&B API endpoint."`
}

// build connects the validator's parts; signer says whether a wallet is needed.
func (c *validatorFlags) build(ctx context.Context, e *env, reg prometheus.Registerer, signer bool,
	wandb *validator.WandB, tune func(*validator.Config)) (*validator.Validator, func() error, error) {
	sched := c.schedule()
	cfg := validator.DefaultConfig()
	cfg.NetUID, cfg.Schedule, cfg.ModelDir = c.NetUID, sched, c.ModelDir
	cfg.SampleMin, cfg.UpdatedModelsLimit = c.SampleMin, c.UpdatedModelsLimit
	cfg.DontSetWeights, cfg.Offline = c.DontSetWeights, c.Offline
	cfg.StepLog = c.StepLog
	cfg.Logger = e.log
	if tune != nil {
		tune(&cfg)
	}
	ch, err := c.backendFlags.open(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*validator.Validator, func() error, error) {
		ch.Close()
		return nil, nil, err
	}
	deps := validator.Deps{Chain: ch, WandB: wandb}
	if signer && !c.Offline && !c.DontSetWeights {
		hot, _, err := walletKeys(c.walletFlags)
		if err != nil {
			return fail(err)
		}
		deps.Signer = hot
	}
	// No progress bars: a validator downloads all day, and its stderr is a log.
	if deps.Hub, err = hub.New(hub.Config{Endpoint: c.HubEndpoint, Token: c.Token, Logger: e.log}); err != nil {
		return fail(err)
	}
	if deps.Data, err = c.sources(e, filepath.Join(c.ModelDir, "data-cache"), scheduleSpecs(sched)...); err != nil {
		return fail(err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	deps.Evaluator = &eval.Worker{Command: []string{exe, "eval-worker"}, Timeout: c.EvalTimeout,
		MemoryLimit: uint64(c.EvalMemory) << 30}
	deps.Metrics = validator.NewMetrics(reg)
	v, err := validator.New(cfg, deps)
	if err != nil {
		return fail(err)
	}
	return v, ch.Close, nil
}

func (c *validatorRunCmd) Run(ctx context.Context, e *env) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var wandb *validator.WandB
	if c.WandBProject != "" && !c.Offline {
		wandb = &validator.WandB{Endpoint: c.WandBHost, APIKey: c.WandBKey, Entity: c.WandBEntity, Project: c.WandBProject,
			Version: versionString(), Logger: e.log}
		if err := wandb.Validate(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	}
	v, closeChain, err := c.build(ctx, e, reg, true, wandb, func(cfg *validator.Config) {
		cfg.WeightsInterval, cfg.MetagraphResync = c.WeightsEvery, c.Resync
		cfg.ChainUpdateCadence, cfg.ScanTopModelCadence = c.ChainCadence, c.ScanCadence
	})
	if err != nil {
		return err
	}
	defer closeChain()
	g, ctx := errgroup.WithContext(ctx)
	if c.Listen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("GET /steplog", v.StepLog())
		mux.HandleFunc("GET /healthz", v.ServeHealth)
		g.Go(func() error {
			return httpserve.Run(ctx, "validator", c.Listen, mux, e.log, nil)
		})
	}
	g.Go(func() error { return v.Run(ctx) })
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// evalWorkerCmd is the child process that scores one model (the eval package's protocol):
// a JSON request on stdin, a JSON response on stdout.
type evalWorkerCmd struct{}

func (c *evalWorkerCmd) Run(ctx context.Context, e *env) error {
	return eval.RunWorker(ctx, e.stdin, e.stdout, e.log)
}

// validatorReplayCmd re-runs one logged step and prints the differences as JSON.
type validatorReplayCmd struct {
	validatorFlags `embed:""`
	Log            string `name:"log" required:"" type:"existingfile" help:"Step log (JSON lines) holding the step."`
	Step           int64  `required:"" help:"Global step to replay."`
}

func (c *validatorReplayCmd) Run(ctx context.Context, e *env) error {
	f, err := os.Open(c.Log)
	if err != nil {
		return err
	}
	recs, err := validator.ReadSteps(f, c.Step-1)
	f.Close()
	if err != nil {
		return err
	}
	if len(recs) == 0 || recs[0].Step != c.Step {
		return fmt.Errorf("%w: step %d is not in %s", errUsage, c.Step, c.Log)
	}
	c.Offline = true // replay never signs
	v, closeChain, err := c.build(ctx, e, nil, false, nil, nil)
	if err != nil {
		return err
	}
	defer closeChain()
	rep, err := v.Replay(ctx, recs[0])
	if err != nil {
		return err
	}
	if err := printJSON(e, rep); err != nil {
		return err
	}
	if len(rep.Differences) > 0 {
		return fmt.Errorf("step %d: %d differences from the record", c.Step, len(rep.Differences))
	}
	return nil
}
