package main

// The flag scheme every command follows (README "Flags"; TestFlagScheme enforces it):
//   - groups are dotted, as bittensor operators know them (--wallet.*, --subtensor.*,
//     --chain.path, --hub.*, --data.*, --metrics.listen, --eval.*, --wandb.*, --log.*);
//   - names the reference or bittensor define keep their spelling (--subtensor.chain_endpoint,
//     --model_dir, --dont_set_weights, ...); every other name is words joined by hyphens;
//   - one spelling per concept and one type per spelling; the first sentence of a flag's help
//     names its concept and is the same in every command;
//   - defaults come from the competition (--competition, --schedule); explicit flags override;
//   - machine output is JSON in one style (printJSON), --json where a human format exists.
// The groups shared by several commands are defined here, once.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/chain/subtensor"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/miner"
	"github.com/pretrain/pretrain/wallet"
)

// chainFlags name the local chain file.
type chainFlags struct {
	Path string `name:"chain.path" default:"localchain.db" help:"Local chain SQLite file."`
}

func (f chainFlags) open(ctx context.Context, e *env) (*localchain.Chain, error) {
	if !localchain.Exists(f.Path) {
		return nil, fmt.Errorf("%w: no local chain at %s (run pretrain chain init)", errUsage, f.Path)
	}
	return localchain.Open(ctx, localchain.Config{Path: f.Path, Logger: e.log})
}

// backendFlags choose the chain a command talks to: the local chain file, or the real network
// with the reference's subtensor flags.
type backendFlags struct {
	chainFlags    `embed:""`
	Network       string `name:"subtensor.network" placeholder:"finney|test|local" help:"Real network to use instead of --chain.path."`
	ChainEndpoint string `name:"subtensor.chain_endpoint" placeholder:"ws://HOST:PORT" help:"Subtensor websocket endpoint. Overrides --subtensor.network."`
}

// real reports whether the flags name a real network rather than the local chain file.
func (f backendFlags) real() bool { return f.Network != "" || f.ChainEndpoint != "" }

type closingChain interface {
	chain.Chain
	Close() error
}

func (f backendFlags) open(ctx context.Context, e *env) (closingChain, error) {
	if !f.real() {
		return f.chainFlags.open(ctx, e)
	}
	return subtensor.Open(ctx, subtensor.Config{Network: f.Network, Endpoint: f.ChainEndpoint, Logger: e.log})
}

// walletFlags name a wallet as bittensor's flags do.
type walletFlags struct {
	Name   string `name:"wallet.name" default:"default" help:"Wallet name."`
	Hotkey string `name:"wallet.hotkey" default:"default" help:"Hotkey name in the wallet."`
	Path   string `name:"wallet.path" help:"Wallets directory. Default ~/.bittensor/wallets."`
}

func (f walletFlags) wallet() wallet.Wallet {
	return wallet.Wallet{Root: f.Path, Name: f.Name, Hotkey: f.Hotkey}
}

// scheduleFlag chooses the competition schedule; empty is resolved by the command's context.
type scheduleFlag struct {
	Schedule string `enum:",mainnet,local" default:"" help:"Competition schedule: mainnet or local. Default: mainnet on a real network (--subtensor.*), else local, or the one that lists --competition."`
}

// subnetFlags choose the chain (local file or real network), the subnet and its schedule.
type subnetFlags struct {
	backendFlags `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	scheduleFlag `embed:""`
}

func (f subnetFlags) schedule() competition.Schedule {
	name := f.Schedule
	if name == "" {
		name = "local"
		if f.real() {
			name = "mainnet"
		}
	}
	return competition.Schedules[name]
}

// competitionFlags name a competition; commands that tokenize, pack or score take their
// defaults (tokenizer, sequence length, datasets, constraints) from it.
type competitionFlags struct {
	Competition string `default:"LOCAL" help:"Competition: an id or a name (LOCAL, B3_MODEL, B14_MODEL, ...)."`
}

// competition resolves --competition in the schedule named, or in the first schedule that
// lists it when none is (scheduleOf), as the competition is now (the schedule's last stage).
func (f competitionFlags) competition(schedule string) (competition.Competition, error) {
	id, err := competitionArg(f.Competition)
	if err != nil {
		return competition.Competition{}, err
	}
	name, sched := scheduleOf(schedule, id)
	c, ok, err := sched.Lookup(id, sched[len(sched)-1].Block)
	switch {
	case err != nil:
		return competition.Competition{}, err
	case !ok:
		return competition.Competition{}, fmt.Errorf("%w: competition %s is not in the %s schedule", errUsage, id, name)
	case c.Unsupported != "":
		return competition.Competition{}, fmt.Errorf("%w: competition %s: %s", errUsage, id, c.Unsupported)
	}
	return c, nil
}

// scheduleOf is the schedule named, or, when name is empty, the first of local and mainnet
// that lists id at some stage (mainnet when neither does).
func scheduleOf(name string, id competition.ID) (string, competition.Schedule) {
	if name != "" {
		return name, competition.Schedules[name]
	}
	for _, n := range []string{"local", "mainnet"} {
		for _, stage := range competition.Schedules[n] {
			for _, c := range stage.Competitions {
				if c.ID == id {
					return n, competition.Schedules[n]
				}
			}
		}
	}
	return "mainnet", competition.Mainnet
}

// competitionArg parses --competition, a usage error if bad.
func competitionArg(s string) (competition.ID, error) {
	id, err := miner.ParseCompetition(s)
	if err != nil {
		return 0, fmt.Errorf("%w: --competition: %v", errUsage, err)
	}
	return id, nil
}

// taskFor picks the competition's task that reads --dataset, or its only task when dataset
// is empty.
func taskFor(c competition.Competition, datasetName string) (competition.EvalTask, dataset.Spec, error) {
	if datasetName != "" {
		spec, err := dataset.SpecByName(datasetName)
		if err != nil {
			return competition.EvalTask{}, dataset.Spec{}, fmt.Errorf("%w: --dataset: %v", errUsage, err)
		}
		for _, t := range c.Tasks {
			if t.Dataset == spec.ID {
				return t, spec, nil
			}
		}
		// A dataset outside the competition: the loader's own kwargs.
		return competition.EvalTask{Dataset: spec.ID, BatchSize: 1, NumPages: 1}, spec, nil
	}
	if len(c.Tasks) != 1 {
		var names []string
		for _, t := range c.Tasks {
			if s, err := dataset.SpecByID(t.Dataset); err == nil {
				names = append(names, s.Name)
			}
		}
		return competition.EvalTask{}, dataset.Spec{}, fmt.Errorf("%w: competition %s reads %d datasets %v: choose one with --dataset", errUsage, c.ID, len(c.Tasks), names)
	}
	spec, err := dataset.SpecByID(c.Tasks[0].Dataset)
	return c.Tasks[0], spec, err
}

// scheduleSpecs are the loaders of every task a schedule lists.
func scheduleSpecs(s competition.Schedule) []dataset.Spec {
	var specs []dataset.Spec
	for _, stage := range s {
		specs = append(specs, competitionSpecs(stage.Competitions...)...)
	}
	return specs
}

// competitionSpecs are the loaders of the competitions' tasks.
func competitionSpecs(comps ...competition.Competition) []dataset.Spec {
	var specs []dataset.Spec
	for _, c := range comps {
		for _, t := range c.Tasks {
			if spec, err := dataset.SpecByID(t.Dataset); err == nil {
				specs = append(specs, spec)
			}
		}
	}
	return specs
}

// hubEndpointFlag names the model hub.
type hubEndpointFlag struct {
	HubEndpoint string `name:"hub.endpoint" env:"HF_ENDPOINT" placeholder:"URL" help:"Model hub base URL. Default https://huggingface.co; a local pretrain hubserver works."`
}

// hubFlags choose the model hub and its token.
type hubFlags struct {
	hubEndpointFlag `embed:""`
	Token           string `name:"hub.token" env:"HF_ACCESS_TOKEN,HF_TOKEN" help:"Hub access token. Needed to push and for private repos; sent only to --hub.endpoint."`
}

func (f hubFlags) client(e *env) (*hub.Client, error) {
	return hub.New(hub.Config{Endpoint: f.HubEndpoint, Token: f.Token, Logger: e.log, Progress: e.stderr})
}

// dataSourceFlags are the datasets-server flags of every command that reads the
// competitions' data as validators do.
type dataSourceFlags struct {
	DataEndpoint string `name:"data.endpoint" placeholder:"URL" help:"Datasets-server base URL. Default https://datasets-server.huggingface.co; a local pretrain dataserver works (and --dataset local needs one)."`
	HFToken      string `name:"data.hf_token" env:"HF_TOKEN" help:"HF token for the datasets that need one (Stack); sent only to --data.endpoint."`
	AWSKeyID     string `name:"data.aws_access_key_id" env:"AWS_ACCESS_KEY_ID" help:"AWS key id for Stack v2 contents."`
	AWSSecret    string `name:"data.aws_secret_access_key" env:"AWS_SECRET_ACCESS_KEY" help:"AWS secret for Stack v2 contents."`
	DataCache    string `name:"data.cache_dir" type:"path" help:"Keep fetched pages here and reuse them."`
}

// sources opens the data sources for the loaders of specs; defaultCache is used when
// --data.cache_dir is not given. The local corpus has no public server, so reading it
// without --data.endpoint is refused rather than sent to huggingface.co.
func (f *dataSourceFlags) sources(e *env, defaultCache string, specs ...dataset.Spec) (*dataset.Sources, error) {
	for _, s := range specs {
		if s.ID == competition.DatasetLocal && f.DataEndpoint == "" {
			return nil, fmt.Errorf("%w: the %s dataset is served by a local datasets server: give its URL with --data.endpoint (pretrain dataserver serves one; pretrain localnet prints its)", errUsage, s.Name)
		}
	}
	cache := f.DataCache
	if cache == "" {
		cache = defaultCache
	}
	return dataset.NewSources(dataset.SourcesConfig{Endpoint: f.DataEndpoint, HFToken: f.HFToken,
		AWSAccessKeyID: f.AWSKeyID, AWSSecretAccessKey: f.AWSSecret, CacheDir: cache, Logger: e.log})
}

// seedFlag is a seed as every command takes it: a decimal integer of any size, as Python's
// random.seed takes one.
type seedFlag struct{ v *big.Int }

func (s *seedFlag) UnmarshalText(b []byte) error {
	v, ok := new(big.Int).SetString(string(b), 10)
	if !ok {
		return fmt.Errorf("%q is not a decimal integer", b)
	}
	s.v = v
	return nil
}

func (s seedFlag) set() bool { return s.v != nil }

// uint64 is the seed for the commands whose random generator takes 64 bits.
func (s seedFlag) uint64(flag string) (uint64, error) {
	if s.v == nil {
		return 0, nil
	}
	if !s.v.IsUint64() {
		return 0, fmt.Errorf("%w: %s %s: want 0 to %d", errUsage, flag, s.v, uint64(1<<64-1))
	}
	return s.v.Uint64(), nil
}

// jsonFlag is --json for a command whose human output is one line.
type jsonFlag struct {
	JSON bool `name:"json" help:"Print JSON instead of text."`
}

// report prints v as JSON with --json, else the line format makes of args.
func (f jsonFlag) report(e *env, v any, format string, args ...any) error {
	if f.JSON {
		return printJSON(e, v)
	}
	_, err := fmt.Fprintf(e.stdout, format+"\n", args...)
	return err
}

// printJSON writes machine output to stdout in the one JSON style of every command.
func printJSON(e *env, v any) error { return writeJSON(e.stdout, v) }

// writeJSON writes v as indented JSON and a newline. Strings may come from strangers (chain
// commitments, model repos), so the C1 controls a terminal would obey are escaped too.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(escapeC1(b), '\n'))
	return err
}

// escapeC1 escapes DEL and the C1 controls (U+0080 to U+009F, CSI among them) in JSON text,
// which encoding/json writes raw; the C0 controls it escapes already.
func escapeC1(js []byte) []byte {
	out := make([]byte, 0, len(js))
	for _, r := range string(js) {
		if r == 0x7f || r >= 0x80 && r <= 0x9f {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// finiteOr is v, or its text ("+Inf", "NaN") where JSON has no number for it.
func finiteOr(v float64) any {
	if v > 1e308 || v < -1e308 || v != v {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return v
}
