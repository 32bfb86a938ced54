package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/dataset"
	"github.com/pretrain/pretrain/tokenizer"
)

// dataCmd groups the commands that show what validators read: `pretrain data pages` and
// `pretrain data batches`.
type dataCmd struct {
	Pages   dataPagesCmd   `cmd:"" help:"Print the pages the reference loader draws for a seed, as JSON."`
	Batches dataBatchesCmd `cmd:"" help:"Fetch, tokenize and pack a loader's pages; write the selected batches as JSON."`
}

// dataFlags are shared by both data commands.
type dataFlags struct {
	Dataset   string `required:"" help:"Loader: falcon, fineweb, fineweb-edu2, stack-v1, stack-v2, pes2ox, finemath-3plus, infiwebmath-3plus (or its HF dataset name or id)."`
	Seed      string `help:"Seed, a decimal integer (Python random.seed)." xor:"seed"`
	BlockHash string `name:"block-hash" help:"Sync block hash (64 hex digits, 0x optional, any case); seed = int(sha256(its 0x-prefixed lowercase form).hexdigest(), 16)." xor:"seed"`
	NumPages  int    `name:"num-pages" default:"1" help:"Pages to draw (num_pages)."`
	Endpoint  string `default:"https://datasets-server.huggingface.co" help:"Datasets-server base URL (a local 'pretrain dataserver' works)."`
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
	case f.Seed != "":
		v, ok := new(big.Int).SetString(f.Seed, 10)
		if !ok {
			return nil, fmt.Errorf("%w: --seed %q is not a decimal integer", errUsage, f.Seed)
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: give --seed or --block-hash", errUsage)
}

// dataSourceFlags are the validator's datasets-server flags, shared by every command that
// reads the competitions' data as validators do (validator, miner score).
type dataSourceFlags struct {
	DataEndpoint string `name:"data.endpoint" default:"https://datasets-server.huggingface.co" help:"Datasets-server base URL (a local pretrain dataserver works)."`
	HFToken      string `name:"data.hf_token" env:"HF_TOKEN" help:"HF token for the datasets that need one (Stack)."`
	AWSKeyID     string `name:"data.aws_access_key_id" env:"AWS_ACCESS_KEY_ID" help:"AWS key id for Stack v2 contents."`
	AWSSecret    string `name:"data.aws_secret_access_key" env:"AWS_SECRET_ACCESS_KEY" help:"AWS secret for Stack v2 contents."`
	DataCache    string `name:"data.cache_dir" type:"path" help:"Keep fetched pages here (the validator's default: MODEL_DIR/data-cache)."`
}

// sources opens the data sources; defaultCache is used when --data.cache_dir is not given.
func (f *dataSourceFlags) sources(e *env, defaultCache string) (*dataset.Sources, error) {
	return dataset.NewSources(dataset.SourcesConfig{Endpoint: f.DataEndpoint, HFToken: f.HFToken,
		AWSAccessKeyID: f.AWSKeyID, AWSSecretAccessKey: f.AWSSecret, CacheDir: cmp.Or(f.DataCache, defaultCache), Logger: e.log})
}

// sources reads HF_TOKEN and the AWS keys from the environment; each is sent only to the
// host it is for.
func (f *dataFlags) sources(cacheDir string, e *env) (*dataset.Sources, error) {
	return dataset.NewSources(dataset.SourcesConfig{Endpoint: f.Endpoint, HFToken: os.Getenv("HF_TOKEN"),
		AWSAccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), AWSSecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		CacheDir: cacheDir, Logger: e.log})
}

type dataPagesCmd struct {
	dataFlags
}

func (c *dataPagesCmd) Run(ctx context.Context, e *env) error {
	spec, err := dataset.SpecByName(c.Dataset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	seed, err := c.seed()
	if err != nil {
		return err
	}
	client, err := dataset.NewClient(dataset.ClientConfig{Endpoint: c.Endpoint, Token: os.Getenv("HF_TOKEN")})
	if err != nil {
		return err
	}
	pages, err := dataset.PlanPages(ctx, client, spec, seed, c.NumPages)
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
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

type dataBatchesCmd struct {
	dataFlags
	Tokenizer string `required:"" help:"Tokenizer name, e.g. Xenova/gpt-4 or gpt2."`
	SeqLen    int    `name:"seq-len" default:"4096" help:"Sequence length L."`
	BatchSize int    `name:"batch-size" default:"1" help:"Rows per batch."`
	Unpacked  bool   `help:"pack_samples=False: pad each document with EOS to a multiple of L."`
	Out       string `required:"" type:"path" help:"Output file: a JSON array of sequences (arrays of token ids)."`
	CacheDir  string `name:"cache-dir" type:"path" help:"Keep fetched pages here and reuse them."`
}

func (c *dataBatchesCmd) Run(ctx context.Context, e *env) error {
	spec, err := dataset.SpecByName(c.Dataset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	seed, err := c.seed()
	if err != nil {
		return err
	}
	tok, err := tokenizer.Load(c.Tokenizer)
	if err != nil {
		return err
	}
	sources, err := c.sources(c.CacheDir, e)
	if err != nil {
		return err
	}
	l, err := sources.Loader(spec, tok, c.SeqLen, c.BatchSize, c.NumPages)
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
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{
		"dataset": spec.Dataset, "seed": seed.String(), "pages": res.PageNames,
		"tokens": len(res.Tokens), "batches": len(batches), "out": c.Out,
	})
}
