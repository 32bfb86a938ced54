package main

import (
	"context"
	"net"

	"github.com/pretrain/pretrain/hub/hubserver"
)

// hubserverCmd serves a local model hub (the Hugging Face Hub API subset) from a directory.
type hubserverCmd struct {
	Dir    string `required:"" help:"Directory of the command's data. The hub's repos and objects."`
	Listen string `default:"127.0.0.1:7860" help:"Address to listen on."`
	Tokens string `name:"write-tokens" type:"existingfile" help:"JSON file {\"namespace\": \"token\"} (mode 0600) of write tokens."`
}

func (c *hubserverCmd) Run(ctx context.Context, e *env) error {
	cfg := hubserver.Config{Dir: c.Dir, Logger: e.log}
	if c.Tokens != "" {
		tokens, err := hubserver.LoadTokens(c.Tokens)
		if err != nil {
			return err
		}
		cfg.Tokens = tokens
	}
	s, err := hubserver.New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx, c.Listen, func(a net.Addr) { e.log.Info("hub listening", "addr", "http://"+a.String()) })
}
