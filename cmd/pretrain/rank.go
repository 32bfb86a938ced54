package main

import "context"

type rankCmd struct{}

func (c *rankCmd) Run(ctx context.Context, e *env) error { return nil }
