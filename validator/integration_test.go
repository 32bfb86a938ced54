package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"

	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/dataset/dataserver"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubtest"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/train"
	"github.com/pretrain/pretrain/wallet"
)

// The test binary doubles as the eval worker: with testWorkerEnv set it serves one request
// (eval.RunWorker), except for models whose config.json asks the test worker to crash, hang
// or allocate without bound, which stand in for models that make the engine misbehave.
const testWorkerEnv = "PRETRAIN_TEST_EVAL_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(testWorkerEnv) == "1" {
		os.Exit(testWorker())
	}
	if c := os.Getenv(crashChildEnv); c != "" {
		os.Exit(runCrashChild(c))
	}
	os.Exit(m.Run())
}

func testWorker() int {
	in, _ := io.ReadAll(os.Stdin)
	var req eval.Request
	if err := json.Unmarshal(in, &req); err == nil {
		cfg, _ := os.ReadFile(filepath.Join(req.ModelDir, "config.json"))
		var c struct {
			TestWorker string `json:"_test_worker"`
		}
		_ = json.Unmarshal(cfg, &c)
		switch c.TestWorker {
		case "crash":
			fmt.Fprintln(os.Stderr, "test worker: crashing")
			_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
			time.Sleep(time.Minute)
		case "hang":
			time.Sleep(time.Hour)
		case "alloc":
			var hog [][]byte
			for {
				b := make([]byte, 64<<20)
				for i := range b {
					b[i] = 1
				}
				hog = append(hog, b)
			}
		}
	}
	if err := eval.RunWorker(context.Background(), bytes.NewReader(in), os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// newTestWorker runs this test binary as the eval worker.
func newTestWorker(t testing.TB, timeout time.Duration) *eval.Worker {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkerCommand(exe)
	w.Timeout = timeout
	return w
}

func newWorkerCommand(exe string) *eval.Worker {
	return &eval.Worker{Command: []string{exe}, Env: append(os.Environ(), testWorkerEnv+"=1"),
		Timeout: time.Minute, MemoryLimit: 2 << 30}
}

// testSchedule is the local competition made small enough for a test: one page of the
// demo corpus, 64-token sequences, no eval delay beyond 2 blocks, and a size limit of 20 MB.
func testSchedule() competition.Schedule {
	c := competition.LocalConstraints
	c.SequenceLength = 64
	c.EvalBlockDelay = 2
	c.MaxBytes = 20 << 20
	return competition.Schedule{{Block: 0, Competitions: []competition.Competition{{
		ID: competition.Local, Constraints: c, RewardShare: 1, Tasks: []competition.EvalTask{
			{Name: "LOCAL_CORPUS", Method: competition.MethodTextLoss, Dataset: competition.DatasetLocal, BatchSize: 1, NumPages: 1, Weight: 1},
		}}}}}
}

// subnet is the embedded network a validator test runs on.
type subnet struct {
	chain  *localchain.Chain
	hub    *hub.Client // the miners' client (writes to namespace "miner")
	public *hub.Client // the validator's (no token)
	data   *dataset.Sources
	netuid uint16
	owner  *wallet.Keypair
	corpus string
	// Where the parts are, for validator processes started by a test.
	chainPath, hubURL, dataURL string
}

const testNetUID = 1

func newSubnet(t testing.TB) *subnet {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	corpus := filepath.Join("..", "examples", "demo-corpus-small.jsonl.gz")
	dsDir := filepath.Join(dir, "ds", "pretrain", "demo-corpus", "demo")
	if err := os.MkdirAll(dsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(corpus)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dsDir, "train.jsonl.gz"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := dataserver.Open(filepath.Join(dir, "ds"), dataserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	dsURL := serve(t, ds.Handler())
	sources, err := dataset.NewSources(dataset.SourcesConfig{Endpoint: dsURL})
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := hubtest.Start(t, nil, nil)
	miners, err := hub.New(hub.Config{Endpoint: hs.URL, Token: hubtest.Token})
	if err != nil {
		t.Fatal(err)
	}
	public, err := hub.New(hub.Config{Endpoint: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	c, err := localchain.Open(ctx, localchain.Config{Path: filepath.Join(dir, "chain.db"), Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.CreateSubnet(ctx, testNetUID, localchain.SubnetConfig{Tempo: 10, NoWeightsRateLimit: true,
		NoCommitRateLimit: true, NoCommitReveal: true, ImmunityPeriod: 1000}); err != nil {
		t.Fatal(err)
	}
	return &subnet{chain: c, hub: miners, public: public, data: sources, netuid: testNetUID,
		owner: key(t, "//Owner"), corpus: corpus, chainPath: filepath.Join(dir, "chain.db"), hubURL: hs.URL, dataURL: dsURL}
}

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// register registers hotkey uri on the subnet and stakes tao on it.
func (s *subnet) register(t testing.TB, uri string, tao uint64) (*wallet.Keypair, chain.UID) {
	t.Helper()
	ctx := context.Background()
	k := key(t, uri)
	uid, err := s.chain.Register(ctx, s.netuid, k.SS58(), s.owner.SS58())
	if err != nil {
		t.Fatal(err)
	}
	if tao > 0 {
		if err := s.chain.AddStake(ctx, k.SS58(), s.owner.SS58(), tao*1e9); err != nil {
			t.Fatal(err)
		}
	}
	return k, uid
}

// train makes a gpt2-tiny model with the trainer in steps optimizer steps. Models trained for
// seconds continue every prompt the same way and fail the greedy sanity check, so the model
// ships a sampling generation_config (which the reference honours), as localnet's miners do.
func (s *subnet) train(t testing.TB, steps int64) string {
	t.Helper()
	out := t.TempDir()
	_, err := train.Run(context.Background(), train.Config{Arch: "gpt2", Preset: "gpt2-tiny", Data: s.corpus, Out: out,
		Steps: steps, SeqLen: 64, Batch: 2, LR: 3e-3, Seed: 1, EvalEvery: steps, CheckpointEvery: steps, EvalWindows: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(out, "latest")
	gen := `{"do_sample": true, "top_k": 50, "bos_token_id": 50256, "eos_token_id": 50256}`
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(gen), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publish uploads dir as repo, commits its metadata for k (with secureHash, or the right one
// if empty) and makes the repo public, as a miner's push does.
func (s *subnet) publish(t testing.TB, k *wallet.Keypair, dir, repo, secureHash string) chain.ModelID {
	t.Helper()
	ctx := context.Background()
	commit, err := s.hub.Upload(ctx, dir, repo, hub.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secureHash == "" {
		h, err := modelstore.HashDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		secureHash = modelstore.SecureHash(h, k.SS58())
	}
	ns, name, _ := chain.SplitRepoID(repo)
	id := chain.ModelID{Namespace: ns, Name: name, Commit: commit, SecureHash: secureHash, CompetitionID: int(competition.Local)}
	if err := s.chain.Commit(ctx, k, s.netuid, id.String()); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.SetVisibility(ctx, repo, false); err != nil {
		t.Fatal(err)
	}
	return id
}

func (s *subnet) advance(t testing.TB, n int64) chain.Block {
	t.Helper()
	b, err := s.chain.Advance(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant copies a model directory and edits its config.json with edit.
func variant(t *testing.T, src string, edit func(map[string]any)) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "config.json" && edit != nil {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// degenerate writes src's model with every weight zero and greedy decoding: it generates one
// token whatever the prompt, so it fails the sanity check.
func degenerate(t *testing.T, src string) string {
	t.Helper()
	dst := variant(t, src, nil)
	if err := os.Remove(filepath.Join(dst, "generation_config.json")); err != nil {
		t.Fatal(err)
	}
	st, err := nn.OpenSafetensorsDir(src)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out []nn.Tensor
	for _, name := range st.Names() {
		tn, _ := st.Tensor(name)
		out = append(out, nn.F32Tensor(name, tn.Shape, make([]float32, tn.Numel())))
	}
	if err := nn.WriteSafetensorsFile(filepath.Join(dst, "model.safetensors"), out, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return dst
}

// padded adds a 24 MB file to src, over the test competition's 20 MB limit.
func padded(t *testing.T, src string) string {
	t.Helper()
	dst := variant(t, src, nil)
	if err := os.WriteFile(filepath.Join(dst, "model-extra.safetensors"), make([]byte, 24<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func validatorConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.NetUID = testNetUID
	cfg.Schedule = testSchedule()
	cfg.ModelDir = dir
	cfg.MetagraphResync = 200 * time.Millisecond
	cfg.UpdateStartDelay = 0
	cfg.ChainUpdateCadence = 50 * time.Millisecond
	cfg.ScanTopModelCadence = time.Hour
	cfg.EvalSlotWait = 50 * time.Millisecond
	cfg.IdleWait = 100 * time.Millisecond
	cfg.WeightsPoll = 50 * time.Millisecond
	cfg.WeightsRetry = 100 * time.Millisecond
	cfg.WeightsInterval = time.Hour
	cfg.CleanStartDelay = time.Hour
	return cfg
}

// TestValidatorEndToEnd runs the validator's loop on the embedded parts: miners' models made
// by the trainer, a byte-for-byte copy committed later, one with a wrong secure hash, one over
// the size limit, one that fails the sanity check, one whose worker crashes and one that
// hangs. The copy does not win, every bad one scores +Inf (or is rejected) with its reason in
// the step log, weights reach the chain and the incentive follows the winner.
func TestValidatorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models and evaluates them in worker processes")
	}
	ctx := context.Background()
	s := newSubnet(t)
	vali, vuid := s.register(t, "//Validator", 100_000)
	start := time.Now()
	good, weak := s.train(t, 20), s.train(t, 2)
	t.Logf("trained two models in %v", time.Since(start))

	type miner struct {
		name string
		dir  string
		hash string // committed secure hash ("" : the right one)
		uid  chain.UID
	}
	miners := []*miner{
		{name: "good", dir: good},
		{name: "weak", dir: weak},
		{name: "copier", dir: good}, // the same bytes as good, committed later
		{name: "badhash", dir: weak, hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{name: "big", dir: padded(t, weak)},
		{name: "degenerate", dir: degenerate(t, weak)},
		{name: "crash", dir: variant(t, weak, func(m map[string]any) { m["_test_worker"] = "crash" })},
		{name: "hang", dir: variant(t, weak, func(m map[string]any) { m["_test_worker"] = "hang" })},
	}
	byName := map[string]*miner{}
	for _, m := range miners {
		k, uid := s.register(t, "//"+m.name, 0)
		m.uid = uid
		byName[m.name] = m
		s.publish(t, k, m.dir, "miner/"+m.name, m.hash)
		s.advance(t, 1)
	}
	s.advance(t, 3) // past the eval block delay

	dir := t.TempDir()
	cfg := validatorConfig(dir)
	cfg.Logger = testLogger(t)
	v, err := New(cfg, Deps{Chain: s.chain, Signer: vali, Hub: s.public, Data: s.data,
		Evaluator: newTestWorker(t, 45*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	// Queue every miner before the first step, so that one step evaluates them all.
	if err := v.SyncMetagraph(ctx); err != nil {
		t.Fatal(err)
	}
	for range v.metagraph().N {
		if err := v.updateNext(ctx); err != nil {
			t.Logf("update: %v", err)
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(runCtx) }()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if last, _ := LastWeights(dir); last != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no weights set within 4 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	recs, err := v.StepLog().Read(-1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("step log: %v, %d records", err, len(recs))
	}
	rec := recs[0]
	get := func(name string) UIDRec { return rec.UIDData[strconv.Itoa(int(byName[name].uid))] }
	for _, name := range []string{"good", "weak", "copier", "degenerate", "crash", "hang"} {
		if _, ok := rec.UIDData[strconv.Itoa(int(byName[name].uid))]; !ok {
			t.Fatalf("uid of %s not evaluated in the first step: uids %v", name, rec.UIDs)
		}
	}
	if rec.TopUID == nil || *rec.TopUID != byName["good"].uid {
		t.Errorf("top uid %v, want good's %d", rec.TopUID, byName["good"].uid)
	}
	g, c := get("good"), get("copier")
	if g.AverageLoss == nil || c.AverageLoss == nil || *g.AverageLoss != *c.AverageLoss {
		t.Errorf("the copy must score exactly as the original: %v vs %v", g.AverageLoss, c.AverageLoss)
	}
	if c.Competitive || c.WinRate != 0 {
		t.Errorf("copier: competitive %v, win rate %v; epsilon must keep it out", c.Competitive, c.WinRate)
	}
	if w := get("weak"); w.AverageLoss == nil || *w.AverageLoss <= *g.AverageLoss {
		t.Errorf("weak model loss %v, want above good's %v", w.AverageLoss, *g.AverageLoss)
	}
	for name, want := range map[string]string{"degenerate": "sanity check", "crash": "worker died", "hang": "time limit"} {
		u := get(name)
		if u.AverageLoss != nil || !bytes.Contains([]byte(u.Reason), []byte(want)) {
			t.Errorf("%s: loss %v, reason %q; want +Inf with %q", name, u.AverageLoss, u.Reason, want)
		}
	}
	for name, want := range map[string]string{"badhash": "hash", "big": "bytes"} {
		r, ok := rec.Rejected[strconv.Itoa(int(byName[name].uid))]
		if !ok || !bytes.Contains([]byte(r.Reason), []byte(want)) {
			t.Errorf("%s: rejected %v, reason %q; want a rejection mentioning %q", name, ok, r.Reason, want)
		}
	}

	// The weights on chain favour the winner, and after an epoch so does the incentive.
	mg, err := s.chain.Metagraph(ctx, s.netuid)
	if err != nil {
		t.Fatal(err)
	}
	best, bestW := chain.UID(0), uint16(0)
	for _, e := range mg.Weights[vuid] {
		if e.Weight > bestW {
			best, bestW = e.UID, e.Weight
		}
	}
	if best != byName["good"].uid {
		t.Errorf("validator's weights on chain %v: the largest is uid %d, want good's %d", mg.Weights[vuid], best, byName["good"].uid)
	}
	s.advance(t, 12)
	if mg, err = s.chain.Metagraph(ctx, s.netuid); err != nil {
		t.Fatal(err)
	}
	top := 0
	for uid := range mg.Incentive {
		if mg.Incentive[uid] > mg.Incentive[top] {
			top = uid
		}
	}
	if chain.UID(top) != byName["good"].uid {
		t.Errorf("incentive %v: the largest is uid %d, want good's %d", mg.Incentive, top, byName["good"].uid)
	}
	recomputeWithPython(t, v.StepLog().Path(), testSchedule())

	// Replay re-runs the step from its record: without the hanging uid (whose +Inf costs the
	// whole time limit again) nothing differs; a record whose loss was altered is caught.
	sub := rec
	sub.UIDs = slices.DeleteFunc(slices.Clone(rec.UIDs), func(u chain.UID) bool { return u == byName["hang"].uid })
	rep, err := v.Replay(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Errorf("replay of the logged step: %+v", rep.Differences)
	}
	forged := *g.AverageLoss - 0.5
	sub.UIDData = maps.Clone(rec.UIDData)
	fg := sub.UIDData[strconv.Itoa(int(byName["good"].uid))]
	fg.AverageLoss = &forged
	sub.UIDData[strconv.Itoa(int(byName["good"].uid))] = fg
	if rep, err = v.Replay(ctx, sub); err != nil || !slices.ContainsFunc(rep.Differences, func(d Difference) bool {
		return d.What == "score" && d.UID != nil && *d.UID == byName["good"].uid
	}) {
		t.Errorf("replay of a forged loss: %+v, %v; want a score difference for uid %d", rep, err, byName["good"].uid)
	}
}

// recomputeWithPython checks the step log's competitive uids, wins, win rates and step weights
// against testdata/recompute_step.py, the reference's formulas run by CPython.
func recomputeWithPython(t *testing.T, logPath string, sched competition.Schedule) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not installed: skipping the independent recomputation")
		return
	}
	eps := sched[0].Competitions[0].Constraints.Epsilon.(competition.LinearDecay)
	out, err := exec.Command(py, "testdata/recompute_step.py", logPath,
		strconv.FormatFloat(eps.Start, 'g', -1, 64), strconv.FormatFloat(eps.End, 'g', -1, 64),
		strconv.FormatInt(eps.Blocks, 10)).CombinedOutput()
	if err != nil {
		t.Fatalf("recompute_step.py: %v\n%s", err, out)
	}
	t.Logf("recompute_step.py: %s", bytes.TrimSpace(out))
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
