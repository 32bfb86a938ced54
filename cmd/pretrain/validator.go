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

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/internal/httpserve"
	"github.com/pretrain/pretrain/validator"
)

// validatorCmd runs the SN9 validator (sn9-spec.md §2) with the reference's flags.
type validatorCmd struct {
	Config kong.ConfigFlag `help:"JSON file of flag values (keys are flag names, e.g. \"netuid\": 9)."`

	walletFlags  `embed:""`
	backendFlags `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	Schedule     string `default:"mainnet" enum:"mainnet,local" help:"Competition schedule: ${enum}."`

	HubEndpoint  string `name:"hub.endpoint" env:"HF_ENDPOINT" default:"https://huggingface.co" help:"Model hub."`
	HubToken     string `name:"hub.token" env:"HF_ACCESS_TOKEN" help:"Hub token for private reads (rarely needed)."`
	DataEndpoint string `name:"data.endpoint" default:"https://datasets-server.huggingface.co" help:"Datasets-server."`
	HFToken      string `name:"data.hf_token" env:"HF_TOKEN" help:"HF token for the datasets that need one (Stack)."`
	AWSKeyID     string `name:"data.aws_access_key_id" env:"AWS_ACCESS_KEY_ID" help:"AWS key id for Stack v2 contents."`
	AWSSecret    string `name:"data.aws_secret_access_key" env:"AWS_SECRET_ACCESS_KEY" help:"AWS secret for Stack v2 contents."`
	DataCache    string `name:"data.cache_dir" type:"path" help:"Keep fetched pages here (default MODEL_DIR/data-cache)."`

	ModelDir           string `name:"model_dir" type:"path" default:"model-store" help:"Model store and validator state."`
	SampleMin          int    `name:"sample_min" default:"5" help:"Uids each competition keeps evaluating."`
	UpdatedModelsLimit int    `name:"updated_models_limit" default:"25" help:"Queued uids before the update loop waits."`
	DontSetWeights     bool   `name:"dont_set_weights" help:"Evaluate but never set weights."`
	Offline            bool   `help:"No weights, nothing signed, no wallet needed."`

	EvalTimeout  time.Duration `name:"eval.timeout" default:"550s" help:"Time limit of one model's evaluation."`
	EvalMemory   int64         `name:"eval.memory_gb" default:"0" help:"Heap limit of an evaluation worker in GiB (0: none)."`
	StepLog      string        `name:"steplog" type:"path" help:"Step log, JSON lines (default MODEL_DIR/vali-state/steps.jsonl)."`
	Listen       string        `name:"metrics.listen" help:"Serve /metrics, /healthz and /steplog on this address (e.g. 127.0.0.1:9100)."`
	WeightsEvery time.Duration `name:"weights.interval" default:"1h" help:"Time between weight settings."`
	Resync       time.Duration `name:"metagraph.resync" default:"20m" help:"Metagraph resync interval."`
	ChainCadence time.Duration `name:"chain_update_cadence" default:"20m" help:"Minimum time between two metadata checks of one uid."`
	ScanCadence  time.Duration `name:"scan_top_model_cadence" default:"30m" help:"Time between scans of the top miners."`
}

func (c *validatorCmd) Run(ctx context.Context, e *env) error {
	sched, ok := competition.Schedules[c.Schedule]
	if !ok {
		return fmt.Errorf("%w: --schedule %q", errUsage, c.Schedule)
	}
	cfg := validator.DefaultConfig()
	cfg.NetUID, cfg.Schedule, cfg.ModelDir = c.NetUID, sched, c.ModelDir
	cfg.SampleMin, cfg.UpdatedModelsLimit = c.SampleMin, c.UpdatedModelsLimit
	cfg.DontSetWeights, cfg.Offline = c.DontSetWeights, c.Offline
	cfg.StepLog, cfg.WeightsInterval, cfg.MetagraphResync = c.StepLog, c.WeightsEvery, c.Resync
	cfg.ChainUpdateCadence, cfg.ScanTopModelCadence = c.ChainCadence, c.ScanCadence
	cfg.Logger = e.log
	ch, err := c.backendFlags.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	deps := validator.Deps{Chain: ch}
	if !c.Offline && !c.DontSetWeights {
		hot, _, err := walletKeys(c.walletFlags)
		if err != nil {
			return err
		}
		deps.Signer = hot
	}
	if deps.Hub, err = hub.New(hub.Config{Endpoint: c.HubEndpoint, Token: c.HubToken, Logger: e.log}); err != nil {
		return err
	}
	cache := c.DataCache
	if cache == "" {
		cache = filepath.Join(c.ModelDir, "data-cache")
	}
	if deps.Data, err = dataset.NewSources(dataset.SourcesConfig{Endpoint: c.DataEndpoint, HFToken: c.HFToken,
		AWSAccessKeyID: c.AWSKeyID, AWSSecretAccessKey: c.AWSSecret, CacheDir: cache, Logger: e.log}); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	deps.Evaluator = &eval.Worker{Command: []string{exe, "eval-worker"}, Timeout: c.EvalTimeout,
		MemoryLimit: uint64(c.EvalMemory) << 30, Logger: e.log}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	deps.Metrics = validator.NewMetrics(reg)
	v, err := validator.New(cfg, deps)
	if err != nil {
		return err
	}
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
