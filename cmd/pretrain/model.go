package main

import (
	"context"
	"fmt"

	"github.com/pretrain/pretrain/miner"
)

// modelCmd groups the commands that make model directories.
type modelCmd struct {
	Init modelInitCmd `cmd:"" help:"Write a preset shape with random weights and its tokenizer as a Hugging Face model directory."`
}

type modelInitCmd struct {
	Arch      string `required:"" enum:"gpt2,llama" help:"Architecture family: ${enum}."`
	Preset    string `required:"" help:"Model shape (an nn preset: gpt2-tiny, gpt2-124m, llama-tiny, llama-1b, llama-3b)."`
	Out       string `required:"" type:"path" help:"Directory to create."`
	Seed      uint64 `help:"Seed of the random weights."`
	DType     string `name:"dtype" default:"F32" enum:"F32,BF16,F16" help:"Weight dtype: ${enum}."`
	Tokenizer string `help:"Tokenizer name or directory whose files are written (default: gpt2 for gpt2, Xenova/gpt-4 for llama)."`
}

func (c *modelInitCmd) Run(ctx context.Context, e *env) error {
	params, err := miner.InitModel(c.Out, miner.InitConfig{Arch: c.Arch, Preset: c.Preset, DType: c.DType, Seed: c.Seed, Tokenizer: c.Tokenizer})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s: %s, %d parameters, %s\n", c.Out, c.Preset, params, c.DType)
	return err
}
