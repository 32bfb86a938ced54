// Package leaderboard is the subnet's web page and JSON API: per competition the ranked
// models with their repos, losses, win rates, weights and earnings; the best model's loss over
// time; a validator board; a page per uid. It reads the chain (metagraph and commitments) and
// validators' step logs (files or their /steplog endpoints), keeps the last good copy of each
// when a source fails (and marks the pages stale), and renders server-side with html/template
// and inline SVG charts, so pages work without JavaScript; a small embedded script refreshes
// them in place.
package leaderboard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/internal/httpserve"
)

// Config configures a leaderboard Server.
type Config struct {
	// Chain is read for the metagraph and commitments (required).
	Chain  chain.Reader
	NetUID uint16
	// Schedule resolves competition ids and epsilon functions (required).
	Schedule competition.Schedule
	// StepLogs are step log files (JSON lines of validator.StepRecord) to follow.
	StepLogs []string
	// Validators are validators' base URLs; their GET /steplog is polled.
	Validators []string
	// Hub is the model hub's base URL for repo links (default https://huggingface.co).
	Hub string
	// Refresh is the interval between reads of every source (default 30 s).
	Refresh time.Duration
	// Poll is how often the pages' script asks for a newer copy of the page (default 15 s).
	Poll time.Duration
	// MaxSteps bounds the step records kept per validator (default 500: days of mainnet
	// steps; ten validators' 500 steps of 30 uids take about 80 MiB, BenchmarkBuild).
	MaxSteps int
	// HTTPClient fetches step logs (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// DownloadFlags are appended to the `pretrain download` command shown per uid.
	DownloadFlags string
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Chain == nil:
		return errors.New("leaderboard config: no chain")
	case len(c.Schedule) == 0:
		return errors.New("leaderboard config: no competition schedule")
	case c.Refresh < 0 || c.Poll < 0 || c.MaxSteps < 0:
		return errors.New("leaderboard config: negative interval or step bound")
	}
	if c.Hub != "" {
		if u, err := url.Parse(c.Hub); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("leaderboard config: hub endpoint %q is not an http(s) URL", c.Hub)
		}
	}
	return nil
}

// Server serves the leaderboard. Refresh (called by Run on a ticker) reads the sources and
// swaps in a new Board; handlers only read the current Board.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages *pages

	mu       sync.Mutex // serializes Refresh; guards what follows
	sources  []stepSource
	status   []SourceStatus // [0]: the chain, then one per step source
	snapshot *ChainSnapshot
	steps    stepStore

	board atomic.Pointer[Board]
}

// New checks cfg and builds a Server whose board is empty until the first Refresh.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Hub = cmp.Or(cfg.Hub, "https://huggingface.co")
	cfg.Refresh = cmp.Or(cfg.Refresh, 30*time.Second)
	cfg.Poll = cmp.Or(cfg.Poll, 15*time.Second)
	cfg.MaxSteps = cmp.Or(cfg.MaxSteps, 500)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)).With("component", "leaderboard")}
	s.status = append(s.status, SourceStatus{Kind: "chain", Name: fmt.Sprintf("subnet %d", cfg.NetUID)})
	for _, p := range cfg.StepLogs {
		s.sources = append(s.sources, &fileSource{path: p})
		s.status = append(s.status, SourceStatus{Kind: "steplog file", Name: p})
	}
	for _, u := range cfg.Validators {
		src, err := newHTTPSource(u, cfg.HTTPClient)
		if err != nil {
			return nil, err
		}
		s.sources = append(s.sources, src)
		s.status = append(s.status, SourceStatus{Kind: "validator", Name: src.name()})
	}
	s.steps.max = cfg.MaxSteps
	var err error
	if s.pages, err = newPages(); err != nil {
		return nil, err
	}
	s.rebuild()
	return s, nil
}

// Board returns the current board.
func (s *Server) Board() *Board { return s.board.Load() }

// Refresh reads every source once, concurrently, and rebuilds the board. A source that fails
// keeps its previous data and is marked stale.
func (s *Server) Refresh(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		wg      sync.WaitGroup
		snap    *ChainSnapshot
		chainEr error
		batches = make([]StepLogBatch, len(s.sources))
		errs    = make([]error, len(s.sources))
	)
	wg.Go(func() { snap, chainEr = readChain(ctx, s.cfg.Chain, s.cfg.NetUID) })
	for i, src := range s.sources {
		wg.Go(func() { batches[i], errs[i] = src.fetch(ctx) })
	}
	wg.Wait()
	now := s.cfg.Now()
	if chainEr == nil {
		s.snapshot = snap
	} else {
		s.log.Warn("read chain", "err", chainEr)
	}
	s.status[0].record(now, chainEr)
	for i, b := range batches {
		st := &s.status[i+1]
		st.record(now, errs[i])
		if errs[i] != nil {
			s.log.Warn("read step log", "source", s.sources[i].name(), "err", errs[i])
			continue
		}
		if dropped := s.steps.add(b.Records); dropped > 0 {
			b.Skipped += dropped
			b.Warnings = append(b.Warnings, fmt.Sprintf("%d records of validators beyond the first %d dropped", dropped, maxStepValidators))
		}
		st.Records += len(b.Records)
		if b.Skipped > 0 {
			st.Skipped += b.Skipped
			st.Warnings = append(st.Warnings, b.Warnings...)
			st.Warnings = st.Warnings[max(0, len(st.Warnings)-maxWarnings):]
			s.log.Warn("skipped step log lines", "source", s.sources[i].name(), "n", b.Skipped, "first", b.Warnings[0])
		}
	}
	s.rebuild()
}

// rebuild computes the board from what s holds. s.mu is held (or s is not yet shared).
func (s *Server) rebuild() {
	s.board.Store(Build(Inputs{
		NetUID: s.cfg.NetUID, Chain: s.snapshot, Steps: s.steps.all(), Schedule: s.cfg.Schedule,
		Hub: s.cfg.Hub, Sources: append([]SourceStatus(nil), s.status...), Now: s.cfg.Now(),
		DownloadFlags: s.cfg.DownloadFlags,
	}))
}

// Run serves the leaderboard on addr and refreshes it every cfg.Refresh until ctx ends.
// ready, if not nil, receives the bound address.
func (s *Server) Run(ctx context.Context, addr string, ready func(net.Addr)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		t := time.NewTicker(s.cfg.Refresh)
		defer t.Stop()
		for {
			s.Refresh(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return httpserve.Run(ctx, "leaderboard", addr, s.Handler(), s.log, ready)
}
