package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/miner"
)

type bestUIDCmd struct {
	subnetFlags      `embed:""`
	competitionFlags `embed:""`
}

func (c *bestUIDCmd) Run(ctx context.Context, e *env) error {
	comp, err := competitionArg(c.Competition)
	if err != nil {
		return err
	}
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	uid, err := (miner.Subnet{Chain: ch, NetUID: c.NetUID}).BestUID(ctx, comp)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, uid)
	return err
}

type repoCmd struct {
	subnetFlags `embed:""`
	hubFlags    `embed:""`
	UID         chain.UID `arg:"" help:"Miner uid."`
}

func (c *repoCmd) Run(ctx context.Context, e *env) error {
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	m, err := (miner.Subnet{Chain: ch, NetUID: c.NetUID}).Miner(ctx, c.UID)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, miner.RepoURL(c.HubEndpoint, m.Metadata.ID))
	return err
}

type downloadCmd struct {
	subnetFlags `embed:""`
	hubFlags    `embed:""`
	UID         chain.UID `arg:"" help:"Miner uid."`
	Dir         string    `arg:"" type:"path" help:"Directory to create with the model."`
}

func (c *downloadCmd) Run(ctx context.Context, e *env) error {
	if _, err := os.Lstat(c.Dir); err == nil {
		return fmt.Errorf("%w: %s already exists", errUsage, c.Dir)
	}
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	h, err := c.client(e)
	if err != nil {
		return err
	}
	d, err := (miner.Subnet{Chain: ch, NetUID: c.NetUID}).Download(ctx, h, c.schedule(), c.UID, c.Dir)
	if err != nil {
		return err
	}
	out := minerJSON(d.Miner, true)
	out["dir"], out["dir_hash"], out["facts"] = d.Dir, d.Hash, d.Facts
	return printJSON(e, out)
}

type metadataCmd struct {
	subnetFlags `embed:""`
	Who         string `arg:"" name:"hotkey|uid" help:"Hotkey (SS58) or uid."`
}

func (c *metadataCmd) Run(ctx context.Context, e *env) error {
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	s := miner.Subnet{Chain: ch, NetUID: c.NetUID}
	if uid, err := strconv.ParseUint(c.Who, 10, 16); err == nil {
		m, err := s.Miner(ctx, chain.UID(uid))
		if err != nil {
			return err
		}
		return printJSON(e, minerJSON(m, true))
	}
	md, err := s.Metadata(ctx, c.Who)
	if err != nil {
		return err
	}
	uid, err := s.UIDOf(ctx, c.Who) // metadata can outlive a registration
	return printJSON(e, minerJSON(miner.Miner{UID: uid, Hotkey: c.Who, Metadata: md}, err == nil))
}

// minerJSON is a miner's metadata as the reference names its fields.
func minerJSON(m miner.Miner, registered bool) map[string]any {
	id := m.Metadata.ID
	out := map[string]any{"hotkey": m.Hotkey, "namespace": id.Namespace, "name": id.Name,
		"commit": id.Commit, "secure_hash": id.SecureHash, "competition_id": id.CompetitionID,
		"block": m.Metadata.Block, "metadata": id.String()}
	if id.Hash != "" {
		out["hash"] = id.Hash
	}
	if registered {
		out["uid"] = m.UID
	}
	return out
}
