package nn

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// expected is testdata/models/NAME/expected.json, written by testdata/gen_fixtures.py from
// an independent torch implementation.
type expected struct {
	Batches     [][][]int32 `json:"batches"`
	Losses      []any       `json:"losses"` // numbers, or "nan"
	LogitsBatch int         `json:"logits_batch"`
	Logits      []float64   `json:"logits"`
	Prompts     [][]int32   `json:"prompts"`
	Generated   [][]int32   `json:"generated"`
	Reasonable  bool        `json:"reasonable"`
	Params      int64       `json:"params"`
}

func fixtureModels(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("testdata/models/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return dirs
}

func loadExpected(t *testing.T, dir string) expected {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestLossMatchesTorch(t *testing.T) {
	for _, dir := range fixtureModels(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e := loadExpected(t, dir)
			for i, b := range e.Batches {
				got, err := m.Loss(t.Context(), b)
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				switch w := e.Losses[i].(type) {
				case string: // torch's nan for L = 1 is reported as +Inf
					if w != "nan" || !math.IsInf(got, 1) {
						t.Errorf("batch %d (L=%d): loss %v, torch %v: want +Inf", i, len(b[0]), got, w)
					}
				case float64:
					rel := math.Abs(got-w) / w
					if rel > 1e-4 {
						t.Errorf("batch %d (L=%d): loss %.7f, torch %.7f (rel %.2g)", i, len(b[0]), got, w, rel)
					}
					t.Logf("batch %d (L=%d): loss %.7f, torch %.7f, relative difference %.1e", i, len(b[0]), got, w, rel)
				}
			}
		})
	}
}

func TestLogitsMatchTorch(t *testing.T) {
	for _, dir := range fixtureModels(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e := loadExpected(t, dir)
			got, err := m.Logits(t.Context(), e.Batches[e.LogitsBatch][0])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(e.Logits) {
				t.Fatalf("%d logits, torch %d", len(got), len(e.Logits))
			}
			for i, w := range e.Logits {
				if math.Abs(float64(got[i])-w) > 1e-4*(1+math.Abs(w)) {
					t.Fatalf("logit %d = %v, torch %v", i, got[i], w)
				}
			}
		})
	}
}

func TestGenerateAndSanityMatchTorch(t *testing.T) {
	for _, dir := range fixtureModels(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			m, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			e := loadExpected(t, dir)
			for i, p := range e.Prompts {
				got, err := m.Generate(t.Context(), p, GenerateOptions{MaxNewTokens: 20, MinNewTokens: 20})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, e.Generated[i]) {
					t.Errorf("prompt %d: generated %v, torch %v", i, got, e.Generated[i])
				}
			}
			ok, reason, err := m.CheckReasonableOutput(t.Context(), [][]int32{e.Prompts[0]}, [][]int32{e.Prompts[1]})
			if err != nil {
				t.Fatal(err)
			}
			if ok != e.Reasonable {
				t.Errorf("CheckReasonableOutput = %v (%s), reference %v", ok, reason, e.Reasonable)
			}
			if got := m.ParamCount(); got != e.Params {
				t.Errorf("ParamCount() = %d, torch sum(p.numel()) = %d", got, e.Params)
			}
		})
	}
}

// TestGenerationConfigMatters checks that llama-genconfig's fixture exercises its
// generation_config.json: without the penalty and n-gram ban, greedy output differs.
func TestGenerationConfigMatters(t *testing.T) {
	dir := "testdata/models/llama-genconfig"
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if g := m.Generation; g.RepetitionPenalty != 1.3 || g.NoRepeatNGramSize != 2 || !slices.Equal(g.EOSTokenIDs, []int{5}) {
		t.Fatalf("generation config = %+v", g)
	}
	e := loadExpected(t, dir)
	m.Generation = &GenerationConfig{RepetitionPenalty: 1, EOSTokenIDs: []int{5}}
	got, err := m.Generate(t.Context(), e.Prompts[0], GenerateOptions{MaxNewTokens: 20, MinNewTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got, e.Generated[0]) {
		t.Errorf("plain greedy output %v equals the penalized reference: the fixture tests nothing", got)
	}
}

func TestGenerateRefusesBeamSearch(t *testing.T) {
	m, err := Load("testdata/models/gpt2-f32")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Generation.NumBeams = 4
	if _, err := m.Generate(t.Context(), []int32{1, 2}, GenerateOptions{MaxNewTokens: 2}); !errors.Is(err, ErrUnsupportedArchitecture) {
		t.Errorf("Generate with num_beams 4: error = %v, want ErrUnsupportedArchitecture", err)
	}
}
