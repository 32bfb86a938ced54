package nn

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigDefaults(t *testing.T) {
	// Keys left out take transformers' config-class defaults.
	c, err := ParseConfig([]byte(`{"architectures":["GPT2LMHeadModel"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabSize != 50257 || c.Hidden != 768 || c.Layers != 12 || c.Heads != 12 || c.Positions != 1024 ||
		c.Intermed != 3072 || c.NormEps != 1e-5 || c.Activation != "gelu_new" || !c.TieEmbeddings || c.HeadDim != 64 {
		t.Errorf("GPT-2 defaults = %+v", c)
	}
	c, err = ParseConfig([]byte(`{"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_attention_heads":4,"num_key_value_heads":2,"eos_token_id":[1,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TieEmbeddings || c.KVHeads != 2 || c.HeadDim != 16 || c.RopeTheta != 10000 || c.NormEps != 1e-6 || len(c.EOSTokenIDs) != 2 || c.QKVBias {
		t.Errorf("Llama defaults = %+v", c)
	}
	c, err = ParseConfig([]byte(`{"architectures":["Qwen2ForCausalLM"],"hidden_size":64,"num_attention_heads":4}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.QKVBias || c.OBias || c.KVHeads != 4 || c.VocabSize != 151936 {
		t.Errorf("Qwen2 defaults = %+v", c)
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name, json string
		want       error
		msg        string
	}{
		{"gemma", `{"architectures":["GemmaForCausalLM"]}`, ErrUnsupportedArchitecture, "GemmaForCausalLM"},
		{"neox", `{"architectures":["GPTNeoXForCausalLM"]}`, ErrUnsupportedArchitecture, "supported: [GPT2LMHeadModel"},
		{"unknown", `{"architectures":["Foo"]}`, ErrUnsupportedArchitecture, "Foo"},
		{"no type or architectures", `{"hidden_size":64}`, ErrConfig, "model_type"},
		{"unknown model_type", `{"architectures":["LlamaForCausalLM"],"model_type":"mamba"}`, ErrUnsupportedArchitecture, "mamba"},
		{"unsupported model_type", `{"architectures":["LlamaForCausalLM"],"model_type":"gemma"}`, ErrUnsupportedArchitecture, "GemmaForCausalLM"},
		{"zero heads", `{"architectures":["LlamaForCausalLM"],"num_attention_heads":0}`, ErrConfig, "num_attention_heads = 0"},
		{"huge vocab", `{"architectures":["GPT2LMHeadModel"],"vocab_size":1e12}`, ErrConfig, ""},
		{"gqa mismatch", `{"architectures":["LlamaForCausalLM"],"hidden_size":64,"num_attention_heads":4,"num_key_value_heads":3}`, ErrConfig, "key/value heads"},
		{"heads do not divide", `{"architectures":["GPT2LMHeadModel"],"n_embd":10,"n_head":3}`, ErrConfig, "multiple"},
		{"bad activation", `{"architectures":["GPT2LMHeadModel"],"activation_function":"tanh"}`, ErrConfig, "activation"},
		{"nan eps", `{"architectures":["LlamaForCausalLM"],"rms_norm_eps":-1}`, ErrConfig, "rms_norm_eps"},
		{"rope yarn", `{"architectures":["LlamaForCausalLM"],"rope_scaling":{"type":"yarn","factor":2}}`, ErrUnsupportedArchitecture, "yarn"},
		{"rope llama3 incomplete", `{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"llama3","factor":8}}`, ErrConfig, "low_freq_factor"},
		{"eos outside vocab", `{"architectures":["GPT2LMHeadModel"],"vocab_size":10,"eos_token_id":10}`, ErrConfig, "eos_token_id"},
		{"eos wrong type", `{"architectures":["GPT2LMHeadModel"],"eos_token_id":"x"}`, ErrConfig, "eos_token_id"},
		{"not json", `{`, ErrConfig, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.json))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("ParseConfig() error = %v, want %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

// copyFixture copies a fixture model directory so a test can damage it.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("testdata/models", name, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), b)
	}
	return dir
}

func TestLoadHostileModels(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"config sizes disagree", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), `"n_embd": 32`, `"n_embd": 64`)
		}, "config implies"},
		{"vocab disagrees", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), `"vocab_size": 101`, `"vocab_size": 102`)
		}, "config implies"},
		{"extra layer", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), `"n_layer": 2`, `"n_layer": 3`)
		}, "missing tensor"},
		{"truncated weights", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "model.safetensors")
			b, _ := os.ReadFile(p)
			writeFile(t, p, b[:len(b)-100])
		}, "outside the"},
		{"untied without lm_head", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), `"n_positions": 1024`, `"n_positions": 1024, "tie_word_embeddings": false`)
		}, `missing tensor "lm_head.weight"`},
		{"no config", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "config.json")) }, "config.json"},
		{"unsupported", func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), `"model_type": "gpt2"`, `"model_type": "phi"`)
		}, "unsupported architecture: PhiForCausalLM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyFixture(t, "gpt2-f32")
			tt.damage(t, dir)
			m, err := Load(dir)
			if err == nil {
				m.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func editJSON(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), old, new, 1)
	if s == string(b) {
		t.Fatalf("%s: %q not found", path, old)
	}
	writeFile(t, path, []byte(s))
}

func TestNaNWeightsGiveInfLoss(t *testing.T) {
	dir := copyFixture(t, "llama-gqa-f32")
	s, err := OpenSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []Tensor
	for _, n := range s.Names() {
		tt, _ := s.Tensor(n)
		tt.Data = append([]byte(nil), tt.Data...)
		if n == "model.layers.1.mlp.down_proj.weight" {
			copy(tt.Data, F32Tensor("", nil, []float32{float32(math.NaN())}).Data)
		}
		ts = append(ts, tt)
	}
	s.Close()
	if err := WriteSafetensorsFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	loss, err := m.Loss(t.Context(), [][]int32{{1, 2, 3, 4}})
	if err != nil || !math.IsInf(loss, 1) {
		t.Errorf("Loss() = %v, %v; want +Inf", loss, err)
	}
}

func TestLossRejectsBadBatches(t *testing.T) {
	m, err := Load("testdata/models/gpt2-f32")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		name  string
		batch [][]int32
		want  string
	}{
		{"token outside vocab", [][]int32{{1, 101}}, "outside vocabulary"},
		{"negative token", [][]int32{{-1, 2}}, "outside vocabulary"},
		{"ragged", [][]int32{{1, 2}, {1}}, "row 1"},
		{"empty", nil, "empty batch"},
		{"too long", [][]int32{make([]int32, 1025)}, "n_positions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Loss(t.Context(), tt.batch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Loss() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestJudgeOutputs(t *testing.T) {
	seq := func(f func(i int) int32) []int32 {
		out := make([]int32, 20)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	distinct := seq(func(i int) int32 { return int32(i) })
	tests := []struct {
		name   string
		g1, g2 []int32
		ok     bool
	}{
		{"distinct", distinct, seq(func(i int) int32 { return int32(100 + i) }), true},
		{"9 equal positions pass", distinct, seq(func(i int) int32 { return map[bool]int32{true: int32(i), false: 99}[i < 9] }), true},
		{"10 equal positions fail", distinct, seq(func(i int) int32 { return map[bool]int32{true: int32(i), false: 99}[i < 10] }), false},
		{"one repetitive passes", seq(func(int) int32 { return 5 }), seq(func(i int) int32 { return int32(100 + i) }), true},
		{"both with 11 repeats fail", seq(func(i int) int32 { return map[bool]int32{true: 5, false: int32(i)}[i < 11] }),
			seq(func(i int) int32 { return map[bool]int32{true: 7, false: int32(50 + i)}[i < 11] }), false},
		{"both with 10 repeats pass", seq(func(i int) int32 { return map[bool]int32{true: 5, false: int32(i)}[i < 10] }),
			seq(func(i int) int32 { return map[bool]int32{true: 7, false: int32(50 + i)}[i < 10] }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok, reason := judgeOutputs([][]int32{tt.g1}, [][]int32{tt.g2}); ok != tt.ok {
				t.Errorf("judgeOutputs() = %v (%s), want %v", ok, reason, tt.ok)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	dirs, _ := filepath.Glob("testdata/models/*/config.json")
	for _, p := range dirs {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		// An accepted config has usable sizes.
		if c.VocabSize < 1 || c.Hidden < 1 || c.Layers < 1 || c.Heads < 1 || c.HeadDim < 1 ||
			c.KVHeads < 1 || c.Heads%c.KVHeads != 0 || c.Intermed < 1 {
			t.Fatalf("accepted config with bad sizes: %+v", c)
		}
		var g GenerationConfig
		_ = parseGenerationConfig(data, c, &g)
	})
}

// TestClassFromModelType: the class is the one AutoModelForCausalLM picks from model_type,
// whatever config.json's architectures list says.
func TestClassFromModelType(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{`{"architectures":["MistralForCausalLM"],"model_type":"llama","hidden_size":64,"num_attention_heads":4}`, "LlamaForCausalLM"},
		{`{"model_type":"qwen2","hidden_size":64,"num_attention_heads":4}`, "Qwen2ForCausalLM"},
		{`{"architectures":["GPT2LMHeadModel"]}`, "GPT2LMHeadModel"},
	} {
		c, err := ParseConfig([]byte(tt.raw))
		if err != nil {
			t.Fatalf("ParseConfig(%s): %v", tt.raw, err)
		}
		if c.Architectures[0] != tt.want {
			t.Errorf("ParseConfig(%s) class = %s, want %s", tt.raw, c.Architectures[0], tt.want)
		}
	}
}
