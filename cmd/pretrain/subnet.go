package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/miner"
)

// subnetFlags choose the chain (local file or real network), the subnet and its schedule.
type subnetFlags struct {
	backendFlags `embed:""`
	NetUID       uint16 `name:"netuid" default:"9" help:"Subnet."`
	Schedule     string `enum:",mainnet,local" default:"" help:"Competition schedule: mainnet or local (default: local for --chain.path, mainnet for a real network)."`
}

func (f subnetFlags) schedule() competition.Schedule {
	name := f.Schedule
	if name == "" {
		name = "mainnet"
		if f.Network == "" && f.Endpoint == "" {
			name = "local"
		}
	}
	return competition.Schedules[name]
}

// hubFlags choose the model hub, as the validator does.
type hubFlags struct {
	Endpoint string `name:"hub.endpoint" env:"HF_ENDPOINT" placeholder:"URL" help:"Model hub base URL (default https://huggingface.co; a local pretrain hubserver works)."`
	Token    string `name:"hub.token" env:"HF_ACCESS_TOKEN,HF_TOKEN" help:"Hub access token (needed to push)."`
}

func (f hubFlags) client(e *env) (*hub.Client, error) {
	return hub.New(hub.Config{Endpoint: f.Endpoint, Token: f.Token, Logger: e.log, Progress: e.stderr})
}

// competitionArg parses --competition, a usage error if bad.
func competitionArg(s string) (competition.ID, error) {
	id, err := miner.ParseCompetition(s)
	if err != nil {
		return 0, fmt.Errorf("%w: --competition: %v", errUsage, err)
	}
	return id, nil
}

type bestUIDCmd struct {
	subnetFlags `embed:""`
	Competition string `default:"LOCAL" help:"Competition id or name."`
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
	_, err = fmt.Fprintln(e.stdout, miner.RepoURL(c.Endpoint, m.Metadata.ID))
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

func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
