package dataset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
)

// SourcesConfig is the environment every loader needs: where rows come from, credentials,
// and an optional page cache. The CLI, the trainer and the validator build loaders from one.
type SourcesConfig struct {
	Endpoint string // datasets-server base URL; DefaultEndpoint if empty
	HFToken  string // HF_TOKEN: sent only to Endpoint, for datasets that need it
	// AWSAccessKeyID and AWSSecretAccessKey sign Stack v2 blob fetches (Software Heritage).
	AWSAccessKeyID, AWSSecretAccessKey string
	CacheDir                           string // keep fetched pages here ("" : no cache)
	CacheBytes                         int64  // the cache's bound; its default if zero
	Logger                             *slog.Logger
}

// Validate checks the configuration without touching the network.
func (c SourcesConfig) Validate() error {
	if (c.AWSAccessKeyID == "") != (c.AWSSecretAccessKey == "") {
		return errors.New("dataset sources: give both AWS access key id and secret, or neither")
	}
	return nil
}

// Sources builds loaders over one client (and cache). Safe for concurrent use.
type Sources struct {
	cfg    SourcesConfig
	client *Client
	source Source
	blobs  BlobFetcher // nil without AWS credentials
}

// NewSources opens the client, the cache and the blob fetcher of cfg.
func NewSources(cfg SourcesConfig) (*Sources, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	client, err := NewClient(ClientConfig{Endpoint: cfg.Endpoint, Token: cfg.HFToken})
	if err != nil {
		return nil, err
	}
	s := &Sources{cfg: cfg, client: client, source: client}
	if cfg.CacheDir != "" {
		if s.source, err = NewCache(client, cfg.CacheDir, cfg.CacheBytes, cfg.Logger); err != nil {
			return nil, err
		}
	}
	if cfg.AWSAccessKeyID != "" {
		if s.blobs, err = NewSoftwareHeritage(SoftwareHeritageConfig{
			AccessKeyID: cfg.AWSAccessKeyID, SecretAccessKey: cfg.AWSSecretAccessKey}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Loader returns a loader of spec reading through these sources; the caller sets the
// sequence length, batch size and page count.
func (s *Sources) Loader(spec Spec, tok Tokenizer, seqLen, batchSize, numPages int) (*Loader, error) {
	if spec.S3Content && s.blobs == nil {
		return nil, fmt.Errorf("loader %s: reading Stack v2 contents needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", spec.Name)
	}
	return &Loader{Spec: spec, Source: s.source, Tokenizer: tok, Blobs: s.blobs, HFToken: s.client.HasToken(),
		SeqLen: seqLen, BatchSize: batchSize, NumPages: numPages, Log: s.cfg.Logger}, nil
}

// PlanPages draws spec's pages for seed as the loader would, through these sources.
func (s *Sources) PlanPages(ctx context.Context, spec Spec, seed *big.Int, numPages int) ([]Page, error) {
	return PlanPages(ctx, s.source, spec, seed, numPages)
}
