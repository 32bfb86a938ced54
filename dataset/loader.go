package dataset

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/pretrain/pretrain/internal/wait"
	"github.com/pretrain/pretrain/pyrand"
)

// DefaultRetryDelay is the reference's retry_delay (5 s).
const DefaultRetryDelay = 5 * time.Second

// Loader is one reference SubsetLoader: it draws pages from a seed, fetches and tokenizes them,
// with the reference's retries and RNG consumption. Configure the fields, then call Load.
type Loader struct {
	Spec      Spec
	Source    Source
	Tokenizer Tokenizer // must be safe for concurrent use
	// Blobs fetches Stack v2 contents; required for Spec.S3Content.
	Blobs BlobFetcher
	// HFToken reports whether an HF token is configured; loaders with RequiresAuth fail
	// without one, as the reference raises ValueError("HF_TOKEN environment variable not found").
	HFToken bool

	SeqLen    int  // sequence_length
	BatchSize int  // batch_size (1 in every SN9 task)
	NumPages  int  // num_pages
	Unpacked  bool // pack_samples=False (zero value: packed, the reference default)

	// RetryDelay is the pause between retries; DefaultRetryDelay if zero.
	RetryDelay time.Duration
	// Sleep waits d or until ctx ends; tests inject it. Nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Workers bounds parallel tokenization and blob fetches; GOMAXPROCS if zero.
	Workers int
	Log     *slog.Logger
}

// Result is what a loader's constructor leaves behind: the pages of its last attempt and
// the token buffer (documents each followed by EOS).
type Result struct {
	Pages []Page
	// PageNames are get_page_names(): offsets, or "{cfg}_{start}_{split}".
	PageNames []string
	Tokens    []int32
	// Rounds is the number of page sets drawn (the constructor redraws while the buffer is
	// shorter than sequence_length).
	Rounds int
}

func (l *Loader) log() *slog.Logger {
	if l.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Log.With("component", "dataset", "dataset", l.Spec.Dataset)
}

func (l *Loader) sleep(ctx context.Context) error {
	d := cmp.Or(l.RetryDelay, DefaultRetryDelay)
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return wait.Sleep(ctx, d)
}

func (l *Loader) validate() error {
	switch {
	case l.Source == nil:
		return errors.New("no source")
	case l.Tokenizer == nil:
		return errors.New("no tokenizer")
	case l.SeqLen <= 0:
		return fmt.Errorf("sequence length %d must be positive", l.SeqLen)
	case l.BatchSize <= 0:
		return fmt.Errorf("batch size %d must be positive", l.BatchSize)
	case l.NumPages < 0:
		return fmt.Errorf("num pages %d must not be negative", l.NumPages)
	case l.Spec.RequiresAuth && !l.HFToken:
		return errors.New("HF_TOKEN environment variable not found")
	case l.Spec.S3Content && l.Blobs == nil:
		return errors.New("no Software Heritage blob fetcher (AWS credentials)")
	case !l.Spec.FineWebStyle && l.Spec.MaxPages <= 0:
		return fmt.Errorf("max pages %d must be positive", l.Spec.MaxPages)
	}
	return nil
}

// Load runs the loader's constructor for seed (SubsetLoader.__init__): random.seed(seed),
// then up to 14 rounds of drawing and fetching pages until the buffer holds at least
// sequence_length tokens. Errors the reference raises are returned wrapped.
func (l *Loader) Load(ctx context.Context, seed *big.Int) (*Result, error) {
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("loader %s: %w", l.Spec.Name, err)
	}
	res := &Result{}
	if l.NumPages == 0 {
		return res, nil // `if self.num_pages:` skips fetching; the caller sees no batches
	}
	rng := pyrand.New(seed)
	// fetch_attempt starts at 1 and the loop runs while it is < retry_limit: 14 rounds.
	for round := 1; round < RetryLimit; round++ {
		res.Rounds++
		var err error
		if l.Spec.FineWebStyle {
			err = l.fineWebRound(ctx, rng, res)
		} else {
			err = l.simpleRound(ctx, rng, res)
		}
		if err != nil {
			return nil, fmt.Errorf("loader %s: %w", l.Spec.Name, err)
		}
		if len(res.Tokens) >= l.SeqLen {
			break
		}
		l.log().Warn("fetched pages hold too few tokens, drawing new pages", "tokens", len(res.Tokens), "round", res.Rounds)
	}
	if len(res.Tokens) < l.SeqLen {
		return nil, fmt.Errorf("loader %s: maximum retry limit for fetching pages reached: %d tokens, want %d", l.Spec.Name, len(res.Tokens), l.SeqLen)
	}
	res.PageNames = make([]string, len(res.Pages))
	for i, p := range res.Pages {
		res.PageNames[i] = l.Spec.PageName(p)
	}
	return res, nil
}

// simpleRound is _sample_pages + fetch_data_for_pages: the buffer is reset, and each page is
// retried in place (15 attempts, retry_delay apart) before the error is raised.
func (l *Loader) simpleRound(ctx context.Context, rng *pyrand.Rand, res *Result) error {
	offsets, err := SimplePages(rng, l.Spec.MaxPages, l.NumPages)
	if err != nil {
		return err
	}
	res.Pages = res.Pages[:0]
	for _, o := range offsets {
		res.Pages = append(res.Pages, Page{Config: l.Spec.Config, Offset: o, Split: l.Spec.Split})
	}
	res.Tokens = res.Tokens[:0]
	for _, p := range res.Pages {
		for attempt := 1; ; attempt++ {
			err := l.fetchPage(ctx, p, &res.Tokens)
			if err == nil {
				break
			}
			if !Retryable(err) {
				return fmt.Errorf("page %d: %w", p.Offset, err)
			}
			l.log().Warn("fetch page failed, retrying", "page", p.Offset, "attempt", attempt, "err", err)
			if attempt >= RetryLimit {
				return fmt.Errorf("page %d: maximum retry limit reached: %w", p.Offset, err)
			}
			if err := l.sleep(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// fineWebRound is fetch_dataset_configs + _fetch_data_to_buffer. It draws a new page after a
// failed fetch and skips duplicate pages up to duplicate_page_threshold. Reference quirk,
// matched: unlike simple loaders it keeps the tokens of earlier rounds in the buffer.
func (l *Loader) fineWebRound(ctx context.Context, rng *pyrand.Rand, res *Result) error {
	configs, err := l.fetchConfigs(ctx)
	if err != nil {
		return err
	}
	res.Pages = res.Pages[:0]
	attempts, duplicates := 0, 0
	initial := FineWebInitialOffset(rng)
	for len(res.Pages) < l.NumPages {
		p, err := FineWebRandomPage(rng, configs, initial)
		if err != nil {
			return err
		}
		if slices.Contains(res.Pages, p) {
			duplicates++
			if duplicates >= DuplicatePageThreshold {
				l.log().Debug("duplicate page threshold hit", "pages", len(res.Pages))
				break
			}
			continue
		}
		err = l.fetchPage(ctx, p, &res.Tokens)
		if err == nil {
			res.Pages = append(res.Pages, p)
			continue
		}
		if !Retryable(err) {
			return fmt.Errorf("page %s: %w", l.Spec.PageName(p), err)
		}
		var re *RequestError
		if errors.As(err, &re) && re.BadJSON {
			// Reference quirk, matched: the page is appended after raise_for_status() and
			// before response.json(), so a page whose body is not JSON still counts.
			res.Pages = append(res.Pages, p)
		}
		attempts++
		l.log().Warn("fetch page failed, drawing a new page", "page", l.Spec.PageName(p), "attempt", attempts, "err", err)
		if attempts >= RetryLimit {
			return fmt.Errorf("page %s: maximum retry limit reached: %w", l.Spec.PageName(p), err)
		}
		if err := l.sleep(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (l *Loader) fetchConfigs(ctx context.Context) ([]FineWebConfig, error) {
	for attempt := 1; ; attempt++ {
		s, err := l.Source.Size(ctx, l.Spec.Dataset)
		if err == nil {
			return FineWebConfigs(s), nil
		}
		if !Retryable(err) {
			return nil, fmt.Errorf("dataset configs: %w", err)
		}
		l.log().Warn("fetch dataset configs failed, retrying", "attempt", attempt, "err", err)
		if attempt >= RetryLimit {
			return nil, fmt.Errorf("dataset configs: maximum retry limit reached: %w", err)
		}
		if err := l.sleep(ctx); err != nil {
			return nil, err
		}
	}
}

// fetchPage fetches one page and appends each row's ids + [eos] to buf in row order.
// Reference quirk, matched: on a retryable error in the middle of a page (a Stack v2 blob)
// the rows before it stay in buf, and the retry of the page appends them again.
func (l *Loader) fetchPage(ctx context.Context, p Page, buf *[]int32) error {
	page, err := l.Source.Rows(ctx, RowsRequest{
		Dataset: l.Spec.Dataset, Config: p.Config, Split: p.Split,
		Offset: p.Offset, Length: RowsPerPage,
		// FineWeb-style loaders build their own params and send no headers.
		Auth: l.Spec.RequiresAuth && !l.Spec.FineWebStyle,
	})
	if err != nil {
		return err
	}
	texts, firstErr := l.rowTexts(ctx, page.Rows)
	ids, err := l.tokenize(ctx, texts)
	if err != nil {
		return err
	}
	for _, doc := range ids {
		*buf = append(*buf, doc...)
		*buf = append(*buf, l.Tokenizer.EOS())
	}
	return firstErr
}

// rowTexts extracts each row's text. It returns the texts of the rows before the first
// failing row, and that row's error.
func (l *Loader) rowTexts(ctx context.Context, rows []Row) ([]string, error) {
	texts := make([]string, len(rows))
	if !l.Spec.S3Content {
		for i, r := range rows {
			t, err := l.rowText(r)
			if err != nil {
				return texts[:i], fmt.Errorf("row %d: %w", i, err)
			}
			texts[i] = t
		}
		return texts, nil
	}
	errs := make([]error, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, l.workers())
	for i, r := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			texts[i], errs[i] = l.stackText(ctx, r)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return texts[:i], fmt.Errorf("row %d: %w", i, err)
		}
	}
	return texts, nil
}

// rowText is _get_content_from_row: row["text"] for the FineWeb loaders, otherwise
// row.get("text", row.get("content")). The value must be a JSON string: the reference passes
// None (a null or missing field) or a non-string to tokenizer(), which raises, so the loader
// fails (ErrInvalidResponse, not retried) instead of reading an empty document.
func (l *Loader) rowText(r Row) (string, error) {
	key := "text"
	if _, ok := r["text"]; !ok && !l.Spec.TextOnly {
		key = "content"
	}
	raw, ok := r[key]
	if !ok {
		return "", fmt.Errorf("%w: no %q field", ErrInvalidResponse, key)
	}
	var s string
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: field %q is %.20s, not a string", ErrInvalidResponse, key, raw)
	}
	return s, nil
}

func (l *Loader) stackText(ctx context.Context, r Row) (string, error) {
	var blobID, enc string
	if err := stringField(r, "blob_id", &blobID); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if err := stringField(r, "src_encoding", &enc); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	data, err := l.Blobs.Blob(ctx, blobID)
	if err != nil {
		return "", err
	}
	return DecodeText(data, enc)
}

func (l *Loader) workers() int { return max(cmp.Or(l.Workers, runtime.GOMAXPROCS(0)), 1) }

// contextEncoder is the optional capability of a [Tokenizer] whose encode stops when its
// context ends and can fail (the tokenizer package's, whose split pattern may time out).
type contextEncoder interface {
	EncodeContext(ctx context.Context, text string, truncate bool) ([]int32, error)
}

// tokenize encodes texts in parallel (truncation=True); the result is in input order. An
// encode error (ctx ended, a split pattern timed out) is returned, not retried.
func (l *Loader) tokenize(ctx context.Context, texts []string) ([][]int32, error) {
	encode := func(t string) ([]int32, error) { return l.Tokenizer.Encode(t, true), ctx.Err() }
	if ce, ok := l.Tokenizer.(contextEncoder); ok {
		encode = func(t string) ([]int32, error) { return ce.EncodeContext(ctx, t, true) }
	}
	out := make([][]int32, len(texts))
	errs := make([]error, len(texts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, l.workers())
	for i, t := range texts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = encode(t)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("tokenize row %d: %w", i, err)
		}
	}
	return out, nil
}

// PlanPages returns the first round of pages the reference draws for seed, assuming every
// fetch succeeds (failures make the reference draw differently). FineWeb-style loaders read
// /size from src; simple loaders need no source.
func PlanPages(ctx context.Context, src Source, spec Spec, seed *big.Int, numPages int) ([]Page, error) {
	rng := pyrand.New(seed)
	if !spec.FineWebStyle {
		offsets, err := SimplePages(rng, spec.MaxPages, numPages)
		if err != nil {
			return nil, err
		}
		pages := make([]Page, len(offsets))
		for i, o := range offsets {
			pages[i] = Page{Config: spec.Config, Offset: o, Split: spec.Split}
		}
		return pages, nil
	}
	if src == nil {
		return nil, fmt.Errorf("plan pages %s: a datasets-server is needed for /size", spec.Name)
	}
	size, err := src.Size(ctx, spec.Dataset)
	if err != nil {
		return nil, fmt.Errorf("plan pages %s: %w", spec.Name, err)
	}
	configs := FineWebConfigs(size)
	initial := FineWebInitialOffset(rng)
	var pages []Page
	duplicates := 0
	for len(pages) < numPages {
		p, err := FineWebRandomPage(rng, configs, initial)
		if err != nil {
			return nil, fmt.Errorf("plan pages %s: %w", spec.Name, err)
		}
		if slices.Contains(pages, p) {
			if duplicates++; duplicates >= DuplicatePageThreshold {
				break
			}
			continue
		}
		pages = append(pages, p)
	}
	return pages, nil
}
