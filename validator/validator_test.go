package validator

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/pretrain/pretrain/chain"
	"github.com/pretrain/pretrain/competition"
)

// The vectors come from the reference's code run by CPython (testdata/gen_validator.py).
type vectors struct {
	Retry []struct {
		Eps          [3]float64
		CurrentBlock chain.Block `json:"current_block"`
		History      []resultVec
		Retry        bool
	}
	Histories []struct {
		Results []resultVec
		Kept    []resultVec
	}
	Iterators []struct {
		UIDs  []chain.UID
		Start int
		Ops   []struct {
			Set  []chain.UID
			Next *chain.UID
		}
	}
	TopMiners []struct {
		Stake   []float64
		Permit  []bool
		Weights [][][2]int
		Top     []chain.UID
	} `json:"top_miners"`
}

type resultVec struct {
	Block             chain.Block
	Score             json.RawMessage
	WinningModelBlock chain.Block     `json:"winning_model_block"`
	WinningModelScore json.RawMessage `json:"winning_model_score"`
}

func (r resultVec) result(t *testing.T) EvalResult {
	f := func(raw json.RawMessage) float64 {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return EvalResult{r.Block, f(r.Score), r.WinningModelBlock, f(r.WinningModelScore)}
}

func load(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/validator.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Retry) < 100 || len(v.Histories) < 10 || len(v.Iterators) < 50 || len(v.TopMiners) < 50 {
		t.Fatal("vectors too small")
	}
	return v
}

func TestShouldRetryModelReference(t *testing.T) {
	for i, c := range load(t).Retry {
		var h []EvalResult
		for _, r := range c.History {
			h = append(h, r.result(t))
		}
		eps := competition.LinearDecay{Start: c.Eps[0], End: c.Eps[1], Blocks: int64(c.Eps[2])}
		if got := ShouldRetryModel(eps, c.CurrentBlock, h); got != c.Retry {
			t.Errorf("case %d: ShouldRetryModel(%v, %d, %+v) = %v, want %v", i, eps, c.CurrentBlock, h, got, c.Retry)
		}
	}
}

// TestShouldRetryModel covers the families of pretraining's tests/model/test_retry.py.
func TestShouldRetryModel(t *testing.T) {
	eps := competition.FixedEpsilon(0.005)
	inf := math.Inf(1)
	tests := []struct {
		name    string
		history []EvalResult
		want    bool
	}{
		{"never evaluated", nil, true},
		{"worse than winner", []EvalResult{{10, 3.1, 5, 3}}, false},
		{"was the winner", []EvalResult{{10, 3, 5, 3}}, false},
		{"better but inside epsilon", []EvalResult{{10, 2.99, 5, 3}}, false},
		{"better beyond epsilon", []EvalResult{{10, 2.98, 5, 3}}, true},
		{"one failure", []EvalResult{{10, inf, 5, 3}}, true},
		{"two failures", []EvalResult{{10, inf, 5, 3}, {20, inf, 5, 3}}, false},
		{"failure after success uses success", []EvalResult{{10, 2.98, 5, 3}, {20, inf, 5, 3}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldRetryModel(eps, 100, tt.history); got != tt.want {
				t.Errorf("ShouldRetryModel() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvalHistoryReference(t *testing.T) {
	for i, c := range load(t).Histories {
		tr := NewModelTracker()
		for _, r := range c.Results {
			tr.OnModelEvaluated("hk", 2, r.result(t))
		}
		var want []EvalResult
		for _, r := range c.Kept {
			want = append(want, r.result(t))
		}
		if got := tr.EvalResults("hk", 2); !slices.Equal(got, want) {
			t.Errorf("case %d: history = %+v, want %+v", i, got, want)
		}
	}
}

// TestModelTracker ports taoverse tests/model/test_model_tracker.py.
func TestModelTracker(t *testing.T) {
	meta := func(commit string, block chain.Block) chain.ModelMetadata {
		return chain.ModelMetadata{ID: chain.ModelID{Namespace: "ns", Name: "m", Commit: commit, SecureHash: "h", CompetitionID: 2}, Block: block}
	}
	t.Run("last three sorted by block", func(t *testing.T) {
		tr := NewModelTracker()
		blocks := rand.New(rand.NewPCG(1, 2)).Perm(50)
		for _, b := range blocks {
			tr.OnModelEvaluated("hk", 2, EvalResult{Block: chain.Block(b), Score: float64(b)})
		}
		var got []chain.Block
		for _, r := range tr.EvalResults("hk", 2) {
			got = append(got, r.Block)
		}
		if !slices.Equal(got, []chain.Block{47, 48, 49}) {
			t.Errorf("blocks = %v, want [47 48 49]", got)
		}
	})
	t.Run("same metadata keeps history, new clears it", func(t *testing.T) {
		tr := NewModelTracker()
		tr.OnModelUpdated("hk", meta("c1", 10))
		tr.OnModelEvaluated("hk", 2, EvalResult{Block: 20, Score: 3})
		tr.OnModelUpdated("hk", meta("c1", 10))
		if len(tr.EvalResults("hk", 2)) != 1 {
			t.Fatal("same metadata cleared the history")
		}
		tr.OnModelUpdated("hk", meta("c1", 11)) // a re-commit of the same model counts as new
		if len(tr.EvalResults("hk", 2)) != 0 {
			t.Fatal("new metadata kept the history")
		}
		if m, ok := tr.Metadata("hk"); !ok || m != meta("c1", 11) {
			t.Errorf("Metadata = %+v, %v", m, ok)
		}
	})
	t.Run("block last evaluated", func(t *testing.T) {
		tr := NewModelTracker()
		if _, ok := tr.BlockLastEvaluated("hk"); ok {
			t.Error("found a block for an unknown hotkey")
		}
		tr.OnModelEvaluated("hk", 2, EvalResult{Block: 30})
		tr.OnModelEvaluated("hk", 4, EvalResult{Block: 40})
		tr.OnModelEvaluated("hk", 2, EvalResult{Block: 35})
		if b, ok := tr.BlockLastEvaluated("hk"); !ok || b != 40 {
			t.Errorf("BlockLastEvaluated = %d, %v; want 40", b, ok)
		}
	})
	t.Run("hotkeys updated", func(t *testing.T) {
		tr := NewModelTracker()
		tr.OnModelUpdated("a", meta("c", 1))
		tr.OnModelUpdated("b", meta("c", 1))
		tr.OnModelEvaluated("b", 2, EvalResult{Block: 3})
		tr.OnHotkeysUpdated(map[string]bool{"a": true})
		if _, ok := tr.Metadata("b"); ok || len(tr.EvalResults("b", 2)) != 0 {
			t.Error("deregistered hotkey kept")
		}
		if _, ok := tr.Metadata("a"); !ok {
			t.Error("registered hotkey dropped")
		}
	})
	t.Run("clear eval results", func(t *testing.T) {
		tr := NewModelTracker()
		tr.OnModelEvaluated("a", 2, EvalResult{Block: 3})
		tr.OnModelEvaluated("a", 4, EvalResult{Block: 3})
		tr.ClearEvalResults(2)
		if len(tr.EvalResults("a", 2)) != 0 || len(tr.EvalResults("a", 4)) != 1 {
			t.Error("ClearEvalResults cleared the wrong competition")
		}
	})
	t.Run("save and load", func(t *testing.T) {
		tr := NewModelTracker()
		legacy := chain.ModelMetadata{ID: chain.ModelID{Namespace: "ns", Name: "old", Commit: "c", Hash: "h", SecureHash: "h"}, Block: 5}
		tr.OnModelUpdated("a", meta("c1", 10))
		tr.OnModelUpdated("b", legacy)
		tr.OnModelEvaluated("a", 2, EvalResult{20, math.Inf(1), 0, 0})
		tr.OnModelEvaluated("a", 2, EvalResult{21, 2.5, 10, 2.4})
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		back := NewModelTracker()
		if err := json.Unmarshal(b, back); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.EvalResults("a", 2), tr.EvalResults("a", 2)) {
			t.Errorf("history = %+v", back.EvalResults("a", 2))
		}
		if m, _ := back.Metadata("b"); m != legacy {
			t.Errorf("legacy metadata = %+v, want %+v", m, legacy)
		}
		if m, _ := back.Metadata("a"); m != meta("c1", 10) {
			t.Errorf("metadata = %+v", m)
		}
		for _, bad := range []string{`{"format":9}`, `{"format":1,"metadata":{"a":{"id":"x"}}}`, `{"format":1,"eval_results":{"a":{"2":[{"score":"nope"}]}}}`} {
			if err := json.Unmarshal([]byte(bad), back); err == nil {
				t.Errorf("loaded %s", bad)
			}
		}
	})
}

func TestMinerIteratorReference(t *testing.T) {
	for i, c := range load(t).Iterators {
		it := NewMinerIterator(c.UIDs, c.Start)
		for j, op := range c.Ops {
			if op.Set != nil {
				it.SetUIDs(op.Set)
				continue
			}
			if got, err := it.Next(); err != nil || got != *op.Next {
				t.Fatalf("case %d op %d: Next() = %d, %v; want %d", i, j, got, err, *op.Next)
			}
		}
	}
}

// TestMinerIterator ports taoverse tests/metagraph/test_miner_iterator.py.
func TestMinerIterator(t *testing.T) {
	take := func(it *MinerIterator, n int) []chain.UID {
		var out []chain.UID
		for range n {
			uid, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, uid)
		}
		return out
	}
	it := NewMinerIterator([]chain.UID{5, 1, 3, 2, 4}, 0)
	if got := take(it, 2); !slices.Equal(got, []chain.UID{1, 2}) {
		t.Fatalf("first = %v", got)
	}
	it.SetUIDs([]chain.UID{1, 4, 6})
	if got := take(it, 3); !slices.Equal(got, []chain.UID{4, 6, 1}) {
		t.Errorf("after set = %v, want [4 6 1]", got)
	}
	it = NewMinerIterator([]chain.UID{1, 2, 3, 4, 5}, 4)
	if p, _ := it.Peek(); p != 5 {
		t.Fatalf("Peek = %d", p)
	}
	it.SetUIDs([]chain.UID{1, 2, 3, 4})
	if got := take(it, 4); !slices.Equal(got, []chain.UID{1, 2, 3, 4}) {
		t.Errorf("wrapped = %v, want [1 2 3 4]", got)
	}
	empty := NewMinerIterator(nil, 3)
	if _, err := empty.Next(); !errors.Is(err, ErrNoMiners) {
		t.Errorf("empty Next() error = %v", err)
	}
	empty.SetUIDs([]chain.UID{7})
	if got := take(empty, 2); !slices.Equal(got, []chain.UID{7, 7}) {
		t.Errorf("after set on empty = %v", got)
	}
}

func metagraph(stake []float64, permit []bool, weights [][][2]int) *chain.Metagraph {
	m := &chain.Metagraph{N: len(stake), Stake: stake, ValidatorPermit: permit}
	for _, row := range weights {
		var r []chain.WeightEntry
		for _, e := range row {
			r = append(r, chain.WeightEntry{UID: chain.UID(e[0]), Weight: uint16(e[1])})
		}
		m.Weights = append(m.Weights, r)
	}
	return m
}

func TestTopMinersReference(t *testing.T) {
	for i, c := range load(t).TopMiners {
		m := metagraph(c.Stake, c.Permit, c.Weights)
		got := TopMiners(m, TopMinerValidatorMinStake, TopMinerMinWeightFraction)
		if !slices.Equal(got, c.Top) && (len(got) > 0 || len(c.Top) > 0) {
			t.Errorf("case %d: TopMiners = %v, want %v", i, got, c.Top)
		}
	}
}

// TestTopMiners ports taoverse tests/metagraph/test_metagraph_utils.py.
func TestTopMiners(t *testing.T) {
	stake := []float64{0, 1, 2, 300, 4, 5, 600, 7, 8, 9}
	permit := make([]bool, 10)
	for _, u := range []int{3, 6, 8, 9} {
		permit[u] = true
	}
	m := metagraph(stake, permit, make([][][2]int, 10))
	if got := HighStakeValidators(m, 300); !slices.Equal(got, []chain.UID{3, 6}) {
		t.Errorf("HighStakeValidators(300) = %v", got)
	}
	if got := HighStakeValidators(m, 0); !slices.Equal(got, []chain.UID{3, 6, 8, 9}) {
		t.Errorf("HighStakeValidators(0) = %v", got)
	}
	tests := []struct {
		name    string
		weights [][][2]int
		want    []chain.UID
	}{
		{"both on miner 0", [][][2]int{3: {{0, 100}}, 6: {{0, 100}}, 9: nil}, []chain.UID{0}},
		{"different miners", [][][2]int{3: {{0, 100}}, 6: {{2, 100}}, 9: nil}, []chain.UID{0, 2}},
		{"below ten percent", [][][2]int{3: {{0, 1000}, {1, 100}, {2, 500}}, 9: nil}, []chain.UID{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metagraph(stake, permit, tt.weights)
			if got := TopMiners(m, 30, 0.1); !slices.Equal(got, tt.want) {
				t.Errorf("TopMiners = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTopMinersFloat32Stake: the reference reads stake from a float32 metagraph.S, so a stake
// just under the threshold that rounds up to it in float32 counts.
func TestTopMinersFloat32Stake(t *testing.T) {
	m := metagraph([]float64{49_999.999, 49_999.99}, []bool{true, true}, [][][2]int{{{0, 1}}, {{1, 1}}})
	if got := HighStakeValidators(m, 50_000); !slices.Equal(got, []chain.UID{0}) {
		t.Errorf("HighStakeValidators = %v, want [0] (49999.999 rounds to 50000 in float32, numpy says)", got)
	}
}
