package competition

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/pretrain/pretrain/chain"
)

// TestEpsilonTaoverse ports taoverse tests/model/competition/test_epsilon.py and LinearDecay
// values computed by CPython 3.11 with the reference's formula.
func TestEpsilonTaoverse(t *testing.T) {
	tests := []struct {
		name           string
		f              EpsilonFunc
		current, model chain.Block
		want           float64
	}{
		{"fixed", FixedEpsilon(0.005), 0, 0, 0.005},
		{"fixed later", FixedEpsilon(0.005), 1_000_000, 3, 0.005},
		{"decay before model", LinearDecay{0.005, 0.001, 50400}, 10, 20, 0.005},
		{"decay at model", LinearDecay{0.005, 0.001, 50400}, 20, 20, 0.005},
		{"decay half", LinearDecay{0.005, 0.001, 50400}, 25200, 0, 0.003},
		{"decay full", LinearDecay{0.005, 0.001, 50400}, 50400, 0, 0.001},
		{"decay past", LinearDecay{0.005, 0.001, 50400}, 5_000_000, 0, 0.001},
		{"spec 14400 zero", LinearDecay{0.005, 0.0001, 14400}, 100, 100, 0.005},
		{"spec 14400 half", LinearDecay{0.005, 0.0001, 14400}, 7300, 100, 0.00255},
		{"spec 72000 half", LinearDecay{0.005, 0.0005, 72000}, 36000, 0, 0.00275},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Epsilon(tt.current, tt.model); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Epsilon(%d, %d) = %v, want %v", tt.current, tt.model, got, tt.want)
			}
		})
	}
	if got := (LinearDecay{0.005, 0.0001, 14400}).Decayed(); math.Abs(got-0.0001) > 1e-15 {
		t.Errorf("Decayed() = %v, want 0.0001", got)
	}
}

type epsilonVectors struct {
	LinearDecay []struct {
		Start, End     float64
		Blocks         int64
		Current, Model chain.Block
		Epsilon        string
	} `json:"linear_decay"`
	Decayed []struct {
		Start, End float64
		Blocks     int64
		Epsilon    string
	}
	InverseExponential []struct {
		Score   string
		Ceiling float64
		Value   string
	} `json:"inverse_exponential"`
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEpsilonCPython checks bit-exact agreement with the reference formulas evaluated by CPython
// (testdata/gen_epsilon.py).
func TestEpsilonCPython(t *testing.T) {
	raw, err := os.ReadFile("testdata/epsilon.json")
	if err != nil {
		t.Fatal(err)
	}
	var v epsilonVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.LinearDecay) < 300 || len(v.Decayed) == 0 || len(v.InverseExponential) < 100 {
		t.Fatalf("vectors file too small: %d/%d/%d", len(v.LinearDecay), len(v.Decayed), len(v.InverseExponential))
	}
	for _, c := range v.LinearDecay {
		d := LinearDecay{c.Start, c.End, c.Blocks}
		if got, want := d.Epsilon(c.Current, c.Model), parseFloat(t, c.Epsilon); got != want {
			t.Errorf("%v.Epsilon(%d, %d) = %v, want %v", d, c.Current, c.Model, got, want)
		}
	}
	for _, c := range v.Decayed {
		d := LinearDecay{c.Start, c.End, c.Blocks}
		if got, want := d.Decayed(), parseFloat(t, c.Epsilon); got != want {
			t.Errorf("%v.Decayed() = %v, want %v", d, got, want)
		}
	}
	for _, c := range v.InverseExponential {
		score := parseFloat(t, c.Score)
		// Go's math.Exp and glibc's exp may differ in the last place, which 1-exp(-x) amplifies for small x.
		if got, want := NormInverseExponential.Normalize(score, c.Ceiling), parseFloat(t, c.Value); math.Abs(got-want) > 2e-15*want {
			t.Errorf("inverse exponential(%v, %v) = %v, want %v", score, c.Ceiling, got, want)
		}
	}
}

// TestNormalization ports taoverse tests/model/eval/test_normalization.py.
func TestNormalization(t *testing.T) {
	if got := NormInverseExponential.Normalize(5, 10); got != 0.6224593312018546 {
		t.Errorf("inverse exponential(5, 10) = %v, want 0.6224593312018546", got)
	}
	if got := NormInverseExponential.Normalize(15, 10); got != 1 {
		t.Errorf("inverse exponential(15, 10) = %v, want 1", got)
	}
	if got := NormNone.Normalize(3.25, 0); got != 3.25 {
		t.Errorf("none(3.25) = %v, want 3.25", got)
	}
}

// TestEvalTaskValidate ports taoverse tests/model/eval/test_task.py.
func TestEvalTaskValidate(t *testing.T) {
	tests := []struct {
		name string
		task EvalTask
		ok   bool
	}{
		{"ok", EvalTask{Name: "a", Weight: 1}, true},
		{"zero weight", EvalTask{Name: "a", Weight: 0}, false},
		{"negative weight", EvalTask{Name: "a", Weight: -1}, false},
		{"NaN weight", EvalTask{Name: "a", Weight: math.NaN()}, false},
		{"kwargs on NONE", EvalTask{Name: "a", Weight: 1, Ceiling: 2}, false},
		{"inverse exp without ceiling", EvalTask{Name: "a", Weight: 1, Normalization: NormInverseExponential}, false},
		{"inverse exp with ceiling", EvalTask{Name: "a", Weight: 1, Normalization: NormInverseExponential, Ceiling: 10}, true},
		{"unknown normalization", EvalTask{Name: "a", Weight: 1, Normalization: 7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.task.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestSchedulesValid(t *testing.T) {
	for name, s := range map[string]Schedule{"mainnet": Mainnet, "local": LocalSchedule} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMainnetSchedule checks the reference's schedule (constants/__init__.py) at and around the
// TTS activation block.
func TestMainnetSchedule(t *testing.T) {
	type share struct {
		id    ID
		share float64
		eps   EpsilonFunc
	}
	tests := []struct {
		block chain.Block
		want  []share
	}{
		{0, []share{{B3Model, 0.3, LinearDecay{0.005, 0.0005, 50400}}, {B14Model, 0.7, LinearDecay{0.005, 0.0005, 72000}}}},
		{BlockTTS - 1, []share{{B3Model, 0.3, LinearDecay{0.005, 0.0005, 50400}}, {B14Model, 0.7, LinearDecay{0.005, 0.0005, 72000}}}},
		{BlockTTS, []share{{TTSV0, 0.55, LinearDecay{0.005, 0.0005, 72000}}, {B3Model, 0.15, LinearDecay{0.005, 0.0001, 14400}}, {B14Model, 0.30, LinearDecay{0.005, 0.0001, 14400}}}},
		{6_000_000, []share{{TTSV0, 0.55, LinearDecay{0.005, 0.0005, 72000}}, {B3Model, 0.15, LinearDecay{0.005, 0.0001, 14400}}, {B14Model, 0.30, LinearDecay{0.005, 0.0001, 14400}}}},
	}
	for _, tt := range tests {
		comps, err := Mainnet.At(tt.block)
		if err != nil {
			t.Fatalf("At(%d): %v", tt.block, err)
		}
		if len(comps) != len(tt.want) {
			t.Fatalf("At(%d) has %d competitions, want %d", tt.block, len(comps), len(tt.want))
		}
		for i, w := range tt.want {
			c := comps[i]
			if c.ID != w.id || c.RewardShare != w.share || c.Constraints.Epsilon != w.eps {
				t.Errorf("At(%d)[%d] = %s %g %v, want %s %g %v", tt.block, i, c.ID, c.RewardShare, c.Constraints.Epsilon, w.id, w.share, w.eps)
			}
		}
	}
	b3, ok, err := Mainnet.Lookup(B3Model, BlockTTS)
	if err != nil || !ok {
		t.Fatalf("Lookup(B3) = %v, %v", ok, err)
	}
	c := b3.Constraints
	if c.MinParams != 3_200_000_000 || c.MaxParams != 3_400_000_000 || c.SequenceLength != 4096 ||
		c.Tokenizer != "Xenova/gpt-4" || c.MaxBytes != 15<<30 || c.EvalBlockDelay != 250 {
		t.Errorf("B3 constraints = %+v", c)
	}
	if !c.AllowsArchitecture("LlamaForCausalLM") || c.AllowsArchitecture("GPT2LMHeadModel") {
		t.Errorf("B3 architectures = %v", c.Architectures)
	}
	tts, _, _ := Mainnet.Lookup(TTSV0, BlockTTS)
	if tts.Unsupported == "" {
		t.Error("TTS competition is not marked unsupported")
	}
}

// TestLookup ports taoverse tests/model/competition/test_competition_utils.py.
func TestLookup(t *testing.T) {
	if _, ok, err := Mainnet.Lookup(-1, 0); ok || err != nil {
		t.Errorf("Lookup(unknown id) = %v, %v; want not found, nil", ok, err)
	}
	if _, ok, err := Mainnet.Lookup(TTSV0, BlockTTS-1); ok || err != nil {
		t.Errorf("Lookup(TTS before activation) = %v, %v; want not found, nil", ok, err)
	}
	if _, _, err := Mainnet.Lookup(B3Model, -1); !errors.Is(err, ErrNoSchedule) {
		t.Errorf("Lookup(block -1) error = %v, want ErrNoSchedule", err)
	}
	if _, err := Mainnet.At(-1); !errors.Is(err, ErrNoSchedule) {
		t.Errorf("At(-1) error = %v, want ErrNoSchedule", err)
	}
}

func TestScheduleValidateRejects(t *testing.T) {
	task := EvalTask{Name: "t", Method: MethodTextLoss, Weight: 1}
	comp := func(id ID, share float64, tasks ...EvalTask) Competition {
		return Competition{ID: id, RewardShare: share, Tasks: tasks, Constraints: Constraints{Epsilon: FixedEpsilon(0.005)}}
	}
	tests := []struct {
		name string
		s    Schedule
	}{
		{"shares below 1", Schedule{{0, []Competition{comp(1, 0.5, task)}}}},
		{"shares above 1", Schedule{{0, []Competition{comp(1, 0.7, task), comp(2, 0.7, task)}}}},
		{"task weights", Schedule{{0, []Competition{comp(1, 1, EvalTask{Name: "a", Weight: 0.5}, EvalTask{Name: "b", Weight: 0.4})}}}},
		{"no tasks", Schedule{{0, []Competition{comp(1, 1)}}}},
		{"duplicate id", Schedule{{0, []Competition{comp(1, 0.5, task), comp(1, 0.5, task)}}}},
		{"unordered", Schedule{{10, []Competition{comp(1, 1, task)}}, {5, []Competition{comp(1, 1, task)}}}},
		{"no epsilon", Schedule{{0, []Competition{{ID: 1, RewardShare: 1, Tasks: []EvalTask{task}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); err == nil {
				t.Error("Validate() = nil, want an error")
			}
		})
	}
}
