package leaderboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/validator"
)

// ChainSnapshot is what the leaderboard reads from the chain in one refresh.
type ChainSnapshot struct {
	Block     chain.Block
	Metagraph *chain.Metagraph
	// Commitments[uid] is the uid's hotkey's commitment; absent where it has none.
	Commitments map[chain.UID]chain.Commitment
}

// commitmentReaders bounds the concurrent Commitment calls of one refresh (256 on finney).
const commitmentReaders = 8

// readChain reads the current block, the metagraph and every hotkey's commitment.
func readChain(ctx context.Context, r chain.Reader, netuid uint16) (*ChainSnapshot, error) {
	head, err := r.CurrentBlock(ctx)
	if err != nil {
		return nil, fmt.Errorf("current block: %w", err)
	}
	m, err := r.Metagraph(ctx, netuid)
	if err != nil {
		return nil, fmt.Errorf("metagraph of subnet %d: %w", netuid, err)
	}
	if len(m.Hotkeys) != m.N || len(m.Stake) != m.N || len(m.Incentive) != m.N || len(m.Emission) != m.N ||
		len(m.ValidatorTrust) != m.N || len(m.ValidatorPermit) != m.N || len(m.LastUpdate) != m.N || len(m.Weights) != m.N {
		return nil, fmt.Errorf("metagraph of subnet %d: columns disagree with n=%d", netuid, m.N)
	}
	snap := &ChainSnapshot{Block: head, Metagraph: m, Commitments: map[chain.UID]chain.Commitment{}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, commitmentReaders)
	)
	for uid, hotkey := range m.Hotkeys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := r.Commitment(ctx, netuid, hotkey)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				snap.Commitments[chain.UID(uid)] = c
			case !errors.Is(err, chain.ErrNotFound):
				errs = append(errs, fmt.Errorf("commitment of uid %d: %w", uid, err))
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return snap, nil
}

// stepSource is one place step records come from: a file or a validator's HTTP endpoint.
// fetch returns the records that are new since the last successful fetch.
type stepSource interface {
	name() string
	fetch(ctx context.Context) (StepLogBatch, error)
}

// fileSource reads a local step log file, remembering how far it has read so that each
// refresh parses only the lines appended since; a file that shrank was replaced and is read
// again from the start.
type fileSource struct {
	path   string
	offset int64
}

func (s *fileSource) name() string { return s.path }

func (s *fileSource) fetch(ctx context.Context) (StepLogBatch, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return StepLogBatch{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return StepLogBatch{}, err
	}
	if st.Size() < s.offset {
		s.offset = 0
	}
	if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
		return StepLogBatch{}, err
	}
	b, err := ReadStepLog(f, false)
	if err != nil {
		return b, fmt.Errorf("read %s: %w", s.path, err)
	}
	s.offset += b.Consumed
	return b, nil
}

// maxStepLogResponse bounds one HTTP step log response.
const maxStepLogResponse = 64 << 20

// httpSource polls a validator's GET {base}/steplog?since=STEP endpoint, asking only for
// steps after the last one it has seen.
type httpSource struct {
	base   *url.URL
	client *http.Client
	since  int64 // -1: nothing seen yet
}

func newHTTPSource(raw string, client *http.Client) (*httpSource, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("validator url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("validator url %s: want http(s)://HOST[:PORT][/PATH]", u.Redacted())
	}
	return &httpSource{base: u, client: client, since: -1}, nil
}

// name is the URL without any password, as it appears on pages.
func (s *httpSource) name() string { return s.base.Redacted() }

func (s *httpSource) fetch(ctx context.Context) (StepLogBatch, error) {
	u := s.base.JoinPath("steplog")
	if s.since >= 0 {
		u.RawQuery = url.Values{"since": {strconv.FormatInt(s.since, 10)}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return StepLogBatch{}, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return StepLogBatch{}, fmt.Errorf("get %s: %w", s.name(), redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return StepLogBatch{}, fmt.Errorf("get %s: %s", s.name(), resp.Status)
	}
	body, err := bounded.ReadAll(resp.Body, maxStepLogResponse)
	if err != nil {
		return StepLogBatch{}, fmt.Errorf("get %s: %w", s.name(), err)
	}
	b, err := ReadStepLog(bytes.NewReader(body), true)
	if err != nil {
		return b, err
	}
	for _, r := range b.Records {
		s.since = max(s.since, r.Step)
	}
	return b, nil
}

// redactURLError drops the URL (which may carry credentials) from a client error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// SourceStatus says how fresh one source's data is; pages mark stale data with it.
type SourceStatus struct {
	Kind string `json:"kind"` // "chain", "steplog file" or "validator"
	Name string `json:"name"`
	// OK is false when the last attempt failed; the data shown is then from LastOK.
	OK       bool      `json:"ok"`
	LastOK   time.Time `json:"last_ok,omitzero"`
	LastTry  time.Time `json:"last_try,omitzero"`
	Error    string    `json:"error,omitempty"`
	Records  int       `json:"records"`
	Skipped  int       `json:"skipped_lines"`
	Warnings []string  `json:"warnings,omitempty"`
}

func (s *SourceStatus) record(now time.Time, err error) {
	s.LastTry = now
	if err != nil {
		s.OK, s.Error = false, err.Error()
		return
	}
	s.OK, s.Error, s.LastOK = true, "", now
}

// Stale reports whether the source's last attempt failed or has never been made.
func (s SourceStatus) Stale() bool { return !s.OK }

// maxStepValidators bounds how many validators' records the store keeps (a subnet has 64
// validator permits), so that a source inventing hotkeys cannot grow it without end.
const maxStepValidators = 64

// stepStore holds the step records of every source, deduplicated by (validator, step) and
// bounded per validator and in validators.
type stepStore struct {
	max     int
	byValid map[string][]validator.StepRecord // sorted by step
}

// add stores recs and returns how many it dropped because the store already holds
// maxStepValidators other validators.
func (st *stepStore) add(recs []validator.StepRecord) (dropped int) {
	if st.byValid == nil {
		st.byValid = map[string][]validator.StepRecord{}
	}
	for _, r := range recs {
		list, known := st.byValid[r.ValidatorHotkey]
		if !known && len(st.byValid) >= maxStepValidators {
			dropped++
			continue
		}
		r = slim(r)
		i := len(list)
		for i > 0 && list[i-1].Step >= r.Step {
			i--
		}
		if i < len(list) && list[i].Step == r.Step {
			list[i] = r
			continue
		}
		list = append(list, validator.StepRecord{})
		copy(list[i+1:], list[i:])
		list[i] = r
		if len(list) > st.max {
			list = list[len(list)-st.max:]
		}
		st.byValid[r.ValidatorHotkey] = list
	}
	return dropped
}

// all returns every record, grouped by validator hotkey in sorted order.
func (st *stepStore) all() []validator.StepRecord {
	var out []validator.StepRecord
	for _, k := range slices.Sorted(maps.Keys(st.byValid)) {
		out = append(out, st.byValid[k]...)
	}
	return out
}

// slim drops what the board never shows (pages, tasks, task scores, timings, subnet
// weights), so that the store's memory is the uid results it serves.
func slim(r validator.StepRecord) validator.StepRecord {
	r.Pages, r.Tasks, r.SubnetWeights, r.Timings, r.Seed = nil, nil, nil, validator.StepTimings{}, ""
	data := make(map[string]validator.UIDRec, len(r.UIDData))
	for k, d := range r.UIDData {
		d.Tasks, d.SecureHash = nil, ""
		data[k] = d
	}
	r.UIDData = data
	return r
}
