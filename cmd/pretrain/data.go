package main

import (
	"cmp"
	"context"
	"fmt"
	"math/big"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/tokenizer"
)

// dataCmd groups the commands that show what validators read: `pretrain data pages` and
// `pretrain data batches`.
type dataCmd struct {
	Pages   dataPagesCmd   `cmd:"" help:"Print the pages the reference loader draws for a seed, as JSON."`
	Batches dataBatchesCmd `cmd:"" help:"Fetch, tokenize and pack a loader's pages; write the selected batches as JSON."`
}

// dataFlags are shared by both data commands: which competition task's loader, which seed.
type dataFlags struct {
	competitionFlags `embed:""`
	scheduleFlag     `embed:""`
	Dataset          string   `help:"Dataset loader. One of falcon, fineweb, fineweb-edu2, stack-v1, stack-v2, pes2ox, finemath-3plus, infiwebmath-3plus, local (or its HF dataset name or id); default: the competition's, when it reads one."`
	Seed             seedFlag `xor:"seed" placeholder:"N" help:"Seed, a decimal integer. Seeds the page draw as Python's random.seed."`
	BlockHash        string   `name:"block-hash" xor:"seed" help:"Sync block hash (64 hex digits, 0x optional, any case); seed = int(sha256(its 0x-prefixed lowercase form).hexdigest(), 16)."`
	Pages            int      `aliases:"num-pages" help:"Pages to draw (num_pages). Default: the competition task's."`
	dataSourceFlags  `embed:""`
}

// task resolves the competition's task for --dataset, with --pages applied.
func (f *dataFlags) task() (competition.Competition, competition.EvalTask, dataset.Spec, error) {
	comp, err := f.competition(f.Schedule)
	if err != nil {
		return comp, competition.EvalTask{}, dataset.Spec{}, err
	}
	task, spec, err := taskFor(comp, f.Dataset)
	if f.Pages != 0 {
		task.NumPages = f.Pages
	}
	return comp, task, spec, err
}

func (f *dataFlags) seed() (*big.Int, error) {
	switch {
	case f.BlockHash != "":
		// The reference hashes the hash string as the chain returns it: 0x, lowercase.
		h, err := chain.ParseHash(f.BlockHash)
		if err != nil {
			return nil, fmt.Errorf("%w: --block-hash %q: %v", errUsage, f.BlockHash, err)
		}
		return dataset.SeedFromBlockHash(h.String()), nil
	case f.Seed.set():
		return f.Seed.v, nil
	}
	return nil, fmt.Errorf("%w: give --seed or --block-hash", errUsage)
}

type dataPagesCmd struct {
	dataFlags `embed:""`
}

func (c *dataPagesCmd) Run(ctx context.Context, e *env) error {
	_, task, spec, err := c.task()
	if err != nil {
		return err
	}
	seed, err := c.seed()
	if err != nil {
		return err
	}
	sources, err := c.sources(e, "", spec)
	if err != nil {
		return err
	}
	pages, err := sources.PlanPages(ctx, spec, seed, task.NumPages)
	if err != nil {
		return err
	}
	type page struct {
		dataset.Page
		Name string `json:"name"`
	}
	out := struct {
		Dataset string `json:"dataset"`
		Seed    string `json:"seed"`
		Pages   []page `json:"pages"`
	}{Dataset: spec.Dataset, Seed: seed.String(), Pages: []page{}}
	for _, p := range pages {
		out.Pages = append(out.Pages, page{p, spec.PageName(p)})
	}
	return printJSON(e, out)
}

type dataBatchesCmd struct {
	dataFlags `embed:""`
	Tokenizer string `help:"Tokenizer: a built-in name (gpt2, distilgpt2, Xenova/gpt-4), a model directory or a tokenizer.json. Default: the competition's."`
	SeqLen    int    `name:"seq-len" help:"Tokens per row (sequence length L). Default: the competition's."`
	Batch     int    `aliases:"batch-size" help:"Rows per batch. Default: the competition task's (batch_size)."`
	Unpacked  bool   `help:"pack_samples=False: pad each document with EOS to a multiple of L."`
	Out       string `required:"" type:"path" help:"Output path. A JSON array of sequences (arrays of token ids)."`
}

func (c *dataBatchesCmd) Run(ctx context.Context, e *env) error {
	comp, task, spec, err := c.task()
	if err != nil {
		return err
	}
	seed, err := c.seed()
	if err != nil {
		return err
	}
	tokName := cmp.Or(c.Tokenizer, comp.Constraints.Tokenizer)
	tok, err := tokenizer.Load(tokName)
	if err != nil {
		return err
	}
	seqLen := cmp.Or(c.SeqLen, comp.Constraints.SequenceLength)
	sources, err := c.sources(e, "", spec)
	if err != nil {
		return err
	}
	batchSize := cmp.Or(c.Batch, task.BatchSize)
	l, err := sources.Loader(spec, tok, seqLen, batchSize, task.NumPages)
	if err != nil {
		return err
	}
	l.Unpacked = c.Unpacked
	batches, res, err := l.EvalBatches(ctx, seed)
	if err != nil {
		return err
	}
	if err := dataset.WriteBatchesFile(c.Out, batches); err != nil {
		return err
	}
	return printJSON(e, map[string]any{
		"competition": comp.ID.String(), "dataset": spec.Dataset, "seed": seed.String(), "pages": res.PageNames,
		"tokenizer": tokName, "seq_len": seqLen,
		// The pages' tokens before the cut, and what the file holds: the first 50 batches
		// of the shuffled rows, as validators keep them.
		"page_tokens": len(res.Tokens), "batches": len(batches), "batch_tokens": len(batches) * batchSize * seqLen, "out": c.Out,
	})
}
