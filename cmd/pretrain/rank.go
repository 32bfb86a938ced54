package main

import (
	"context"
	"fmt"

	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/scoring"
)

type rankCmd struct {
	Input        string `required:"" type:"existingfile" help:"JSON step: {\"competition_id\", \"current_block\", \"models\": [{\"uid\", \"block\", \"score\"}]} (score = loss; null or missing = failed)."`
	scheduleFlag `embed:""`
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
	name, sched := scheduleOf(c.Schedule, in.CompetitionID)
	out, err := scoring.Audit(in, sched)
	if err != nil {
		return fmt.Errorf("%w (schedule %s)", err, name)
	}
	return printJSON(e, out)
}
