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
	// Arch is "gpt2" or "llama", or "" to follow the model; when given it must be the
	// family of the preset, the init model or the resumed run's model.
	Arch   string
	Preset string // nn preset (gpt2-tiny, gpt2-124m, llama-tiny, …); ignored with Init
	Init   string // model directory to continue from (fresh optimizer), instead of a preset
	// When Out holds a state file the run resumes from it and Preset, Init and Seed are
	// ignored; SeqLen, Batch, Accum and Tokenizer, zero or the ones it was started with,
	// default to the run's.
	// Data is a JSON-lines corpus file, optionally .gz ([ReadCorpus]), or the http(s) URL of
	// a datasets-server to draw Pages pages of Dataset from with SN9's loader
	// ([LoadServerCorpus]; Seed seeds the draw).
	Data    string
	Dataset string // dataset.Spec name for a server (default "local")
	Pages   int    // pages drawn from a server (default 20)
	HFToken string // for server datasets that require one
	// Out is the run directory: state file, best.json, latest/ and best/ model directories.
	// It must be new, empty or a run directory (see [StartOver]).
	Out string
	// Fresh starts over: [StartOver] removes what the trainer owns in Out first.
	Fresh bool

	// Tokenizer is a built-in name or a tokenizer directory. A new run without one takes
	// DefaultTokenizer (the competition's), else Init's directory when it has a
	// tokenizer.json, else "gpt2" for gpt2 and "Xenova/gpt-4" for llama.
	Tokenizer        string
	DefaultTokenizer string

	// Steps ends the run at that step; with Steps the rate follows a warm-up + cosine
	// [Schedule] over Steps. Duration ends it once its training time, counted across
	// resumes, reaches Duration; with Duration alone the rate follows a [TimeSchedule] over
	// it. One of them is required.
	Steps    int64
	Duration time.Duration

	LR          float64 // peak learning rate, default 1e-3
	MinLR       float64 // floor of the cosine decay, default LR/10
	Warmup      int64   // warm-up steps, default min(100, steps/10) of the run's step plan, else 100
	WeightDecay float64 // AdamW decay of 2-D weights, default 0.1
	Clip        float64 // global gradient-norm bound, default 1.0
	Batch       int     // rows per micro-batch, default 8
	Accum       int     // micro-batches per optimizer step, default 1
	// SeqLen is tokens per row; a new run without one takes DefaultSeqLen (the
	// competition's), else 256.
	SeqLen        int
	DefaultSeqLen int
	Seed          uint64 // initialization and data order

	EvalEvery       int64  // steps between held-out evaluations, default 50
	CheckpointEvery int64  // steps between checkpoints, default 100
	EvalWindows     int    // held-out windows evaluated, default 32
	DType           string // checkpoint weights: "F32" (default) or "BF16"

	Log *slog.Logger
	// Started, if not nil, is called once the run is set up, before its first step.
	Started func(Start)
	// Progress, if not nil, is called after every optimizer step.
	Progress func(StepReport)
	// Clock is the time source of the budget, the time plan and the estimates (default
	// time.Now).
	Clock func() time.Time
}

// Checkpoint is one of a run's model directories.
type Checkpoint struct {
	Dir   string  // absolute path
	Saved bool    // whether the directory has been written
	Step  int64   // the step it holds
	Loss  float64 // its held-out loss (best/); NaN where not measured (latest/)
}

// Start describes a run as it begins.
type Start struct {
	Out     string // the run directory, absolute
	Resumed bool
	Removed []string // what Fresh removed from Out
	// Step and Elapsed are the steps and training time of the run before this process.
	Step    int64
	Elapsed time.Duration
	// Best is best/, the model of the lowest held-out loss; Latest is latest/, the last
	// checkpoint.
	Best, Latest Checkpoint
	Architecture string // config.json's architectures[0]
	Params       int64
	Tokenizer    string
	SeqLen       int
	TrainWindows int
	EvalWindows  int
	Plan         string // the learning-rate plan, in words
}

// StepReport is the state of a run after an optimizer step.
type StepReport struct {
	Step      int64 // optimizer steps done
	Steps     int64 // the run's last step; 0 when bounded by time only
	StartStep int64 // the step this process started from
	// Elapsed is the run's training time, across resumes; Budget its time budget (0: none).
	Elapsed, Budget time.Duration
	// Remaining estimates the time left, never negative: the steps left at this process's
	// pace, the budget left, or the smaller of both.
	Remaining       time.Duration
	TokensPerSecond float64
	Loss            float64 // the step's training loss
	// HeldOut is the last held-out loss, measured at step HeldOutStep; NaN before this
	// process's first evaluation.
	HeldOut     float64
	HeldOutStep int64
	LR, Norm    float64 // the step's learning rate and gradient norm (before clipping)
}

// remaining is StepReport.Remaining: steps and budget bound the run (zero: no bound),
// here is this process's time for its steps since startStep, elapsed the run's.
func remaining(steps, step, startStep int64, here, budget, elapsed time.Duration) time.Duration {
	left := time.Duration(math.MaxInt64)
	if steps > 0 && step > startStep {
		est := float64(max(steps-step, 0)) * float64(here) / float64(step-startStep)
		left = time.Duration(min(est, float64(math.MaxInt64/2)))
	}
	if budget > 0 {
		left = min(left, max(budget-elapsed, 0))
	}
	return max(left, 0)
}

func (c *Config) fill() error {
	if c.Arch != "" && c.Arch != "gpt2" && c.Arch != "llama" {
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
	c.WeightDecay = cmp.Or(c.WeightDecay, 0.1)
	c.Clip = cmp.Or(c.Clip, 1.0)
	c.EvalEvery = cmp.Or(c.EvalEvery, 50)
	c.CheckpointEvery = cmp.Or(c.CheckpointEvery, 100)
	c.EvalWindows = cmp.Or(c.EvalWindows, 32)
	c.DType = cmp.Or(c.DType, "F32")
	switch {
	case c.LR < 0 || c.MinLR < 0 || c.WeightDecay < 0 || c.Clip < 0 || c.Warmup < 0:
		return errors.New("negative learning rate, decay, clip or warm-up")
	case c.Batch < 0 || c.Accum < 0 || c.SeqLen < 0 || c.DefaultSeqLen < 0 || c.EvalEvery < 0 || c.CheckpointEvery < 0 || c.EvalWindows < 0:
		return errors.New("batch, accumulation, sequence length or intervals out of range")
	case c.DType != "F32" && c.DType != "BF16":
		return fmt.Errorf("dtype %q (want F32 or BF16)", c.DType)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	abs, err := filepath.Abs(c.Out)
	if err != nil {
		return err
	}
	c.Out = abs
	return nil
}

// Result summarizes a run.
type Result struct {
	Step     int64
	Loss     float64 // last training loss
	EvalLoss float64 // last held-out loss (NaN if this process evaluated none)
	EvalStep int64   // the step EvalLoss was measured at
	BestLoss float64
	// Best and Latest are the run's model directories as it ends.
	Best, Latest Checkpoint
	Elapsed      time.Duration // the run's training time, across resumes
	Curve        []EvalPoint
}

// EvalPoint is one held-out evaluation.
type EvalPoint struct {
	Step   int64   `json:"step"`
	Tokens int64   `json:"tokens"` // training tokens seen by then
	Loss   float64 `json:"held_out_loss"`
}

// Run trains until cfg.Steps or cfg.Duration, resuming from cfg.Out's state file when there
// is one. It evaluates held-out loss every EvalEvery steps and at the end, writes a
// checkpoint (state file and latest/) every CheckpointEvery steps and at the end, and keeps
// best/ at the best held-out loss. When ctx ends it writes a checkpoint and returns ctx's
// error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	log := cfg.Log.With("component", "train")
	var removed []string
	if cfg.Fresh {
		if err := checkInitOutside(cfg.Init, cfg.Out); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		var err error
		if removed, err = StartOver(cfg.Out); err != nil { // which checks Out as checkRunDir does
			return nil, fmt.Errorf("train: %w", err)
		}
	} else {
		entries, err := checkRunDir(cfg.Out)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		removeStale(cfg.Out, entries)
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
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
	_, statErr := os.Stat(statePath)
	resumed := statErr == nil
	if resumed {
		if st, m, opt, err = ReadState(statePath, adam); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		cfgJSON = st.Config
		if err := checkArch(cfg.Arch, m.Config, "the run in "+cfg.Out); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := keepStream(&cfg, st); err != nil {
			return nil, fmt.Errorf("train: resume: %w", err)
		}
		log.Info("resumed", "step", st.Step, "windows", st.Windows)
	} else {
		if m, cfgJSON, err = initModel(cfg); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		opt = NewAdamW(adam, m.Params())
		st = &State{Config: cfgJSON, Seed: cfg.Seed, BestLoss: math.Inf(1)}
		if cfg.Steps > 0 {
			st.Total = cfg.Steps
		} else {
			st.Budget = cfg.Duration.Seconds()
		}
		cfg.SeqLen = cmp.Or(cfg.SeqLen, cfg.DefaultSeqLen, 256)
		cfg.Batch = cmp.Or(cfg.Batch, 8)
		cfg.Accum = cmp.Or(cfg.Accum, 1)
		st.SeqLen, st.Batch, st.Accum = cfg.SeqLen, cfg.Batch, cfg.Accum
	}
	if cfg.Warmup == 0 { // by the plan the run started with, so that a resumed run keeps it
		cfg.Warmup = 100
		if st.Total > 0 {
			cfg.Warmup = max(1, min(100, st.Total/10))
		}
	}
	if cfg.SeqLen < 2 {
		return nil, fmt.Errorf("train: sequence length %d (need at least 2)", cfg.SeqLen)
	}
	if cfg.SeqLen > m.Config.Positions {
		return nil, fmt.Errorf("train: sequence length %d exceeds the model's %d positions", cfg.SeqLen, m.Config.Positions)
	}
	tokName := cfg.Tokenizer
	if tokName == "" {
		tokName = cmp.Or(cfg.DefaultTokenizer, map[string]string{"gpt2": "gpt2", "llama": "Xenova/gpt-4"}[archOf(m.Config)])
		if cfg.DefaultTokenizer == "" && cfg.Init != "" {
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

	best := readBest(cfg.Out)
	st.BestLoss = min(st.BestLoss, best.Loss)
	r := &runner{cfg: cfg, log: log, m: m, opt: opt, st: st, corpus: corpus, cfgJSON: cfgJSON, tok: tok,
		order: NewOrder(len(corpus.Train), st.Seed), statePath: statePath, best: best}
	if cfg.Started != nil {
		arch := ""
		if len(m.Config.Architectures) > 0 {
			arch = m.Config.Architectures[0]
		}
		cfg.Started(Start{Out: cfg.Out, Resumed: resumed, Removed: removed, Step: st.Step, Elapsed: st.elapsed(),
			Best: r.bestCheckpoint(), Latest: r.latestCheckpoint(st.Step),
			Architecture: arch, Params: m.ParamCount(), Tokenizer: tokName, SeqLen: cfg.SeqLen,
			TrainWindows: len(corpus.Train), EvalWindows: len(corpus.Eval), Plan: r.plan()})
	}
	return r.loop(ctx)
}

// checkInitOutside refuses an init model directory that starting over in out would remove
// (its latest/ or best/, or out itself).
func checkInitOutside(init, out string) error {
	if init == "" {
		return nil
	}
	abs, err := filepath.Abs(init)
	if err != nil {
		return err
	}
	for _, name := range []string{"", "latest", "best"} {
		dir := filepath.Join(out, name)
		if rel, err := filepath.Rel(dir, abs); err == nil && (rel == "." || (name != "" && !strings.HasPrefix(rel, ".."))) {
			return fmt.Errorf("the init model %s is in %s, which starting over removes; copy it elsewhere first", init, dir)
		}
	}
	return nil
}

// keepStream takes the resumed run's sequence length, batch, accumulation and tokenizer
// where cfg gives none, and refuses other ones: the data position counts windows of the
// run's shape in the run's token stream.
func keepStream(cfg *Config, st *State) error {
	cfg.SeqLen, cfg.Batch, cfg.Accum = cmp.Or(cfg.SeqLen, st.SeqLen), cmp.Or(cfg.Batch, st.Batch), cmp.Or(cfg.Accum, st.Accum)
	if st.SeqLen != cfg.SeqLen || st.Batch != cfg.Batch || st.Accum != cfg.Accum {
		return fmt.Errorf("the run used sequence length %d, batch %d, accumulation %d; now %d, %d, %d",
			st.SeqLen, st.Batch, st.Accum, cfg.SeqLen, cfg.Batch, cfg.Accum)
	}
	if st.Data != cfg.Data || (cfg.Tokenizer != "" && cfg.Tokenizer != st.Tokenizer) {
		return fmt.Errorf("the run read %s with tokenizer %s; now %s with %s",
			st.Data, st.Tokenizer, cfg.Data, cmp.Or(cfg.Tokenizer, st.Tokenizer))
	}
	cfg.Tokenizer = st.Tokenizer
	return nil
}

// elapsed is the training time the state records.
func (st *State) elapsed() time.Duration { return time.Duration(st.Elapsed * float64(time.Second)) }

// archOf maps a config to the --arch family.
func archOf(c *nn.Config) string {
	if c.ModelType == "gpt2" {
		return "gpt2"
	}
	return "llama"
}

// checkArch refuses an arch (when given) that is not the family of the model c, which what
// describes.
func checkArch(arch string, c *nn.Config, what string) error {
	if family := archOf(c); arch != "" && arch != family {
		return fmt.Errorf("arch %s contradicts %s, a %s model (%s); leave arch out to follow the model",
			arch, what, family, c.ModelType)
	}
	return nil
}

// initModel builds a new run's model from the preset or the init directory, after reading
// only its config, so that a contradicting arch is refused before any weights are made.
func initModel(cfg Config) (*Model, []byte, error) {
	if cfg.Init != "" {
		raw, err := os.ReadFile(filepath.Join(cfg.Init, "config.json"))
		if err != nil {
			return nil, nil, err
		}
		c, err := nn.ParseConfig(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", cfg.Init, err)
		}
		if err := checkArch(cfg.Arch, c, "init model "+cfg.Init); err != nil {
			return nil, nil, err
		}
		m, err := LoadModel(cfg.Init)
		if err != nil {
			return nil, nil, err
		}
		return m, raw, nil
	}
	raw, c, err := nn.Preset(cfg.Preset)
	if err != nil {
		return nil, nil, err
	}
	if err := checkArch(cfg.Arch, c, "preset "+cfg.Preset); err != nil {
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
	best      bestRecord // what best/ holds

	// The clock at this process's first step and the run's training time then.
	start        time.Time
	startElapsed time.Duration
}

// elapsed is the run's training time now, across resumes.
func (r *runner) elapsed() time.Duration { return r.startElapsed + r.cfg.Clock().Sub(r.start) }

// lr is the learning rate of step, begun after elapsed training time, by the plan the run
// started with.
func (r *runner) lr(step int64, elapsed time.Duration) float64 {
	switch {
	case r.st.Total > 0:
		return Schedule{Peak: r.cfg.LR, Min: r.cfg.MinLR, Warmup: r.cfg.Warmup, Total: r.st.Total}.LR(step)
	case r.st.Budget > 0:
		return TimeSchedule{Peak: r.cfg.LR, Min: r.cfg.MinLR, Warmup: r.cfg.Warmup, WarmupShare: timeWarmupShare,
			Budget: time.Duration(r.st.Budget * float64(time.Second))}.LR(step, elapsed)
	}
	return Schedule{Peak: r.cfg.LR, Min: r.cfg.LR, Warmup: r.cfg.Warmup, Total: r.cfg.Warmup}.LR(step)
}

// timeWarmupShare is the share of a time budget after which a time plan's warm-up ends,
// if its steps have not.
const timeWarmupShare = 0.1

// plan describes the learning-rate plan.
func (r *runner) plan() string {
	const spent = "; spent already, so the rate stays at the floor (a run keeps the plan it started with; starting over plans anew)"
	switch {
	case r.st.Total > 0:
		s := fmt.Sprintf("warm-up over %d steps to %.3g, cosine to %.3g at step %d", r.cfg.Warmup, r.cfg.LR, r.cfg.MinLR, r.st.Total)
		if r.st.Step >= r.st.Total {
			s += spent
		}
		return s
	case r.st.Budget > 0:
		budget := time.Duration(r.st.Budget * float64(time.Second))
		s := fmt.Sprintf("warm-up over %d steps or the first %s to %.3g, cosine to %.3g over the %s time budget (by training time spent)",
			r.cfg.Warmup, time.Duration(timeWarmupShare*float64(budget)).Round(time.Second), r.cfg.LR, r.cfg.MinLR, budget.Round(time.Second))
		if r.st.elapsed() >= budget {
			s += spent
		}
		return s
	}
	return fmt.Sprintf("warm-up over %d steps to %.3g, then constant (a run started before time plans)", r.cfg.Warmup, r.cfg.LR)
}

// bestCheckpoint and latestCheckpoint describe best/ and latest/ (latest/ written at step).
func (r *runner) bestCheckpoint() Checkpoint {
	c := Checkpoint{Dir: filepath.Join(r.cfg.Out, "best"), Step: r.best.Step, Loss: r.best.Loss}
	c.Saved = !math.IsInf(c.Loss, 1) && isDir(c.Dir)
	return c
}

func (r *runner) latestCheckpoint(step int64) Checkpoint {
	c := Checkpoint{Dir: filepath.Join(r.cfg.Out, "latest"), Step: step, Loss: math.NaN()}
	c.Saved = isDir(c.Dir)
	return c
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
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
	rec := bestRecord{Step: step, Loss: loss}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(r.cfg.Out, bestFile), b, 0o644); err != nil {
		return err
	}
	r.best = rec
	return nil
}

// readBest returns what best/ on disk holds; its loss is +Inf if there is none.
func readBest(out string) bestRecord {
	none := bestRecord{Loss: math.Inf(1)}
	b, err := os.ReadFile(filepath.Join(out, bestFile))
	if err != nil {
		return none
	}
	var rec bestRecord
	if json.Unmarshal(b, &rec) != nil || math.IsNaN(rec.Loss) {
		return none
	}
	return rec
}

func (r *runner) checkpoint() error {
	r.st.Elapsed = r.elapsed().Seconds()
	if err := WriteState(r.statePath, r.st, r.m, r.opt); err != nil {
		return err
	}
	return WriteModelDir(filepath.Join(r.cfg.Out, "latest"), r.m, r.cfgJSON, r.cfg.DType, r.tok)
}

// evaluate measures the held-out loss after the current step, records it in res, and
// writes best/ when it is the lowest so far.
func (r *runner) evaluate(ctx context.Context, res *Result) error {
	ev, err := r.evalLoss(ctx)
	if err != nil {
		return err
	}
	step := r.st.Step
	tokensPerStep := int64(r.cfg.Batch * r.cfg.Accum * r.cfg.SeqLen)
	res.EvalLoss, res.EvalStep = ev, step
	res.Curve = append(res.Curve, EvalPoint{Step: step, Tokens: step * tokensPerStep, Loss: ev})
	r.log.Info("eval", "step", step, "held_out_loss", ev)
	if ev < r.st.BestLoss {
		r.st.BestLoss, res.BestLoss = ev, ev
		return r.writeBest(step, ev)
	}
	return nil
}

// finish fills res's end-of-run fields.
func (r *runner) finish(res *Result) {
	res.Best, res.Latest = r.bestCheckpoint(), r.latestCheckpoint(r.st.Step)
	res.Elapsed = time.Duration(r.st.Elapsed * float64(time.Second))
}

func (r *runner) loop(ctx context.Context) (*Result, error) {
	cfg, st := r.cfg, r.st
	res := &Result{Step: st.Step, Loss: math.NaN(), EvalLoss: math.NaN(), BestLoss: st.BestLoss}
	params := r.m.Params()
	r.start, r.startElapsed = cfg.Clock(), st.elapsed()
	startStep := st.Step
	tokensPerStep := int64(cfg.Batch * cfg.Accum * cfg.SeqLen)
	batch := make([][]int32, cfg.Batch)
	done := func() bool {
		if cfg.Steps > 0 && st.Step >= cfg.Steps {
			return true
		}
		return cfg.Duration > 0 && r.elapsed() >= cfg.Duration
	}
	// stop writes a checkpoint of the last whole step and returns ctx's error.
	stop := func(err error) (*Result, error) {
		if cerr := r.checkpoint(); cerr != nil {
			return res, errors.Join(err, cerr)
		}
		r.finish(res)
		return res, err
	}
	for !done() {
		if err := ctx.Err(); err != nil {
			return stop(err)
		}
		lr := r.lr(st.Step, r.elapsed())
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
		if err := r.opt.Update(params, lr); err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
		st.Step++
		res.Step, res.Loss = st.Step, loss
		if cfg.EvalEvery > 0 && st.Step%cfg.EvalEvery == 0 {
			if err := r.evaluate(ctx, res); err != nil {
				if ctx.Err() != nil {
					continue
				}
				return res, fmt.Errorf("train: eval: %w", err)
			}
		}
		if cfg.Progress != nil {
			here := cfg.Clock().Sub(r.start)
			elapsed := r.startElapsed + here
			rep := StepReport{Step: st.Step, Steps: cfg.Steps, StartStep: startStep, Elapsed: elapsed, Budget: cfg.Duration,
				Remaining: remaining(cfg.Steps, st.Step, startStep, here, cfg.Duration, elapsed),
				Loss:      loss, HeldOut: res.EvalLoss, HeldOutStep: res.EvalStep, LR: lr, Norm: norm}
			if here > 0 {
				rep.TokensPerSecond = float64((st.Step-startStep)*tokensPerStep) / here.Seconds()
			}
			cfg.Progress(rep)
		}
		if cfg.CheckpointEvery > 0 && st.Step%cfg.CheckpointEvery == 0 {
			if err := r.checkpoint(); err != nil {
				return res, fmt.Errorf("train: %w", err)
			}
		}
	}
	// The last step is evaluated unless it just was (or none was taken here).
	if cfg.EvalEvery > 0 && st.Step > startStep && res.EvalStep != st.Step {
		if err := r.evaluate(ctx, res); err != nil {
			if ctx.Err() != nil {
				return stop(ctx.Err())
			}
			return res, fmt.Errorf("train: eval: %w", err)
		}
	}
	if st.Step > startStep {
		if err := r.checkpoint(); err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
	}
	r.finish(res)
	return res, nil
}
