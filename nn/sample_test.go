package nn

import (
	"math"
	"path/filepath"
	"slices"
	"testing"
)

func drawFrequencies(t *testing.T, g *GenerationConfig, probs []float64, n int) []float64 {
	t.Helper()
	s, err := newSampler(g, []int32{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	freq := make([]float64, len(probs))
	logits := make([]float32, len(probs))
	for range n {
		for i, p := range probs {
			logits[i] = float32(math.Log(p))
		}
		freq[s.next(logits)]++
	}
	for i := range freq {
		freq[i] /= float64(n)
	}
	return freq
}

// TestSamplerWarpers checks the draws follow the distribution transformers' Temperature, TopK
// and TopP warpers define (20,000 draws, a fixed seed).
func TestSamplerWarpers(t *testing.T) {
	probs := []float64{0.5, 0.3, 0.15, 0.05}
	tests := []struct {
		name string
		g    GenerationConfig
		want []float64
	}{
		{"plain", GenerationConfig{Temperature: 1, TopP: 1}, probs},
		// Temperature 0.5 squares the probabilities before normalizing.
		{"temperature", GenerationConfig{Temperature: 0.5, TopP: 1}, []float64{0.25 / 0.365, 0.09 / 0.365, 0.0225 / 0.365, 0.0025 / 0.365}},
		{"top_k 2", GenerationConfig{Temperature: 1, TopK: 2, TopP: 1}, []float64{0.625, 0.375, 0, 0}},
		{"top_k 1 is greedy", GenerationConfig{Temperature: 1, TopK: 1, TopP: 1}, []float64{1, 0, 0, 0}},
		// Ascending cumulative [0.05, 0.2, 0.5, 1]: top_p 0.75 removes those <= 0.25.
		{"top_p", GenerationConfig{Temperature: 1, TopP: 0.75}, []float64{0.625, 0.375, 0, 0}},
		{"top_p 0 keeps the best", GenerationConfig{Temperature: 1, TopP: 0}, []float64{1, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := drawFrequencies(t, &tt.g, probs, 20000)
			for i := range got {
				if math.Abs(got[i]-tt.want[i]) > 0.015 || (tt.want[i] == 0 && got[i] != 0) {
					t.Errorf("frequencies = %.3f, want %.3f", got, tt.want)
					break
				}
			}
		})
	}
	for _, bad := range []GenerationConfig{{Temperature: 0, TopP: 1}, {Temperature: math.NaN(), TopP: 1}, {Temperature: 1, TopK: -1, TopP: 1}, {Temperature: 1, TopP: 1.5}} {
		if _, err := newSampler(&bad, nil); err == nil {
			t.Errorf("newSampler(%+v) accepted", bad)
		}
	}
}

// TestGenerateSampling: a model whose generation_config samples is repeatable for a prompt,
// differs from greedy decoding, and with top_k 1 decodes greedily.
func TestGenerateSampling(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "models", "gpt2-f32"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	prompt := []int32{5, 17, 3, 99, 42, 7}
	opts := GenerateOptions{MaxNewTokens: 20, MinNewTokens: 20}
	greedy, err := m.Generate(t.Context(), prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	// This random-weight model is confident; a high temperature makes sampling visible.
	m.Generation.DoSample, m.Generation.Temperature = true, 20
	a, err := m.Generate(t.Context(), prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Generate(t.Context(), prompt, opts)
	if !slices.Equal(a, b) {
		t.Errorf("sampling is not repeatable: %v vs %v", a, b)
	}
	if slices.Equal(a, greedy) {
		t.Errorf("sampled output equals greedy output %v", a)
	}
	m.Generation.TopK = 1
	if k1, _ := m.Generate(t.Context(), prompt, opts); !slices.Equal(k1, greedy) {
		t.Errorf("top_k 1 = %v, want greedy %v", k1, greedy)
	}
	m.Generation.Temperature = 0
	if _, err := m.Generate(t.Context(), prompt, opts); err == nil {
		t.Error("temperature 0 with sampling did not fail, as transformers does")
	}
}

func TestParseGenerationSampling(t *testing.T) {
	c := &Config{VocabSize: 100}
	g := defaultGeneration(c)
	if g.DoSample || g.Temperature != 1 || g.TopK != 50 || g.TopP != 1 {
		t.Fatalf("defaults = %+v, want transformers' greedy, 1.0, 50, 1.0", g)
	}
	if err := parseGenerationConfig([]byte(`{"do_sample": true, "temperature": 0.7, "top_k": 0, "top_p": 0.9}`), c, g); err != nil {
		t.Fatal(err)
	}
	if !g.DoSample || g.Temperature != 0.7 || g.TopK != 0 || g.TopP != 0.9 {
		t.Errorf("parsed = %+v", g)
	}
}
