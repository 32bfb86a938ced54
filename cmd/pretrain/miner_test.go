package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/train"
)

// writeTrainCorpus writes a small JSON-lines corpus and returns its path.
func writeTrainCorpus(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "{\"content\": \"Document %d tells of ships, whales and the sea, and of the men who sail it for years.\"}\n", i)
	}
	corpus := filepath.Join(t.TempDir(), "corpus.jsonl")
	if err := os.WriteFile(corpus, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return corpus
}

// TestMinerTrain trains a few steps of gpt2-tiny (no --arch: the preset fixes it), checks
// the JSON result names loadable model directories, that re-running resumes and says so
// with the human summary naming the model to push, and that --fresh starts over.
func TestMinerTrain(t *testing.T) {
	corpus := writeTrainCorpus(t)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"miner", "train", "--preset", "gpt2-tiny", "--corpus", corpus, "--out", out,
		"--batch-size", "2", "--seq-len", "32", "--eval-every", "2", "--checkpoint-every", "2", "--eval-windows", "2"}
	stdout, stderr, err := runCLI(t, append(args, "--steps", "4", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Step int64   `json:"step"`
		Best float64 `json:"best_loss"`
		Dir  struct {
			Dir  string  `json:"dir"`
			Step int64   `json:"step"`
			Loss float64 `json:"held_out_loss"`
		} `json:"best"`
		Latest struct {
			Dir  string `json:"dir"`
			Step int64  `json:"step"`
		} `json:"latest"`
		Curve []struct {
			Step int64   `json:"step"`
			Loss float64 `json:"held_out_loss"`
		} `json:"curve"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Step != 4 || !(res.Best > 0) {
		t.Fatalf("result %s: %v", stdout, err)
	}
	if res.Dir.Dir != filepath.Join(out, "best") || res.Dir.Loss != res.Best || res.Latest.Dir != filepath.Join(out, "latest") ||
		res.Latest.Step != 4 || len(res.Curve) != 2 || res.Curve[1].Step != 4 || !filepath.IsAbs(res.Dir.Dir) {
		t.Errorf("model directories in the result: %s", stdout)
	}
	for _, want := range []string{"training a new GPT2LMHeadModel", "best:   " + filepath.Join(out, "best") + "  not written yet",
		"latest: " + filepath.Join(out, "latest") + "  not written yet", "windows of 32 tokens, tokenizer gpt2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("start lacks %q:\n%s", want, stderr)
		}
	}
	m, err := nn.Load(res.Dir.Dir)
	if err != nil {
		t.Fatalf("best checkpoint does not load: %v", err)
	}
	m.Close()

	stdout, stderr, err = runCLI(t, append(args, "--steps", "6")...)
	if err != nil {
		t.Fatalf("resume to step 6: %v\n%s", err, stderr)
	}
	if want := "resuming from step 4 of " + out; !strings.Contains(stderr, want) || !strings.Contains(stderr, "--fresh starts over") {
		t.Errorf("resume message: want %q and --fresh in\n%s", want, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "step 6 after ") ||
		!regexp.MustCompile(`^best: +`+regexp.QuoteMeta(filepath.Join(out, "best"))+` +held-out loss \d+\.\d{4} at step [246] \(the lowest\)$`).MatchString(lines[1]) ||
		lines[2] != "latest: "+filepath.Join(out, "latest")+"  step 6 (the last checkpoint)" ||
		lines[3] != "push it: pretrain miner push --model "+filepath.Join(out, "best")+" --competition LOCAL --repo NAMESPACE/NAME" {
		t.Errorf("summary:\n%s", stdout)
	}

	notes := filepath.Join(out, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = runCLI(t, append(args, "--steps", "2", "--fresh", "--json")...)
	if err != nil || !strings.Contains(stderr, "starting over in "+out+": removed best, best.json, latest, trainer_state.bin") ||
		!strings.Contains(stderr, "training a new") || !strings.Contains(stdout, `"step": 2`) {
		t.Errorf("--fresh: %v\n%s\n%s", err, stderr, stdout)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("--fresh removed a file it does not own: %v", err)
	}
}

// TestMinerTrainRefuses: a contradicting --arch, a foreign --out (also with --fresh), and
// a competition outside the schedule are refused with errors that say why.
func TestMinerTrainRefuses(t *testing.T) {
	corpus := writeTrainCorpus(t)
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "thesis.tex"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"miner", "train", "--corpus", corpus, "--steps", "1", "--seq-len", "32"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "gpt2-tiny", "--arch", "llama", "--out", t.TempDir()}, "arch llama contradicts preset gpt2-tiny, a gpt2 model"},
		{[]string{"--preset", "gpt2-tiny", "--out", foreign}, "not a training run directory"},
		{[]string{"--preset", "gpt2-tiny", "--out", foreign, "--fresh"}, "not a training run directory"},
		{[]string{"--preset", "gpt2-tiny", "--out", t.TempDir(), "--competition", "B3_MODEL", "--schedule", "local"}, "competition B3_MODEL is not in the local schedule"},
		{[]string{"--preset", "gpt2-tiny", "--out", t.TempDir(), "--competition", "B3_MODEL"}, "tokenizer Xenova/gpt-4 has 100277 tokens, the model's vocabulary 50257"},
		{[]string{"--out", t.TempDir()}, "give --preset NAME"},
		{[]string{"--preset", "gpt2-tiny", "--out", t.TempDir(), "--pages", "3"}, "--dataset and --pages choose pages of a datasets-server"},
		{[]string{"--preset", "gpt2-tiny", "--out", t.TempDir(), "--steps", "0"}, "give --steps N or --minutes M"},
		{[]string{"--preset", "gpt2-tiny", "--out", t.TempDir(), "--minutes=-1"}, "give --steps N or --minutes M"},
	} {
		_, _, err := runCLI(t, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(foreign); len(entries) != 1 {
		t.Errorf("the foreign directory now holds %d entries", len(entries))
	}
}

// TestMinerTrainCompetitionDefaults: without --tokenizer and --seq-len a run takes the
// competition's (LOCAL: gpt2, 512; B3 on mainnet: Xenova/gpt-4, whose vocabulary a gpt2
// model cannot hold); explicit flags override.
func TestMinerTrainCompetitionDefaults(t *testing.T) {
	corpus := filepath.Join("..", "..", "examples", "demo-corpus-small.jsonl.gz")
	base := []string{"miner", "train", "--preset", "gpt2-tiny", "--corpus", corpus, "--steps", "1", "--batch-size", "1",
		"--eval-windows", "1"}
	local := competition.LocalConstraints
	_, stderr, err := runCLI(t, append(base, "--out", t.TempDir())...)
	if want := fmt.Sprintf("windows of %d tokens, tokenizer %s", local.SequenceLength, local.Tokenizer); err != nil || !strings.Contains(stderr, want) {
		t.Errorf("LOCAL's defaults: %v, want %q in\n%s", err, want, stderr)
	}
	_, stderr, err = runCLI(t, append(base, "--out", t.TempDir(), "--seq-len", "64", "--tokenizer", "distilgpt2")...)
	if want := "windows of 64 tokens, tokenizer distilgpt2"; err != nil || !strings.Contains(stderr, want) {
		t.Errorf("explicit flags: %v, want %q in\n%s", err, want, stderr)
	}
	_, _, err = runCLI(t, append(base, "--out", t.TempDir(), "--competition", "B3_MODEL", "--schedule", "mainnet", "--seq-len", "64")...)
	if err == nil || !strings.Contains(err.Error(), "tokenizer Xenova/gpt-4") {
		t.Errorf("B3's tokenizer for a gpt2 model: %v", err)
	}
}

// TestMinerTrainOldSpellings: the hidden --data (a file or a URL) and --hf-token map onto
// --corpus, --data.endpoint and --data.hf_token, with a note that never shows the token.
func TestMinerTrainOldSpellings(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  minerTrainCmd
		want string // the data source, or the error
		note string
	}{
		{"file", minerTrainCmd{Data: "c.jsonl"}, "c.jsonl", "--data FILE is now --corpus FILE"},
		{"url", minerTrainCmd{Data: "http://127.0.0.1:8089"}, "http://127.0.0.1:8089", "--data URL is now --data.endpoint URL"},
		{"same file twice", minerTrainCmd{Data: "c.jsonl", Corpus: "c.jsonl"}, "c.jsonl", "--corpus FILE"},
		{"file and corpus disagree", minerTrainCmd{Data: "a.jsonl", Corpus: "b.jsonl"}, "error: --data a.jsonl and --corpus b.jsonl disagree", "--corpus FILE"},
		{"url and endpoint disagree", minerTrainCmd{Data: "https://a", DataEndpoint: "https://b"}, "error: --data https://a and --data.endpoint https://b disagree", "--data.endpoint URL"},
		{"file and endpoint", minerTrainCmd{Data: "c.jsonl", DataEndpoint: "http://h"}, "error: give one of --corpus", "--corpus FILE"},
		{"token", minerTrainCmd{Corpus: "c.jsonl", HFToken: "hf_secret"}, "c.jsonl", "--hf-token is now --data.hf_token"},
		{"corpus", minerTrainCmd{Corpus: "c.jsonl"}, "c.jsonl", ""},
		{"endpoint", minerTrainCmd{DataEndpoint: "https://datasets-server.huggingface.co"}, "https://datasets-server.huggingface.co", ""},
		{"neither", minerTrainCmd{}, "error: give --corpus FILE", ""},
		{"url as corpus", minerTrainCmd{Corpus: "https://h"}, "error: --corpus takes a file", ""},
		{"file as endpoint", minerTrainCmd{DataEndpoint: "c.jsonl"}, "error: --data.endpoint \"c.jsonl\" is not an http(s) URL", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := tc.cmd.dataSource(&env{stderr: &stderr})
			if err != nil {
				got = "error: " + strings.TrimPrefix(err.Error(), "usage: ")
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Errorf("data source %q, want %q", got, tc.want)
			}
			if !strings.Contains(stderr.String(), tc.note) || (tc.note == "" && stderr.Len() > 0) || strings.Contains(stderr.String(), "hf_secret") {
				t.Errorf("notes %q, want %q", stderr.String(), tc.note)
			}
		})
	}
	// The old spellings parse, and the help shows only the new ones.
	corpus := writeTrainCorpus(t)
	stdout, _, err := runCLI(t, "miner", "train", "--preset", "gpt2-tiny", "--data", corpus, "--hf-token", "x", "--batch-size", "2",
		"--out", t.TempDir(), "--steps", "1", "--seq-len", "32", "--json")
	if err != nil || !strings.Contains(stdout, `"step": 1`) {
		t.Errorf("old spellings: %v\n%s", err, stdout)
	}
	help, _, _ := runCLI(t, "miner", "train", "--help")
	for _, old := range []string{"--data=", "--hf-token", "--batch-size"} {
		if strings.Contains(help, old) {
			t.Errorf("help shows the old spelling %s", old)
		}
	}
	for _, name := range nn.Presets() {
		if !strings.Contains(help, name) {
			t.Errorf("help does not list preset %s", name)
		}
	}
}

// TestTrainProgressPlain: off a terminal, 100 steps of a second each give a line at most
// every plainEvery plus one after each evaluation, each held-out loss shown with its step.
func TestTrainProgressPlain(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	p := newTrainProgress(&out, competition.LocalSchedule[0].Competitions[0], func() time.Time { return now })
	for step := int64(1); step <= 100; step++ {
		now = now.Add(time.Second)
		r := train.StepReport{Step: step, Steps: 100, Elapsed: time.Duration(step) * time.Second, Loss: 5,
			Remaining: time.Duration(100-step) * time.Second, HeldOut: math.NaN(), LR: 1e-3}
		if step >= 25 {
			r.HeldOut, r.HeldOutStep = 4+1/float64(step/25), step/25*25 // evaluations at 25, 50, 75, 100
		}
		p.step(r)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// Step 1, then every 10 s (11, 21, …, 91) and the evaluations at 25, 50, 75 and 100.
	if len(lines) < 10 || len(lines) > 16 {
		t.Fatalf("%d lines for 100 steps:\n%s", len(lines), out.String())
	}
	evals := 0
	for _, l := range lines {
		if m := regexp.MustCompile(`held-out (\d\.\d{4}) \(step (\d+)\)`).FindStringSubmatch(l); m != nil {
			if l == lines[len(lines)-1] && m[2] != "100" {
				t.Errorf("last line %q does not show step 100's evaluation", l)
			}
			evals++
		}
		if strings.Contains(l, "eta -") {
			t.Errorf("negative ETA in %q", l)
		}
	}
	for _, step := range []string{"step 25/100", "step 50/100", "step 75/100", "step 100/100"} {
		if !strings.Contains(out.String(), "train: "+step+",") {
			t.Errorf("no line right after the evaluation at %s", step)
		}
	}
	if !strings.HasPrefix(lines[0], "train: step 1/100, loss 5.0000, lr 1.00e-03") || evals < 4 {
		t.Errorf("lines:\n%s", out.String())
	}
}

func TestBarPosition(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name         string
		r            train.StepReport
		startElapsed time.Duration
		seconds      bool
		done, total  int64
	}{
		{"steps alone, resumed at 40", train.StepReport{Step: 50, Steps: 100, StartStep: 40}, 0, false, 10, 60},
		{"budget alone: the budget left at the start", train.StepReport{Step: 5, Elapsed: 70 * s, Budget: 120 * s, Remaining: 50 * s}, 30 * s, true, 40, 90},
		{"both, steps end first", train.StepReport{Step: 90, Steps: 100, Elapsed: 90 * s, Budget: 600 * s, Remaining: 10 * s}, 0, true, 90, 100},
		{"budget overrun", train.StepReport{Step: 9, Elapsed: 130 * s, Budget: 120 * s}, 0, true, 130, 130},
	} {
		seconds, done, total := barPosition(tc.r, tc.startElapsed)
		if seconds != tc.seconds || done != tc.done || total != tc.total {
			t.Errorf("%s: (%v, %d, %d), want (%v, %d, %d)", tc.name, seconds, done, total, tc.seconds, tc.done, tc.total)
		}
	}
}

// cancelOnWrite is a writer that cancels a context once a write contains a string.
type cancelOnWrite struct {
	bytes.Buffer
	after  string
	cancel func()
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(w.after)) {
		w.cancel()
	}
	return w.Buffer.Write(p)
}

// TestMinerTrainInterrupted: a run stopped after its first step says where its model
// directories are and that the same command resumes.
func TestMinerTrainInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &cancelOnWrite{after: "train: step 1/", cancel: cancel}
	out := filepath.Join(t.TempDir(), "run")
	c := minerTrainCmd{Preset: "gpt2-tiny", Corpus: writeTrainCorpus(t), Out: out, Steps: 1000, SeqLen: 32, Batch: 2,
		EvalWindows: 2, competitionFlags: competitionFlags{"LOCAL"}, scheduleFlag: scheduleFlag{"local"}, DType: "F32"}
	err := c.Run(ctx, &env{stdout: io.Discard, stderr: stderr, log: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	for _, want := range []string{"interrupted at step 1; the same command resumes", "latest: " + filepath.Join(out, "latest") + "  step 1 (the last checkpoint)"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("no %q in\n%s", want, stderr.String())
		}
	}
}
