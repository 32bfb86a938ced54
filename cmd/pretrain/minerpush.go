package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pretrain/pretrain/miner"
)

// minerPushCmd is `pretrain miner push`: the reference's scripts/upload_model.py.
type minerPushCmd struct {
	subnetFlags `embed:""`
	hubFlags    `embed:""`
	walletFlags `embed:""`
	Model       string        `required:"" type:"existingdir" help:"Model directory (Hugging Face layout: config.json and safetensors). The one to publish, e.g. a miner train run's best/."`
	Repo        string        `required:"" help:"Hub repo id, namespace/name. At most 38 characters."`
	Competition string        `required:"" help:"Competition: an id or a name (LOCAL, B3_MODEL, B14_MODEL, ...)."`
	RetryDelay  time.Duration `name:"retry-delay" default:"60s" help:"Pause between commit attempts and read-backs (commitments are rate limited)."`
	KeepPrivate bool          `name:"keep-private" help:"Leave the repo private after committing (validators cannot download it)."`
	jsonFlag    `embed:""`
}

func (c *minerPushCmd) Run(ctx context.Context, e *env) error {
	comp, err := competitionArg(c.Competition)
	if err != nil {
		return err
	}
	hot, err := c.wallet().HotkeyPair()
	if err != nil {
		return err
	}
	h, err := c.client(e)
	if err != nil {
		return err
	}
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	res, err := miner.Push(ctx, h, ch, miner.PushConfig{Dir: c.Model, Repo: c.Repo, Competition: comp,
		Schedule: c.schedule(), NetUID: c.NetUID, Hotkey: hot, RetryDelay: c.RetryDelay,
		KeepPrivate: c.KeepPrivate, Logger: e.log})
	if err != nil {
		return err
	}
	if c.JSON {
		out := minerJSON(miner.Miner{UID: res.UID, Hotkey: hot.SS58(), Metadata: res.Metadata}, true)
		out["dir_hash"], out["public"], out["resumed"], out["url"] = res.Hash, res.Public, res.Resumed, miner.RepoURL(c.HubEndpoint, res.Metadata.ID)
		return printJSON(e, out)
	}
	_, err = fmt.Fprintf(e.stdout, "committed %s at block %d for uid %d\n%s\n", res.Data, res.Metadata.Block, res.UID, miner.RepoURL(c.HubEndpoint, res.Metadata.ID))
	return err
}
