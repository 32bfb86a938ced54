package validator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// EvalResult is one evaluation of a miner's model (taoverse's EvalResult): the block it was
// evaluated at, its score (+Inf when it failed), and the step's winning model's block and
// score, which decide whether the model is worth evaluating again.
type EvalResult struct {
	Block             chain.Block `json:"block"`
	Score             float64     `json:"score"`
	WinningModelBlock chain.Block `json:"winning_model_block"`
	WinningModelScore float64     `json:"winning_model_score"`
}

// maxEvalHistory is how many results per hotkey and competition the tracker keeps.
const maxEvalHistory = 3

// ModelTracker holds, per miner hotkey, the model metadata last synced and the latest
// evaluation results per competition (taoverse's ModelTracker). It is safe for concurrent use.
type ModelTracker struct {
	mu       sync.Mutex
	metadata map[string]chain.ModelMetadata
	results  map[string]map[competition.ID][]EvalResult
}

// NewModelTracker returns an empty tracker.
func NewModelTracker() *ModelTracker {
	return &ModelTracker{metadata: map[string]chain.ModelMetadata{}, results: map[string]map[competition.ID][]EvalResult{}}
}

// Metadata returns the metadata tracked for hotkey.
func (t *ModelTracker) Metadata(hotkey string) (chain.ModelMetadata, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.metadata[hotkey]
	return m, ok
}

// AllMetadata returns a copy of the hotkey → metadata map.
func (t *ModelTracker) AllMetadata() map[string]chain.ModelMetadata {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.metadata)
}

// OnModelUpdated records hotkey's latest metadata. A change of any field, the block included,
// clears the hotkey's evaluation history: its results are about another model.
func (t *ModelTracker) OnModelUpdated(hotkey string, m chain.ModelMetadata) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if prev, ok := t.metadata[hotkey]; !ok || prev != m {
		delete(t.results, hotkey)
	}
	t.metadata[hotkey] = m
}

// OnModelEvaluated appends a result to hotkey's history in competition id, keeping the latest
// maxEvalHistory by evaluation block.
func (t *ModelTracker) OnModelEvaluated(hotkey string, id competition.ID, r EvalResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	byComp := t.results[hotkey]
	if byComp == nil {
		byComp = map[competition.ID][]EvalResult{}
		t.results[hotkey] = byComp
	}
	h := append(byComp[id], r)
	// Python's list.sort is stable, as SortStableFunc is.
	slices.SortStableFunc(h, func(a, b EvalResult) int { return cmp.Compare(a.Block, b.Block) })
	if len(h) > maxEvalHistory {
		h = slices.Delete(h, 0, 1)
	}
	byComp[id] = h
}

// EvalResults returns a copy of hotkey's history in competition id, oldest first.
func (t *ModelTracker) EvalResults(hotkey string, id competition.ID) []EvalResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.results[hotkey][id])
}

// ClearEvalResults drops every hotkey's history in competition id.
func (t *ModelTracker) ClearEvalResults(id competition.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, byComp := range t.results {
		delete(byComp, id)
	}
}

// BlockLastEvaluated is the latest evaluation block of hotkey in any competition.
func (t *ModelTracker) BlockLastEvaluated(hotkey string) (chain.Block, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var last chain.Block
	found := false
	for _, h := range t.results[hotkey] {
		for _, r := range h {
			if !found || r.Block > last {
				last, found = r.Block, true
			}
		}
	}
	return last, found
}

// OnHotkeysUpdated forgets every hotkey that is no longer registered.
func (t *ModelTracker) OnHotkeysUpdated(registered map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for hk := range t.metadata {
		if !registered[hk] {
			delete(t.metadata, hk)
			delete(t.results, hk)
		}
	}
}

// modelTrackerFormat is the version of the JSON form; bump it on any incompatible change.
const modelTrackerFormat = 1

type trackerJSON struct {
	Format   int                                        `json:"format"`
	Metadata map[string]metadataJSON                    `json:"metadata"`
	Results  map[string]map[competition.ID][]resultJSON `json:"eval_results"`
}

type metadataJSON struct {
	ID    string      `json:"id"`
	Block chain.Block `json:"block"`
	// Hash is kept beside the compressed id: the legacy form carries it, the 5-field one not.
	Hash string `json:"hash,omitempty"`
}

// resultJSON writes scores as strings so +Inf survives JSON.
type resultJSON struct {
	Block             chain.Block `json:"block"`
	Score             string      `json:"score"`
	WinningModelBlock chain.Block `json:"winning_model_block"`
	WinningModelScore string      `json:"winning_model_score"`
}

func formatScore(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func parseScore(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("score %q: %w", s, err)
	}
	return f, nil
}

// MarshalJSON writes the tracker in a versioned JSON form (the reference pickles it).
func (t *ModelTracker) MarshalJSON() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := trackerJSON{Format: modelTrackerFormat, Metadata: map[string]metadataJSON{}, Results: map[string]map[competition.ID][]resultJSON{}}
	for hk, m := range t.metadata {
		v.Metadata[hk] = metadataJSON{ID: m.ID.String(), Block: m.Block, Hash: m.ID.Hash}
	}
	for hk, byComp := range t.results {
		v.Results[hk] = map[competition.ID][]resultJSON{}
		for id, h := range byComp {
			for _, r := range h {
				v.Results[hk][id] = append(v.Results[hk][id], resultJSON{r.Block, formatScore(r.Score), r.WinningModelBlock, formatScore(r.WinningModelScore)})
			}
		}
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (t *ModelTracker) UnmarshalJSON(b []byte) error {
	var v trackerJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("model tracker: %w", err)
	}
	if v.Format != modelTrackerFormat {
		return fmt.Errorf("model tracker: format %d, want %d", v.Format, modelTrackerFormat)
	}
	nt := NewModelTracker()
	for hk, m := range v.Metadata {
		id, err := chain.ParseModelID(m.ID)
		if err != nil {
			return fmt.Errorf("model tracker: hotkey %s: %w", hk, err)
		}
		id.Hash = m.Hash
		nt.metadata[hk] = chain.ModelMetadata{ID: id, Block: m.Block}
	}
	for hk, byComp := range v.Results {
		nt.results[hk] = map[competition.ID][]EvalResult{}
		for id, h := range byComp {
			if len(h) > maxEvalHistory {
				return fmt.Errorf("model tracker: hotkey %s: %d results, limit %d", hk, len(h), maxEvalHistory)
			}
			for _, r := range h {
				score, err := parseScore(r.Score)
				if err != nil {
					return fmt.Errorf("model tracker: hotkey %s: %w", hk, err)
				}
				win, err := parseScore(r.WinningModelScore)
				if err != nil {
					return fmt.Errorf("model tracker: hotkey %s: %w", hk, err)
				}
				nt.results[hk][id] = append(nt.results[hk][id], EvalResult{r.Block, score, r.WinningModelBlock, win})
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.metadata, t.results = nt.metadata, nt.results
	return nil
}

// ShouldRetryModel reports whether a model with this evaluation history (oldest first) is worth
// evaluating again (pretraining's should_retry_model): never evaluated; or at its last successful
// evaluation it beat the winner's raw score, and the winner's epsilon has since decayed enough
// that it would now win; or every evaluation failed and there was only one.
func ShouldRetryModel(eps competition.EpsilonFunc, current chain.Block, history []EvalResult) bool {
	if len(history) == 0 {
		return true
	}
	for i := len(history) - 1; i >= 0; i-- {
		r := history[i]
		if math.IsInf(r.Score, 1) {
			continue
		}
		if r.Score > r.WinningModelScore {
			return false
		}
		top := r.WinningModelScore * (1 - eps.Epsilon(current, r.WinningModelBlock))
		return r.Score < top
	}
	return len(history) < 2
}
