package localnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/dataset/dataserver"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/examples"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/hub/hubserver"
	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/leaderboard"
	"github.com/pretrain/pretrain/validator"
	"github.com/pretrain/pretrain/wallet"
)

// NetUID is the local subnet.
const NetUID = 1

// Schedule is the competition schedule localnet runs: the local competition, with c's page
// count and sequence length.
func Schedule(c Config) competition.Schedule {
	c = c.withDefaults()
	comp := competition.LocalSchedule[0].Competitions[0]
	comp.Constraints.SequenceLength = c.EvalSeqLen
	comp.Tasks = slices.Clone(comp.Tasks)
	comp.Tasks[0].NumPages = c.Pages
	return competition.Schedule{{Block: 0, Competitions: []competition.Competition{comp}}}
}

// Net is a running local subnet.
type Net struct {
	cfg      Config
	log      *slog.Logger
	chain    *localchain.Chain
	schedule competition.Schedule
	hubURL   string
	dataURL  string
	boardURL string
	tokens   map[string]string // miner name -> hub token
	miners   []*minerNode
	vals     []*valNode
	state    netState
}

// netState is what a later run on the same directory continues from.
type netState struct {
	Version int `json:"version"`
	Rounds  int `json:"rounds"` // rounds completed
}

type valNode struct {
	name  string
	key   *wallet.Keypair
	stake uint64 // TAO
	uid   chain.UID
	v     *validator.Validator
	err   error // set when its loop ended with an error
}

// Run starts the subnet and runs the miners' rounds until cfg.Rounds are done (then it stops
// everything and returns the summary) or ctx ends.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Net{cfg: cfg, log: cfg.Logger, schedule: Schedule(cfg)}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := n.loadState(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	services, sctx := errgroup.WithContext(ctx)
	if err := n.startServers(sctx, services); err != nil {
		cancel()
		_ = services.Wait()
		return nil, err
	}
	if err := n.openChain(ctx); err != nil {
		cancel()
		_ = services.Wait()
		return nil, err
	}
	defer n.chain.Close()
	var vg sync.WaitGroup
	if err := n.startValidators(sctx, &vg); err != nil {
		cancel()
		_ = services.Wait()
		return nil, err
	}
	if err := n.startLeaderboard(sctx, services); err != nil {
		cancel()
		vg.Wait()
		_ = services.Wait()
		return nil, err
	}
	n.printf("localnet in %s: chain %s (netuid %d, %s blocks, tempo %d)\n  leaderboard %s\n  hub         %s\n  datasets    %s\n",
		cfg.Dir, n.chainPath(), NetUID, cfg.BlockTime, cfg.Tempo, n.boardURL, n.hubURL, n.dataURL)
	sum := &Summary{Dir: cfg.Dir, Chain: n.chainPath(), NetUID: NetUID, HubURL: n.hubURL, DataURL: n.dataURL, LeaderboardURL: n.boardURL}
	var runErr error
	last := n.state.Rounds + cfg.Rounds
	for r := n.state.Rounds + 1; cfg.Rounds == 0 || r <= last; r++ {
		if ctx.Err() != nil {
			break
		}
		rs, err := n.round(ctx, r)
		if err != nil {
			if ctx.Err() == nil {
				runErr = err
			}
			break
		}
		sum.Rounds = append(sum.Rounds, *rs)
		n.state.Rounds = r
		if err := n.saveState(); err != nil {
			runErr = err
			break
		}
	}
	n.fill(context.WithoutCancel(ctx), sum)
	cancel()
	vg.Wait()
	_ = services.Wait()
	return sum, runErr
}

func (n *Net) printf(format string, args ...any) {
	if n.cfg.Out != nil {
		fmt.Fprintf(n.cfg.Out, format, args...)
	}
}

func (n *Net) chainPath() string { return filepath.Join(n.cfg.Dir, "chain.db") }

func (n *Net) loadState() error {
	b, err := os.ReadFile(filepath.Join(n.cfg.Dir, "localnet.json"))
	if errors.Is(err, os.ErrNotExist) {
		n.state = netState{Version: 1}
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &n.state); err != nil {
		return fmt.Errorf("localnet state: %w", err)
	}
	return nil
}

func (n *Net) saveState() error {
	b, _ := json.Marshal(n.state)
	return atomicfile.WriteFile(filepath.Join(n.cfg.Dir, "localnet.json"), b, 0o644)
}

// startServers starts the datasets server on the bundled corpus and the hub, and waits until
// both listen.
func (n *Net) startServers(ctx context.Context, g *errgroup.Group) error {
	dsDir := filepath.Join(n.cfg.Dir, "data")
	split := filepath.Join(dsDir, "pretrain", "demo-corpus", "demo")
	if err := os.MkdirAll(split, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(split, "train.jsonl.gz"), examples.DemoCorpus, 0o644); err != nil {
		return err
	}
	ds, err := dataserver.Open(dsDir, dataserver.Options{Log: n.log})
	if err != nil {
		return err
	}
	if n.tokens, err = n.hubTokens(); err != nil {
		return err
	}
	owners := map[string]string{}
	for name, tok := range n.tokens {
		owners[tok] = name
	}
	hs, err := hubserver.New(hubserver.Config{Dir: filepath.Join(n.cfg.Dir, "hub"), Tokens: owners, Logger: n.log})
	if err != nil {
		ds.Close()
		return err
	}
	dataAddr, hubAddr := make(chan net.Addr, 1), make(chan net.Addr, 1)
	g.Go(func() error {
		defer ds.Close()
		return ds.Run(ctx, n.cfg.DataListen, func(a net.Addr) { dataAddr <- a })
	})
	g.Go(func() error { return hs.Run(ctx, n.cfg.HubListen, func(a net.Addr) { hubAddr <- a }) })
	for _, c := range []struct {
		ch  chan net.Addr
		url *string
	}{{dataAddr, &n.dataURL}, {hubAddr, &n.hubURL}} {
		select {
		case a := <-c.ch:
			*c.url = "http://" + a.String()
		case <-ctx.Done():
			return fmt.Errorf("localnet: a server did not start: %w", context.Cause(ctx))
		}
	}
	return nil
}

// startLeaderboard serves the leaderboard on the chain and the validators' step logs.
func (n *Net) startLeaderboard(ctx context.Context, g *errgroup.Group) error {
	var logs []string
	for _, v := range n.vals {
		logs = append(logs, v.v.StepLog().Path())
	}
	lb, err := leaderboard.New(leaderboard.Config{Chain: n.chain, NetUID: NetUID, Schedule: n.schedule, StepLogs: logs,
		Hub: n.hubURL, Refresh: 5 * time.Second, Poll: 5 * time.Second, Logger: n.log.With("component", "leaderboard"),
		DownloadFlags: "--chain.path " + n.chainPath() + " --netuid " + strconv.Itoa(NetUID) + " --hub.endpoint " + n.hubURL})
	if err != nil {
		return err
	}
	addr := make(chan net.Addr, 1)
	g.Go(func() error { return lb.Run(ctx, n.cfg.LeaderboardListen, func(a net.Addr) { addr <- a }) })
	select {
	case a := <-addr:
		n.boardURL = "http://" + a.String()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("localnet: the leaderboard did not start: %w", context.Cause(ctx))
	}
}

// hubTokens returns each miner's hub token, made once and kept in a 0600 file.
func (n *Net) hubTokens() (map[string]string, error) {
	path := filepath.Join(n.cfg.Dir, "hub-tokens.json")
	tokens := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &tokens); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	changed := false
	for _, r := range population {
		if tokens[r.name] == "" {
			b := make([]byte, 16)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			tokens[r.name] = "hf_local_" + hex.EncodeToString(b)
			changed = true
		}
	}
	if changed {
		b, _ := json.Marshal(tokens)
		if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// openChain opens the chain file, creating the subnet and registering every neuron on the
// first run.
func (n *Net) openChain(ctx context.Context) error {
	existed := localchain.Exists(n.chainPath())
	c, err := localchain.Open(ctx, localchain.Config{Path: n.chainPath(), BlockTime: n.cfg.BlockTime, Logger: n.log})
	if err != nil {
		return err
	}
	n.chain = c
	owner := devKey("owner")
	if !existed {
		// Commit-reveal is on, as on subtensor: validators' weights are timelocked to the local
		// beacon and applied a reveal period later. The rate limits stay below the tempo.
		if err := c.CreateSubnet(ctx, NetUID, localchain.SubnetConfig{Tempo: n.cfg.Tempo,
			WeightsRateLimit: 2, CommitRateLimit: 2, ImmunityPeriod: 100_000, OwnerHotkey: owner.SS58()}); err != nil {
			return err
		}
	}
	for i := range n.cfg.Validators {
		v := &valNode{name: fmt.Sprintf("validator-%d", i+1), stake: uint64(100_000 / (i + 1))}
		v.key = devKey(v.name)
		n.vals = append(n.vals, v)
	}
	for _, r := range population {
		n.miners = append(n.miners, &minerNode{role: r, key: devKey("miner-" + r.name), token: n.tokens[r.name]})
	}
	register := func(k *wallet.Keypair, stake uint64) (chain.UID, error) {
		uid, err := c.Register(ctx, NetUID, k.SS58(), owner.SS58())
		if errors.Is(err, localchain.ErrAlreadyRegistered) {
			return uidOf(ctx, c, k.SS58())
		}
		if err != nil {
			return 0, err
		}
		if stake > 0 {
			if err := c.AddStake(ctx, k.SS58(), owner.SS58(), stake*1e9); err != nil {
				return 0, err
			}
		}
		return uid, nil
	}
	for _, v := range n.vals {
		if v.uid, err = register(v.key, v.stake); err != nil {
			return err
		}
	}
	for _, m := range n.miners {
		if m.uid, err = register(m.key, 0); err != nil {
			return err
		}
	}
	return nil
}

func uidOf(ctx context.Context, c chain.Reader, hotkey string) (chain.UID, error) {
	mg, err := c.Metagraph(ctx, NetUID)
	if err != nil {
		return 0, err
	}
	if i := slices.Index(mg.Hotkeys, hotkey); i >= 0 {
		return chain.UID(i), nil
	}
	return 0, fmt.Errorf("hotkey %s: %w", hotkey, chain.ErrNotRegistered)
}

// devKey is a well-known development key, as substrate's //Alice: the local subnet's keys
// guard nothing of value, and fixed keys let a second run find its neurons.
func devKey(name string) *wallet.Keypair {
	k, err := wallet.FromURI("//pretrain-localnet//" + name)
	if err != nil {
		panic(err) // the URI is a constant
	}
	return k
}

// startValidators starts each validator's loop. A validator that fails is reported, and the
// others go on.
func (n *Net) startValidators(ctx context.Context, wg *sync.WaitGroup) error {
	data, err := dataset.NewSources(dataset.SourcesConfig{Endpoint: n.dataURL, Logger: n.log})
	if err != nil {
		return err
	}
	worker := n.cfg.WorkerCommand
	if len(worker) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		worker = []string{exe, "eval-worker"}
	}
	for _, node := range n.vals {
		h, err := hub.New(hub.Config{Endpoint: n.hubURL})
		if err != nil {
			return err
		}
		cfg := validator.DefaultConfig()
		cfg.NetUID, cfg.Schedule = NetUID, n.schedule
		cfg.ModelDir = filepath.Join(n.cfg.Dir, node.name)
		cfg.Logger = n.log.With("component", node.name)
		// The reference's cadences are for 12 s blocks and hour-long rounds; a local subnet
		// with short blocks runs them faster.
		cfg.MetagraphResync = 10 * time.Second
		cfg.UpdateStartDelay = 0
		cfg.ChainUpdateCadence = 3 * time.Second
		cfg.ScanTopModelCadence = time.Minute
		cfg.EvalSlotWait = 5 * time.Second
		cfg.IdleWait = 3 * time.Second
		cfg.WeightsInterval = 10 * n.cfg.BlockTime
		cfg.WeightsRetry = 2 * n.cfg.BlockTime
		cfg.WeightsPoll = time.Second
		cfg.CleanStartDelay = 10 * time.Minute
		cfg.ChainErrorWait = 5 * time.Second
		node.v, err = validator.New(cfg, validator.Deps{Chain: n.chain, Signer: node.key, Hub: h, Data: data,
			Evaluator: &eval.Worker{Command: worker, Env: n.cfg.WorkerEnv, Timeout: n.cfg.EvalTimeout}})
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := node.v.Run(ctx); err != nil {
				node.err = err
				n.log.Error("validator stopped", "validator", node.name, "err", err)
				n.printf("%s stopped: %v (the others go on)\n", node.name, err)
			}
		}()
	}
	return nil
}
