package miner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/modelstore"
)

// Errors callers branch on.
var (
	// ErrNoMetadata: the miner has no commitment, or one that is not model metadata (the
	// reference's retrieve_model_metadata returns None for both).
	ErrNoMetadata = errors.New("no model metadata")
	// ErrNoBestModel: none of the top miners by incentive has a model in the competition.
	ErrNoBestModel = errors.New("no best model")
)

// Subnet reads one subnet's miners as the reference's notebook helpers do.
type Subnet struct {
	Chain  chain.Reader
	NetUID uint16
}

// Miner is a registered hotkey and its model metadata.
type Miner struct {
	UID      chain.UID           `json:"uid"`
	Hotkey   string              `json:"hotkey"`
	Metadata chain.ModelMetadata `json:"metadata"`
}

// Metadata returns hotkey's model metadata and the block it was committed at (taoverse's
// ChainModelMetadataStore.retrieve_model_metadata). A missing or malformed commitment is an
// error wrapping ErrNoMetadata.
func (s Subnet) Metadata(ctx context.Context, hotkey string) (chain.ModelMetadata, error) {
	c, err := s.Chain.Commitment(ctx, s.NetUID, hotkey)
	if errors.Is(err, chain.ErrNotFound) {
		return chain.ModelMetadata{}, fmt.Errorf("metadata of %s: %w", hotkey, ErrNoMetadata)
	}
	if err != nil {
		return chain.ModelMetadata{}, fmt.Errorf("metadata of %s: %w", hotkey, err)
	}
	id, err := chain.ParseModelID(c.Data)
	if err != nil {
		return chain.ModelMetadata{}, fmt.Errorf("metadata of %s: %w: %v", hotkey, ErrNoMetadata, err)
	}
	return chain.ModelMetadata{ID: id, Block: c.Block}, nil
}

// Miner returns uid's hotkey and model metadata.
func (s Subnet) Miner(ctx context.Context, uid chain.UID) (Miner, error) {
	mg, err := s.Chain.Metagraph(ctx, s.NetUID)
	if err != nil {
		return Miner{}, err
	}
	return s.minerOf(ctx, mg, uid)
}

func (s Subnet) minerOf(ctx context.Context, mg *chain.Metagraph, uid chain.UID) (Miner, error) {
	if int(uid) >= mg.N {
		return Miner{}, fmt.Errorf("uid %d: the subnet has %d neurons: %w", uid, mg.N, chain.ErrNotFound)
	}
	hotkey := mg.Hotkeys[uid]
	md, err := s.Metadata(ctx, hotkey)
	if err != nil {
		return Miner{}, fmt.Errorf("uid %d: %w", uid, err)
	}
	return Miner{UID: uid, Hotkey: hotkey, Metadata: md}, nil
}

// UIDOf returns hotkey's uid, or an error wrapping chain.ErrNotRegistered.
func (s Subnet) UIDOf(ctx context.Context, hotkey string) (chain.UID, error) {
	mg, err := s.Chain.Metagraph(ctx, s.NetUID)
	if err != nil {
		return 0, err
	}
	if i := slices.Index(mg.Hotkeys, hotkey); i >= 0 {
		return chain.UID(i), nil
	}
	return 0, fmt.Errorf("hotkey %s on subnet %d: %w", hotkey, s.NetUID, chain.ErrNotRegistered)
}

// bestUIDCandidates is how many miners by incentive the best-uid search looks at: "with a
// winner takes all model, we expect ~1 model per competition" (pretrain/graph.py).
const bestUIDCandidates = 5

// BestUID returns the best miner of a competition as pretrain.graph.best_uid does: the five
// uids of highest incentive, ordered as Python sorts (incentive, uid) pairs in reverse (ties
// go to the higher uid), and the first of them whose metadata names the competition. Miners
// without metadata, or with malformed metadata, are skipped. It returns an error wrapping
// ErrNoBestModel when none qualifies.
func (s Subnet) BestUID(ctx context.Context, comp competition.ID) (chain.UID, error) {
	mg, err := s.Chain.Metagraph(ctx, s.NetUID)
	if err != nil {
		return 0, err
	}
	uids := make([]chain.UID, mg.N)
	for i := range uids {
		uids[i] = chain.UID(i)
	}
	slices.SortFunc(uids, func(a, b chain.UID) int {
		return cmp.Or(cmp.Compare(mg.Incentive[b], mg.Incentive[a]), cmp.Compare(b, a))
	})
	for _, uid := range uids[:min(len(uids), bestUIDCandidates)] {
		m, err := s.minerOf(ctx, mg, uid)
		if errors.Is(err, ErrNoMetadata) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if m.Metadata.ID.CompetitionID == int(comp) {
			return uid, nil
		}
	}
	return 0, fmt.Errorf("competition %s on subnet %d: %w among the top %d miners by incentive", comp, s.NetUID, ErrNoBestModel, bestUIDCandidates)
}

// RepoURL is a model's page at its commit on the hub at endpoint (pretrain.mining.get_repo:
// "{endpoint}/{namespace}/{name}/tree/{commit}", with "None" for a missing commit).
func RepoURL(endpoint string, id chain.ModelID) string {
	commit := id.Commit
	if commit == "" {
		commit = "None"
	}
	return strings.TrimRight(cmp.Or(endpoint, hub.DefaultEndpoint), "/") + "/" + id.RepoID() + "/tree/" + commit
}

// Downloader fetches a repo at a commit into a new directory (hub.Client does).
type Downloader = modelstore.Downloader

// Downloaded is a model fetched from the hub and verified against the chain.
type Downloaded struct {
	Miner
	Dir   string
	Hash  string // the directory hash
	Facts eval.Facts
}

// Download fetches uid's committed model into dir (which must not exist) as the reference's
// load_remote_model does: metadata from the chain, the competition's constraints (its size
// limit is enforced before any weight is fetched), the files the loader reads at the committed
// revision; then, as a validator would, the directory hash is checked against the metadata's
// secure hash with the miner's hotkey and the model is loaded once. A model that fails either
// check is removed. sched gives the competition's constraints at the chain's current block.
func (s Subnet) Download(ctx context.Context, d Downloader, sched competition.Schedule, uid chain.UID, dir string) (*Downloaded, error) {
	m, err := s.Miner(ctx, uid)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	id := m.Metadata.ID
	block, err := s.Chain.CurrentBlock(ctx)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	comp, ok, err := sched.Lookup(competition.ID(id.CompetitionID), block)
	if err != nil {
		return nil, fmt.Errorf("download: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("download uid %d: competition %d is not active at block %d", uid, id.CompetitionID, block)
	}
	hash, facts, err := Fetch(ctx, d, m.Hotkey, id, comp.Constraints.MaxBytes, dir)
	if err != nil {
		return nil, fmt.Errorf("download uid %d: %w", uid, err)
	}
	return &Downloaded{Miner: m, Dir: dir, Hash: hash, Facts: facts}, nil
}

// Fetch downloads the model id names into dir (which must not exist; repos over maxBytes are
// refused when maxBytes > 0), checks its directory hash against the metadata with hotkey
// (modelstore.CheckHash) and that it loads, and returns the hash and the model's facts. dir
// is removed if a check fails.
func Fetch(ctx context.Context, d Downloader, hotkey string, id chain.ModelID, maxBytes int64, dir string) (string, eval.Facts, error) {
	if id.Commit == "" {
		return "", eval.Facts{}, fmt.Errorf("model %s: metadata has no commit", id.RepoID())
	}
	if err := d.Download(ctx, id.RepoID(), id.Commit, dir, maxBytes); err != nil {
		return "", eval.Facts{}, err
	}
	hash, err := modelstore.HashDir(dir)
	if err == nil {
		err = modelstore.CheckHash(hash, hotkey, id.Hash, id.SecureHash)
	}
	var facts eval.Facts
	if err == nil {
		facts, err = eval.Inspect(dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", eval.Facts{}, fmt.Errorf("model %s@%s: %w", id.RepoID(), id.Commit, err)
	}
	return hash, facts, nil
}

// ParseCompetition reads a competition given as its id ("99") or its name ("LOCAL",
// "B3_MODEL", any case), as the reference's --competition_id takes either.
func ParseCompetition(s string) (competition.ID, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		if n < 0 || n > 99 {
			return 0, fmt.Errorf("competition id %d: want 0 to 99 (two digits in the metadata string)", n)
		}
		return competition.ID(n), nil
	}
	for id := competition.ID(0); id <= 99; id++ {
		if name := id.String(); !strings.HasPrefix(name, "ID(") && strings.EqualFold(name, strings.TrimSpace(s)) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("competition %q: not an id or a known name", s)
}
