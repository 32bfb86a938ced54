package miner

import (
	"math"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/dataset/dataserver"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// startDataserver serves the bundled demo corpus as the local competition's dataset.
func startDataserver(t *testing.T) *dataset.Sources {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "pretrain", "demo-corpus", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", "demo-corpus-small.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.jsonl.gz"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := dataserver.Open(root, dataserver.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	src, err := dataset.NewSources(dataset.SourcesConfig{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// smallCompetition is the local competition cut down for a test: 64-token rows, one page of
// the demo corpus, plus a Stack v2 task that cannot load here (no AWS credentials), which a
// validator skips, renormalizing the weights.
func smallCompetition() competition.Competition {
	c := competition.LocalSchedule[0].Competitions[0]
	c.Constraints.SequenceLength = 64
	c.Tasks = []competition.EvalTask{
		{Name: "LOCAL_CORPUS", Method: competition.MethodTextLoss, Dataset: competition.DatasetLocal, BatchSize: 1, NumPages: 1, Weight: 0.6},
		{Name: "STACKV2_DEDUP", Method: competition.MethodTextLoss, Dataset: competition.DatasetStack2, BatchSize: 1, NumPages: 1, Weight: 0.4},
	}
	return c
}

// TestJudge scores a local model against a pushed one on the same seed (eval.LoadSample) and
// checks the parts against their definitions: the score is the mean of nn's per-batch losses
// on the task that loaded (its weight renormalized to 1), the copy of an earlier model loses by exactly
// epsilon times its score, and opponents a validator would score +Inf lose.
func TestJudge(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates models for tens of seconds; run without -short")
	}
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{NoCommitRateLimit: true}, "//Alice", "//Bob", "//Carol")
	client, _ := startHub(t, nil)
	alice := tinyModel(t, 1)
	// A random model's greedy text repeats itself and fails the sanity check; sampling (the
	// generation_config is honoured, as by the reference) passes it.
	if err := os.WriteFile(filepath.Join(alice, "generation_config.json"), []byte(`{"do_sample": true, "top_k": 0, "eos_token_id": 50256}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := pushConfig(alice, keys[0])
	res, err := Push(ctx, client, lc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Bob enters another competition; Carol copies Alice's metadata.
	if err := lc.Commit(ctx, keys[1], netuid, "bob:x:"+res.Metadata.ID.Commit+":"+res.Metadata.ID.SecureHash+":2"); err != nil {
		t.Fatal(err)
	}
	if err := lc.Commit(ctx, keys[2], netuid, res.Data); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Advance(ctx, 20); err != nil {
		t.Fatal(err)
	}
	comp := smallCompetition()
	seed := big.NewInt(20261202)
	tok, err := tokenizer.Load("gpt2")
	if err != nil {
		t.Fatal(err)
	}
	sample, err := eval.LoadSample(ctx, startDataserver(t), comp, tok, seed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sample.Tasks) != 1 || len(sample.Tasks[0].Batches) < 4 {
		t.Fatalf("sample: %d tasks (want the local one; Stack v2 skipped), %d batches", len(sample.Tasks), len(sample.Tasks[0].Batches))
	}
	batches := sample.Tasks[0].Batches[:4] // CPU time: the arithmetic is the same for 50
	sample.Tasks[0].Batches = batches

	// The local model is Alice's, byte for byte, committed later: a copy.
	const commitBlock = 30
	scored := 0
	v, err := Judge(ctx, VerdictConfig{Model: alice, Competition: comp, Sample: sample, CommitBlock: commitBlock,
		Against: []chain.UID{0, 1, 2}, Subnet: Subnet{Chain: lc, NetUID: netuid}, Hub: client, StoreDir: t.TempDir(),
		Progress: func() { scored++ }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Load(alice)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mean := 0.0
	for _, b := range batches {
		l, err := m.Loss(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		mean += l / float64(len(batches))
	}
	if math.Abs(v.Score-mean) > 1e-12*mean || len(v.Tasks) != 1 || v.Tasks[0].NumSamples != len(batches) {
		t.Errorf("score %v (tasks %+v, %s), want the mean batch loss %v", v.Score, v.Tasks, v.Reason, mean)
	}
	if scored != 2 { // the local model and Alice's
		t.Errorf("progress counted %d models, want 2", scored)
	}
	if v.EvalBlock != commitBlock+comp.Constraints.EvalBlockDelay || v.WouldWin || len(v.Against) != 3 {
		t.Fatalf("verdict %+v", v)
	}
	a := v.Against[0]
	eps := comp.Constraints.Epsilon.Epsilon(v.EvalBlock, res.Metadata.Block)
	if a.Score != v.Score || a.Wins || a.Epsilon != eps || math.Abs(a.Margin-(-eps*v.Score)) > 1e-12 || a.Failed != "" {
		t.Errorf("against the original: %+v; want equal scores, no win, margin -%g·score", a, eps)
	}
	for _, o := range v.Against[1:] {
		if o.Failed == "" || !math.IsInf(o.Score, 1) || !o.Wins {
			t.Errorf("against uid %d: %+v; want a failed opponent the local model beats", o.UID, o)
		}
	}

	// A model validators reject never wins, even with nobody to beat.
	strict := comp
	strict.Constraints.MaxParams = 1000
	v, err = Judge(ctx, VerdictConfig{Model: alice, Competition: strict, Sample: sample, CommitBlock: commitBlock})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Reason, "parameters") || v.WouldWin || !math.IsInf(v.Score, 1) {
		t.Errorf("rejected model's verdict: %+v", v)
	}
}

// TestCompare checks the epsilon arithmetic against hand-computed cases.
func TestCompare(t *testing.T) {
	eps := competition.LinearDecay{Start: 0.005, End: 0.0005, Blocks: 600}
	for _, tc := range []struct {
		name                  string
		mine, theirs          float64
		mineBlock, theirBlock chain.Block
		current               chain.Block
		wantEps, wantMargin   float64
		wins                  bool
	}{
		// At current-their = 0 blocks epsilon is 0.005: 4.0·0.995 = 3.98.
		{"earlier model, fresh", 3.97, 4.0, 101, 100, 100, 0.005, 3.98 - 3.97, true},
		{"earlier model, not beaten", 3.99, 4.0, 101, 100, 100, 0.005, 3.98 - 3.99, false},
		// 300 blocks later: 0.005 - 0.0045·300/600 = 0.00275; 4.0·0.99725 = 3.989.
		{"earlier model, half decayed", 3.985, 4.0, 400, 100, 400, 0.00275, 3.989 - 3.985, true},
		{"same block: no epsilon", 3.999, 4.0, 50, 50, 60, 0, 0.001, true},
		{"same block tie loses", 4.0, 4.0, 50, 50, 60, 0, 0, false},
		// The local model is the earlier one: its score counts ×(1-0.005).
		{"local model earlier", 4.01, 4.0, 10, 20, 10, 0.005, 4.0 - 4.01*0.995, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Compare(tc.mine, tc.mineBlock, 7, tc.theirs, tc.theirBlock, eps, tc.current)
			if m.Wins != tc.wins || math.Abs(m.Epsilon-tc.wantEps) > 1e-15 || math.Abs(m.Margin-tc.wantMargin) > 1e-12 {
				t.Errorf("Compare = %+v, want wins %v, epsilon %g, margin %g", m, tc.wins, tc.wantEps, tc.wantMargin)
			}
		})
	}
}

func TestVerdictConfigValidate(t *testing.T) {
	tasks := &eval.Sample{Tasks: []eval.TaskData{{Task: competition.EvalTask{Name: "T", Weight: 1}}}}
	for _, tc := range []struct {
		name string
		c    VerdictConfig
		ok   bool
	}{
		{"no opponents", VerdictConfig{Model: "m", Sample: tasks}, true},
		{"no model", VerdictConfig{Sample: tasks}, false},
		{"no sample", VerdictConfig{Model: "m"}, false},
		{"opponents without a hub", VerdictConfig{Model: "m", Sample: tasks, Against: []chain.UID{1}, StoreDir: "s"}, false},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
