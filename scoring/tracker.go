package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/pretrain/pretrain/competition"
)

// Tracker keeps each competition's weights over the metagraph's uids as a moving average of
// its steps' weights (taoverse's CompetitionTracker). Weights are float32, as the reference
// keeps them. A Tracker is not safe for concurrent use.
type Tracker struct {
	alpha   float32
	n       int
	weights map[competition.ID][]float32
}

// NewTracker returns an empty tracker over n uids; alpha is the weight of the old average
// (competition.Alpha in the reference).
func NewTracker(n int, alpha float64) *Tracker {
	return &Tracker{alpha: float32(alpha), n: n, weights: map[competition.ID][]float32{}}
}

// N is the number of uids tracked.
func (t *Tracker) N() int { return t.n }

// Record folds a step's weights into competition id's average: the new weights are normalized
// to sum 1 (all zero stays zero), then become the average if the competition is new, or are
// mixed in as alpha*old + (1-alpha)*new. A longer vector grows every competition with zeros;
// a shorter one is an error (the reference asserts).
func (t *Tracker) Record(id competition.ID, step []float32) error {
	if len(step) < t.n {
		return fmt.Errorf("record competition %s: %d weights for %d uids", id, len(step), t.n)
	}
	if len(step) > t.n {
		t.resize(len(step))
	}
	w := normalized(step)
	old, ok := t.weights[id]
	if !ok {
		t.weights[id] = w
		return nil
	}
	for i := range w {
		w[i] = t.alpha*old[i] + (1-t.alpha)*w[i]
	}
	t.weights[id] = w
	return nil
}

// normalized returns w/sum(w) with NaN replaced by 0 (torch's nan_to_num), in a new slice.
func normalized(w []float32) []float32 {
	sum := 0.0
	for _, v := range w {
		sum += float64(v)
	}
	out := make([]float32, len(w))
	for i, v := range w {
		q := v / float32(sum)
		if math.IsNaN(float64(q)) {
			q = 0
		}
		out[i] = q
	}
	return out
}

func (t *Tracker) resize(n int) {
	for id, w := range t.weights {
		t.weights[id] = append(w, make([]float32, n-len(w))...)
	}
	t.n = n
}

// Reset drops every competition not in keep (competitions that have ended).
func (t *Tracker) Reset(keep []competition.ID) {
	for id := range t.weights {
		if !slices.Contains(keep, id) {
			delete(t.weights, id)
		}
	}
}

// Weights returns a copy of competition id's average, or nil if it has none.
func (t *Tracker) Weights(id competition.ID) []float32 {
	return slices.Clone(t.weights[id])
}

// SubnetWeights combines the competitions' averages by their reward shares and normalizes the
// sum to 1, so that a scheduled competition that has not run yet does not shrink the others
// (taoverse's get_subnet_weights). With threshold > 0, each competition's weights are first
// normalized, those below threshold zeroed, and normalized again.
func (t *Tracker) SubnetWeights(comps []competition.Competition, threshold float64) []float32 {
	out := make([]float32, t.n)
	for _, c := range comps {
		w, ok := t.weights[c.ID]
		if !ok {
			continue
		}
		if threshold > 0 {
			w = normalized(w)
			for i := range w {
				if w[i] < float32(threshold) {
					w[i] = 0
				}
			}
			w = normalized(w)
		}
		share := float32(c.RewardShare)
		for i := range out {
			out[i] += w[i] * share
		}
	}
	return normalized(out)
}

// trackerFormat is the version of the JSON form; bump it on any incompatible change.
const trackerFormat = 1

type trackerJSON struct {
	Format  int                          `json:"format"`
	Alpha   float32                      `json:"alpha"`
	N       int                          `json:"num_neurons"`
	Weights map[competition.ID][]float32 `json:"weights_by_competition"`
}

// MarshalJSON writes the tracker in a versioned JSON form.
func (t *Tracker) MarshalJSON() ([]byte, error) {
	return json.Marshal(trackerJSON{Format: trackerFormat, Alpha: t.alpha, N: t.n, Weights: t.weights})
}

// UnmarshalJSON reads the form MarshalJSON writes, checking it is consistent.
func (t *Tracker) UnmarshalJSON(b []byte) error {
	var v trackerJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("competition tracker: %w", err)
	}
	if v.Format != trackerFormat {
		return fmt.Errorf("competition tracker: format %d, want %d", v.Format, trackerFormat)
	}
	if v.N < 0 || v.N > math.MaxUint16+1 || !(v.Alpha >= 0 && v.Alpha <= 1) {
		return fmt.Errorf("competition tracker: bad size %d or alpha %v", v.N, v.Alpha)
	}
	for id, w := range v.Weights {
		if len(w) != v.N {
			return fmt.Errorf("competition tracker: competition %s has %d weights, want %d", id, len(w), v.N)
		}
	}
	if v.Weights == nil {
		v.Weights = map[competition.ID][]float32{}
	}
	*t = Tracker{alpha: v.Alpha, n: v.N, weights: v.Weights}
	return nil
}
