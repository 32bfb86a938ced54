package train

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/pretrain/pretrain/nn"
)

// gradFixture is one testdata/grads_*.json, written by testdata/gen_grads.py (PyTorch
// autograd in float64).
type gradFixture struct {
	Config json.RawMessage
	IDs    [][]int32
	Loss   float64
	Params map[string]struct {
		Shape []int
		Data  []float64
	}
	Grads map[string][]float64
}

var gradCases = []string{"gpt2", "gpt2_untied", "llama", "llama_untied_bias"}

func readGradFixture(t *testing.T, name string) (*gradFixture, *nn.Config) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "grads_"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f gradFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	cfg, err := nn.ParseConfig(f.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &f, cfg
}

func (f *gradFixture) source() source {
	return func(name string, shape []int) ([]float32, error) {
		p, ok := f.Params[name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %q", name)
		}
		v := make([]float32, len(p.Data))
		for i, x := range p.Data {
			v[i] = float32(x)
		}
		return v, nil
	}
}

func (f *gradFixture) tensors() []nn.Tensor {
	var ts []nn.Tensor
	for name, p := range f.Params {
		v := make([]float32, len(p.Data))
		for i, x := range p.Data {
			v[i] = float32(x)
		}
		ts = append(ts, nn.F32Tensor(name, p.Shape, v))
	}
	return ts
}

// checkGrads compares every parameter's gradient with torch's: the largest deviation within
// tol of the tensor's largest gradient magnitude.
func checkGrads[F Float](t *testing.T, net *network[F], f *gradFixture, tol float64) {
	t.Helper()
	if len(net.params) != len(f.Grads) {
		t.Errorf("%d parameters, torch has %d", len(net.params), len(f.Grads))
	}
	for _, p := range net.params {
		want, ok := f.Grads[p.name]
		if !ok || len(want) != len(p.grad) {
			t.Errorf("%s: torch has %d gradients, trainer %d", p.name, len(want), len(p.grad))
			continue
		}
		var scale, worst float64
		at := 0
		for i, w := range want {
			scale = math.Max(scale, math.Abs(w))
			if e := math.Abs(float64(p.grad[i]) - w); e > worst {
				worst, at = e, i
			}
		}
		if worst > tol*scale {
			t.Errorf("%s[%d] grad = %v, torch %v (deviation %.3g of max |grad| %.3g)", p.name, at, p.grad[at], want[at], worst/scale, scale)
		}
	}
}

func TestGradientsMatchTorch(t *testing.T) {
	for _, name := range gradCases {
		t.Run(name, func(t *testing.T) {
			f, cfg := readGradFixture(t, name)
			B, L := len(f.IDs), len(f.IDs[0])
			scale := 1 / float64(B*(L-1))
			t.Run("float32", func(t *testing.T) {
				net, err := newNetwork[float32](cfg, f.source())
				if err != nil {
					t.Fatal(err)
				}
				sum, err := net.lossGrad(t.Context(), f.IDs, scale, true)
				if err != nil {
					t.Fatal(err)
				}
				if got := sum * scale; math.Abs(got-f.Loss) > 1e-5*f.Loss {
					t.Errorf("loss = %v, torch %v", got, f.Loss)
				}
				checkGrads(t, net, f, 1e-4)
			})
			t.Run("float64", func(t *testing.T) {
				net, err := newNetwork[float64](cfg, f.source())
				if err != nil {
					t.Fatal(err)
				}
				sum, err := net.lossGrad(t.Context(), f.IDs, scale, true)
				if err != nil {
					t.Fatal(err)
				}
				// The float32 rotary angles and rsqrt path leave ~1e-7 relative.
				if got := sum * scale; math.Abs(got-f.Loss) > 1e-9*f.Loss {
					t.Errorf("loss = %v, torch %v", got, f.Loss)
				}
				checkGrads(t, net, f, 1e-8)
			})
		})
	}
}

// TestGradientsFiniteDifference checks, in float64, sampled elements of every parameter
// tensor against central differences of the loss.
func TestGradientsFiniteDifference(t *testing.T) {
	for _, name := range gradCases {
		t.Run(name, func(t *testing.T) {
			f, cfg := readGradFixture(t, name)
			net, err := newNetwork[float64](cfg, f.source())
			if err != nil {
				t.Fatal(err)
			}
			checkFiniteDifference(t, net, f.IDs)
		})
	}
}

// TestGradientsFiniteDifferenceVariants runs the float64 check on Llama-family shapes the
// torch fixtures lack: Qwen2's q/k/v biases, Mistral's single kv head under a sliding
// window, and llama3 rope_scaling (whose rotary tables reach the backward in nn's trace).
func TestGradientsFiniteDifferenceVariants(t *testing.T) {
	for _, name := range []string{"qwen2", "mistral", "llama3_scaled"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := nn.ParseConfig([]byte(extraConfigs[name]))
			if err != nil {
				t.Fatal(err)
			}
			src, err := randomSource(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			net, err := newNetwork[float64](cfg, perturbed(src))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			batch := make([][]int32, 2)
			for i := range batch {
				for range 9 {
					batch[i] = append(batch[i], int32(rng.IntN(cfg.VocabSize)))
				}
			}
			checkFiniteDifference(t, net, batch)
		})
	}
}

// perturbed scales src's matrices up tenfold and jitters its vectors: nn's initialization
// (std 0.02, unit norms, zero biases) leaves the loss near log(vocab) whatever the network
// computes, and the checks should be sensitive to every layer.
func perturbed(src source) source {
	rng := rand.New(rand.NewPCG(5, 5))
	return func(name string, shape []int) ([]float32, error) {
		v, err := src(name, shape)
		for i := range v {
			if len(shape) == 2 {
				v[i] *= 10
			} else {
				v[i] += float32(0.1 * rng.NormFloat64())
			}
		}
		return v, err
	}
}

// checkFiniteDifference compares the analytic gradient of the mean loss of batch with
// central differences at 6 sampled elements of every parameter.
func checkFiniteDifference(t *testing.T, net *network[float64], batch [][]int32) {
	t.Helper()
	B, L := len(batch), len(batch[0])
	scale := 1 / float64(B*(L-1))
	if _, err := net.lossGrad(t.Context(), batch, scale, true); err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		s, err := net.lossGrad(t.Context(), batch, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		return s * scale
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-5
	for _, p := range net.params {
		for range 6 {
			i := rng.IntN(len(p.data))
			orig := p.data[i]
			p.data[i] = orig + h
			up := loss()
			p.data[i] = orig - h
			down := loss()
			p.data[i] = orig
			fd := (up - down) / (2 * h)
			if math.Abs(fd-p.grad[i]) > 1e-7+1e-5*math.Abs(fd) {
				t.Errorf("%s[%d]: grad %v, finite difference %v", p.name, i, p.grad[i], fd)
			}
		}
	}
}

// TestTensorsLoadInNN: the trainer's weights, exported as a model directory, load in nn
// with the same parameter count and give nn.Model.Loss (the validator's number) the loss
// the trainer computes, so names, shapes and tied weights survive the round trip. (The
// forward itself is nn's; that the backward reads its trace correctly is what
// TestGradientsMatchTorch and the finite-difference tests check.)
func TestTensorsLoadInNN(t *testing.T) {
	for _, name := range append(gradCases, "gpt2-tiny", "llama-tiny", "qwen2", "mistral", "llama3_scaled") {
		t.Run(name, func(t *testing.T) {
			var m *Model
			var ts []nn.Tensor
			var batch [][]int32
			var cfgJSON []byte
			if f, cfg := tryFixture(t, name); f != nil {
				net, err := newNetwork[float32](cfg, f.source())
				if err != nil {
					t.Fatal(err)
				}
				m, ts, batch, cfgJSON = &Model{Config: cfg, net: net}, f.tensors(), f.IDs, f.Config
			} else {
				raw, cfg, err := nn.Preset(name)
				if extra, ok := extraConfigs[name]; ok {
					raw = []byte(extra)
					cfg, err = nn.ParseConfig(raw)
				}
				if err != nil {
					t.Fatal(err)
				}
				if m, err = NewModel(cfg, 7); err != nil {
					t.Fatal(err)
				}
				// As perturbed: make the loss sensitive to every weight.
				prng := rand.New(rand.NewPCG(5, 5))
				for _, p := range m.Params() {
					for i := range p.Data {
						if p.Decay {
							p.Data[i] *= 10
						} else {
							p.Data[i] += float32(0.1 * prng.NormFloat64())
						}
					}
				}
				if ts, err = m.Tensors("F32"); err != nil {
					t.Fatal(err)
				}
				cfgJSON = raw
				rng := rand.New(rand.NewPCG(3, 4))
				batch = make([][]int32, 2)
				for i := range batch {
					for range 33 {
						batch[i] = append(batch[i], int32(rng.IntN(cfg.VocabSize)))
					}
				}
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := nn.WriteSafetensorsFile(filepath.Join(dir, nn.SafetensorsFile), ts, nil); err != nil {
				t.Fatal(err)
			}
			ref, err := nn.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			want, err := ref.Loss(t.Context(), batch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Loss(t.Context(), batch)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("loss %.7f (nn %.7f)", got, want)
			// Not bit-identical: the trainer runs its rows as one batch and its own fused
			// head + cross-entropy, so sums are ordered differently.
			if math.Abs(got-want) > 2e-6*want {
				t.Errorf("trainer loss = %.9g, nn.Model.Loss = %.9g", got, want)
			}
			if ref.ParamCount() != m.ParamCount() {
				t.Errorf("trainer has %d parameters, nn %d", m.ParamCount(), ref.ParamCount())
			}
		})
	}
}

// extraConfigs are Llama-family variants nn runs that have no preset: Qwen2 (q/k/v biases,
// untied head), Mistral (sliding window wider than the rows) and llama3 rope_scaling.
var extraConfigs = map[string]string{
	"qwen2": `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","vocab_size":97,"hidden_size":32,
		"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
		"max_position_embeddings":64,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":false}`,
	"mistral": `{"architectures":["MistralForCausalLM"],"model_type":"mistral","vocab_size":97,"hidden_size":32,
		"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":1,
		"max_position_embeddings":64,"rms_norm_eps":1e-5,"rope_theta":10000.0,"sliding_window":48}`,
	"llama3_scaled": `{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":97,"hidden_size":32,
		"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
		"max_position_embeddings":64,"rms_norm_eps":1e-5,"rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3",
		"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":16}}`,
}

func tryFixture(t *testing.T, name string) (*gradFixture, *nn.Config) {
	for _, c := range gradCases {
		if c == name {
			return readGradFixture(t, name)
		}
	}
	return nil, nil
}

// TestBadBatches: malformed batches are errors, not panics.
func TestBadBatches(t *testing.T) {
	f, cfg := readGradFixture(t, "llama")
	net, err := newNetwork[float32](cfg, f.source())
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Config: cfg, net: net}
	for name, b := range map[string][][]int32{
		"empty":       {},
		"one token":   {{1}},
		"ragged":      {{1, 2, 3}, {1, 2}},
		"negative id": {{1, -1, 2}},
		"id too big":  {{1, 37, 2}},
		"too long":    {make([]int32, 33)},
	} {
		if _, err := m.Backward(t.Context(), b, 1); err == nil {
			t.Errorf("%s: Backward accepted the batch", name)
		}
		if _, err := m.Loss(t.Context(), b); err == nil {
			t.Errorf("%s: Loss accepted the batch", name)
		}
	}
}
