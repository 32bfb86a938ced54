package train

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// Config is one training run. Zero fields take the documented defaults.
type Config struct {
	Arch   string // "gpt2" or "llama"; must match the preset or init model
	Preset string // nn preset (gpt2-tiny, gpt2-124m, llama-tiny, …); ignored with Init
	Init   string // model directory to continue from (fresh optimizer), instead of a preset
	// When Out holds a state file the run resumes from it and Preset, Init and Seed are
	// ignored; SeqLen, Batch and Accum must be the ones it was started with.
	// Data is a JSON-lines corpus file, optionally .gz ([ReadCorpus]), or the http(s) URL of
	// a datasets-server to draw Pages pages of Dataset from with SN9's loader
	// ([LoadServerCorpus]; Seed seeds the draw).
	Data    string
	Dataset string // dataset.Spec name for a server (default "local")
	Pages   int    // pages drawn from a server (default 20)
	HFToken string // for server datasets that require one
	Out     string // run directory: state file, latest/ and best/ model directories

	// Tokenizer is a built-in name or a tokenizer directory; default: Init's directory when
	// it has a tokenizer.json, else "gpt2" for gpt2 and "Xenova/gpt-4" for llama.
	Tokenizer string

	Steps    int64         // optimizer steps; 0 with Duration: until Duration ends
	Duration time.Duration // wall-clock budget; 0: none

	LR          float64 // peak learning rate, default 1e-3
	MinLR       float64 // floor of the cosine decay, default LR/10
	Warmup      int64   // warm-up steps, default min(100, Steps/10)
	WeightDecay float64 // AdamW decay of 2-D weights, default 0.1
	Clip        float64 // global gradient-norm bound, default 1.0
	Batch       int     // rows per micro-batch, default 8
	Accum       int     // micro-batches per optimizer step, default 1
	SeqLen      int     // tokens per row, default 256
	Seed        uint64  // initialization and data order

	EvalEvery       int64  // steps between held-out evaluations, default 50
	CheckpointEvery int64  // steps between checkpoints, default 100
	EvalWindows     int    // held-out windows evaluated, default 32
	DType           string // checkpoint weights: "F32" (default) or "BF16"

	Log *slog.Logger
	// Progress, if not nil, is called after every optimizer step.
	Progress func(StepReport)
}

// StepReport is the state of a run after an optimizer step.
type StepReport struct {
	Step            int64 // optimizer steps done
	Steps           int64 // the run's length in steps; 0 when bounded by time only
	TokensPerSecond float64
	Loss            float64 // the step's training loss
	HeldOut         float64 // the last held-out loss; NaN before this process's first evaluation
	LR, Norm        float64 // the step's learning rate and gradient norm (before clipping)
	Remaining       time.Duration
}

func (c *Config) fill() error {
	if c.Arch != "gpt2" && c.Arch != "llama" {
		return fmt.Errorf("arch %q (want gpt2 or llama)", c.Arch)
	}
	if c.Data == "" || c.Out == "" {
		return errors.New("data and out are required")
	}
	if (c.Preset == "") == (c.Init == "") {
		return errors.New("give one of preset and init")
	}
	if c.Steps < 0 || c.Duration < 0 || (c.Steps == 0 && c.Duration == 0) {
		return errors.New("give a positive number of steps or a duration")
	}
	c.LR = cmp.Or(c.LR, 1e-3)
	c.MinLR = cmp.Or(c.MinLR, c.LR/10)
	if c.Warmup == 0 {
		c.Warmup = 100
		if c.Steps > 0 {
			c.Warmup = max(1, min(100, c.Steps/10))
		}
	}
	c.WeightDecay = cmp.Or(c.WeightDecay, 0.1)
	c.Clip = cmp.Or(c.Clip, 1.0)
	c.Batch = cmp.Or(c.Batch, 8)
	c.Accum = cmp.Or(c.Accum, 1)
	c.SeqLen = cmp.Or(c.SeqLen, 256)
	c.EvalEvery = cmp.Or(c.EvalEvery, 50)
	c.CheckpointEvery = cmp.Or(c.CheckpointEvery, 100)
	c.EvalWindows = cmp.Or(c.EvalWindows, 32)
	c.DType = cmp.Or(c.DType, "F32")
	switch {
	case c.LR < 0 || c.MinLR < 0 || c.WeightDecay < 0 || c.Clip < 0 || c.Warmup < 0:
		return errors.New("negative learning rate, decay, clip or warm-up")
	case c.Batch < 0 || c.Accum < 0 || c.SeqLen < 2 || c.EvalEvery < 0 || c.CheckpointEvery < 0 || c.EvalWindows < 0:
		return errors.New("batch, accumulation, sequence length or intervals out of range")
	case c.DType != "F32" && c.DType != "BF16":
		return fmt.Errorf("dtype %q (want F32 or BF16)", c.DType)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Result summarizes a run.
type Result struct {
	Step     int64
	Loss     float64 // last training loss
	EvalLoss float64 // last held-out loss
	BestLoss float64
	Curve    []EvalPoint
}

// EvalPoint is one held-out evaluation.
type EvalPoint struct {
	Step   int64
	Tokens int64
	Loss   float64
}

// Run trains until cfg.Steps or cfg.Duration, resuming from cfg.Out's state file when there
// is one. It evaluates held-out loss every EvalEvery steps, writes a checkpoint (state file
// and latest/) every CheckpointEvery steps and at the end, and keeps best/ at the best
// held-out loss. When ctx ends it writes a checkpoint and returns ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	log := cfg.Log.With("component", "train")
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// A run killed while writing a model directory leaves its temporary directory behind.
	stale, _ := filepath.Glob(filepath.Join(cfg.Out, ".*.tmp-*"))
	for _, p := range stale {
		os.RemoveAll(p)
	}
	adam := AdamWConfig{Beta1: 0.9, Beta2: 0.95, WeightDecay: cfg.WeightDecay}
	statePath := filepath.Join(cfg.Out, StateFile)
	var (
		st      *State
		m       *Model
		opt     *AdamW
		cfgJSON []byte
		err     error
	)
	if _, statErr := os.Stat(statePath); statErr == nil {
		if st, m, opt, err = ReadState(statePath, adam); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		cfgJSON = st.Config
		if st.SeqLen != cfg.SeqLen || st.Batch != cfg.Batch || st.Accum != cfg.Accum {
			return nil, fmt.Errorf("train: resume: the run used sequence length %d, batch %d, accumulation %d; now %d, %d, %d",
				st.SeqLen, st.Batch, st.Accum, cfg.SeqLen, cfg.Batch, cfg.Accum)
		}
		if st.Data != cfg.Data || (cfg.Tokenizer != "" && cfg.Tokenizer != st.Tokenizer) {
			return nil, fmt.Errorf("train: resume: the run read %s with tokenizer %s; now %s with %s",
				st.Data, st.Tokenizer, cfg.Data, cmp.Or(cfg.Tokenizer, st.Tokenizer))
		}
		cfg.Tokenizer = st.Tokenizer
		log.Info("resumed", "step", st.Step, "windows", st.Windows)
	} else {
		if m, cfgJSON, err = initModel(cfg); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		opt = NewAdamW(adam, m.Params())
		st = &State{Config: cfgJSON, Seed: cfg.Seed, Total: cfg.Steps, BestLoss: math.Inf(1),
			SeqLen: cfg.SeqLen, Batch: cfg.Batch, Accum: cfg.Accum}
	}
	if want := archOf(m.Config); want != cfg.Arch {
		return nil, fmt.Errorf("train: model is %s, --arch says %s", want, cfg.Arch)
	}
	if cfg.SeqLen > m.Config.Positions {
		return nil, fmt.Errorf("train: sequence length %d exceeds the model's %d positions", cfg.SeqLen, m.Config.Positions)
	}
	tokName := cfg.Tokenizer
	if tokName == "" {
		tokName = map[string]string{"gpt2": "gpt2", "llama": "Xenova/gpt-4"}[cfg.Arch]
		if cfg.Init != "" {
			if _, err := os.Stat(filepath.Join(cfg.Init, "tokenizer.json")); err == nil {
				tokName = cfg.Init
			}
		}
	}
	st.Data, st.Tokenizer = cfg.Data, tokName
	tok, err := tokenizer.Load(tokName)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if tok.VocabSize() > m.Config.VocabSize {
		return nil, fmt.Errorf("train: tokenizer %s has %d tokens, the model's vocabulary %d", tokName, tok.VocabSize(), m.Config.VocabSize)
	}
	cc := CorpusConfig{SeqLen: cfg.SeqLen, MaxEvalWindows: cfg.EvalWindows}
	var corpus *Corpus
	if strings.HasPrefix(cfg.Data, "http://") || strings.HasPrefix(cfg.Data, "https://") {
		corpus, err = LoadServerCorpus(ctx, ServerConfig{Endpoint: cfg.Data, Dataset: cmp.Or(cfg.Dataset, "local"),
			Pages: cfg.Pages, Seed: st.Seed, Token: cfg.HFToken}, tok, cc)
	} else {
		corpus, err = ReadCorpus(ctx, cfg.Data, tok, cc)
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	log.Info("data", "train_windows", len(corpus.Train), "eval_windows", len(corpus.Eval), "seq_len", cfg.SeqLen,
		"params", m.ParamCount())

	st.BestLoss = min(st.BestLoss, readBest(cfg.Out))
	r := &runner{cfg: cfg, log: log, m: m, opt: opt, st: st, corpus: corpus, cfgJSON: cfgJSON, tok: tok,
		order: NewOrder(len(corpus.Train), st.Seed), statePath: statePath}
	return r.loop(ctx)
}

// archOf maps a config to the --arch family.
func archOf(c *nn.Config) string {
	if c.ModelType == "gpt2" {
		return "gpt2"
	}
	return "llama"
}

func initModel(cfg Config) (*Model, []byte, error) {
	if cfg.Init != "" {
		m, err := LoadModel(cfg.Init)
		if err != nil {
			return nil, nil, err
		}
		raw, err := os.ReadFile(filepath.Join(cfg.Init, "config.json"))
		if err != nil {
			return nil, nil, err
		}
		return m, raw, nil
	}
	raw, c, err := nn.Preset(cfg.Preset)
	if err != nil {
		return nil, nil, err
	}
	m, err := NewModel(c, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	return m, raw, nil
}

type runner struct {
	cfg       Config
	log       *slog.Logger
	m         *Model
	opt       *AdamW
	st        *State
	corpus    *Corpus
	cfgJSON   []byte
	tok       *tokenizer.Tokenizer
	order     *Order
	statePath string
}

func (r *runner) schedule() Schedule {
	if r.st.Total == 0 {
		return Schedule{Peak: r.cfg.LR, Min: r.cfg.LR, Warmup: r.cfg.Warmup, Total: r.cfg.Warmup}
	}
	return Schedule{Peak: r.cfg.LR, Min: r.cfg.MinLR, Warmup: r.cfg.Warmup, Total: r.st.Total}
}

// evalLoss is the mean held-out loss over the evaluation windows.
func (r *runner) evalLoss(ctx context.Context) (float64, error) {
	var sum float64
	n := 0
	ev := r.corpus.Eval
	for i := 0; i < len(ev); i += r.cfg.Batch {
		b := ev[i:min(i+r.cfg.Batch, len(ev))]
		l, err := r.m.Loss(ctx, b)
		if err != nil {
			return 0, err
		}
		sum += l * float64(len(b))
		n += len(b)
	}
	return sum / float64(n), nil
}

// bestFile records best/'s held-out loss beside it, since best/ may be newer than the
// last state file: a resumed run must not replace it with a worse model.
const bestFile = "best.json"

type bestRecord struct {
	Step int64   `json:"step"`
	Loss float64 `json:"held_out_loss"`
}

func (r *runner) writeBest(step int64, loss float64) error {
	if err := WriteModelDir(filepath.Join(r.cfg.Out, "best"), r.m, r.cfgJSON, r.cfg.DType, r.tok); err != nil {
		return err
	}
	b, err := json.Marshal(bestRecord{Step: step, Loss: loss})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(r.cfg.Out, bestFile), b, 0o644)
}

// readBest returns the held-out loss of the best/ model on disk, +Inf if none.
func readBest(out string) float64 {
	b, err := os.ReadFile(filepath.Join(out, bestFile))
	if err != nil {
		return math.Inf(1)
	}
	var rec bestRecord
	if json.Unmarshal(b, &rec) != nil || math.IsNaN(rec.Loss) {
		return math.Inf(1)
	}
	return rec.Loss
}

func (r *runner) checkpoint() error {
	if err := WriteState(r.statePath, r.st, r.m, r.opt); err != nil {
		return err
	}
	return WriteModelDir(filepath.Join(r.cfg.Out, "latest"), r.m, r.cfgJSON, r.cfg.DType, r.tok)
}

func (r *runner) loop(ctx context.Context) (*Result, error) {
	cfg, st := r.cfg, r.st
	res := &Result{EvalLoss: math.NaN(), BestLoss: st.BestLoss}
	sched := r.schedule()
	params := r.m.Params()
	start := time.Now()
	startStep := st.Step
	tokensPerStep := int64(cfg.Batch * cfg.Accum * cfg.SeqLen)
	batch := make([][]int32, cfg.Batch)
	done := func() bool {
		if cfg.Steps > 0 && st.Step >= cfg.Steps {
			return true
		}
		return cfg.Duration > 0 && time.Since(start) >= cfg.Duration
	}
	for !done() {
		if err := ctx.Err(); err != nil {
			if cerr := r.checkpoint(); cerr != nil {
				return res, errors.Join(err, cerr)
			}
			return res, err
		}
		r.m.ZeroGrad()
		var loss float64
		for range cfg.Accum {
			for i := range batch {
				batch[i] = r.corpus.Train[r.order.Window(st.Windows)]
				st.Windows++
			}
			l, err := r.m.Backward(ctx, batch, 1/float64(cfg.Accum))
			if err != nil {
				if ctx.Err() != nil {
					continue // the loop's check writes the checkpoint of the last whole step
				}
				return res, fmt.Errorf("train: step %d: %w", st.Step, err)
			}
			loss += l / float64(cfg.Accum)
		}
		if ctx.Err() != nil {
			st.Windows -= int64(cfg.Accum * cfg.Batch) // the interrupted step is not taken
			continue
		}
		norm := ClipGradNorm(params, cfg.Clip)
		lr := sched.LR(st.Step)
		if err := r.opt.Update(params, lr); err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
		st.Step++
		res.Step, res.Loss = st.Step, loss
		if cfg.EvalEvery > 0 && (st.Step%cfg.EvalEvery == 0 || done()) {
			ev, err := r.evalLoss(ctx)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				return res, fmt.Errorf("train: eval: %w", err)
			}
			res.EvalLoss = ev
			res.Curve = append(res.Curve, EvalPoint{Step: st.Step, Tokens: st.Step * tokensPerStep, Loss: ev})
			r.log.Info("eval", "step", st.Step, "held_out_loss", ev)
			if ev < st.BestLoss {
				st.BestLoss, res.BestLoss = ev, ev
				if err := r.writeBest(st.Step, ev); err != nil {
					return res, fmt.Errorf("train: %w", err)
				}
			}
		}
		if r.cfg.Progress != nil {
			elapsed := time.Since(start)
			rep := StepReport{Step: st.Step, Steps: cfg.Steps, Loss: loss, HeldOut: res.EvalLoss, LR: lr, Norm: norm, Remaining: -1,
				TokensPerSecond: float64((st.Step-startStep)*tokensPerStep) / elapsed.Seconds()}
			if cfg.Steps > 0 {
				rep.Remaining = time.Duration(float64(cfg.Steps-st.Step) * float64(elapsed) / float64(st.Step-startStep))
			} else if cfg.Duration > 0 {
				rep.Remaining = cfg.Duration - elapsed
			}
			r.cfg.Progress(rep)
		}
		if cfg.CheckpointEvery > 0 && st.Step%cfg.CheckpointEvery == 0 {
			if err := r.checkpoint(); err != nil {
				return res, fmt.Errorf("train: %w", err)
			}
		}
	}
	if err := r.checkpoint(); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	return res, nil
}
