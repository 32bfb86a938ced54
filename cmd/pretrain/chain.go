package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/chain/localchain"
	"github.com/pretrain/pretrain/wallet"
)

type chainCmd struct {
	Init        chainInitCmd        `cmd:"" help:"Create a local chain file and a subnet on it."`
	Register    chainRegisterCmd    `cmd:"" help:"Register a wallet's hotkey on a subnet of the local chain."`
	Stake       chainStakeCmd       `cmd:"" help:"Add stake to a wallet's hotkey on the local chain."`
	Metagraph   chainMetagraphCmd   `cmd:"" help:"Print a subnet's metagraph (local chain, or the real one with --subtensor.network)."`
	Commitment  chainCommitmentCmd  `cmd:"" help:"Print a hotkey's commitment, or commit data with --set."`
	Hyperparams chainHyperparamsCmd `cmd:"" help:"Print a subnet's weight-setting hyperparameters (local chain, or the real one with --subtensor.network)."`
	Commits     chainCommitsCmd     `cmd:"" help:"Print a hotkey's timelocked weight commits: pending, revealed, or dropped and why."`
	Beacon      chainBeaconCmd      `cmd:"" help:"Print the local chain's commit-reveal beacon: public key, schedule, a round's signature."`
	Advance     chainAdvanceCmd     `cmd:"" help:"Produce blocks now (running the epochs due)."`
}

type chainInitCmd struct {
	chainFlags `embed:""`
	NetUID     uint16        `name:"netuid" default:"9" help:"Subnet. The one to create."`
	Tempo      uint16        `default:"360" help:"Blocks between epochs."`
	MaxUIDs    uint16        `name:"max-uids" default:"256" help:"Subnet size."`
	Validators uint16        `name:"max-validators" default:"64" help:"Validator permits."`
	BlockTime  time.Duration `name:"block-time" default:"12s" help:"Block interval. Of the wall clock, unless --manual."`
	Manual     bool          `help:"Blocks advance only with pretrain chain advance."`
	RateLimit  int64         `name:"weights-rate-limit" default:"100" help:"Blocks between weight settings of one hotkey (0: none)."`
	Yuma3      bool          `name:"yuma3" help:"Use Yuma3 bonds (subtensor's Yuma3On)."`
	Liquid     bool          `name:"liquid-alpha" help:"Use liquid alpha for the bonds' EMA (subtensor's LiquidAlphaOn)."`
	Version    uint64        `name:"weights-version" default:"0" help:"Smallest version key set_weights must carry (WeightsVersionKey)."`
	MinWeights uint16        `name:"min-allowed-weights" default:"1" help:"Fewest uids a weight setting must name (MinAllowedWeights)."`
	MaxLimit   uint16        `name:"max-weight-limit" default:"65535" help:"Largest normalized weight × 65535 (MaxWeightsLimit; 65535: no limit)."`
	Reveal     string        `name:"commit-reveal" default:"on" enum:"on,off" help:"Timelocked weight commits revealed by the chain (CommitRevealWeightsEnabled), on|off."`
	Period     uint64        `name:"reveal-period" default:"1" help:"Epochs from a weight commit to its reveal (RevealPeriodEpochs)."`
	jsonFlag   `embed:""`
}

func (c *chainInitCmd) Run(ctx context.Context, e *env) error {
	lc, err := localchain.Open(ctx, localchain.Config{Path: c.Path, BlockTime: c.BlockTime, Manual: c.Manual, Logger: e.log})
	if err != nil {
		return err
	}
	defer lc.Close()
	if c.RateLimit < 0 {
		return fmt.Errorf("%w: negative --weights-rate-limit", errUsage)
	}
	cfg := localchain.SubnetConfig{Tempo: c.Tempo, MaxUIDs: c.MaxUIDs, MaxValidators: c.Validators,
		WeightsRateLimit: uint64(c.RateLimit), NoWeightsRateLimit: c.RateLimit == 0,
		Yuma3: c.Yuma3, LiquidAlpha: c.Liquid, WeightsVersionKey: c.Version, MinAllowedWeights: c.MinWeights,
		MaxWeightsLimit: c.MaxLimit, NoCommitReveal: c.Reveal == "off", RevealPeriodEpochs: c.Period}
	if err := lc.CreateSubnet(ctx, c.NetUID, cfg); err != nil && !errors.Is(err, localchain.ErrSubnetExists) {
		return err
	}
	info, err := lc.Info(ctx)
	if err != nil {
		return err
	}
	return c.report(e, map[string]any{"chain": c.Path, "head": info.Head, "subnets": info.Subnets},
		"local chain %s: head %d, subnets %v", c.Path, info.Head, info.Subnets)
}

type chainRegisterCmd struct {
	chainFlags  `embed:""`
	walletFlags `embed:""`
	NetUID      uint16 `name:"netuid" default:"9" help:"Subnet."`
	jsonFlag    `embed:""`
}

func (c *chainRegisterCmd) Run(ctx context.Context, e *env) error {
	hot, cold, err := walletKeys(c.walletFlags)
	if err != nil {
		return err
	}
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	uid, err := lc.Register(ctx, c.NetUID, hot.SS58(), cold.SS58())
	if err != nil {
		return err
	}
	return c.report(e, map[string]any{"hotkey": hot.SS58(), "netuid": c.NetUID, "uid": uid},
		"registered %s on subnet %d as uid %d", hot.SS58(), c.NetUID, uid)
}

// walletKeys loads a wallet's hotkey and public coldkey.
func walletKeys(f walletFlags) (hot, cold *wallet.Keypair, err error) {
	w := f.wallet()
	if hot, err = w.HotkeyPair(); err != nil {
		return nil, nil, err
	}
	if cold, err = w.ColdkeyPub(); err != nil {
		return nil, nil, err
	}
	return hot, cold, nil
}

type chainStakeCmd struct {
	chainFlags  `embed:""`
	walletFlags `embed:""`
	Amount      float64 `required:"" help:"TAO to add."`
	jsonFlag    `embed:""`
}

func (c *chainStakeCmd) Run(ctx context.Context, e *env) error {
	if c.Amount <= 0 || c.Amount > 1e9 || math.IsNaN(c.Amount) {
		return fmt.Errorf("%w: --amount %v outside (0, 1e9] TAO", errUsage, c.Amount)
	}
	rao := uint64(math.Round(c.Amount * 1e9))
	if rao == 0 {
		return fmt.Errorf("%w: --amount %v TAO is 0 rao (1 rao = 1e-9 TAO)", errUsage, c.Amount)
	}
	hot, cold, err := walletKeys(c.walletFlags)
	if err != nil {
		return err
	}
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	if err := lc.AddStake(ctx, hot.SS58(), cold.SS58(), rao); err != nil {
		return err
	}
	return c.report(e, map[string]any{"hotkey": hot.SS58(), "added_rao": rao}, "added %d rao to %s", rao, hot.SS58())
}

type chainMetagraphCmd struct {
	backendFlags `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	jsonFlag     `embed:""`
}

func (c *chainMetagraphCmd) Run(ctx context.Context, e *env) error {
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	m, err := lc.Metagraph(ctx, c.NetUID)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(e, m)
	}
	fmt.Fprintf(e.stdout, "subnet %d at block %d: %d neurons\n", m.NetUID, m.Block, m.N)
	fmt.Fprintf(e.stdout, "%4s %-48s %12s %3s %7s %7s %7s %7s %12s %8s\n",
		"uid", "hotkey", "stake", "vp", "trust", "vtrust", "incent", "divs", "emission", "updated")
	for i := 0; i < m.N; i++ {
		vp := ""
		if m.ValidatorPermit[i] {
			vp = "*"
		}
		fmt.Fprintf(e.stdout, "%4d %-48s %12.4f %3s %7.4f %7.4f %7.4f %7.4f %12.6f %8d\n", i, m.Hotkeys[i],
			m.Stake[i], vp, m.Trust[i], m.ValidatorTrust[i], m.Incentive[i], m.Dividends[i], m.Emission[i], m.LastUpdate[i])
	}
	return nil
}

type chainHyperparamsCmd struct {
	backendFlags `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	jsonFlag     `embed:""`
}

func (c *chainHyperparamsCmd) Run(ctx context.Context, e *env) error {
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	h, err := ch.Hyperparameters(ctx, c.NetUID)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(e, h)
	}
	fmt.Fprintf(e.stdout, "subnet %d\n", c.NetUID)
	for _, row := range []struct {
		name  string
		value any
	}{
		{"tempo", h.Tempo}, {"weights_rate_limit", h.WeightsRateLimit},
		{"min_allowed_weights", h.MinAllowedWeights}, {"max_weight_limit", h.MaxWeightLimit},
		{"weights_version", h.WeightsVersion}, {"commit_reveal_weights_enabled", h.CommitRevealEnabled},
		{"reveal_period_epochs", h.RevealPeriodEpochs},
	} {
		fmt.Fprintf(e.stdout, "  %-30s %v\n", row.name, row.value)
	}
	return nil
}

type chainCommitsCmd struct {
	backendFlags `embed:""`
	walletFlags  `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	HotkeySS58   string `name:"hotkey-address" placeholder:"SS58" help:"Hotkey address. Default: the wallet's hotkey."`
	jsonFlag     `embed:""`
}

func (c *chainCommitsCmd) Run(ctx context.Context, e *env) error {
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	hotkey := c.HotkeySS58
	if hotkey == "" {
		hot, err := c.wallet().HotkeyPair()
		if err != nil {
			return err
		}
		hotkey = hot.SS58()
	}
	r, ok := ch.(chain.WeightCommitReader)
	if !ok {
		return fmt.Errorf("%w: this chain backend cannot read weight commits", errUsage)
	}
	ws, err := r.WeightCommits(ctx, c.NetUID, hotkey)
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(e, ws)
	}
	fmt.Fprintf(e.stdout, "%s on subnet %d: %d commits\n", hotkey, c.NetUID, len(ws))
	for _, w := range ws {
		fmt.Fprintf(e.stdout, "  block %d round %d: %s", w.Block, w.RevealRound, w.Status)
		if w.Status != chain.CommitPending {
			fmt.Fprintf(e.stdout, " at block %d", w.Resolved)
		}
		if w.Reason != "" {
			fmt.Fprintf(e.stdout, ": %s", w.Reason)
		}
		fmt.Fprintln(e.stdout)
	}
	return nil
}

type chainBeaconCmd struct {
	chainFlags `embed:""`
	Round      uint64 `help:"Round whose signature to print (default: the latest published)."`
	jsonFlag   `embed:""`
}

func (c *chainBeaconCmd) Run(ctx context.Context, e *env) error {
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	b := lc.Beacon()
	head, err := lc.CurrentBlock(ctx)
	if err != nil {
		return err
	}
	latest, err := lc.LatestRound(ctx)
	if err != nil {
		return err
	}
	round := cmp.Or(c.Round, latest)
	sig, err := lc.Pulse(ctx, round)
	if err != nil {
		return err
	}
	out := struct {
		PublicKey string    `json:"public_key"`
		Genesis   time.Time `json:"genesis"`
		PeriodMS  int64     `json:"period_ms"`
		Head      int64     `json:"head"`
		Latest    uint64    `json:"latest_round"`
		Round     uint64    `json:"round"`
		Signature string    `json:"signature"`
	}{hex.EncodeToString(b.PublicKey.Bytes()), b.Schedule.Genesis, b.Schedule.Period.Milliseconds(), int64(head),
		latest, round, hex.EncodeToString(sig.Bytes())}
	if c.JSON {
		return printJSON(e, out)
	}
	fmt.Fprintf(e.stdout, "public key %s\nround 1 at %s, one per %v; block %d: round %d\nround %d signature %s\n",
		out.PublicKey, out.Genesis.UTC().Format(time.RFC3339Nano), b.Schedule.Period, head, latest, round, out.Signature)
	return nil
}

type chainCommitmentCmd struct {
	backendFlags `embed:""`
	walletFlags  `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	HotkeySS58   string `name:"hotkey-address" placeholder:"SS58" help:"Hotkey address. Default: the wallet's hotkey."`
	Set          string `help:"Commit this data (at most 128 bytes) with the wallet's hotkey."`
	jsonFlag     `embed:""`
}

func (c *chainCommitmentCmd) Run(ctx context.Context, e *env) error {
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	hotkey := c.HotkeySS58
	if c.Set != "" || hotkey == "" {
		hot, err := c.wallet().HotkeyPair()
		if err != nil {
			return err
		}
		if c.Set != "" {
			if err := lc.Commit(ctx, hot, c.NetUID, c.Set); err != nil {
				return err
			}
		}
		if hotkey == "" {
			hotkey = hot.SS58()
		}
	}
	cm, err := lc.Commitment(ctx, c.NetUID, hotkey)
	if err != nil {
		return err
	}
	return printCommitment(e.stdout, hotkey, cm, c.JSON)
}

// printCommitment prints a commitment, a stranger's bytes, with its non-printable
// characters escaped.
func printCommitment(w io.Writer, hotkey string, cm chain.Commitment, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintf(w, "%s at block %d: %s\n", hotkey, cm.Block, displayText(cm.Data))
		return err
	}
	// JSON strings are UTF-8: bytes that are not would be replaced by U+FFFD.
	if !utf8.ValidString(cm.Data) {
		return fmt.Errorf("commitment of %s at block %d is not UTF-8, so not JSON: %s", hotkey, cm.Block, strconv.Quote(cm.Data))
	}
	return writeJSON(w, struct {
		Hotkey string      `json:"hotkey"`
		Data   string      `json:"data"`
		Block  chain.Block `json:"block"`
	}{hotkey, cm.Data, cm.Block})
}

// displayText returns s, a stranger's string, for a terminal: as is if it is UTF-8 of
// printable characters, else quoted with Go's escapes (\x1b, \u009b, \xff for a byte that
// is not UTF-8), so it can neither move the cursor nor retitle the window, and its bytes are
// shown, not replaced.
func displayText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	return strconv.Quote(s)
}

type chainAdvanceCmd struct {
	chainFlags `embed:""`
	Blocks     int64 `default:"1" help:"Blocks to produce."`
	jsonFlag   `embed:""`
}

func (c *chainAdvanceCmd) Run(ctx context.Context, e *env) error {
	lc, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer lc.Close()
	head, err := lc.Advance(ctx, c.Blocks)
	if err != nil {
		return err
	}
	return c.report(e, map[string]any{"head": head}, "head %d", head)
}
