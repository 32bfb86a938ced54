package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/pretrain/pretrain/tokenizer"
)

type tokenizeCmd struct {
	Tokenizer string `default:"Xenova/gpt-4" help:"Built-in name (gpt2, distilgpt2, Xenova/gpt-4), model directory or tokenizer.json path."`
	Truncate  bool   `help:"Truncate to the tokenizer's model_max_length, as tokenizer(text, truncation=True)."`
	Decode    bool   `help:"Read a JSON array of ids on stdin and print their text instead."`
}

func (c *tokenizeCmd) Run(ctx context.Context, e *env) error {
	tok, err := tokenizer.Load(c.Tokenizer)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(e.stdin)
	if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if c.Decode {
		var ids []int32
		if err := json.Unmarshal(in, &ids); err != nil {
			return fmt.Errorf("decode ids from stdin: %w", err)
		}
		_, err = e.stdout.Write(tok.Decode(ids))
		return err
	}
	out, err := json.Marshal(tok.Encode(string(in), c.Truncate))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", out)
	return err
}
