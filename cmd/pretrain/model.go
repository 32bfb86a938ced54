package main

import (
	"context"

	"github.com/pretrain/pretrain/miner"
)

// modelCmd groups the commands that make model directories.
type modelCmd struct {
	Init modelInitCmd `cmd:"" help:"Write a preset shape with random weights and its tokenizer as a Hugging Face model directory."`
}

type modelInitCmd struct {
	Preset    string   `required:"" help:"Model shape: ${presets}."`
	Arch      string   `enum:",gpt2,llama" default:"" help:"Architecture family: gpt2 or llama. Default: the preset's; given, it must match."`
	Out       string   `required:"" type:"path" help:"Output path. The model directory to create."`
	Seed      seedFlag `placeholder:"N" help:"Seed, a decimal integer. Seeds the random weights."`
	DType     string   `name:"dtype" default:"F32" enum:"F32,BF16,F16" help:"Weight dtype. One of ${enum}, for the safetensors written."`
	jsonFlag  `embed:""`
	Tokenizer string `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Its files are written; default: gpt2 for gpt2, Xenova/gpt-4 for llama."`
}

func (c *modelInitCmd) Run(ctx context.Context, e *env) error {
	seed, err := c.Seed.uint64("--seed")
	if err != nil {
		return err
	}
	params, err := miner.InitModel(c.Out, miner.InitConfig{Arch: c.Arch, Preset: c.Preset, DType: c.DType, Seed: seed, Tokenizer: c.Tokenizer})
	if err != nil {
		return err
	}
	return c.report(e, map[string]any{"out": c.Out, "preset": c.Preset, "params": params, "dtype": c.DType},
		"%s: %s, %d parameters, %s", c.Out, c.Preset, params, c.DType)
}
