package main

import (
	"context"
	"fmt"

	"github.com/pretrain/pretrain/miner"
	"github.com/pretrain/pretrain/nn"
	"github.com/pretrain/pretrain/tokenizer"
)

// generateCmd is the notebook's inference cell: tokenize, generate, decode.
type generateCmd struct {
	Model        string  `required:"" type:"existingdir" help:"Model directory (Hugging Face layout: config.json and safetensors)."`
	Prompt       string  `xor:"prompt" required:"" help:"Prompt text."`
	PromptIDs    []int32 `name:"prompt-ids" xor:"prompt" required:"" help:"Prompt as token ids (comma-separated) instead of text."`
	MaxNewTokens int     `name:"max-new-tokens" default:"50" help:"Most tokens to generate."`
	MinNewTokens int     `name:"min-new-tokens" help:"Tokens to generate before an end-of-sequence token may end the text."`
	Tokenizer    string  `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Default: the model directory's, else gpt2."`
	JSON         bool    `name:"json" help:"Print JSON instead of text. Prompt ids, new ids and text."`
}

func (c *generateCmd) Run(ctx context.Context, e *env) error {
	m, err := nn.Load(c.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	tok, err := tokenizer.Load(modelTokenizer(c.Tokenizer, c.Model, "gpt2"))
	if err != nil {
		return err
	}
	opts := nn.GenerateOptions{MaxNewTokens: c.MaxNewTokens, MinNewTokens: c.MinNewTokens}
	var g *miner.Generation
	if len(c.PromptIDs) > 0 {
		g, err = miner.GenerateIDs(ctx, m, tok, c.PromptIDs, opts)
	} else {
		g, err = miner.Generate(ctx, m, tok, c.Prompt, opts)
	}
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(e, g)
	}
	_, err = fmt.Fprintln(e.stdout, c.Prompt+g.Text)
	return err
}
