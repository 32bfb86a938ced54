package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/pretrain/pretrain/tokenizer"
)

type tokenizeCmd struct {
	competitionFlags `embed:""`
	scheduleFlag     `embed:""`
	Tokenizer        string `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Default: the competition's."`
	Truncate         bool   `help:"Truncate to the tokenizer's model_max_length, as tokenizer(text, truncation=True)."`
	Decode           bool   `help:"Read a JSON array of ids on stdin and print their text instead."`
}

func (c *tokenizeCmd) Run(ctx context.Context, e *env) error {
	name := c.Tokenizer
	if name == "" {
		comp, err := c.competition(c.Schedule)
		if err != nil {
			return err
		}
		name = comp.Constraints.Tokenizer
	}
	tok, err := tokenizer.Load(name)
	if err != nil {
		return err
	}
	in, err := readAll(ctx, e.stdin)
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
	ids, err := tok.EncodeContext(ctx, string(in), c.Truncate)
	if err != nil {
		return err
	}
	return writeIDs(e.stdout, ids)
}

// readAll reads r to the end, or returns ctx's error once ctx ends: a read from a terminal
// or a pipe that never closes does not look at ctx, so it is left to finish in the
// background (the process is about to exit).
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// writeIDs writes ids as a JSON array and a newline, without building the text of a
// possibly huge array in memory.
func writeIDs(w io.Writer, ids []int32) error {
	bw := bufio.NewWriter(w)
	buf := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
		if len(buf) > 4096 {
			if _, err := bw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, ']', '\n')
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}
