package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/nn"
)

// The test binary doubles as a worker (see TestWorker*): with workerEnv set it serves one
// request, or misbehaves as the variable says.
const workerEnv = "PRETRAIN_EVAL_TEST_WORKER"

func TestMain(m *testing.M) {
	switch os.Getenv(workerEnv) {
	case "":
		os.Exit(m.Run())
	case "serve":
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "crash":
		_, _ = io.ReadAll(os.Stdin)
		fmt.Fprintln(os.Stderr, "fatal error: test crash")
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
	case "hang":
		time.Sleep(time.Hour)
	case "alloc":
		_, _ = io.ReadAll(os.Stdin)
		var hog [][]byte
		for {
			b := make([]byte, 32<<20)
			for i := range b {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	case "garbage":
		_, _ = io.ReadAll(os.Stdin)
		fmt.Println("not json")
	}
	os.Exit(0)
}

func tinyModel(t *testing.T, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := nn.InitModelDir(dir, "gpt2-tiny", "F32", seed); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCheck(t *testing.T) {
	c := competition.LocalConstraints
	ok := Facts{Architecture: "GPT2LMHeadModel", Params: 3_000_000, Bytes: 12 << 20, VocabSize: 50257, Positions: 1024}
	cases := []struct {
		name   string
		edit   func(*Facts)
		reason string // "" : accepted
	}{
		{"accepted", func(*Facts) {}, ""},
		{"architecture", func(f *Facts) { f.Architecture = "BertForMaskedLM" }, "architecture"},
		{"min params", func(f *Facts) { f.Params = c.MinParams - 1 }, "below the minimum"},
		{"min params inclusive", func(f *Facts) { f.Params = c.MinParams }, ""},
		{"max params", func(f *Facts) { f.Params = c.MaxParams + 1 }, "above the maximum"},
		{"max params inclusive", func(f *Facts) { f.Params = c.MaxParams }, ""},
		{"bytes", func(f *Facts) { f.Bytes = c.MaxBytes + 1 }, "bytes"},
		{"vocab", func(f *Facts) { f.VocabSize = 50256 }, "vocab_size"},
		{"positions", func(f *Facts) { f.Positions = 511 }, "n_positions"},
	}
	for _, tc := range cases {
		f := ok
		tc.edit(&f)
		err := Check(f, c, 50257)
		reason, rejected := IsRejected(err)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case tc.reason != "" && (!rejected || !strings.Contains(reason, tc.reason)):
			t.Errorf("%s: %v, want a rejection mentioning %q", tc.name, err, tc.reason)
		}
	}
}

func TestCheckDir(t *testing.T) {
	dir := tinyModel(t, 1)
	f, err := CheckDir(dir, competition.LocalConstraints)
	if err != nil {
		t.Fatalf("gpt2-tiny in the local competition: %v", err)
	}
	m, err := nn.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if f.Params != m.ParamCount() || f.Architecture != "GPT2LMHeadModel" || f.Bytes <= 0 {
		t.Errorf("facts %+v, model has %d params", f, m.ParamCount())
	}
	strict := competition.LocalConstraints
	strict.MinParams = f.Params + 1
	if _, err := CheckDir(dir, strict); err == nil {
		t.Error("a model below the parameter window passed")
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckDir(dir, competition.LocalConstraints); err == nil {
		t.Error("a broken config.json passed")
	} else if _, ok := IsRejected(err); !ok {
		t.Errorf("a broken config.json: %v, want a rejection", err)
	}
}

// sample makes a one-task sample of n pseudo-random batches of length l over a vocabulary.
func sample(n, l, vocab int, weight float64) *Sample {
	s := &Sample{Competition: competition.Local, Seed: "1"}
	td := TaskData{Task: competition.EvalTask{Name: "T", Method: competition.MethodTextLoss, Weight: weight}}
	x := uint32(12345)
	for range n {
		row := make([]int32, l)
		for j := range row {
			x = x*1664525 + 1013904223
			row[j] = int32((x >> 8) % uint32(vocab))
		}
		td.Batches = append(td.Batches, dataset.Batch{row})
	}
	s.Tasks = []TaskData{td}
	return s
}

func TestScore(t *testing.T) {
	ctx := context.Background()
	// A torch-made fixture whose generation_config (no_repeat_ngram_size, a repetition
	// penalty) keeps its outputs varied, so it passes the sanity check.
	m, err := nn.Load(filepath.Join("..", "nn", "testdata", "models", "llama-genconfig"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := sample(3, 130, m.Config.VocabSize, 0.5) // one task of weight 0.5: renormalized to 1
	res, err := Score(ctx, m, s)
	if err != nil {
		t.Fatal(err)
	}
	// The score is the plain mean of the per-batch losses, computed independently here.
	want := 0.0
	for _, b := range s.Tasks[0].Batches {
		l, err := m.Loss(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		want += l / 3
	}
	if res.Reason != "" || math.Abs(res.Score-want) > 1e-12*want || len(res.Tasks) != 1 || res.Tasks[0].NumSamples != 3 {
		t.Fatalf("score %+v, want %v", res, want)
	}
	if math.Abs(res.Tasks[0].WeightedNormScore-want) > 1e-12*want {
		t.Errorf("weighted score %v: the 0.5 weight must be renormalized to 1", res.Tasks[0].WeightedNormScore)
	}
	// One batch: the reference's sanity check indexes batches[1] and raises.
	if res, _ := Score(ctx, m, sample(1, 130, m.Config.VocabSize, 1)); !math.IsInf(res.Score, 1) || !strings.Contains(res.Reason, "sanity check needs 2") {
		t.Errorf("one batch: %+v", res)
	}
}

func TestScoreSanityCheckFails(t *testing.T) {
	dir := tinyModel(t, 3)
	st, err := nn.OpenSafetensorsDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var zero []nn.Tensor
	for _, name := range st.Names() {
		tn, _ := st.Tensor(name)
		zero = append(zero, nn.F32Tensor(name, tn.Shape, make([]float32, tn.Numel())))
	}
	st.Close()
	if err := nn.WriteSafetensorsFile(filepath.Join(dir, "model.safetensors"), zero, nil); err != nil {
		t.Fatal(err)
	}
	m, err := nn.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res, err := Score(context.Background(), m, sample(2, 130, 50257, 1))
	if err != nil || !math.IsInf(res.Score, 1) || !strings.Contains(res.Reason, "sanity check failed") || res.Failure != FailSanity {
		t.Fatalf("a model with zero weights: %+v, %v; want +Inf from the sanity check", res, err)
	}
}

func worker(t *testing.T, mode string, timeout time.Duration, mem uint64) *Worker {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{Command: []string{exe}, Env: append(os.Environ(), workerEnv+"="+mode), Timeout: timeout, MemoryLimit: mem}
}

func TestWorker(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("..", "nn", "testdata", "models", "llama-genconfig") // passes the sanity check
	m, err := nn.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := sample(2, 130, m.Config.VocabSize, 1)
	file := filepath.Join(t.TempDir(), "sample.json")
	if err := WriteSample(file, s); err != nil {
		t.Fatal(err)
	}
	direct, err := Score(ctx, m, s)
	m.Close()
	if err != nil || direct.Reason != "" {
		t.Fatalf("in process: %+v, %v; want a finite score", direct, err)
	}
	got, err := worker(t, "serve", time.Minute, 4<<30).Evaluate(ctx, dir, file)
	if err != nil {
		t.Fatal(err)
	}
	if got.Score != direct.Score || got.Reason != direct.Reason || got.LoadSeconds <= 0 {
		t.Errorf("worker %+v, in process %+v: the same model on the same sample must score the same", got, direct)
	}
	for _, tc := range []struct {
		mode, want string
		kind       Failure
	}{
		{"crash", "worker died", FailCrash},
		{"hang", "time limit", FailTimeout},
		{"garbage", "no result", FailCrash},
	} {
		res, err := worker(t, tc.mode, 2*time.Second, 0).Evaluate(ctx, dir, file)
		if err != nil || !math.IsInf(res.Score, 1) || !strings.Contains(res.Reason, tc.want) || res.Failure != tc.kind {
			t.Errorf("%s: %+v, %v; want +Inf (%s) with %q", tc.mode, res, err, tc.kind, tc.want)
		}
	}
}

// TestWorkerMemoryLimit: a worker that allocates without bound dies at its limit and the
// parent gets an +Inf result, not an out-of-memory machine.
func TestWorkerMemoryLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory does not fit a data-segment limit")
	}
	res, err := worker(t, "alloc", time.Minute, 256<<20).Evaluate(context.Background(), t.TempDir(), "none")
	if err != nil || !math.IsInf(res.Score, 1) || !strings.Contains(res.Reason, "worker died") {
		t.Fatalf("%+v, %v; want +Inf from a worker killed at its memory limit", res, err)
	}
	t.Logf("reason: %s", res.Reason)
}

// TestWorkerCancel: cancelling the context kills the worker and reports the cancellation.
func TestWorkerCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := worker(t, "hang", time.Minute, 0).Evaluate(ctx, t.TempDir(), "none")
	if err == nil {
		t.Fatal("a cancelled evaluation returned no error")
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, r := range []Result{{Score: 3.5, Tasks: []TaskScore{{Name: "A", RawScore: 3.5}}}, Failed(FailSanity, "boom")} {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(r.response()); err != nil {
			t.Fatal(err)
		}
		var back Response
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if got := back.result(); got.Score != r.Score || got.Reason != r.Reason || got.Failure != r.Failure {
			t.Errorf("round trip %+v -> %+v", r, got)
		}
	}
}
