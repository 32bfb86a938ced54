package validator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/bounded"
	"github.com/pretrain/pretrain/scoring"
)

// stateFormat is the version of state.json's layout; SpecVersion (the reference's
// __spec_version__, stored beside it) decides whether evaluation state survives an upgrade.
const stateFormat = 1

// State is what the validator must not lose: the reference's uids.pickle, model_tracker.pickle,
// competition_tracker.pickle and version.txt, plus the global step (so a step interrupted by a
// crash is repeated, not skipped) and the last weights set. It is written atomically, in one
// file, after each step.
type State struct {
	SpecVersion  int64
	GlobalStep   int64
	UIDsToEval   map[competition.ID]*uidSet
	Pending      map[competition.ID]*uidSet
	Models       *ModelTracker
	Competitions *scoring.Tracker
}

// NewState returns the state of a validator that has never run.
func NewState(specVersion int64) *State {
	return &State{
		SpecVersion:  specVersion,
		UIDsToEval:   map[competition.ID]*uidSet{},
		Pending:      map[competition.ID]*uidSet{},
		Models:       NewModelTracker(),
		Competitions: scoring.NewTracker(0, competition.Alpha),
	}
}

type stateJSON struct {
	Format       int                    `json:"format"`
	SpecVersion  int64                  `json:"spec_version"`
	GlobalStep   int64                  `json:"global_step"`
	UIDsToEval   map[string][]chain.UID `json:"uids_to_eval"`
	Pending      map[string][]chain.UID `json:"pending_uids_to_eval"`
	Models       *ModelTracker          `json:"model_tracker"`
	Competitions *scoring.Tracker       `json:"competition_tracker"`
}

func setsJSON(m map[competition.ID]*uidSet) map[string][]chain.UID {
	out := map[string][]chain.UID{}
	for id, s := range m {
		out[strconv.Itoa(int(id))] = s.items() // iteration order, as pickle keeps it
	}
	return out
}

func setsFromJSON(m map[string][]chain.UID) (map[competition.ID]*uidSet, error) {
	out := map[competition.ID]*uidSet{}
	for k, uids := range m {
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil, fmt.Errorf("competition id %q: %w", k, err)
		}
		out[competition.ID(id)] = newUIDSet(uids...)
	}
	return out, nil
}

// Save writes the state to path atomically.
func (s *State) Save(path string) error {
	b, err := json.Marshal(stateJSON{Format: stateFormat, SpecVersion: s.SpecVersion, GlobalStep: s.GlobalStep,
		UIDsToEval: setsJSON(s.UIDsToEval), Pending: setsJSON(s.Pending), Models: s.Models, Competitions: s.Competitions})
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// maxStateBytes bounds state.json (256 uids' trackers take a few hundred KB).
const maxStateBytes = 64 << 20

// LoadState reads the state at path; a missing file gives a new state. When the stored spec
// version differs from specVersion, the evaluation state (uids, model tracker) is dropped so
// every model is evaluated again, and the competition weights are kept, as the reference does
// on an upgrade.
func LoadState(path string, specVersion int64, log *slog.Logger) (*State, error) {
	b, err := bounded.ReadFile(path, maxStateBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(specVersion), nil
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if j.Format != stateFormat {
		return nil, fmt.Errorf("load state %s: format %d, this build reads %d", path, j.Format, stateFormat)
	}
	s := NewState(specVersion)
	if j.Competitions != nil {
		s.Competitions = j.Competitions
	}
	s.GlobalStep = j.GlobalStep
	if j.SpecVersion != specVersion {
		log.Warn("spec version changed: evaluation state dropped, competition weights kept", "stored", j.SpecVersion, "now", specVersion)
		return s, nil
	}
	if s.UIDsToEval, err = setsFromJSON(j.UIDsToEval); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if s.Pending, err = setsFromJSON(j.Pending); err != nil {
		return nil, fmt.Errorf("load state %s: %w", path, err)
	}
	if j.Models != nil {
		s.Models = j.Models
	}
	return s, nil
}

// queued reports whether uid waits for evaluation in competition id.
func (s *State) queued(id competition.ID, uid chain.UID) bool {
	return (s.Pending[id] != nil && s.Pending[id].has(uid)) || (s.UIDsToEval[id] != nil && s.UIDsToEval[id].has(uid))
}

// counts returns the number of pending and current uids over all competitions.
func (s *State) counts() (pending, current int) {
	for _, p := range s.Pending {
		pending += p.len()
	}
	for _, c := range s.UIDsToEval {
		current += c.len()
	}
	return pending, current
}

// addPending queues uid for competition id.
func (s *State) addPending(id competition.ID, uid chain.UID) {
	if s.Pending[id] == nil {
		s.Pending[id] = newUIDSet()
	}
	s.Pending[id].add(uid)
}

// takePending merges competition id's pending uids into its uids to evaluate and returns
// them in evaluation order (run_step's update, clear and list()).
func (s *State) takePending(id competition.ID) []chain.UID {
	if s.UIDsToEval[id] == nil {
		s.UIDsToEval[id] = newUIDSet()
	}
	if p := s.Pending[id]; p != nil {
		s.UIDsToEval[id].update(p)
		p.clear()
	}
	return s.UIDsToEval[id].items()
}

// setEval replaces competition id's uids to evaluate and drops the queues of competitions
// that are no longer active (_update_uids_to_eval).
func (s *State) setEval(id competition.ID, keep []chain.UID, active []competition.ID) {
	s.UIDsToEval[id] = newUIDSet(keep...)
	for _, m := range []map[competition.ID]*uidSet{s.UIDsToEval, s.Pending} {
		for c := range m {
			if !slices.Contains(active, c) {
				delete(m, c)
			}
		}
	}
}

// allUIDs returns every queued uid, pending or current.
func (s *State) allUIDs() map[chain.UID]bool {
	out := map[chain.UID]bool{}
	for _, m := range []map[competition.ID]*uidSet{s.UIDsToEval, s.Pending} {
		for _, set := range m {
			for _, u := range set.items() {
				out[u] = true
			}
		}
	}
	return out
}
