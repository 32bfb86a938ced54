package miner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/nn"
)

func pushConfig(dir string, hot chain.Signer) PushConfig {
	return PushConfig{Dir: dir, Repo: "miner/tiny", Competition: competition.Local, Schedule: localSchedule(),
		NetUID: netuid, Hotkey: hot, RetryDelay: time.Millisecond}
}

// TestPushThenValidatorPath pushes a model to the local hub and chain, then takes the
// validator's path: metadata from the chain, download into the model store at the committed
// revision, hash check with the hotkey, constraint check, loss. It also pushes again: the
// second push finds its work done (no upload, no commit).
func TestPushThenValidatorPath(t *testing.T) {
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{Tempo: 100}, "//Miner")
	fc := &flakyChain{PushChain: lc}
	client, _ := startHub(t, nil)
	h := &countingHub{Hub: client}
	dir := tinyModel(t, 1)
	// A file the hub receives but validators do not download: the hash must be of what they
	// download.
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# tiny\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Push(ctx, h, fc, pushConfig(dir, keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || !res.Public || res.UID != 0 || h.uploads != 1 || fc.commits != 1 {
		t.Errorf("push result %+v, %d uploads, %d commits", res, h.uploads, fc.commits)
	}
	info, err := client.ModelInfo(ctx, "miner/tiny", "main")
	if err != nil {
		t.Fatal(err)
	}
	if info.Private || info.SHA != res.Metadata.ID.Commit || info.File("README.md") == nil {
		t.Errorf("hub: private %v, head %s, want public at %s with README.md", info.Private, info.SHA, res.Metadata.ID.Commit)
	}
	c, err := lc.Commitment(ctx, netuid, keys[0].SS58())
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != res.Data || c.Block != res.Metadata.Block {
		t.Errorf("chain has %q at %d, push reported %q at %d", c.Data, c.Block, res.Data, res.Metadata.Block)
	}
	want := "miner:tiny:" + info.SHA + ":" + modelstore.SecureHash(res.Hash, keys[0].SS58()) + ":99"
	if c.Data != want {
		t.Errorf("metadata %q, want %q", c.Data, want)
	}

	// The validator's path.
	md, err := (Subnet{Chain: lc, NetUID: netuid}).Metadata(ctx, keys[0].SS58())
	if err != nil {
		t.Fatal(err)
	}
	store, err := modelstore.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := modelstore.Ref{Namespace: md.ID.Namespace, Name: md.ID.Name, Commit: md.ID.Commit}
	snap, hash, err := store.Fetch(ctx, client, keys[0].SS58(), ref, competition.LocalConstraints.MaxBytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := modelstore.CheckHash(hash, keys[0].SS58(), md.ID.Hash, md.ID.SecureHash); err != nil {
		t.Fatalf("validator's hash check: %v", err)
	}
	if _, err := os.Stat(filepath.Join(snap, "README.md")); err == nil {
		t.Error("the validator's download has README.md; the hash would not be the reference's")
	}
	if _, err := eval.CheckDir(snap, competition.LocalConstraints); err != nil {
		t.Fatalf("validator's constraint check: %v", err)
	}
	m, err := nn.Load(snap)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if l, err := m.Loss(ctx, [][]int32{{464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}}); err != nil || !(l > 0) {
		t.Errorf("loss of the downloaded model = %v, %v", l, err)
	}

	// Pushing the same model again resumes from the state file: nothing to upload or commit.
	again, err := Push(ctx, h, fc, pushConfig(dir, keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Resumed || again.Data != res.Data || h.uploads != 1 || fc.commits != 1 {
		t.Errorf("second push: %+v, %d uploads, %d commits; want resumed, no new upload or commit", again, h.uploads, fc.commits)
	}
}

// TestPushRejectedModel: a model validators would reject is neither uploaded nor committed.
func TestPushRejectedModel(t *testing.T) {
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{}, "//Miner")
	client, _ := startHub(t, nil)
	h := &countingHub{Hub: client}
	strict := competition.LocalConstraints
	strict.MinParams = 10_000_000 // gpt2-tiny has 3.4M
	sched := competition.Schedule{{Block: 0, Competitions: []competition.Competition{
		{ID: competition.Local, Constraints: strict, RewardShare: 1, Tasks: competition.LocalSchedule[0].Competitions[0].Tasks}}}}
	cfg := pushConfig(tinyModel(t, 1), keys[0])
	cfg.Schedule = sched
	_, err := Push(ctx, h, lc, cfg)
	if _, ok := eval.IsRejected(err); !ok || !strings.Contains(err.Error(), "below the minimum") {
		t.Fatalf("push error = %v, want a rejection for too few parameters", err)
	}
	if h.uploads != 0 {
		t.Error("a rejected model was uploaded")
	}
	if _, err := lc.Commitment(ctx, netuid, keys[0].SS58()); !errors.Is(err, chain.ErrNotFound) {
		t.Errorf("commitment after a rejected push: %v, want ErrNotFound", err)
	}
	if _, err := client.ModelInfo(ctx, "miner/tiny", "main"); !errors.Is(err, hub.ErrRepoNotFound) {
		t.Errorf("repo after a rejected push: %v, want ErrRepoNotFound", err)
	}
}

// TestPushPreconditions: bad repo ids, inactive competitions and unregistered hotkeys fail
// before anything is uploaded.
func TestPushPreconditions(t *testing.T) {
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{}, "//Miner")
	client, _ := startHub(t, nil)
	h := &countingHub{Hub: client}
	dir := tinyModel(t, 1)
	for _, tc := range []struct {
		name string
		edit func(*PushConfig)
		want string
	}{
		{"repo without namespace", func(c *PushConfig) { c.Repo = "tiny-model" }, "format"},
		{"repo too long", func(c *PushConfig) { c.Repo = "miner/" + strings.Repeat("x", 40) }, "between 3 and 38"},
		{"inactive competition", func(c *PushConfig) { c.Competition = competition.B3Model }, "not active"},
		{"unregistered hotkey", func(c *PushConfig) { c.Hotkey = key(t, "//Stranger") }, "not registered"},
		{"no schedule", func(c *PushConfig) { c.Schedule = nil }, "schedule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pushConfig(dir, keys[0])
			tc.edit(&cfg)
			if _, err := Push(ctx, h, lc, cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if h.uploads != 0 {
		t.Errorf("%d uploads, want none", h.uploads)
	}
}

// TestPushReadBack drives the commit loop against chains that misbehave as real ones do.
func TestPushReadBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		chain   *flakyChain
		commits int // Commit calls the push makes
	}{
		// The first commit is reported but never lands; the second does.
		{"drops the first commit", &flakyChain{drop: 1}, 2},
		// The commitment shows up only after three reads (read after the commit, then one per
		// round): the loop re-commits in rounds 2 and 3, the chain's rate limit refuses both,
		// and the first commit's block stands.
		{"lags", &flakyChain{lag: 3}, 3},
		// Rate limited twice (an earlier commitment of this hotkey is recent), then accepted.
		{"rate limited", &flakyChain{failCommits: 2, failErr: chain.ErrRateLimited}, 3},
		// A transient node error is retried too.
		{"transient error", &flakyChain{failCommits: 1, failErr: errors.New("connection reset")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			lc, keys := openChain(t, localchain.SubnetConfig{CommitRateLimit: 100}, "//Miner")
			fc := tc.chain
			fc.PushChain = lc
			client, _ := startHub(t, nil)
			head, err := lc.CurrentBlock(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Push(ctx, client, fc, pushConfig(tinyModel(t, 1), keys[0]))
			if err != nil {
				t.Fatal(err)
			}
			if fc.commits != tc.commits || fc.accepted != 1 {
				t.Errorf("%d commits (%d accepted), want %d (1 accepted)", fc.commits, fc.accepted, tc.commits)
			}
			c, err := lc.Commitment(ctx, netuid, keys[0].SS58())
			if err != nil {
				t.Fatal(err)
			}
			if c.Data != res.Data || c.Block != head || res.Metadata.Block != head {
				t.Errorf("chain has %q at block %d; push read %q at %d; want block %d", c.Data, c.Block, res.Data, res.Metadata.Block, head)
			}
		})
	}
}

// TestPushResumes interrupts pushes after the upload and after the commit; the next run
// neither uploads nor commits again what was done.
func TestPushResumes(t *testing.T) {
	ctx := t.Context()
	lc, keys := openChain(t, localchain.SubnetConfig{CommitRateLimit: 100}, "//Miner")
	client, _ := startHub(t, nil)
	h := &countingHub{Hub: client}
	dir := tinyModel(t, 1)

	// Interrupted after the upload: the chain refuses the commit for good.
	fc := &flakyChain{PushChain: lc, failCommits: 1, failErr: chain.ErrInvalid}
	if _, err := Push(ctx, h, fc, pushConfig(dir, keys[0])); err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("push error = %v, want a commit error that says to resume", err)
	}
	if _, err := lc.Commitment(ctx, netuid, keys[0].SS58()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("commitment after a failed commit: %v", err)
	}
	// Interrupted after the commit: the hub refuses to publish.
	h.failVisibility = 1
	if _, err := Push(ctx, h, fc, pushConfig(dir, keys[0])); err == nil || !strings.Contains(err.Error(), "still private") {
		t.Fatalf("push error = %v, want a visibility error", err)
	}
	if h.uploads != 1 || fc.commits != 2 {
		t.Fatalf("%d uploads and %d commits, want 1 and 2", h.uploads, fc.commits)
	}
	if info, err := client.ModelInfo(ctx, "miner/tiny", "main"); err != nil || !info.Private {
		t.Fatalf("repo before publication: %+v, %v; want private", info, err)
	}
	res, err := Push(ctx, h, fc, pushConfig(dir, keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || !res.Public || h.uploads != 1 || fc.commits != 2 {
		t.Errorf("resumed push: %+v, %d uploads, %d commits; want 1 upload and 2 commits in all", res, h.uploads, fc.commits)
	}
	if info, err := client.ModelInfo(ctx, "miner/tiny", "main"); err != nil || info.Private {
		t.Errorf("repo after the resumed push: %+v, %v; want public", info, err)
	}
	st, err := os.Stat(StatePath(dir))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v, %v", st, err)
	}

	// A changed model is a new push: uploaded again (and, within the rate limit, refused
	// until the limit passes; here the context ends the wait).
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"eos_token_id": 50256, "do_sample": false}`), 0o644); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := Push(short, h, fc, pushConfig(dir, keys[0])); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("push of a changed model within the rate limit: %v, want the context's deadline", err)
	}
	if h.uploads != 2 {
		t.Errorf("%d uploads, want the changed model uploaded", h.uploads)
	}
}
