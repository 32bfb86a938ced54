package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestAdamWTorch replays testdata/adamw.json: torch.optim.AdamW (foreach=False) and
// clip_grad_norm_ on two tensors, one with weight decay and one without, for 20 steps.
func TestAdamWTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/adamw.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Init  [2][]float32
		Steps []struct {
			Grads  [2][]float32
			LR     float64
			Norm   float64
			Params [2][]float64
		}
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	params := []Param{{Name: "w", Data: v.Init[0], Decay: true}, {Name: "b", Data: v.Init[1]}}
	opt := NewAdamW(AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}, params)
	for i, s := range v.Steps {
		params[0].Grad, params[1].Grad = s.Grads[0], s.Grads[1]
		if norm := ClipGradNorm(params, 1.0); math.Abs(norm-s.Norm) > 1e-5*s.Norm {
			t.Fatalf("step %d: grad norm = %v, want %v", i, norm, s.Norm)
		}
		if err := opt.Update(params, s.LR); err != nil {
			t.Fatal(err)
		}
		for k := range params {
			for j, want := range s.Params[k] {
				if got := float64(params[k].Data[j]); math.Abs(got-want) > 2e-6*math.Max(1, math.Abs(want)) {
					t.Fatalf("step %d: %s[%d] = %v, want %v", i, params[k].Name, j, got, want)
				}
			}
		}
	}
}

func TestAdamWRejectsMismatch(t *testing.T) {
	params := []Param{{Name: "w", Data: make([]float32, 3), Grad: make([]float32, 3)}}
	opt := NewAdamW(AdamWConfig{}, params)
	if err := opt.Update(append(params, params[0]), 1e-3); err == nil {
		t.Error("Update accepted an extra param")
	}
	if err := opt.Update([]Param{{Name: "w", Data: make([]float32, 4), Grad: make([]float32, 4)}}, 1e-3); err == nil {
		t.Error("Update accepted a resized param")
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-4, Warmup: 10, Total: 110}
	tests := []struct {
		step int64
		want float64
	}{
		{0, 1e-4}, {4, 5e-4}, {9, 1e-3}, {10, 1e-3}, {60, 5.5e-4}, {110, 1e-4}, {1000, 1e-4},
	}
	for _, tt := range tests {
		if got := s.LR(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", tt.step, got, tt.want)
		}
	}
	for step := int64(10); step < 110; step++ {
		if s.LR(step+1) > s.LR(step) {
			t.Fatalf("LR rises after warm-up at step %d", step)
		}
	}
}
