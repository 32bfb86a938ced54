package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pretrain/pretrain/leaderboard"
	"github.com/pretrain/pretrain/leaderboard/screenshot"
)

type leaderboardCmd struct {
	subnetFlags     `embed:""`
	hubEndpointFlag `embed:""`
	Listen          string        `default:"127.0.0.1:8080" help:"Address to listen on. Serves the pages and the JSON API."`
	StepLog         []string      `name:"steplog" sep:"none" placeholder:"FILE" help:"Step log file (JSON lines). A validator's, to follow; repeatable."`
	Validator       []string      `name:"validator" sep:"none" placeholder:"URL" help:"A validator's base URL whose GET /steplog to poll (repeatable)."`
	Refresh         time.Duration `default:"30s" help:"Interval between reads of the chain and the step logs."`
	Screenshot      string        `placeholder:"DIR" help:"Read the sources once, write a PNG of each page to DIR with headless Chromium, and exit."`
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
		Chain: ch, NetUID: c.NetUID, Schedule: c.schedule(),
		StepLogs: c.StepLog, Validators: c.Validator, Hub: c.HubEndpoint, Refresh: c.Refresh,
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
	case c.ChainEndpoint != "":
		f = append(f, "--subtensor.chain_endpoint "+c.ChainEndpoint)
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
