package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/scoring"
)

type rankCmd struct {
	Input    string `required:"" type:"existingfile" help:"JSON step: {\"competition_id\", \"current_block\", \"models\": [{\"uid\", \"block\", \"score\"}]} (score = loss; null or missing = failed)."`
	Schedule string `default:"mainnet" enum:"mainnet,local" help:"Competition schedule the id is looked up in: ${enum}."`
}

func (c *rankCmd) Run(ctx context.Context, e *env) error {
	f, err := bounded.Open(c.Input)
	if err != nil {
		return err
	}
	defer f.Close()
	in, err := scoring.ParseAuditInput(f)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Input, err)
	}
	out, err := scoring.Audit(in, competition.Schedules[c.Schedule])
	if err != nil {
		return fmt.Errorf("%w (schedule %s)", err, c.Schedule)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
