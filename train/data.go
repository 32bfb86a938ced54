package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/pretrain/pretrain/dataset"
)

// Corpus is a tokenized text corpus cut into training and held-out windows of SeqLen
// tokens, packed as SN9's loaders pack pages (documents joined by EOS; [dataset.Pack]).
type Corpus struct {
	SeqLen int
	Train  [][]int32 // windows, in corpus order
	Eval   [][]int32 // held-out windows: every EvalEvery-th document's tokens
}

// CorpusConfig says how to read and split a corpus.
type CorpusConfig struct {
	SeqLen int
	// EvalEvery holds out documents 0, EvalEvery, 2·EvalEvery, … (default 20: 5%).
	EvalEvery int
	// MaxEvalWindows bounds the held-out windows kept (default 32).
	MaxEvalWindows int
}

// ReadCorpus reads a local corpus file as eval --text reads one ([dataset.ReadDocuments]:
// JSON lines whose rows carry a "text" or else a "content" string, gzipped by a .gz suffix,
// or plain text), tokenizes every document, holds out every EvalEvery-th document, and
// packs both parts into windows.
func ReadCorpus(ctx context.Context, path string, tok dataset.Tokenizer, cfg CorpusConfig) (*Corpus, error) {
	if cfg.SeqLen < 2 {
		return nil, fmt.Errorf("read corpus %s: sequence length %d (need at least 2)", path, cfg.SeqLen)
	}
	docs, err := dataset.ReadDocuments(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read corpus: %w", err)
	}
	var buf []int32
	eos := tok.EOS()
	for _, d := range docs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		buf = append(append(buf, tok.Encode(d, false)...), eos)
	}
	c, err := splitCorpus(buf, eos, cfg)
	if err != nil {
		return nil, fmt.Errorf("read corpus %s: %w", path, err)
	}
	return c, nil
}

// splitCorpus cuts a token buffer of documents, each followed by eos (a loader's buffer),
// into the held-out documents (every EvalEvery-th) and the rest, and packs both.
func splitCorpus(buf []int32, eos int32, cfg CorpusConfig) (*Corpus, error) {
	every := cmp.Or(cfg.EvalEvery, 20)
	maxEval := cmp.Or(cfg.MaxEvalWindows, 32)
	var trainBuf, evalBuf []int32
	doc, start := 0, 0
	for i, id := range buf {
		if id != eos {
			continue
		}
		if doc%every == 0 {
			evalBuf = append(evalBuf, buf[start:i+1]...)
		} else {
			trainBuf = append(trainBuf, buf[start:i+1]...)
		}
		doc++
		start = i + 1
	}
	c := &Corpus{SeqLen: cfg.SeqLen}
	var err error
	if c.Train, err = windows(trainBuf, eos, cfg.SeqLen); err != nil {
		return nil, fmt.Errorf("training split: %w", err)
	}
	if c.Eval, err = windows(evalBuf, eos, cfg.SeqLen); err != nil {
		return nil, fmt.Errorf("held-out split: %w", err)
	}
	if len(c.Eval) > maxEval {
		c.Eval = c.Eval[:maxEval]
	}
	return c, nil
}

// ServerConfig selects pages from a datasets-server (Hugging Face's, or the local one of
// dataset/dataserver) as SN9's loaders do.
type ServerConfig struct {
	Endpoint string // server URL
	Dataset  string // dataset.Spec name, e.g. "local" or "falcon"
	Pages    int    // pages drawn (default 20)
	Seed     uint64 // the loader's seed
	Token    string // HF token, for datasets that require one
}

// LoadServerCorpus draws and tokenizes pages with the reference loader for sc.Dataset
// ([dataset.Loader]), then splits and packs them like [ReadCorpus].
func LoadServerCorpus(ctx context.Context, sc ServerConfig, tok dataset.Tokenizer, cfg CorpusConfig) (*Corpus, error) {
	if cfg.SeqLen < 2 {
		return nil, fmt.Errorf("load corpus %s: sequence length %d (need at least 2)", sc.Endpoint, cfg.SeqLen)
	}
	spec, err := dataset.SpecByName(sc.Dataset)
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	if spec.S3Content {
		return nil, fmt.Errorf("load corpus: dataset %s reads Software Heritage blobs, which the trainer does not fetch", sc.Dataset)
	}
	sources, err := dataset.NewSources(dataset.SourcesConfig{Endpoint: sc.Endpoint, HFToken: sc.Token})
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	l, err := sources.Loader(spec, tok, cfg.SeqLen, 1, cmp.Or(sc.Pages, 20))
	if err != nil {
		return nil, fmt.Errorf("load corpus: %w", err)
	}
	res, err := l.Load(ctx, new(big.Int).SetUint64(sc.Seed))
	if err != nil {
		return nil, fmt.Errorf("load corpus %s %s: %w", sc.Endpoint, sc.Dataset, err)
	}
	c, err := splitCorpus(res.Tokens, tok.EOS(), cfg)
	if err != nil {
		return nil, fmt.Errorf("load corpus %s %s: %w", sc.Endpoint, sc.Dataset, err)
	}
	return c, nil
}

func windows(buf []int32, eos int32, seqLen int) ([][]int32, error) {
	batches, err := dataset.Pack(buf, eos, 1, seqLen, false)
	if err != nil && !errors.Is(err, dataset.ErrNoBatches) {
		return nil, err
	}
	if len(batches) == 0 {
		return nil, fmt.Errorf("%d tokens make no window of %d", len(buf), seqLen)
	}
	out := make([][]int32, len(batches))
	for i, b := range batches {
		out[i] = b[0]
	}
	return out, nil
}

// Order is the training data order: window k of the stream (k counts every window consumed
// since the run began) is Train[perm_e[k mod n]] with e = k div n and perm_e a permutation
// drawn from (seed, e). It is a pure function of (seed, k), so a resumed run that knows k
// reads exactly the windows the uninterrupted run would have.
type Order struct {
	n     int
	seed  uint64
	epoch int64
	perm  []int
}

// NewOrder returns the order of n windows for seed.
func NewOrder(n int, seed uint64) *Order { return &Order{n: n, seed: seed, epoch: -1} }

// Window returns the index of the k-th window of the stream.
func (o *Order) Window(k int64) int {
	e := k / int64(o.n)
	if e != o.epoch {
		o.perm = rand.New(rand.NewPCG(o.seed, uint64(e))).Perm(o.n)
		o.epoch = e
	}
	return o.perm[k%int64(o.n)]
}
