package main

import (
	"context"
	"net"

	"github.com/pretrain/pretrain/dataset/dataserver"
)

// dataserverCmd serves local JSON-lines datasets with the datasets-server /rows and /size API.
type dataserverCmd struct {
	Dir    string `required:"" type:"existingdir" help:"Directory of the command's data. Laid out as <dataset>/<config>/<split>.jsonl[.gz]."`
	Listen string `default:"127.0.0.1:8089" help:"Address to listen on. host:port."`
}

func (c *dataserverCmd) Run(ctx context.Context, e *env) error {
	s, err := dataserver.Open(c.Dir, dataserver.Options{Log: e.log})
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Run(ctx, c.Listen, func(a net.Addr) {
		e.log.Info("dataserver listening", "addr", a.String(), "url", "http://"+a.String())
	})
}
