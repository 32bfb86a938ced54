package train

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pretrain/pretrain/nn"
)

// FuzzReadState: any bytes in a state file give a state or an error, never a panic or an
// allocation beyond what the file's length can hold.
func FuzzReadState(f *testing.F) {
	raw := []byte(`{"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":11,"hidden_size":4,
		"intermediate_size":6,"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1}`)
	cfg, err := nn.ParseConfig(raw)
	if err != nil {
		f.Fatal(err)
	}
	m, err := newModelZero(cfg, -1)
	if err != nil {
		f.Fatal(err)
	}
	good := filepath.Join(f.TempDir(), "state")
	if err := WriteState(good, &State{Config: raw, BestLoss: math.Inf(1)}, m, NewAdamW(AdamWConfig{}, m.Params())); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:40])
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "s")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ReadState(p, AdamWConfig{})
	})
}
