package scoring

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// The vectors in testdata/scoring.json come from the reference's own functions run by CPython
// and torch (testdata/gen_scoring.py).
type vectors struct {
	Steps []struct {
		Models []struct {
			UID   chain.UID
			Block chain.Block
			Loss  string
		}
		CurrentBlock chain.Block `json:"current_block"`
		Eps          [3]float64
		Competitive  []chain.UID
		Wins         map[string]int
		WinRates     map[string]string `json:"win_rates"`
		Top          *chain.UID
		StepWeights  []float64 `json:"step_weights"`
	}
	Trackers []struct {
		Schedule [][2]float64
		Records  []struct {
			Competition competition.ID
			Weights     []float32
		}
		ByCompetition map[string][]float64 `json:"by_competition"`
		Subnet        []float64
		SubnetThresh  []float64   `json:"subnet_threshold_0.3"`
		U16UIDs       []chain.UID `json:"u16_uids"`
		U16Vals       []uint16    `json:"u16_vals"`
	}
	Emits []struct {
		Weights []float64
		UIDs    []chain.UID
		Vals    []uint16
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/scoring.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Steps) < 100 || len(v.Trackers) < 100 || len(v.Emits) < 100 {
		t.Fatalf("vectors too small: %d steps, %d trackers, %d emits", len(v.Steps), len(v.Trackers), len(v.Emits))
	}
	return v
}

// closeF32 accepts the float32 rounding differences between torch's kernels and ours.
func closeF32(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-6*math.Abs(want)+1e-30
}

func TestRankReference(t *testing.T) {
	v := loadVectors(t)
	for n, s := range v.Steps {
		models := make([]Model, len(s.Models))
		for i, m := range s.Models {
			loss, err := strconv.ParseFloat(m.Loss, 64)
			if err != nil {
				t.Fatal(err)
			}
			models[i] = Model{UID: m.UID, Block: m.Block, Loss: loss}
		}
		eps := competition.LinearDecay{Start: s.Eps[0], End: s.Eps[1], Blocks: int64(s.Eps[2])}
		r, err := Rank(models, eps, s.CurrentBlock)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if !slices.Equal(r.Competitive, s.Competitive) && (len(r.Competitive) > 0 || len(s.Competitive) > 0) {
			t.Errorf("step %d: competitive = %v, want %v", n, r.Competitive, s.Competitive)
			continue
		}
		for uid, want := range s.Wins {
			u, _ := strconv.Atoi(uid)
			if got := r.Wins[chain.UID(u)]; got != want {
				t.Errorf("step %d: wins[%s] = %d, want %d", n, uid, got, want)
			}
			wr, _ := strconv.ParseFloat(s.WinRates[uid], 64)
			if got := r.WinRates[chain.UID(u)]; got != wr {
				t.Errorf("step %d: win rate[%s] = %v, want %v", n, uid, got, wr)
			}
		}
		if len(r.Wins) != len(s.Wins) {
			t.Errorf("step %d: %d uids with wins, want %d", n, len(r.Wins), len(s.Wins))
		}
		if (s.Top != nil) != r.HasTop || (r.HasTop && r.Top != *s.Top) {
			t.Errorf("step %d: top = %d (%v), want %v", n, r.Top, r.HasTop, s.Top)
		}
		uids := make([]chain.UID, len(models))
		for i, m := range models {
			uids[i] = m.UID
		}
		w, err := StepWeights(uids, r.WinRates, competition.Temperature, len(s.StepWeights))
		if err != nil {
			t.Fatal(err)
		}
		for i := range w {
			if !closeF32(w[i], s.StepWeights[i]) {
				t.Errorf("step %d: weight[%d] = %v, want %v", n, i, w[i], s.StepWeights[i])
			}
		}
	}
}

// TestCompetitiveUIDs covers the families of pretraining's tests/pretrain/test_validation.py.
func TestCompetitiveUIDs(t *testing.T) {
	eps := competition.LinearDecay{Start: 0.005, End: 0.0001, Blocks: 14400}
	m := func(uid chain.UID, block chain.Block, loss float64) Model { return Model{uid, block, loss} }
	tests := []struct {
		name   string
		models []Model
		want   []chain.UID
	}{
		{"empty", nil, nil},
		{"single", []Model{m(1, 10, 3)}, []chain.UID{1}},
		{"clones", []Model{m(1, 10, 3), m(2, 20, 3), m(3, 30, 3)}, []chain.UID{1}},
		{"sequential improvements", []Model{m(1, 10, 3), m(2, 20, 2.9), m(3, 30, 2.8)}, []chain.UID{1, 2, 3}},
		// 3*(1-0.0001) = 2.9997: 2.9998 is an improvement smaller than the decayed epsilon.
		{"less than epsilon", []Model{m(1, 10, 3), m(2, 20, 2.9998)}, []chain.UID{1}},
		{"later worse model", []Model{m(1, 10, 3), m(2, 20, 3.1)}, []chain.UID{1}},
		{"earlier worse model kept", []Model{m(1, 10, 3.1), m(2, 20, 3)}, []chain.UID{1, 2}},
		{"same block: better one kept", []Model{m(1, 10, 3), m(2, 10, 2.9)}, []chain.UID{2}},
		{"same block tie: none", []Model{m(1, 10, 3), m(2, 10, 3)}, nil},
		{"inf earliest kept", []Model{m(1, 10, math.Inf(1)), m(2, 20, 3)}, []chain.UID{1, 2}},
		{"inf later dropped", []Model{m(1, 10, 3), m(2, 20, math.Inf(1))}, []chain.UID{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompetitiveUIDs(tt.models, eps); !slices.Equal(got, tt.want) {
				t.Errorf("CompetitiveUIDs() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRankSpecExamples are worked examples from the reference's tests and formulas, computed
// by CPython 3.11.
func TestRankSpecExamples(t *testing.T) {
	t.Run("win rate", func(t *testing.T) {
		eps := competition.LinearDecay{Start: 0.005, End: 0.0001, Blocks: 2000}
		r, err := Rank([]Model{{100, 1000, 0.5}, {50, 2000, 0.5}, {75, 2001, 0.499}}, eps, 2001)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Competitive, []chain.UID{100, 75}) {
			t.Errorf("competitive = %v, want [100 75]", r.Competitive)
		}
		if got := eps.Epsilon(2001, 1000); math.Abs(got-0.00254755) > 1e-8 {
			t.Errorf("eps(2001, 1000) = %v, want 0.00254755", got)
		}
		if r.Wins[100] != 1 || r.Wins[75] != 0 || r.WinRates[100] != 1 || r.WinRates[75] != 0 || r.Top != 100 {
			t.Errorf("ranking = %+v", r)
		}
	})
	t.Run("non-transitive", func(t *testing.T) {
		eps := competition.LinearDecay{Start: 0.005, End: 0.0001, Blocks: 14400}
		r, err := Rank([]Model{{1, 100, 2.50}, {2, 200, 2.49}, {3, 300, 2.48}}, eps, 400)
		if err != nil {
			t.Fatal(err)
		}
		if !IsWin(2.50, 2.49, 100, 200, eps, 400) || !IsWin(2.48, 2.50, 300, 100, eps, 400) || !IsWin(2.49, 2.48, 200, 300, eps, 400) {
			t.Error("want 1 beats 2, 3 beats 1, 2 beats 3")
		}
		for uid := chain.UID(1); uid <= 3; uid++ {
			if r.WinRates[uid] != 0.5 {
				t.Errorf("win rate[%d] = %v, want 0.5", uid, r.WinRates[uid])
			}
		}
		if r.Top != 1 {
			t.Errorf("top = %d, want 1 (first of equal win rates)", r.Top)
		}
	})
	t.Run("one uid", func(t *testing.T) {
		wins, rates := Wins([]chain.UID{7}, []Model{{7, 1, 3}}, competition.FixedEpsilon(0.005), 10)
		if wins[7] != 0 || rates[7] != 1 {
			t.Errorf("wins = %v, rates = %v; want 0 and 1", wins, rates)
		}
	})
	t.Run("equal blocks", func(t *testing.T) {
		eps := competition.FixedEpsilon(0.5)
		if IsWin(3, 3, 10, 10, eps, 20) {
			t.Error("a tie at equal blocks is a win")
		}
		if !IsWin(2.9, 3, 10, 10, eps, 20) {
			t.Error("lower loss at equal blocks does not win")
		}
	})
	t.Run("no competitive uid", func(t *testing.T) {
		r, err := Rank([]Model{{1, 10, 3}, {2, 10, 3}}, competition.FixedEpsilon(0.005), 20)
		if err != nil || r.HasTop || len(r.Competitive) != 0 {
			t.Errorf("Rank() = %+v, %v; want no top", r, err)
		}
		w, _ := StepWeights([]chain.UID{1, 2}, r.WinRates, competition.Temperature, 3)
		if w[1] != 0.5 || w[2] != 0.5 || w[0] != 0 {
			t.Errorf("step weights = %v, want uniform over the evaluated uids", w)
		}
	})
	t.Run("duplicate uid", func(t *testing.T) {
		if _, err := Rank([]Model{{1, 10, 3}, {1, 11, 2}}, competition.FixedEpsilon(0.005), 20); err == nil {
			t.Error("Rank() accepted a duplicate uid")
		}
	})
}

func TestSoftmaxTemperature(t *testing.T) {
	w, err := StepWeights([]chain.UID{0, 1, 2}, map[chain.UID]float64{0: 1, 1: 0.5, 2: 0}, 0.01, 3)
	if err != nil {
		t.Fatal(err)
	}
	// softmax([1, 0.5, 0]/0.01) = [1.0, 1.93e-22, 3.72e-44], computed by CPython 3.11.
	want := []float64{1, 1.93e-22, 3.72e-44}
	for i := range want {
		// Allow 1% and two float32 denormal steps (1.4e-45): 3.72e-44 is not a float32.
		if math.Abs(float64(w[i])-want[i]) > 0.01*want[i]+3e-45 {
			t.Errorf("w[%d] = %v, want %v", i, w[i], want[i])
		}
	}
	if _, err := StepWeights([]chain.UID{5}, nil, 0.01, 3); err == nil {
		t.Error("StepWeights accepted a uid outside the metagraph")
	}
}

// TestTrackerTaoverse ports taoverse tests/model/competition/test_competition_tracker.py.
func TestTrackerTaoverse(t *testing.T) {
	eq := func(t *testing.T, got []float32, want ...float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	}
	comps := func(shares ...float64) []competition.Competition {
		var out []competition.Competition
		for i, s := range shares {
			out = append(out, competition.Competition{ID: competition.ID(i + 1), RewardShare: s})
		}
		return out
	}
	t.Run("record", func(t *testing.T) {
		tr := NewTracker(4, 0.5)
		tr.Record(1, []float32{0.2, 0.4, 0.6, 0.8})
		eq(t, tr.Weights(1), 0.1, 0.2, 0.3, 0.4)
	})
	t.Run("moving average", func(t *testing.T) {
		tr := NewTracker(4, 0.5)
		tr.Record(1, []float32{1, 0, 0, 0})
		tr.Record(1, []float32{0, 0, 0, 1})
		eq(t, tr.Weights(1), 0.5, 0, 0, 0.5)
	})
	t.Run("two competitions", func(t *testing.T) {
		tr := NewTracker(4, 0.5)
		tr.Record(1, []float32{1, 1, 0, 0})
		tr.Record(2, []float32{0, 0, 5, 5})
		eq(t, tr.SubnetWeights(comps(0.6, 0.4), 0), 0.3, 0.3, 0.2, 0.2)
		tr2 := NewTracker(4, 0.5)
		tr2.Record(1, []float32{1, 2, 0, 0})
		tr2.Record(2, []float32{0, 0, 5, 5})
		eq(t, tr2.SubnetWeights(comps(0.6, 0.4), 0.4), 0, 0.6, 0.2, 0.2)
	})
	t.Run("threshold single competition", func(t *testing.T) {
		tr := NewTracker(5, 0.5)
		tr.Record(1, []float32{0.1, 0.1, 0.2, 0.3, 0.3})
		eq(t, tr.SubnetWeights(comps(1), 0.3), 0, 0, 0, 0.5, 0.5)
	})
	t.Run("not yet run competition", func(t *testing.T) {
		tr := NewTracker(2, 0.5)
		tr.Record(1, []float32{1, 0})
		eq(t, tr.SubnetWeights(comps(0.8, 0.2), 0), 1, 0)
	})
	t.Run("resize", func(t *testing.T) {
		tr := NewTracker(2, 0.5)
		tr.Record(1, []float32{1, 1})
		tr.Record(2, []float32{0, 1, 1, 2})
		eq(t, tr.Weights(1), 0.5, 0.5, 0, 0)
		eq(t, tr.Weights(2), 0, 0.25, 0.25, 0.5)
		if err := tr.Record(1, []float32{1}); err == nil {
			t.Error("Record accepted fewer weights than uids")
		}
	})
	t.Run("reset", func(t *testing.T) {
		tr := NewTracker(2, 0.5)
		tr.Record(1, []float32{1, 0})
		tr.Record(2, []float32{0, 1})
		tr.Reset([]competition.ID{2})
		if tr.Weights(1) != nil || tr.Weights(2) == nil {
			t.Errorf("after Reset([2]): %v %v", tr.Weights(1), tr.Weights(2))
		}
	})
	t.Run("zero weights", func(t *testing.T) {
		tr := NewTracker(2, 0.5)
		tr.Record(1, []float32{0, 0})
		eq(t, tr.Weights(1), 0, 0)
		eq(t, tr.SubnetWeights(comps(1), 0), 0, 0)
	})
	t.Run("save and load", func(t *testing.T) {
		tr := NewTracker(3, 0.5)
		tr.Record(1, []float32{1, 2, 3})
		tr.Record(2, []float32{3, 2, 1})
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		var back Tracker
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.N() != 3 || !slices.Equal(back.Weights(1), tr.Weights(1)) || !slices.Equal(back.Weights(2), tr.Weights(2)) {
			t.Errorf("round trip = %s", b)
		}
		for _, bad := range []string{`{"format":2}`, `{"format":1,"alpha":0.5,"num_neurons":2,"weights_by_competition":{"1":[1]}}`, `{"format":1,"alpha":7}`, `[`} {
			if err := json.Unmarshal([]byte(bad), &back); err == nil {
				t.Errorf("loaded %s", bad)
			}
		}
	})
}

func TestTrackerReference(t *testing.T) {
	v := loadVectors(t)
	for n, c := range v.Trackers {
		var comps []competition.Competition
		for _, s := range c.Schedule {
			comps = append(comps, competition.Competition{ID: competition.ID(s[0]), RewardShare: s[1]})
		}
		tr := NewTracker(len(c.Records[0].Weights), competition.Alpha)
		for _, r := range c.Records {
			if len(r.Weights) < tr.N() {
				t.Fatalf("case %d: fixture shrinks", n)
			}
			if err := tr.Record(r.Competition, r.Weights); err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range c.ByCompetition {
			i, _ := strconv.Atoi(id)
			got := tr.Weights(competition.ID(i))
			for k := range want {
				if !closeF32(got[k], want[k]) {
					t.Errorf("case %d: competition %s weight[%d] = %v, want %v", n, id, k, got[k], want[k])
				}
			}
		}
		subnet := tr.SubnetWeights(comps, 0)
		for k := range c.Subnet {
			if !closeF32(subnet[k], c.Subnet[k]) {
				t.Errorf("case %d: subnet[%d] = %v, want %v", n, k, subnet[k], c.Subnet[k])
			}
		}
		thresh := tr.SubnetWeights(comps, 0.3)
		for k := range c.SubnetThresh {
			if !closeF32(thresh[k], c.SubnetThresh[k]) {
				t.Errorf("case %d: subnet(threshold)[%d] = %v, want %v", n, k, thresh[k], c.SubnetThresh[k])
			}
		}
		uids, vals, err := ToU16(subnet)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(uids, c.U16UIDs) || !u16Close(vals, c.U16Vals) {
			t.Errorf("case %d: u16 = %v %v, want %v %v", n, uids, vals, c.U16UIDs, c.U16Vals)
		}
	}
}

// u16Close allows one unit of difference, where float32 rounding of the inputs lands on the
// other side of a .5.
func u16Close(got, want []uint16) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if d := int(got[i]) - int(want[i]); d < -1 || d > 1 {
			return false
		}
	}
	return true
}

func TestToU16Reference(t *testing.T) {
	v := loadVectors(t)
	for n, e := range v.Emits {
		w := make([]float32, len(e.Weights))
		for i, x := range e.Weights {
			w[i] = float32(x)
		}
		uids, vals, err := ToU16(w)
		if err != nil {
			t.Fatal(err)
		}
		// These inputs are exact float32 values, so the result must match bit for bit.
		if !slices.Equal(uids, e.UIDs) || !slices.Equal(vals, e.Vals) {
			t.Errorf("emit %d: ToU16(%v) = %v %v, want %v %v", n, w, uids, vals, e.UIDs, e.Vals)
		}
	}
	for _, bad := range [][]float32{{-1, 1}, {float32(math.NaN())}, {float32(math.Inf(1))}} {
		if _, _, err := ToU16(bad); err == nil {
			t.Errorf("ToU16(%v) accepted", bad)
		}
	}
}
