package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/eval"
	"github.com/pretrain/pretrain/internal/progress"
	"github.com/pretrain/pretrain/miner"
	"github.com/pretrain/pretrain/tokenizer"
)

// minerScoreCmd is `pretrain miner score`: would this model win if pushed now?
type minerScoreCmd struct {
	subnetFlags      `embed:""`
	hubFlags         `embed:""`
	competitionFlags `embed:""`
	Model            string   `required:"" type:"existingdir" help:"Model directory (Hugging Face layout: config.json and safetensors)."`
	Block            int64    `help:"Score at this block: its sync block's hash seeds the pages, as validators do (default: the chain's head)." xor:"seed"`
	Seed             seedFlag `placeholder:"N" help:"Seed, a decimal integer. Seeds the page draw as Python's random.seed, instead of the block's hash." xor:"seed"`
	Against          []string `default:"best" help:"Models to beat: best (the competition's best uid), or uids."`
	CommitBlock      int64    `name:"commit-block" help:"Block the model would be committed at (default: the next block)."`
	Store            string   `type:"path" help:"Keep the opponents' models here (default: a temporary directory)."`

	dataSourceFlags `embed:""`
}

func (c *minerScoreCmd) Run(ctx context.Context, e *env) error {
	compID, err := competitionArg(c.Competition)
	if err != nil {
		return err
	}
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	head, err := ch.CurrentBlock(ctx)
	if err != nil {
		return err
	}
	block := head
	if c.Block > 0 {
		block = chain.Block(c.Block)
	}
	comp, ok, err := c.schedule().Lookup(compID, block)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("competition %s is not active at block %d", compID, block)
	}
	seed, err := c.seed(ctx, ch, block)
	if err != nil {
		return err
	}
	h, err := c.client(e)
	if err != nil {
		return err
	}
	subnet := miner.Subnet{Chain: ch, NetUID: c.NetUID}
	against, err := c.opponents(ctx, subnet, compID)
	if err != nil {
		return err
	}
	data, err := c.sources(e, "", competitionSpecs(comp)...)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(comp.Constraints.Tokenizer)
	if err != nil {
		return err
	}
	e.log.Info("loading pages", "competition", compID, "seed", seed.String(), "block", block)
	sample, err := eval.LoadSample(ctx, data, comp, tok, seed, e.log)
	if err != nil {
		return err
	}
	store := c.Store
	if store == "" {
		if store, err = os.MkdirTemp("", "pretrain-score-"); err != nil {
			return err
		}
		defer os.RemoveAll(store)
	}
	bar := progress.New(e.stderr, progress.Options{Label: "score", Total: int64(1 + len(against)), Unit: "models"})
	commit := head + 1
	if c.CommitBlock > 0 {
		commit = chain.Block(c.CommitBlock)
	}
	v, err := miner.Judge(ctx, miner.VerdictConfig{Model: c.Model, Competition: comp, Sample: sample, CommitBlock: commit,
		Against: against, Subnet: subnet, Hub: h, StoreDir: store, Progress: func() { bar.Add(1) }})
	bar.Finish()
	if err != nil {
		return err
	}
	return printJSON(e, verdictJSON(v, seed))
}

func (c *minerScoreCmd) seed(ctx context.Context, ch chain.Reader, block chain.Block) (*big.Int, error) {
	if c.Seed.set() {
		return c.Seed.v, nil
	}
	hash, err := ch.BlockHash(ctx, dataset.SyncBlock(block))
	if err != nil {
		return nil, err
	}
	return dataset.SeedFromBlockHash(hash.String()), nil
}

// opponents resolves --against: "best" is the competition's best uid (none if nobody
// entered), anything else a uid.
func (c *minerScoreCmd) opponents(ctx context.Context, s miner.Subnet, comp competition.ID) ([]chain.UID, error) {
	var uids []chain.UID
	for _, a := range c.Against {
		if a == "best" {
			uid, err := s.BestUID(ctx, comp)
			if errors.Is(err, miner.ErrNoBestModel) {
				continue
			}
			if err != nil {
				return nil, err
			}
			uids = append(uids, uid)
			continue
		}
		uid, err := strconv.ParseUint(a, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%w: --against %q: want best or a uid", errUsage, a)
		}
		uids = append(uids, chain.UID(uid))
	}
	return uids, nil
}

// verdictJSON writes +Inf scores (failed models) as the string "+Inf"; task scores are
// finite (eval.Score fails a task rather than report an infinite loss).
func verdictJSON(v *miner.Verdict, seed *big.Int) map[string]any {
	var against []map[string]any
	for _, o := range v.Against {
		block := any(o.Block)
		if o.Block == math.MaxInt64 {
			block = nil
		}
		against = append(against, map[string]any{"uid": o.UID, "hotkey": o.Hotkey, "repo": o.Repo, "block": block,
			"score": finiteOr(o.Score), "tasks": o.Tasks, "failed": o.Failed, "epsilon": o.Epsilon,
			"wins": o.Wins, "margin": finiteOr(o.Margin), "relative_margin": finiteOr(o.RelativeMargin)})
	}
	return map[string]any{"competition_id": int(v.Competition), "seed": seed.String(), "commit_block": v.CommitBlock,
		"eval_block": v.EvalBlock, "score": finiteOr(v.Score), "tasks": v.Tasks, "reason": v.Reason,
		"against": against, "would_win": v.WouldWin}
}
