package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/leaderboard"
	"github.com/pretrain/pretrain/leaderboard/screenshot"
)

type leaderboardCmd struct {
	backendFlags `embed:""`
	NetUID       uint16        `name:"netuid" default:"9" help:"Subnet."`
	Schedule     string        `default:"mainnet" enum:"mainnet,local" help:"Competition schedule: ${enum}."`
	Listen       string        `default:"127.0.0.1:8080" help:"Address to serve the pages and the JSON API on."`
	StepLog      []string      `name:"steplog" sep:"none" placeholder:"FILE" help:"A validator's step log file to follow (repeatable)."`
	Validator    []string      `name:"validator" sep:"none" placeholder:"URL" help:"A validator's base URL whose GET /steplog to poll (repeatable)."`
	Hub          string        `name:"hub.endpoint" default:"https://huggingface.co" help:"Model hub that repo links point to."`
	Refresh      time.Duration `default:"30s" help:"Interval between reads of the chain and the step logs."`
	Screenshot   string        `placeholder:"DIR" help:"Read the sources once, write a PNG of each page to DIR with headless Chromium, and exit."`
}

func (c *leaderboardCmd) Run(ctx context.Context, e *env) error {
	if c.Refresh <= 0 {
		return fmt.Errorf("%w: --refresh must be positive", errUsage)
	}
	ch, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer ch.Close()
	srv, err := leaderboard.New(leaderboard.Config{
		Chain: ch, NetUID: c.NetUID, Schedule: competition.Schedules[c.Schedule],
		StepLogs: c.StepLog, Validators: c.Validator, Hub: c.Hub, Refresh: c.Refresh,
		DownloadFlags: c.downloadFlags(), Logger: e.log,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.Screenshot != "" {
		return c.screenshots(ctx, e, srv)
	}
	return srv.Run(ctx, c.Listen, func(a net.Addr) {
		e.log.Info("leaderboard listening", "url", "http://"+a.String())
	})
}

// downloadFlags are the flags that make `pretrain download` read the same chain.
func (c *leaderboardCmd) downloadFlags() string {
	var f []string
	switch {
	case c.Endpoint != "":
		f = append(f, "--subtensor.chain_endpoint "+c.Endpoint)
	case c.Network != "":
		f = append(f, "--subtensor.network "+c.Network)
	default:
		f = append(f, "--chain.path "+c.Path)
	}
	return strings.Join(append(f, fmt.Sprintf("--netuid %d", c.NetUID)), " ")
}

func (c *leaderboardCmd) screenshots(ctx context.Context, e *env, srv *leaderboard.Server) error {
	browser, err := screenshot.FindChromium()
	if err != nil {
		return err
	}
	srv.Refresh(ctx)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	tab, cancel, err := screenshot.Start(ctx, browser)
	if err != nil {
		return err
	}
	defer cancel()
	files, err := screenshot.Capture(tab, ts.URL, srv.Board().Pages(), c.Screenshot)
	for _, f := range files {
		fmt.Fprintln(e.stdout, f)
	}
	return err
}
