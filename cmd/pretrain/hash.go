package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pretrain/pretrain/modelstore"
)

// hashCmd prints a model directory's hash as the reference computes it, and with --hotkey the
// secure hash a miner commits on chain.
type hashCmd struct {
	Dir    string `arg:"" type:"existingdir" help:"Model directory (e.g. a downloaded snapshot)."`
	Hotkey string `help:"Hotkey (SS58) to salt the secure hash with."`
}

func (c *hashCmd) Run(ctx context.Context, e *env) error {
	h, err := modelstore.HashDirContext(ctx, c.Dir)
	if err != nil {
		return err
	}
	out, _ := json.Marshal(h) // a base64 string: cannot fail
	line := `{"hash": ` + string(out)
	if c.Hotkey != "" {
		sh, _ := json.Marshal(modelstore.SecureHash(h, c.Hotkey))
		line += `, "secure_hash": ` + string(sh)
	}
	_, err = fmt.Fprintln(e.stdout, line+"}")
	return err
}
