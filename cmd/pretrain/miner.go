package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/train"
)

// minerCmd groups the miner's commands.
type minerCmd struct {
	Train minerTrainCmd `cmd:"" help:"Train a GPT-2 or Llama-family model on CPU; re-running with the same --out resumes (--fresh starts over)."`
	Push  minerPushCmd  `cmd:"" help:"Check a model against the competition, upload it, commit its metadata on chain, then make it public."`
	Score minerScoreCmd `cmd:"" help:"Score a local model as validators will and say whether it would beat the best model (or given uids) after epsilon."`
}

// minerTrainCmd is `pretrain miner train`; its flags map onto train.Config, with the
// tokenizer and sequence length defaulting to the competition's.
type minerTrainCmd struct {
	Preset string `xor:"model" placeholder:"NAME" help:"Model shape: ${presets}. Not with --init."`
	Init   string `xor:"model" type:"existingdir" placeholder:"DIR" help:"Continue from this Hugging Face model directory instead of a preset."`
	Arch   string `enum:",gpt2,llama" default:"" help:"Architecture family: gpt2 or llama. Follows --preset or --init's config.json; give it only as a check."`

	Corpus       string `placeholder:"FILE" help:"Training corpus: a JSON-lines file with a content or text field (.gz allowed)."`
	DataEndpoint string `name:"data.endpoint" placeholder:"URL" help:"Datasets-server base URL. Train on pages drawn from it instead of a --corpus file (a local pretrain dataserver works)."`
	Dataset      string `help:"Dataset loader. The one drawn from --data.endpoint (default local)."`
	Pages        int    `help:"Pages to draw (num_pages). From --data.endpoint (default 20)."`
	DataHFToken  string `name:"data.hf_token" env:"HF_TOKEN" help:"HF token for the datasets that need one (Stack); sent only to --data.endpoint."`
	// Old spellings, hidden, for one release: --data FILE|URL and --hf-token.
	Data    string `hidden:"" help:"Old spelling of --corpus FILE and --data.endpoint URL."`
	HFToken string `name:"hf-token" hidden:"" help:"Old spelling of --data.hf_token."`

	competitionFlags `embed:""`
	scheduleFlag     `embed:""`

	Out   string `required:"" placeholder:"DIR" help:"Output path. The run directory: trainer_state.bin, best.json, latest/ and best/ model directories; an existing run there is resumed."`
	Fresh bool   `help:"Start over in --out: remove its trainer_state.bin, best.json, latest/ and best/ first (nothing else; a directory that is not a run is refused)."`

	Tokenizer       string   `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Default: the competition's; a resumed run's own."`
	SeqLen          int      `name:"seq-len" help:"Tokens per row (sequence length L). Default: the competition's; a resumed run's own."`
	Steps           int64    `help:"Optimizer steps. The learning rate's cosine runs over them."`
	Minutes         float64  `help:"Training-time budget in minutes, counted across resumes (the step under way, a last evaluation and checkpoint finish after it); without --steps the learning rate's cosine runs over it."`
	LR              float64  `name:"lr" help:"Peak learning rate (default 1e-3)."`
	MinLR           float64  `name:"min-lr" help:"Learning-rate floor of the cosine decay (default lr/10)."`
	Warmup          int64    `help:"Warm-up steps (default min(100, steps/10); 100 with --minutes alone)."`
	WeightDecay     float64  `name:"weight-decay" help:"AdamW weight decay of 2-D weights (default 0.1)."`
	Clip            float64  `help:"Gradient-norm clip (default 1.0)."`
	Batch           int      `aliases:"batch-size" help:"Rows per batch. One micro-batch (default 8; a resumed run's own)."`
	Accum           int      `help:"Micro-batches per optimizer step (default 1; a resumed run's own)."`
	Seed            seedFlag `placeholder:"N" help:"Seed, a decimal integer. Seeds the initialization and the data order."`
	EvalEvery       int64    `name:"eval-every" help:"Steps between held-out evaluations (default 50; also at the end)."`
	CheckpointEvery int64    `name:"checkpoint-every" help:"Steps between checkpoints (default 100; also at the end)."`
	EvalWindows     int      `name:"eval-windows" help:"Held-out windows per evaluation (default 32)."`
	DType           string   `name:"dtype" default:"F32" enum:"F32,BF16" help:"Weight dtype. One of ${enum}, for the checkpoints."`
	JSON            bool     `name:"json" help:"Print JSON instead of text. The model directories and the held-out curve."`
}

// Help lists the presets from nn's table, and what the defaults follow.
func (c *minerTrainCmd) Help() string {
	var shapes []string
	for _, name := range nn.Presets() {
		desc := name
		if _, cfg, err := nn.Preset(name); err == nil && len(cfg.Architectures) > 0 {
			desc += " (" + cfg.Architectures[0] + ")"
		}
		shapes = append(shapes, desc)
	}
	return "Presets: " + strings.Join(shapes, ", ") + ".\n\n" +
		"The tokenizer and --seq-len default to --competition's (LOCAL: gpt2, 512 tokens). " +
		"The run keeps best/ (the lowest held-out loss: the model to push) and latest/ (the last checkpoint) in --out; " +
		"re-running with the same --out resumes from its last checkpoint, and --fresh starts over."
}

func (c *minerTrainCmd) Run(ctx context.Context, e *env) error {
	if c.Preset == "" && c.Init == "" {
		return fmt.Errorf("%w: give --preset NAME (a new model) or --init DIR (continue a model)", errUsage)
	}
	if c.Steps < 0 || c.Minutes < 0 || (c.Steps == 0 && c.Minutes == 0) {
		return fmt.Errorf("%w: give --steps N or --minutes M (or both) to bound the run", errUsage)
	}
	data, err := c.dataSource(e)
	if err != nil {
		return err
	}
	comp, err := c.competition(c.Schedule)
	if err != nil {
		return err
	}
	seed, err := c.Seed.uint64("--seed")
	if err != nil {
		return err
	}
	show := newTrainProgress(e.stderr, comp, time.Now)
	res, err := train.Run(ctx, train.Config{
		Arch: c.Arch, Preset: c.Preset, Init: c.Init,
		Data: data, Dataset: c.Dataset, Pages: c.Pages, HFToken: cmp.Or(c.HFToken, c.DataHFToken),
		Out: c.Out, Fresh: c.Fresh, Tokenizer: c.Tokenizer, DefaultTokenizer: comp.Constraints.Tokenizer,
		SeqLen: c.SeqLen, DefaultSeqLen: comp.Constraints.SequenceLength,
		Steps: c.Steps, Duration: time.Duration(c.Minutes * float64(time.Minute)),
		LR: c.LR, MinLR: c.MinLR, Warmup: c.Warmup, WeightDecay: c.WeightDecay, Clip: c.Clip,
		Batch: c.Batch, Accum: c.Accum, Seed: seed,
		EvalEvery: c.EvalEvery, CheckpointEvery: c.CheckpointEvery, EvalWindows: c.EvalWindows, DType: c.DType,
		Log: e.log, Started: show.start, Progress: show.step,
	})
	show.finish()
	if err != nil {
		if res != nil && res.Latest.Saved && ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "interrupted at step %d; the same command resumes from the checkpoint\n", res.Step)
			writeCheckpoints(e.stderr, "  ", res.Best, res.Latest)
		}
		return err
	}
	if c.JSON {
		return printJSON(e, trainJSON(res))
	}
	return writeTrainSummary(e.stdout, res, comp.ID)
}

// dataSource is the corpus file or datasets-server URL to train on, from --corpus or
// --data.endpoint, or the hidden old --data (a URL for a server, else a file).
func (c *minerTrainCmd) dataSource(e *env) (string, error) {
	corpus, endpoint := c.Corpus, c.DataEndpoint
	isURL := func(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }
	if c.Data != "" {
		if isURL(c.Data) {
			fmt.Fprintln(e.stderr, "note: --data URL is now --data.endpoint URL")
			if endpoint != "" && endpoint != c.Data {
				return "", fmt.Errorf("%w: --data %s and --data.endpoint %s disagree", errUsage, c.Data, endpoint)
			}
			endpoint = c.Data
		} else {
			fmt.Fprintln(e.stderr, "note: --data FILE is now --corpus FILE")
			if corpus != "" && corpus != c.Data {
				return "", fmt.Errorf("%w: --data %s and --corpus %s disagree", errUsage, c.Data, corpus)
			}
			corpus = c.Data
		}
	}
	if c.HFToken != "" {
		fmt.Fprintln(e.stderr, "note: --hf-token is now --data.hf_token (or HF_TOKEN in the environment)")
	}
	switch {
	case corpus != "" && (c.Dataset != "" || c.Pages != 0):
		return "", fmt.Errorf("%w: --dataset and --pages choose pages of a datasets-server (--data.endpoint), not of a --corpus file", errUsage)
	case corpus != "" && endpoint != "":
		return "", fmt.Errorf("%w: give one of --corpus (a file) and --data.endpoint (a datasets-server)", errUsage)
	case corpus == "" && endpoint == "":
		return "", fmt.Errorf("%w: give --corpus FILE (a JSON-lines corpus) or --data.endpoint URL (a datasets-server)", errUsage)
	case endpoint != "" && !isURL(endpoint):
		return "", fmt.Errorf("%w: --data.endpoint %q is not an http(s) URL", errUsage, endpoint)
	case isURL(corpus):
		return "", fmt.Errorf("%w: --corpus takes a file; give a datasets-server as --data.endpoint %s", errUsage, corpus)
	}
	return cmp.Or(corpus, endpoint), nil
}

// trainProgress shows a run: where its model directories are when it starts, then its steps.
// On a terminal the steps drive a bar: in steps when --steps alone bounds the run, else in
// seconds whose total is the predicted training time of this process (the time budget left,
// or less when the steps end first), so the bar's ETA is the run's. Elsewhere it writes a
// plain line at most every plainEvery, and after each held-out evaluation.
type trainProgress struct {
	w    io.Writer
	comp competition.Competition
	now  func() time.Time
	tty  bool

	startElapsed time.Duration // the run's training time before this process
	bar          *progress.Bar
	barTotal     int64
	last         time.Time // the last plain line
	lastEval     int64     // the step of the last held-out loss shown
}

// plainEvery is the least time between two plain progress lines.
const plainEvery = 10 * time.Second

func newTrainProgress(w io.Writer, comp competition.Competition, now func() time.Time) *trainProgress {
	return &trainProgress{w: w, comp: comp, now: now, tty: progress.IsTerminal(w)}
}

// start says whether the run is new or resumed, where best/ and latest/ are, and warns when
// the model is one the competition would refuse.
func (p *trainProgress) start(s train.Start) {
	p.startElapsed = s.Elapsed
	if len(s.Removed) > 0 {
		fmt.Fprintf(p.w, "starting over in %s: removed %s\n", s.Out, strings.Join(s.Removed, ", "))
	}
	if s.Resumed {
		fmt.Fprintf(p.w, "resuming from step %d of %s (%s of training so far); --fresh starts over\n",
			s.Step, s.Out, s.Elapsed.Round(time.Second))
	} else {
		fmt.Fprintf(p.w, "training a new %s of %s parameters in %s\n", s.Architecture, groupDigits(s.Params), s.Out)
	}
	fmt.Fprintf(p.w, "  data: %d training and %d held-out windows of %d tokens, tokenizer %s\n",
		s.TrainWindows, s.EvalWindows, s.SeqLen, s.Tokenizer)
	fmt.Fprintf(p.w, "  learning rate: %s\n", s.Plan)
	writeCheckpoints(p.w, "  ", s.Best, s.Latest)
	k := p.comp.Constraints
	if !k.AllowsArchitecture(s.Architecture) || s.Params < k.MinParams || s.Params > k.MaxParams {
		fmt.Fprintf(p.w, "warning: competition %s takes %s of %s to %s parameters; miner push will refuse this model\n",
			p.comp.ID, strings.Join(k.Architectures, ", "), groupDigits(k.MinParams), groupDigits(k.MaxParams))
	}
}

// writeCheckpoints writes where best/ and latest/ are and what they hold.
func writeCheckpoints(w io.Writer, indent string, best, latest train.Checkpoint) {
	if best.Saved {
		fmt.Fprintf(w, "%sbest:   %s  held-out loss %.4f at step %d (the lowest)\n", indent, best.Dir, best.Loss, best.Step)
	} else {
		fmt.Fprintf(w, "%sbest:   %s  not written yet (the model of the lowest held-out loss)\n", indent, best.Dir)
	}
	if latest.Saved {
		fmt.Fprintf(w, "%slatest: %s  step %d (the last checkpoint)\n", indent, latest.Dir, latest.Step)
	} else {
		fmt.Fprintf(w, "%slatest: %s  not written yet (the last checkpoint)\n", indent, latest.Dir)
	}
}

// step shows one optimizer step.
func (p *trainProgress) step(r train.StepReport) {
	desc := describeStep(r, p.tty)
	if !p.tty {
		t := p.now()
		newEval := r.HeldOutStep > p.lastEval
		if p.last.IsZero() || t.Sub(p.last) >= plainEvery || newEval || r.Remaining == 0 {
			p.last, p.lastEval = t, r.HeldOutStep
			fmt.Fprintln(p.w, "train: "+desc)
		}
		return
	}
	seconds, done, total := barPosition(r, p.startElapsed)
	if p.bar == nil {
		label, unit := "train", "steps"
		if r.StartStep > 0 {
			label = fmt.Sprintf("train from step %d", r.StartStep)
		}
		if seconds {
			unit = "s"
		}
		p.bar = progress.New(p.w, progress.Options{Label: label, Total: total, Unit: unit})
		p.barTotal = total
	}
	p.bar.AddTotal(total - p.barTotal)
	p.barTotal = total
	p.bar.Describe(desc)
	p.bar.Set(done)
}

// barPosition is the terminal bar's unit (seconds or steps), position and total for a
// report: steps of this process when --steps alone bounds the run; otherwise seconds of
// training in this process out of those it is predicted to take (its time budget left,
// or less when the steps end first).
func barPosition(r train.StepReport, startElapsed time.Duration) (seconds bool, done, total int64) {
	if r.Budget == 0 {
		return false, r.Step - r.StartStep, r.Steps - r.StartStep
	}
	here := r.Elapsed - startElapsed
	done = int64(here / time.Second)
	total = max(int64((here+r.Remaining+time.Second/2)/time.Second), done)
	return true, done, total
}

// describeStep is a step's numbers: step, loss, the held-out loss with the step it was
// measured at, learning rate, gradient norm and throughput; for a plain line (not bar)
// also the time spent and left, which a bar shows itself.
func describeStep(r train.StepReport, bar bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d", r.Step)
	if r.Steps > 0 {
		fmt.Fprintf(&b, "/%d", r.Steps)
	}
	if r.Budget > 0 && !bar {
		fmt.Fprintf(&b, ", %s of %s", r.Elapsed.Round(time.Second), r.Budget.Round(time.Second))
	}
	fmt.Fprintf(&b, ", loss %.4f", r.Loss)
	if !math.IsNaN(r.HeldOut) {
		fmt.Fprintf(&b, ", held-out %.4f (step %d)", r.HeldOut, r.HeldOutStep)
	}
	fmt.Fprintf(&b, ", lr %.2e, norm %.3f, %.0f tok/s", r.LR, r.Norm, r.TokensPerSecond)
	if !bar {
		fmt.Fprintf(&b, ", eta %s", r.Remaining.Round(time.Second))
	}
	return b.String()
}

func (p *trainProgress) finish() {
	if p.bar != nil {
		p.bar.AddTotal(p.bar.Done() - p.barTotal) // the run ended where it is now
		p.bar.Finish()
	}
}

// writeTrainSummary is the human result: the last numbers, the model directories and the
// one to push.
func writeTrainSummary(w io.Writer, res *train.Result, comp competition.ID) error {
	fmt.Fprintf(w, "step %d after %s of training: ", res.Step, res.Elapsed.Round(time.Second))
	if math.IsNaN(res.Loss) { // no step taken by this process
		fmt.Fprint(w, "the run had already reached --steps or --minutes (raise them to train on, or --fresh to start over)")
	} else {
		fmt.Fprintf(w, "train loss %.4f", res.Loss)
	}
	if !math.IsNaN(res.EvalLoss) {
		fmt.Fprintf(w, ", held-out loss %.4f (step %d)", res.EvalLoss, res.EvalStep)
	}
	fmt.Fprintln(w)
	writeCheckpoints(w, "", res.Best, res.Latest)
	push := res.Best
	if !push.Saved { // no held-out evaluation (--eval-every 0)
		push = res.Latest
	}
	_, err := fmt.Fprintf(w, "push it: pretrain miner push --model %s --competition %s --repo NAMESPACE/NAME\n", push.Dir, comp)
	return err
}

// trainJSON is the result for --json.
func trainJSON(res *train.Result) map[string]any {
	dir := func(c train.Checkpoint, loss bool) any {
		if !c.Saved {
			return nil
		}
		out := map[string]any{"dir": c.Dir, "step": c.Step}
		if loss {
			out["held_out_loss"] = finiteOr(c.Loss)
		}
		return out
	}
	curve := res.Curve
	if curve == nil {
		curve = []train.EvalPoint{}
	}
	out := map[string]any{"step": res.Step, "loss": nil, "held_out_loss": nil, "best_loss": finiteOr(res.BestLoss),
		"elapsed_seconds": res.Elapsed.Seconds(), "best": dir(res.Best, true), "latest": dir(res.Latest, false), "curve": curve}
	if !math.IsNaN(res.Loss) { // null: no step taken by this process
		out["loss"] = finiteOr(res.Loss)
	}
	if !math.IsNaN(res.EvalLoss) { // null: no evaluation in this process
		out["held_out_loss"], out["held_out_step"] = finiteOr(res.EvalLoss), res.EvalStep
	}
	return out
}

// groupDigits writes n with thousands separators (3,325,012,992).
func groupDigits(n int64) string {
	s, sign := strconv.FormatInt(n, 10), ""
	if n < 0 {
		s, sign = s[1:], "-"
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}
