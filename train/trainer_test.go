package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// tinyGPT2 writes a one-layer GPT-2 with the gpt2 tokenizer's vocabulary into a directory.
func tinyGPT2(t *testing.T) string {
	t.Helper()
	raw := []byte(`{"architectures":["GPT2LMHeadModel"],"model_type":"gpt2","vocab_size":50257,"n_embd":16,
		"n_layer":1,"n_head":2,"n_positions":64,"bos_token_id":50256,"eos_token_id":50256}`)
	cfg, err := nn.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "init")
	if err := WriteModelDir(dir, m, raw, "F32", nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func demoCorpus(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	words := strings.Fields("the whale ship sea captain union congress state nation people law year")
	for i := range 60 {
		var doc []string
		for j := range 40 + i%7 {
			doc = append(doc, words[(i*7+j*j)%len(words)])
		}
		line, _ := json.Marshal(map[string]string{"content": strings.Join(doc, " ")})
		b.Write(append(line, '\n'))
	}
	p := filepath.Join(t.TempDir(), "corpus.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runConfig(init, data, out string) Config {
	return Config{Arch: "gpt2", Init: init, Data: data, Out: out, Steps: 6, LR: 3e-3, Batch: 2, SeqLen: 16,
		Seed: 9, EvalEvery: 3, CheckpointEvery: 2, EvalWindows: 4}
}

// TestResumeAfterKill: a run killed after step 5, whose last checkpoint is step 4's,
// resumes from step 4 and ends with the same weights, bit for bit, as an uninterrupted run,
// since it reads the same windows in the same order.
func TestResumeAfterKill(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	full := filepath.Join(t.TempDir(), "full")
	if _, err := Run(t.Context(), runConfig(init, data, full)); err != nil {
		t.Fatal(err)
	}

	killed := filepath.Join(t.TempDir(), "killed")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var saved []byte
	cfg := runConfig(init, data, killed)
	cfg.Progress = func(r StepReport) {
		if r.Step != 5 {
			return
		}
		// What kill -9 at step 5 leaves: the state written at step 4.
		var err error
		if saved, err = os.ReadFile(filepath.Join(killed, StateFile)); err != nil {
			t.Error(err)
		}
		cancel()
	}
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if err := os.WriteFile(filepath.Join(killed, StateFile), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	st, _, _, err := ReadState(filepath.Join(killed, StateFile), AdamWConfig{})
	if err != nil || st.Step != 4 || st.Windows != 8 {
		t.Fatalf("state after kill: %+v, %v", st, err)
	}
	if _, err := Run(t.Context(), runConfig(init, data, killed)); err != nil {
		t.Fatal(err)
	}
	_, a, oa, err := ReadState(filepath.Join(full, StateFile), AdamWConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_, b, ob, err := ReadState(filepath.Join(killed, StateFile), AdamWConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if oa.Step != 6 || ob.Step != 6 {
		t.Fatalf("adam steps %d and %d, want 6", oa.Step, ob.Step)
	}
	for i, p := range a.Params() {
		if q := b.Params()[i]; !slices.Equal(p.Data, q.Data) || !slices.Equal(oa.V[i], ob.V[i]) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", p.Name)
		}
	}
	// The run directory holds loadable models that carry their tokenizer.
	gpt2Tok, err := tokenizer.Load("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"latest", "best"} {
		m, err := nn.Load(filepath.Join(killed, sub))
		if err != nil {
			t.Fatalf("nn.Load(%s): %v", sub, err)
		}
		m.Close()
		tok, err := tokenizer.Load(filepath.Join(killed, sub))
		if err != nil {
			t.Fatalf("tokenizer.Load(%s): %v", sub, err)
		}
		if tok.VocabSize() != gpt2Tok.VocabSize() || tok.EOS() != gpt2Tok.EOS() {
			t.Errorf("%s tokenizer: vocab %d, eos %d; want gpt2's %d, %d", sub, tok.VocabSize(), tok.EOS(), gpt2Tok.VocabSize(), gpt2Tok.EOS())
		}
	}
}

func TestTrainingLowersLoss(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	cfg := runConfig(init, data, t.TempDir())
	cfg.Steps, cfg.EvalEvery = 30, 10
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Curve) != 3 || !(res.Curve[2].Loss < res.Curve[0].Loss-0.5) {
		t.Errorf("held-out curve %+v does not fall", res.Curve)
	}
}

// TestGradientAccumulation: two micro-batches of one row at scale ½ give the gradient of
// the two-row batch (the mean over equal-length rows is the mean of the rows' means).
func TestGradientAccumulation(t *testing.T) {
	f, cfg := readGradFixture(t, "llama")
	whole, err := newNetwork[float64](cfg, f.source())
	if err != nil {
		t.Fatal(err)
	}
	parts, err := newNetwork[float64](cfg, f.source())
	if err != nil {
		t.Fatal(err)
	}
	L := len(f.IDs[0])
	if _, err := whole.lossGrad(t.Context(), f.IDs, 1/float64(2*(L-1)), true); err != nil {
		t.Fatal(err)
	}
	for _, row := range f.IDs {
		if _, err := parts.lossGrad(t.Context(), [][]int32{row}, 0.5/float64(L-1), true); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range whole.params {
		for j, g := range p.grad {
			if q := parts.params[i].grad[j]; math.Abs(g-q) > 1e-12 {
				t.Fatalf("%s[%d]: accumulated %v, whole batch %v", p.name, j, q, g)
			}
		}
	}
}

func TestDecayOnlyOnMatrices(t *testing.T) {
	_, cfg, err := nn.Preset("llama-tiny")
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModelZero(cfg, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		matrix := strings.HasSuffix(p.Name, "_proj.weight") || strings.HasSuffix(p.Name, "embed_tokens.weight")
		if p.Decay != matrix {
			t.Errorf("%s: decay %v", p.Name, p.Decay)
		}
	}
}

func TestModelDirRoundTrip(t *testing.T) {
	f, cfg := readGradFixture(t, "gpt2_untied")
	net, err := newNetwork[float32](cfg, f.source())
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Config: cfg, net: net}
	want, err := m.Loss(t.Context(), f.IDs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dtype string
		tol   float64
	}{{"F32", 1e-6}, {"BF16", 2e-2}} {
		t.Run(tc.dtype, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			if err := WriteModelDir(dir, m, f.Config, tc.dtype, nil); err != nil {
				t.Fatal(err)
			}
			ref, err := nn.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			got, err := ref.Loss(t.Context(), f.IDs)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > tc.tol*want {
				t.Errorf("nn loss of the written model = %v, trainer %v", got, want)
			}
			back, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if tc.dtype == "F32" && !slices.Equal(back.Params()[0].Data, m.Params()[0].Data) {
				t.Errorf("LoadModel does not restore the written weights")
			}
		})
	}
}

func TestReadStateRejectsBadFiles(t *testing.T) {
	_, cfg, err := nn.Preset("gpt2-tiny")
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := nn.Preset("gpt2-tiny")
	m, err := newModelZero(cfg, -1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := WriteState(good, &State{Config: raw, BestLoss: math.Inf(1)}, m, NewAdamW(AdamWConfig{}, m.Params())); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, err := ReadState(good, AdamWConfig{}); err != nil || !math.IsInf(st.BestLoss, 1) {
		t.Fatalf("good state: %v, %v", st, err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXXXXXX"), data[8:]...),
		"truncated": data[:len(data)-5],
		"trailing":  append(slices.Clone(data), 0),
		"header":    append(append([]byte(stateMagic), 0xff, 0xff, 0xff, 0x7f), data[12:]...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := ReadState(p, AdamWConfig{}); err == nil {
				t.Error("ReadState accepted a bad file")
			}
		})
	}
}

// TestResumeRejectsChangedShape: the data position counts windows of the original length
// and batch, so resuming with another one is refused rather than silently misread.
func TestResumeRejectsChangedShape(t *testing.T) {
	init, data, out := tinyGPT2(t), demoCorpus(t), t.TempDir()
	cfg := runConfig(init, data, out)
	cfg.Steps = 2
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Steps, cfg.SeqLen = 4, 8
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "sequence length 16") {
		t.Errorf("resume with another sequence length: %v", err)
	}
}

// TestBestKeptAcrossRestart: best/ can be newer than the last state file (a kill between
// them); a resumed run compares against best.json, not the state's older best loss.
func TestBestKeptAcrossRestart(t *testing.T) {
	init, data, out := tinyGPT2(t), demoCorpus(t), t.TempDir()
	if err := os.WriteFile(filepath.Join(out, bestFile), []byte(`{"step":9,"held_out_loss":0.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := runConfig(init, data, out)
	cfg.Steps = 3
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "best")); !errors.Is(err, os.ErrNotExist) || res.BestLoss != 0.5 {
		t.Errorf("best/ replaced by a model of held-out loss %v (best.json says 0.5): %v", res.EvalLoss, err)
	}
}

// fakeClock is a clock that moves only when a test moves it.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// TestTimeBudgetRun: with only a duration, a run whose steps each take 7 s of a fake clock
// takes 10 steps of a 70 s budget, each at the rate of the time plan (computed here from
// the formula), with the budget left as its estimate. Killed after step 4, it stores the
// 28 s spent, and the resumed run continues the plan from there and stops at 70 s.
func TestTimeBudgetRun(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	const peak, floor, warmup, stepTime, budget = 3e-3, 3e-4, 3, 7 * time.Second, 70 * time.Second
	wantLR := func(step int64, elapsed time.Duration) float64 {
		f := elapsed.Seconds() / budget.Seconds()
		ramp := 1.0 // warm-up: 3 steps or a tenth of the budget
		if step < warmup {
			ramp = min(1, max(float64(step+1)/warmup, f/0.1))
		}
		return min(peak*ramp, floor+(peak-floor)*(1+math.Cos(math.Pi*f))/2)
	}
	newConfig := func(out string, clk *fakeClock, reports *[]StepReport) Config {
		cfg := runConfig(init, data, out)
		cfg.Steps, cfg.Duration, cfg.LR, cfg.MinLR, cfg.Warmup = 0, budget, peak, floor, warmup
		cfg.Clock = clk.Now
		cfg.Progress = func(r StepReport) {
			*reports = append(*reports, r)
			clk.now = clk.now.Add(stepTime)
		}
		return cfg
	}
	check := func(reports []StepReport, firstStep int64) {
		t.Helper()
		for i, r := range reports {
			step := firstStep + int64(i) // 0-based index of the step this report follows
			began := time.Duration(step) * stepTime
			if r.Step != step+1 || math.Abs(r.LR-wantLR(step, began)) > 1e-15 {
				t.Errorf("report %d: step %d lr %v, want step %d lr %v", i, r.Step, r.LR, step+1, wantLR(step, began))
			}
			if r.Elapsed != began || r.Remaining != budget-began || r.Budget != budget {
				t.Errorf("step %d: elapsed %v remaining %v budget %v; want %v, %v, %v", r.Step, r.Elapsed, r.Remaining, r.Budget, began, budget-began, budget)
			}
		}
	}

	var whole []StepReport
	res, err := Run(t.Context(), newConfig(filepath.Join(t.TempDir(), "whole"), &fakeClock{now: time.Unix(0, 0)}, &whole))
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != 10 || res.Step != 10 || res.Elapsed != budget {
		t.Fatalf("%d reports, %d steps, %v spent; want 10, 10, %v", len(whole), res.Step, res.Elapsed, budget)
	}
	check(whole, 0)

	out := filepath.Join(t.TempDir(), "killed")
	ctx, cancel := context.WithCancel(t.Context())
	var first []StepReport
	clk := &fakeClock{now: time.Unix(1000, 0)}
	cfg := newConfig(out, clk, &first)
	progress := cfg.Progress
	cfg.Progress = func(r StepReport) {
		progress(r)
		if r.Step == 4 {
			cancel()
		}
	}
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	st, _, _, err := ReadState(filepath.Join(out, StateFile), AdamWConfig{})
	if err != nil || st.Step != 4 || st.Elapsed != 28 || st.Budget != 70 || st.Total != 0 {
		t.Fatalf("state after the interruption: %+v, %v", st, err)
	}
	var second []StepReport
	var start Start
	cfg = newConfig(out, &fakeClock{now: time.Unix(5000, 0)}, &second)
	cfg.Started = func(s Start) { start = s }
	if res, err = Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if !start.Resumed || start.Step != 4 || start.Elapsed != 28*time.Second || len(second) != 6 || res.Elapsed != budget {
		t.Fatalf("resumed at step %d after %v (resumed %v), %d more steps, %v spent; want 4, 28s, 6, 70s",
			start.Step, start.Elapsed, start.Resumed, len(second), res.Elapsed)
	}
	check(second, 4)
}

func TestRemaining(t *testing.T) {
	s := time.Second
	tests := []struct {
		name                        string
		steps, step, start          int64
		here, budget, elapsed, want time.Duration
	}{
		{"steps: the pace of this process", 100, 30, 20, 10 * s, 0, 0, 70 * s},
		{"steps: past the end", 100, 120, 20, 10 * s, 0, 0, 0},
		{"budget: what is left", 0, 5, 0, 10 * s, 60 * s, 40 * s, 20 * s},
		{"budget: overrun", 0, 5, 0, 10 * s, 60 * s, 75 * s, 0},
		{"both: steps end first", 100, 90, 80, 10 * s, 600 * s, 100 * s, 10 * s},
		{"both: budget ends first", 100, 10, 0, 10 * s, 60 * s, 50 * s, 10 * s},
		{"steps: no time measured", 100, 1, 0, 0, 0, 0, 0},
		{"steps: huge", math.MaxInt64, 1, 0, time.Hour, 0, 0, time.Duration(float64(math.MaxInt64 / 2))}, // no overflow
	}
	for _, tt := range tests {
		got := remaining(tt.steps, tt.step, tt.start, tt.here, tt.budget, tt.elapsed)
		if got != tt.want {
			t.Errorf("%s: remaining = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestStartAndEnd: the run says where its model directories are and what they hold, at
// the start (new, then resumed) and the end; a resumed run takes the shape it was started
// with when the caller gives none.
func TestStartAndEnd(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	rel := filepath.Join(t.TempDir(), "run")
	out, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	var starts []Start
	cfg := runConfig(init, data, rel)
	cfg.Steps = 4
	cfg.Started = func(s Start) { starts = append(starts, s) }
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := starts[0]
	if s.Resumed || s.Out != out || s.Best.Saved || s.Latest.Saved || s.Best.Dir != filepath.Join(out, "best") ||
		s.Latest.Dir != filepath.Join(out, "latest") || s.Architecture != "GPT2LMHeadModel" || s.SeqLen != 16 ||
		s.Tokenizer != "gpt2" || !strings.Contains(s.Plan, "at step 4") || strings.Contains(s.Plan, "spent") {
		t.Errorf("new run's start: %+v", s)
	}
	best := readBest(out)
	if !res.Best.Saved || res.Best.Loss != best.Loss || res.Best.Step != best.Step || res.BestLoss != best.Loss ||
		!res.Latest.Saved || res.Latest.Step != 4 || res.EvalStep != 4 || !(res.EvalLoss >= res.BestLoss) {
		t.Errorf("end: best %+v latest %+v eval %v at %d; best.json %+v", res.Best, res.Latest, res.EvalLoss, res.EvalStep, best)
	}

	cfg.Steps, cfg.SeqLen, cfg.Batch, cfg.Tokenizer = 6, 0, 0, ""
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatalf("resume without the shape: %v", err)
	}
	s = starts[1]
	if !s.Resumed || s.Step != 4 || !s.Best.Saved || s.Best.Step != best.Step || s.Best.Loss != best.Loss ||
		!s.Latest.Saved || s.Latest.Step != 4 || s.SeqLen != 16 || s.Tokenizer != "gpt2" ||
		!strings.Contains(s.Plan, "at step 4; spent already") {
		t.Errorf("resumed run's start: %+v", s)
	}
}

// TestArchFollowsModel: without an arch the run takes the model's family; a contradicting
// one is refused, naming both, before any weights are made.
func TestArchFollowsModel(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	cfg := runConfig(init, data, t.TempDir())
	cfg.Arch, cfg.Steps = "", 1
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatalf("no arch: %v", err)
	}
	for _, c := range []Config{
		{Arch: "llama", Init: init},
		{Arch: "gpt2", Preset: "llama-3b"}, // 3.3B parameters: refused before they are allocated
	} {
		c.Data, c.Out, c.Steps = data, t.TempDir(), 1
		_, err := Run(t.Context(), c)
		if err == nil || !strings.Contains(err.Error(), "arch "+c.Arch+" contradicts") {
			t.Errorf("arch %s, preset %q, init %q: %v", c.Arch, c.Preset, c.Init, err)
		}
	}
	cfg.Arch = "llama" // the resumed run's model is gpt2
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "contradicts the run") {
		t.Errorf("resume as llama: %v", err)
	}
}

// TestResumeKeepsPlan: a resumed run follows the plan it started with: the step count of
// its cosine and the warm-up derived from it, whatever steps the resuming call asks for.
func TestResumeKeepsPlan(t *testing.T) {
	init, data, out := tinyGPT2(t), demoCorpus(t), t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := runConfig(init, data, out)
	cfg.Steps, cfg.EvalEvery = 20, 0 // warm-up: 2 steps
	cfg.Progress = func(StepReport) { cancel() }
	if _, err := Run(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	var lrs []float64
	cfg.Steps = 3 // would mean 1 warm-up step for a new run
	cfg.Progress = func(r StepReport) { lrs = append(lrs, r.LR) }
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	plan := Schedule{Peak: cfg.LR, Min: cfg.LR / 10, Warmup: 2, Total: 20}
	if len(lrs) != 2 || lrs[0] != plan.LR(1) || lrs[1] != plan.LR(2) || lrs[0] != cfg.LR {
		t.Errorf("resumed rates %v, want %v and %v", lrs, plan.LR(1), plan.LR(2))
	}
}

// TestFreshKeepsInit: starting over is refused when the init model lies in what it removes.
func TestFreshKeepsInit(t *testing.T) {
	init, data, out := tinyGPT2(t), demoCorpus(t), t.TempDir()
	cfg := runConfig(init, data, out)
	cfg.Steps = 1
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Init, cfg.Fresh = filepath.Join(out, "best"), true
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "starting over removes") {
		t.Fatalf("fresh run from its own best/: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "best", "config.json")); err != nil {
		t.Errorf("best/ was removed: %v", err)
	}
	cfg.Init = init
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Errorf("fresh run from elsewhere: %v", err)
	}
}

// TestStepsAndBudget: with both bounds the rate follows the steps, the run ends at the
// budget when it comes first (7 s steps, 65 s budget, 12 steps: ten steps, ending at 70 s),
// and the estimate is the smaller of the steps left at the pace so far and the budget left.
func TestStepsAndBudget(t *testing.T) {
	init, data := tinyGPT2(t), demoCorpus(t)
	clk := &fakeClock{now: time.Unix(0, 0)}
	cfg := runConfig(init, data, t.TempDir())
	cfg.Steps, cfg.Duration, cfg.EvalEvery, cfg.Clock = 12, 65*time.Second, 0, clk.Now
	var reports []StepReport
	cfg.Progress = func(r StepReport) {
		reports = append(reports, r)
		clk.now = clk.now.Add(7 * time.Second) // the time between this report and the next
	}
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 10 || len(reports) != 10 || res.Elapsed != 70*time.Second {
		t.Fatalf("%d steps in %v, want 10 in 70s", res.Step, res.Elapsed)
	}
	plan := Schedule{Peak: cfg.LR, Min: cfg.LR / 10, Warmup: 1, Total: 12}
	for i, r := range reports {
		k := int64(i + 1)
		here := time.Duration(k-1) * 7 * time.Second
		stepsLeft := float64(12-k) * float64(here) / float64(k)
		want := min(time.Duration(stepsLeft), 65*time.Second-here)
		if r.LR != plan.LR(k-1) || r.Remaining != want || r.Remaining < 0 {
			t.Errorf("step %d: lr %v remaining %v, want %v and %v", k, r.LR, r.Remaining, plan.LR(k-1), want)
		}
	}
}
