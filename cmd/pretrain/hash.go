package main

import (
	"context"

	"github.com/pretrain/pretrain/modelstore"
)

// hashCmd prints a model directory's hash as the reference computes it, and with --hotkey the
// secure hash a miner commits on chain.
type hashCmd struct {
	Dir    string `arg:"" type:"existingdir" help:"Model directory (e.g. a downloaded snapshot)."`
	Hotkey string `name:"hotkey-address" placeholder:"SS58" help:"Hotkey address. Salts the secure hash a miner commits."`
}

func (c *hashCmd) Run(ctx context.Context, e *env) error {
	h, err := modelstore.HashDirContext(ctx, c.Dir)
	if err != nil {
		return err
	}
	out := map[string]string{"hash": h}
	if c.Hotkey != "" {
		out["secure_hash"] = modelstore.SecureHash(h, c.Hotkey)
	}
	return printJSON(e, out)
}
