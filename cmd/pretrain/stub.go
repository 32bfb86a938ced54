package main

import "context"

type rankCmd struct{}

func (c *rankCmd) Run(ctx context.Context, e *env) error { return nil }

type hashCmd struct{}

func (c *hashCmd) Run(ctx context.Context, e *env) error { return nil }
