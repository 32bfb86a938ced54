package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/pretrain/pretrain/localnet"
)

// localnetCmd runs the whole subnet on this machine.
type localnetCmd struct {
	Dir        string        `default:"localnet" type:"path" help:"Directory of the command's data. The subnet's state: a second run continues from it."`
	Rounds     int           `help:"Run this many miner rounds, then stop and print the summary (0: until interrupted)."`
	JSON       bool          `name:"json" help:"Print JSON instead of text. The summary as one document."`
	BlockTime  time.Duration `name:"block-time" default:"2s" help:"Block interval. Of the local chain."`
	Tempo      uint16        `default:"20" help:"Blocks between epochs. Yuma Consensus runs at each."`
	Validators int           `default:"2" help:"Validators (different stakes)."`
	Steps      int64         `default:"40" help:"Optimizer steps. Per round, of the best-funded miner."`
	SeqLen     int           `name:"seq-len" default:"128" help:"Tokens per row (sequence length L). Of the miners' training rows."`
	Batch      int           `default:"4" help:"Rows per batch. Of the miners' training steps."`
	Pages      int           `default:"4" help:"Pages to draw (num_pages). Each evaluation reads this many (the local competition's 4)."`
	EvalSeqLen int           `name:"eval-seq-len" default:"512" help:"Evaluation sequence length (the local competition's 512)."`
	HubListen  string        `name:"hub.listen" default:"127.0.0.1:0" help:"Local hub address (port 0: any free port)."`
	DataListen string        `name:"data.listen" default:"127.0.0.1:0" help:"Local datasets server address."`
	Board      string        `name:"leaderboard.listen" default:"127.0.0.1:8080" help:"Leaderboard address (port 0: any free port)."`
}

func (c *localnetCmd) Run(ctx context.Context, e *env) error {
	// The components' logs go to a file, so the terminal shows the live summary.
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(c.Dir, "localnet.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(e.stderr, "logs: %s\n", logPath)
	log := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: logLevel(e.log)}))
	sum, err := localnet.Run(ctx, localnet.Config{Dir: c.Dir, Rounds: c.Rounds, BlockTime: c.BlockTime, Tempo: c.Tempo,
		Validators: c.Validators, Steps: c.Steps, SeqLen: c.SeqLen, Batch: c.Batch, Pages: c.Pages, EvalSeqLen: c.EvalSeqLen,
		HubListen: c.HubListen, DataListen: c.DataListen, LeaderboardListen: c.Board, Out: e.stderr, Logger: log})
	if sum != nil {
		if c.JSON {
			if werr := printJSON(e, sum); werr != nil {
				return werr
			}
		} else {
			printSummary(e, sum)
		}
	}
	if err == nil && ctx.Err() != nil {
		return ctx.Err() // interrupted: state is saved, but the command did not finish
	}
	return err
}

func printSummary(e *env, s *localnet.Summary) {
	w := e.stdout
	fmt.Fprintf(w, "localnet %s: chain %s, block %d; leaderboard was at %s\n", s.Dir, s.Chain, s.Block, s.LeaderboardURL)
	for _, r := range s.Rounds {
		winner := "none"
		if r.Winner != nil {
			winner = fmt.Sprintf("uid %d (%s)", r.Winner.UID, r.Winner.Name)
		}
		fmt.Fprintf(w, "round %d (block %d, %.0f s): winner %s\n", r.Round, r.Block, r.Seconds, winner)
	}
	fmt.Fprintln(w, "miners:")
	for _, m := range s.Miners {
		loss := ""
		if m.Loss != nil {
			loss = fmt.Sprintf(" loss %.4f", *m.Loss)
		}
		fmt.Fprintf(w, "  uid %-2d %-6s %-9s %-13s%s %s\n", m.UID, m.Name, m.Role, m.Status, loss, m.Reason)
	}
	fmt.Fprintln(w, "validators:")
	for _, v := range s.Validators {
		fmt.Fprintf(w, "  uid %-2d %s stake %.0f vtrust %.3f steps %d weights %v %s\n", v.UID, v.Name, v.Stake, v.ValidatorTrust, v.Steps, v.Weights, v.Error)
	}
	fmt.Fprintf(w, "incentive: %v\n", s.Incentive)
}

// logLevel is the lowest level l logs.
func logLevel(l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
		if l.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError
}
