package localnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/miner"
	"github.com/pretrain/pretrain/modelstore"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/train"
	"github.com/pretrain/pretrain/validator"
	"github.com/pretrain/pretrain/wallet"
)

// role is how a miner of the population behaves.
type role struct {
	name   string
	kind   string // trainer, follower, copier or cheater
	arch   string
	preset string
	budget float64 // fraction of Config.Steps per round
	seed   uint64
}

// population: two miners improve their own models (GPT-2 and Llama shapes, different
// budgets), one continues from the current best each round, one copies the leader byte for
// byte (epsilon must keep it from winning), and one commits a model that breaks a constraint.
var population = []role{
	{name: "alice", kind: "trainer", arch: "gpt2", preset: "gpt2-tiny", budget: 1, seed: 1},
	{name: "bob", kind: "trainer", arch: "llama", preset: "llama-tiny", budget: 0.5, seed: 2},
	{name: "carol", kind: "follower", arch: "gpt2", preset: "gpt2-tiny", budget: 0.5, seed: 3},
	{name: "dave", kind: "copier"},
	{name: "eve", kind: "cheater", arch: "gpt2", preset: "gpt2-tiny", seed: 5},
}

type minerNode struct {
	role
	key    *wallet.Keypair
	token  string
	uid    chain.UID
	status string // what it did last
	pushed *chain.ModelMetadata
	err    error
}

func (m *minerNode) dir(n *Net, elem ...string) string {
	return filepath.Join(append([]string{n.cfg.Dir, "miners", m.name}, elem...)...)
}

func (m *minerNode) repo() string { return m.name + "/local-model" }

// play runs the miner's part of a round: train (or copy, or cheat) and publish. It returns
// the metadata committed, or nil when the miner had nothing to publish this round.
func (m *minerNode) play(ctx context.Context, n *Net, round int) (*chain.ModelMetadata, error) {
	switch m.kind {
	case "trainer":
		dir, err := m.train(ctx, n, m.dir(n, "run"), "", int64(float64(round)*m.budget*float64(n.cfg.Steps)))
		if err != nil {
			return nil, err
		}
		return m.push(ctx, n, dir, round)
	case "follower":
		best, err := n.bestUID(ctx)
		if round == 1 || err != nil || best == m.uid {
			dir, err := m.train(ctx, n, m.dir(n, "run"), "", int64(float64(round)*m.budget*float64(n.cfg.Steps)))
			if err != nil {
				return nil, err
			}
			return m.push(ctx, n, dir, round)
		}
		init, err := n.download(ctx, best, m.dir(n, fmt.Sprintf("best-r%d", round)))
		if err != nil {
			return nil, err
		}
		dir, err := m.train(ctx, n, m.dir(n, fmt.Sprintf("run-r%d", round)), init, int64(m.budget*float64(n.cfg.Steps)))
		if err != nil {
			return nil, err
		}
		return m.push(ctx, n, dir, round)
	case "copier":
		best, err := n.bestUID(ctx)
		if err != nil || best == m.uid {
			m.status = "waiting for a leader to copy"
			return nil, nil
		}
		dir, err := n.download(ctx, best, m.dir(n, fmt.Sprintf("copy-r%d", round)))
		if err != nil {
			return nil, err
		}
		m.status = fmt.Sprintf("copied uid %d's model byte for byte", best)
		return m.push(ctx, n, dir, round)
	case "cheater":
		if m.pushed != nil || round > 1 {
			return nil, nil
		}
		return m.cheat(ctx, n)
	}
	return nil, fmt.Errorf("unknown role %q", m.kind)
}

// train runs the trainer into out (resuming there) until steps, from init when given, and
// returns the model directory to publish.
func (m *minerNode) train(ctx context.Context, n *Net, out, init string, steps int64) (string, error) {
	cfg := train.Config{Arch: m.arch, Data: filepath.Join(n.cfg.Dir, "data", "pretrain", "demo-corpus", "demo", "train.jsonl.gz"),
		Out: out, Steps: max(steps, 1), SeqLen: n.cfg.SeqLen, Batch: n.cfg.Batch, LR: 3e-3, Seed: m.seed,
		Tokenizer: "gpt2", EvalEvery: max(steps/2, 1), CheckpointEvery: max(steps, 1), EvalWindows: 8,
		Log: n.log.With("component", "miner-"+m.name)}
	if init != "" {
		cfg.Init = init
	} else {
		cfg.Preset = m.preset
	}
	res, err := train.Run(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("train: %w", err)
	}
	m.status = fmt.Sprintf("trained to step %d (held-out loss %.3f)", res.Step, res.BestLoss)
	return filepath.Join(out, "best"), nil
}

// sampling is the generation_config local miners ship: models trained for minutes on a CPU
// continue every prompt alike under greedy decoding and fail the reference's sanity check;
// sampling (which the reference honours, from the repo's generation_config.json) passes it.
const sampling = `{"do_sample": true, "top_k": 50, "bos_token_id": 50256, "eos_token_id": 50256}`

// push copies dir into this round's publication directory and publishes it with miner.Push.
func (m *minerNode) push(ctx context.Context, n *Net, dir string, round int) (*chain.ModelMetadata, error) {
	pub := m.dir(n, fmt.Sprintf("publish-r%d", round))
	if err := copyDir(dir, pub); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pub, "generation_config.json"), []byte(sampling), 0o644); err != nil {
		return nil, err
	}
	h, err := hub.New(hub.Config{Endpoint: n.hubURL, Token: m.token})
	if err != nil {
		return nil, err
	}
	res, err := miner.Push(ctx, h, n.chain, miner.PushConfig{Dir: pub, Repo: m.repo(), Competition: competition.Local,
		Schedule: n.schedule, NetUID: NetUID, Hotkey: m.key, RetryDelay: n.cfg.BlockTime, Logger: n.log.With("component", "miner-"+m.name)})
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	m.pushed = &res.Metadata
	return m.pushed, nil
}

// cheat publishes a model validators must reject (n_positions shorter than the competition's
// sequence length), bypassing the push's own check as a hostile miner would: a raw upload and
// a raw commit.
func (m *minerNode) cheat(ctx context.Context, n *Net) (*chain.ModelMetadata, error) {
	raw, cfg, err := nn.Preset(m.preset)
	if err != nil {
		return nil, err
	}
	var js map[string]any
	if err := json.Unmarshal(raw, &js); err != nil {
		return nil, err
	}
	js["n_positions"] = n.cfg.EvalSeqLen / 2
	if raw, err = json.Marshal(js); err != nil {
		return nil, err
	}
	if cfg, err = nn.ParseConfig(raw); err != nil {
		return nil, err
	}
	_, tensors, err := nn.InitRandom(cfg, "F32", m.seed)
	if err != nil {
		return nil, err
	}
	dir := m.dir(n, "short-context")
	_ = os.RemoveAll(dir)
	if err := nn.WriteModelDir(dir, raw, cfg, tensors); err != nil {
		return nil, err
	}
	h, err := hub.New(hub.Config{Endpoint: n.hubURL, Token: m.token})
	if err != nil {
		return nil, err
	}
	commit, err := h.Upload(ctx, dir, m.repo(), hub.UploadOptions{Message: "a model too short for the competition"})
	if err != nil {
		return nil, err
	}
	hash, err := modelstore.HashDir(dir)
	if err != nil {
		return nil, err
	}
	id := chain.ModelID{Namespace: m.name, Name: "local-model", Commit: commit, SecureHash: modelstore.SecureHash(hash, m.key.SS58()),
		CompetitionID: int(competition.Local)}
	if err := n.chain.Commit(ctx, m.key, NetUID, id.String()); err != nil {
		return nil, err
	}
	if err := h.SetVisibility(ctx, m.repo(), false); err != nil {
		return nil, err
	}
	c, err := n.chain.Commitment(ctx, NetUID, m.key.SS58())
	if err != nil {
		return nil, err
	}
	m.status = "committed a model with n_positions " + strconv.Itoa(n.cfg.EvalSeqLen/2)
	m.pushed = &chain.ModelMetadata{ID: id, Block: c.Block}
	return m.pushed, nil
}

// bestUID is the best miner once the validators have ranked models: the reference's
// best_uid (top incentive with metadata of the competition) when incentive exists, else the
// top uid of the first validator's latest step.
func (n *Net) bestUID(ctx context.Context) (chain.UID, error) {
	if uid, err := (miner.Subnet{Chain: n.chain, NetUID: NetUID}).BestUID(ctx, competition.Local); err == nil && n.hasIncentive(ctx, uid) {
		return uid, nil
	}
	recs, err := n.vals[0].v.StepLog().Read(-1)
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 || recs[len(recs)-1].TopUID == nil {
		return 0, errors.New("no model ranked yet")
	}
	return *recs[len(recs)-1].TopUID, nil
}

func (n *Net) hasIncentive(ctx context.Context, uid chain.UID) bool {
	mg, err := n.chain.Metagraph(ctx, NetUID)
	return err == nil && int(uid) < len(mg.Incentive) && mg.Incentive[uid] > 0
}

// download fetches uid's committed model, hash-verified, into dir.
func (n *Net) download(ctx context.Context, uid chain.UID, dir string) (string, error) {
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	h, err := hub.New(hub.Config{Endpoint: n.hubURL})
	if err != nil {
		return "", err
	}
	d, err := miner.Subnet{Chain: n.chain, NetUID: NetUID}.Download(ctx, h, n.schedule, uid, dir)
	if err != nil {
		return "", err
	}
	return d.Dir, nil
}

// copyDir copies the regular files of src into a fresh dst.
func copyDir(src, dst string) error {
	_ = os.RemoveAll(dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// waitEvaluated waits until every validator has logged a step, begun after since, that
// evaluated each of want's commits (or listed the uid as rejected), and returns those records.
func (n *Net) waitEvaluated(ctx context.Context, since time.Time, want map[chain.UID]chain.ModelMetadata) ([]*validator.StepRecord, error) {
	out := make([]*validator.StepRecord, len(n.vals))
	for {
		done := true
		for i, v := range n.vals {
			if out[i] != nil {
				continue
			}
			recs, _ := v.v.StepLog().Read(-1)
			for j := len(recs) - 1; j >= 0; j-- {
				if recs[j].Timestamp.Before(since) {
					break
				}
				if covers(&recs[j], want) {
					out[i] = &recs[j]
					break
				}
			}
			if out[i] == nil {
				done = false
			}
		}
		if done {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func covers(rec *validator.StepRecord, want map[chain.UID]chain.ModelMetadata) bool {
	for uid, meta := range want {
		key := strconv.Itoa(int(uid))
		if u, ok := rec.UIDData[key]; ok && u.Commit == meta.ID.Commit {
			continue
		}
		if u, ok := rec.Rejected[key]; ok && u.Commit == meta.ID.Commit {
			continue
		}
		return false
	}
	return true
}
