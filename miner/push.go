package miner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/wait"
	"github.com/pretrain/pretrain/modelstore"
)

// DefaultRetryDelay is the pause between commit attempts and read-backs: push's
// retry_delay_secs (pretrain/mining.py). Commitments are rate limited (about one per 20 minutes
// on subtensor), so the loop may wait several rounds.
const DefaultRetryDelay = 60 * time.Second

// Hub is what a push needs from the model hub. [hub.Client] implements it.
type Hub interface {
	Upload(ctx context.Context, dir, repo string, opts hub.UploadOptions) (string, error)
	SetVisibility(ctx context.Context, repo string, private bool) error
	ModelInfo(ctx context.Context, repo, revision string) (*hub.ModelInfo, error)
	Downloader
}

// PushChain is what a push needs from the chain.
type PushChain interface {
	chain.Reader
	chain.Committer
}

// PushConfig describes one push.
type PushConfig struct {
	Dir         string         // the model directory
	Repo        string         // "namespace/name" on the hub
	Competition competition.ID // the competition the model enters
	Schedule    competition.Schedule
	NetUID      uint16
	Hotkey      chain.Signer // the miner's hotkey: signs the commitment, salts the secure hash
	// RetryDelay is the pause between rounds of the commit loop (default DefaultRetryDelay).
	RetryDelay time.Duration
	// KeepPrivate leaves the repo private after the commit (validators cannot fetch it then).
	KeepPrivate bool
	// StatePath is the push's progress file (default StatePath(Dir)).
	StatePath string
	Logger    *slog.Logger
}

// Validate reports a config that cannot work.
func (c PushConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("push: no model directory")
	case c.Hotkey == nil:
		return errors.New("push: no hotkey")
	case len(c.Schedule) == 0:
		return errors.New("push: no competition schedule")
	case c.RetryDelay < 0:
		return fmt.Errorf("push: negative retry delay %v", c.RetryDelay)
	}
	if _, _, err := chain.SplitRepoID(c.Repo); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if err := hub.ValidateRepoID(c.Repo); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	return nil
}

// StatePath is where a push of dir records its progress: beside dir (not inside it, where it
// would be uploaded), as dir + ".push.json".
func StatePath(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return filepath.Clean(dir) + ".push.json"
}

// PushResult is what a push published.
type PushResult struct {
	UID      chain.UID           `json:"uid"`
	Metadata chain.ModelMetadata `json:"metadata"`
	// Data is the committed metadata string.
	Data string `json:"data"`
	// Hash is the directory hash of the files validators download.
	Hash   string     `json:"hash"`
	Facts  eval.Facts `json:"facts"`
	Public bool       `json:"public"`
	// Resumed says that an earlier, interrupted push of the same model was continued.
	Resumed bool `json:"resumed"`
}

// pushState is the versioned progress file of a push. It holds no secret.
type pushState struct {
	Version     int    `json:"version"`
	Repo        string `json:"repo"`
	Competition int    `json:"competition_id"`
	NetUID      uint16 `json:"netuid"`
	Hotkey      string `json:"hotkey"`
	LocalHash   string `json:"local_hash"` // the directory hash of Dir when it was uploaded
	Commit      string `json:"commit,omitempty"`
	Hash        string `json:"hash,omitempty"` // of the files as downloaded from the hub
	Data        string `json:"data,omitempty"` // the metadata string to commit
	Committed   bool   `json:"committed,omitempty"`
	Block       int64  `json:"block,omitempty"`
	Public      bool   `json:"public,omitempty"`
}

const pushStateVersion = 1

// Push publishes a model as pretrain.mining.push does, with what validators
// will check done first:
//  1. the competition must be active, the hotkey registered, and the directory must pass the
//     competition's constraints (eval.CheckDir, the validators' own check): a model they would
//     reject is never uploaded;
//  2. upload to the hub as a private repo;
//  3. download the commit as a validator does and hash those files; check them again; the
//     secure hash is the hash salted with the hotkey;
//  4. commit the metadata string, then read it back until it matches: a rate limit
//     (chain.ErrRateLimited), a commit the chain dropped, or a chain that lags are retried
//     every RetryDelay until ctx ends;
//  5. make the repo public (unless KeepPrivate).
//
// Progress is recorded in the state file after each step, so a push interrupted at any
// point, run again with the same model and flags, continues where it stopped instead of
// uploading or committing again. Nothing is committed before step 3 has passed.
func Push(ctx context.Context, h Hub, ch PushChain, cfg PushConfig) (*PushResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "miner", "repo", cfg.Repo, "hotkey", cfg.Hotkey.SS58())
	statePath := cfg.StatePath
	if statePath == "" {
		statePath = StatePath(cfg.Dir)
	}
	fail := func(err error) (*PushResult, error) {
		return nil, fmt.Errorf("push %s to %s: %w", cfg.Dir, cfg.Repo, err)
	}

	block, err := ch.CurrentBlock(ctx)
	if err != nil {
		return fail(err)
	}
	comp, ok, err := cfg.Schedule.Lookup(cfg.Competition, block)
	switch {
	case err != nil:
		return fail(err)
	case !ok:
		return fail(fmt.Errorf("competition %s is not active at block %d", cfg.Competition, block))
	case comp.Unsupported != "":
		return fail(fmt.Errorf("competition %s cannot be evaluated here: %s", cfg.Competition, comp.Unsupported))
	}
	uid, err := (Subnet{Chain: ch, NetUID: cfg.NetUID}).UIDOf(ctx, cfg.Hotkey.SS58())
	if err != nil {
		return fail(err)
	}
	facts, err := eval.CheckDir(cfg.Dir, comp.Constraints)
	if err != nil {
		return fail(fmt.Errorf("validators would not accept this model: %w", err))
	}
	localHash, err := modelstore.HashDir(cfg.Dir)
	if err != nil {
		return fail(err)
	}
	want := pushState{Version: pushStateVersion, Repo: cfg.Repo, Competition: int(cfg.Competition),
		NetUID: cfg.NetUID, Hotkey: cfg.Hotkey.SS58(), LocalHash: localHash}
	st, resumed := readState(statePath, want, log)
	save := func() error { return writeState(statePath, st) }
	res := &PushResult{UID: uid, Facts: facts, Resumed: resumed}

	if st.Commit != "" && !hasRevision(ctx, h, cfg.Repo, st.Commit) {
		log.Info("recorded upload is gone from the hub; uploading again", "revision", st.Commit)
		st = want
	}
	if st.Commit == "" {
		if info, err := h.ModelInfo(ctx, cfg.Repo, "main"); err == nil && !info.Private {
			// The reference's push_to_hub(private=True) keeps an existing repo's visibility too.
			log.Warn("the repo is public: the new commit is visible before its metadata is on chain, so another miner could commit it first")
		}
		log.Info("uploading", "dir", cfg.Dir)
		if st.Commit, err = h.Upload(ctx, cfg.Dir, cfg.Repo, hub.UploadOptions{}); err != nil {
			return fail(err)
		}
		if err := save(); err != nil {
			return fail(err)
		}
		log.Info("uploaded", "revision", st.Commit)
	}
	if st.Data == "" {
		hash, err := uploadedHash(ctx, h, cfg.Repo, st.Commit, comp.Constraints)
		if err != nil {
			return fail(err)
		}
		ns, name, _ := chain.SplitRepoID(cfg.Repo) // validated above
		id := chain.ModelID{Namespace: ns, Name: name, CompetitionID: int(cfg.Competition), Commit: st.Commit,
			SecureHash: modelstore.SecureHash(hash, cfg.Hotkey.SS58())}
		if err := id.Validate(); err != nil {
			return fail(err)
		}
		st.Hash, st.Data = hash, id.String()
		if err := save(); err != nil {
			return fail(err)
		}
	}
	committed, err := commitUntilReadBack(ctx, ch, cfg, st.Data, log)
	if err != nil {
		return fail(fmt.Errorf("%w (run the same push again to resume)", err))
	}
	st.Committed, st.Block = true, int64(committed)
	if err := save(); err != nil {
		return fail(err)
	}
	if !cfg.KeepPrivate {
		if err := h.SetVisibility(ctx, cfg.Repo, false); err != nil {
			return fail(fmt.Errorf("the model is committed but still private: %w (run the same push again to publish it)", err))
		}
		st.Public = true
		if err := save(); err != nil {
			return fail(err)
		}
		log.Info("repo is public")
	}
	id, _ := chain.ParseModelID(st.Data) // written by this package
	res.Metadata = chain.ModelMetadata{ID: id, Block: committed}
	res.Data, res.Hash, res.Public = st.Data, st.Hash, st.Public
	return res, nil
}

// hasRevision reports whether the hub still has repo at commit. Errors other than a missing
// repo or revision count as present: the download that follows will say what is wrong.
func hasRevision(ctx context.Context, h Hub, repo, commit string) bool {
	_, err := h.ModelInfo(ctx, repo, commit)
	return !errors.Is(err, hub.ErrRepoNotFound) && !errors.Is(err, hub.ErrRevisionNotFound)
}

// uploadedHash downloads repo at commit as a validator does (the loader's files only, the
// size limit checked first), checks the download against the constraints, and returns its
// directory hash: the files as uploaded, not the local directory, which may hold more.
func uploadedHash(ctx context.Context, h Hub, repo, commit string, c competition.Constraints) (string, error) {
	tmp, err := os.MkdirTemp("", "pretrain-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "model")
	if err := h.Download(ctx, repo, commit, dir, c.MaxBytes); err != nil {
		return "", fmt.Errorf("download the upload back: %w", err)
	}
	if _, err := eval.CheckDir(dir, c); err != nil {
		return "", fmt.Errorf("the files validators download from %s@%s: %w", repo, commit, err)
	}
	return modelstore.HashDir(dir)
}

// commitUntilReadBack commits data and reads it back until the chain returns it, and returns
// the block it was committed at. Each round first reads (an earlier commit may have landed
// late, or an interrupted push may have committed it already), then commits, then reads
// again, then waits cfg.RetryDelay. Read-back compares the parsed-and-reprinted metadata, as
// the reference compares to_compressed_str(). Only errors that cannot pass by waiting
// (unregistered hotkey, invalid call) and ctx's end stop the loop.
func commitUntilReadBack(ctx context.Context, ch PushChain, cfg PushConfig, data string, log *slog.Logger) (chain.Block, error) {
	delay := cfg.RetryDelay
	if delay == 0 {
		delay = DefaultRetryDelay
	}
	hotkey := cfg.Hotkey.SS58()
	readBack := func() (chain.Block, bool) {
		c, err := ch.Commitment(ctx, cfg.NetUID, hotkey)
		if err != nil {
			if !errors.Is(err, chain.ErrNotFound) {
				log.Warn("read back metadata", "err", err)
			}
			return 0, false
		}
		id, err := chain.ParseModelID(c.Data)
		return c.Block, err == nil && id.String() == data
	}
	for round := 1; ; round++ {
		if b, ok := readBack(); ok {
			log.Info("metadata on chain", "block", b)
			return b, nil
		}
		err := ch.Commit(ctx, cfg.Hotkey, cfg.NetUID, data)
		switch {
		case err == nil:
			log.Info("committed metadata; reading it back", "round", round)
			if b, ok := readBack(); ok {
				log.Info("metadata on chain", "block", b)
				return b, nil
			}
			log.Warn("metadata not on chain yet", "retry_in", delay)
		case errors.Is(err, chain.ErrNotRegistered), errors.Is(err, chain.ErrInvalid):
			return 0, fmt.Errorf("commit metadata: %w", err)
		case ctx.Err() != nil:
			return 0, fmt.Errorf("commit metadata: %w", ctx.Err())
		case errors.Is(err, chain.ErrRateLimited):
			log.Info("commit rate limited; waiting", "retry_in", delay)
		default:
			log.Warn("commit metadata", "err", err, "retry_in", delay)
		}
		if err := wait.Sleep(ctx, delay); err != nil {
			return 0, fmt.Errorf("commit metadata: %w", err)
		}
	}
}

// readState returns the recorded progress of an earlier push of the same model (same repo,
// competition, subnet, hotkey and directory contents), and whether there was one; otherwise
// want, a fresh start.
func readState(path string, want pushState, log *slog.Logger) (pushState, bool) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return want, false
	}
	var st pushState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil || st.Version != pushStateVersion {
		log.Warn("ignoring unreadable push state", "path", path, "err", err)
		return want, false
	}
	if st.Repo != want.Repo || st.Competition != want.Competition || st.NetUID != want.NetUID ||
		st.Hotkey != want.Hotkey || st.LocalHash != want.LocalHash {
		log.Info("push state is for another push; starting afresh", "path", path)
		return want, false
	}
	log.Info("resuming push", "path", path, "revision", st.Commit, "committed", st.Committed)
	return st, true
}

func writeState(path string, st pushState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}
